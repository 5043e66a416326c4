// Package memory is the in-memory [whispeer.Store]: the history survives
// subscribers coming and going, not the process. Every topic gets new
// epochs with each new store, so a subscriber resuming after a restart
// learns that it may have missed messages.
//
// The store is [whispeer.MemoryStore], the same log a broker given no store
// keeps as its history ([whispeer.WithHistory]); New gives one to a broker
// ([whispeer.WithStore]), keeping every message until retention trims it,
// or the last few of each topic ([WithLimit]).
//
// # Concurrency
//
// A store is safe for concurrent use; callbacks run with no lock held.
// Append keeps the *Message it is given (a copy of one lent to it) and Read
// hands that same pointer out, so neither side may modify it.
package memory
