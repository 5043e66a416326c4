// Package file is a [whispeer.Store] kept in a directory: one append-only
// log split into segments, shared by every topic.
//
// # Format
//
// A segment (00000000000000000001.log, …) is a sequence of records, each a
// frame of the body's length and CRC-32C followed by the body: a message
// (topic, epoch, offset, time, QoS and the sealed flag, id, headers,
// payload), a trim, a topic deletion or a durable subscriber's cursor
// (and, since cursors are listed with it, the time it was saved). The
// checkpoint file holds the store's id and the state of every topic and
// cursor (their saved times after them all) as of a position in
// the log; it is rewritten (to a temporary file, synced, renamed) before
// segments are removed. Opening a store reads the checkpoint, then every
// segment: it rebuilds the index (per topic, where each kept message is)
// and applies the records after the checkpoint. A damaged stretch of a
// segment is logged ([WithLogger]) with its file and offset, counted
// ([Store.Corrupt]) and skipped: reading resumes at the next frame that
// checks out, so the records after it are kept, and the messages lost in
// it leave holes in their topics' offsets. A torn record at the very end
// of the log, a write that did not finish, is cut off. The index lives in
// memory, 16 bytes per kept message.
//
// # Durability
//
// Append indexes the record and adds it to a write buffer; the store's
// flusher writes what accumulated with one system call, syncs it as the
// fsync policy ([WithFsync]) says, and then calls the appends' done. The
// policy says when the log is synced to stable storage: after every write
// (one sync covering every message written since the last: group commit),
// at most every interval, or never. Under every policy done is called only
// once the record is in the operating system's hands, so a killed process
// loses no append whose done was called; under SyncNever a machine that
// fails may. Readers see an append at once: a read of records still in the
// buffer writes it first. A segment that fills up is synced before the next one is
// started; a failed sync fails every later append (the page cache can no
// longer be trusted). Retention removes messages from the index at once
// and whole segments from the disk once nothing in them is kept.
//
// # Concurrency
//
// A Store is safe for concurrent use. Its lock order is segMu (read-locked
// while reading segment files, write-locked to remove segments), then mu
// (the index, the active segment, the cursors). Reads copy a chunk of the
// index under mu and read the files under segMu alone; callbacks run with
// no lock held. One goroutine per store syncs and completes appends.
package file
