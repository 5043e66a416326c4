// Package sqlite is a [whispeer.Store] kept in a SQLite database
// (modernc.org/sqlite, pure Go): the broker's default store.
//
// # Schema and durability
//
// Messages are rows of a table keyed by (topic, offset); topics keep
// their epoch, first and last offsets, cursors their subscriber and topic,
// and when each was last saved.
// The database runs in WAL mode with a busy timeout. One writer connection
// does every write: Append queues the message, and the writer commits
// whatever has queued in one transaction (group commit), then calls the
// appends' done. The writer holds its connection from Open to Close and
// runs its prepared statements through the driver's own interface, not
// database/sql's, which would convert each of an INSERT's 320 values. The fsync policy ([WithFsync]) maps onto SQLite's: always
// and every interval commit with synchronous=FULL (the WAL is synced at
// each commit; every interval commits at most that often), never with
// synchronous=NORMAL (a commit survives the process being killed, not the
// machine failing). Appends not yet committed are lost in a crash; their
// done is never called.
//
// # Concurrency
//
// A Store is safe for concurrent use. One mutex guards the in-memory state
// (per topic: epoch, offsets, the messages appended but not committed);
// reads query a pool of reader connections without it, then add the
// uncommitted messages, so a message is readable as soon as Append
// returns. Callbacks run with no lock held.
package sqlite
