// Package wire is whispeer's native binary protocol as a codec: the
// length-prefixed frames that clients and servers exchange over TCP and in
// WebSocket binary messages. It parses and encodes frames and does no I/O
// beyond reading a stream in [Reader]; the server and the Go client use it
// on both sides. The byte layout, the version negotiation, the QoS flows
// and the error codes are specified in docs/protocol-native.md.
//
// A frame is a big-endian uint32 length, counting the bytes after it, then
// a type byte and the type's fields. [Parse] parses one frame from the
// front of a buffer, or returns [ErrShort] so that the caller can read
// more; a [Reader] does that over an io.Reader with a buffer that grows
// for a large frame and shrinks back after it. The Append functions
// ([AppendPublish], [AppendMessage], ...) encode frames onto a byte slice.
//
// # Zero copy
//
// Parsing allocates nothing: the []byte fields of a parsed [Frame],
// including its [Headers] and a PRESENCEINFO's [PresenceClients], view the
// buffer it was parsed from. They are valid only until that buffer is
// reused (for a Reader, until the next call to Next) and must be copied to
// be kept. Appending allocates nothing
// when the destination has the capacity. A MSG frame splits into a
// per-subscriber head and a body that is the same for every subscriber
// ([AppendMessageHead], [AppendMessageBody]), so that a server encodes a
// delivery once and writes the same bytes to every connection.
//
// # Concurrency
//
// The functions of this package hold no state and are safe for concurrent
// use; a parsed Frame is a value like any other. A [Reader] is not safe
// for concurrent use: one goroutine reads each connection.
//
// # Errors
//
// Parse and Reader.Next validate every field and return errors that wrap
// the package's sentinels ([ErrTooLarge], [ErrUnknownType],
// [ErrTruncated], [ErrTrailing], [ErrQoS], ...); test for them with
// errors.Is, and map them to a wire code with [ErrorCode]. No input makes
// Parse panic or read past the frame's end.
package wire
