// Package memory is a [whispeer.Store] that keeps its log in memory: the
// history survives subscribers coming and going, not the process. Every
// topic gets new epochs with each new Store, so a subscriber resuming
// after a restart learns that it may have missed messages.
//
// # Concurrency
//
// A Store is safe for concurrent use. One read-write lock guards it;
// callbacks run with no lock held. Append keeps the *Message it is given
// and Read hands that same pointer out, so neither side may modify it.
package memory
