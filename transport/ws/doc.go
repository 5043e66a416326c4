// Package ws serves WebSocket connections (RFC 6455) for whispeer's
// protocols, built for fan-out: a message bound for many connections is
// framed once and the same bytes are queued on every one of them.
//
// A [Handler] is an http.Handler: mount it on an http.ServeMux, so that the
// same port can serve other endpoints. It upgrades each request with
// github.com/gobwas/ws, takes the connection over from net/http, and hands
// every complete data message to the connection's [Session], which the
// [AcceptFunc] given to [NewHandler] returns. Which protocol a message is
// spoken in is the Session's business: it receives the [MessageType] with
// the data.
//
// # Writing
//
// A connection is a [transport.Conn], the same type as under
// transport/tcp: the two transports share one connection core (the queue,
// the pooled read buffers, batches, keepalive and counters) and differ only
// in their framing, handshake and listener. Send queues a complete frame,
// made with [Frame] or [AppendFrame], and never blocks on the network;
// SendHead queues a frame made of a per-connection head ([AppendHeader]
// and the first bytes of the payload) and a body shared by many
// connections, without copying the body. A writer goroutine runs only
// while the queue is not empty: it takes everything queued and writes it
// with one vectored write (net.Buffers) under WriteTimeout, then exits when
// the queue is empty. Frames sent while the reader handles a batch of
// messages are written together after the batch. A connection whose queue
// passes MaxPendingBytes, or whose write times out, is dropped as a slow
// consumer, so one slow client never holds up the publishers that feed it
// for long: a reader whose messages took other connections' queues past
// half of MaxPendingBytes stops reading until they drain to a quarter, for
// at most MaxStall (flow control).
//
// # Reading
//
// On Unix the reader waits for the socket to be readable before taking a
// buffer from a pool, reads what is there with one system call, handles the
// complete frames and gives the buffer back: an idle connection holds a
// parked goroutine and no buffers. A frame's declared length is checked
// against MaxMessageBytes before its payload is read, and a buffer for a
// large frame grows with the bytes that arrive, never to a declared length.
// Pings are answered, fragments reassembled, and text checked to be UTF-8.
// Permessage compression is not offered: whispeer payloads are compressed
// and sealed already, and compressing per connection would defeat framing
// once for all of them.
//
// # Keepalive and closing
//
// Every PingInterval, connections that have sent nothing since the last
// tick are pinged, and those silent for another interval are dropped.
// Closing a connection with a [CloseFrame] as its last frame writes what is
// queued, then the close frame, and waits up to CloseTimeout for the
// client's answer. [Handler.Shutdown] closes every
// connection with 1001 that way and waits for them, bounded by its context.
//
// # Concurrency
//
// A Handler and its Conns are safe for concurrent use. A Session's Receive
// calls for one connection run one at a time in that connection's reader
// goroutine; Closed follows the last of them. No lock is held during I/O.
// A panic in a Session's Receive is recovered and logged, and closes only
// that connection, with 1011.
package ws
