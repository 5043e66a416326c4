// Package storetest checks a [whispeer.Store] against the contract the
// broker relies on: offsets from 1 without gaps, epochs, reads from an
// offset, retention, deletion, cursors (for a [whispeer.CursorStore];
// their tests are skipped for a store that keeps none), concurrency and,
// for durable stores, what survives closing and reopening and a process
// killed in the middle of a stream of appends.
//
// A store's tests call [Run] (and [RunDurable] for a store kept on disk);
// a durable store's TestMain calls [CrashHelper] before anything else so
// that [Crash] can run it as a child process.
//
// # Concurrency
//
// The suites run their subtests one after another; the concurrency test
// appends and reads from several goroutines at once.
package storetest
