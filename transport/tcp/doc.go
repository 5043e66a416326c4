// Package tcp serves whispeer's native binary protocol (docs/protocol-native.md)
// over TCP, plain or with TLS, built for fan-out like transport/ws: a message
// bound for many connections is encoded once and the same bytes are queued on
// every one of them.
//
// A [Server] accepts connections from any net.Listener (tls.NewListener for
// TLS) and reads each connection's first bytes: a client whose first frame
// does not start like a HELLO (an HTTP request, a TLS handshake on a plain
// port, PopSub JSON, anything else) gets the answer of wire.Refusal and is
// closed, so it sees a clean refusal rather than a hang. A native
// connection gets the [Session] that the [AcceptFunc] given to [NewServer]
// returns, and every frame it sends is parsed in place and handed to
// Session.ReceiveFrame. A frame that does not parse, or whose length prefix is
// over MaxFrameBytes (checked before its body is read), is answered with a
// fatal ERROR frame and the connection is closed.
//
// # Writing
//
// A connection is a [transport.Conn], the same type as under transport/ws:
// the two transports share one connection core, and differ only in their
// framing, handshake and listener. Send queues a complete frame and
// SendHead a frame made of a per-connection head and a shared body;
// neither blocks on the network.
// A writer goroutine runs only while the queue is not empty and writes
// everything queued with one vectored write (net.Buffers) under
// WriteTimeout. Frames sent while the reader handles a batch of frames read
// together are written together after the batch. A connection whose queue
// passes MaxPendingBytes, or whose write times out, is dropped as a slow
// consumer. Before that, flow control: a reader whose frames took other
// connections' queues past half of MaxPendingBytes stops reading until
// they drain to a quarter, for at most MaxStall.
//
// # Reading
//
// On Unix the reader waits for the socket to be readable before taking a
// buffer from a pool, reads what is there with one system call, handles the
// complete frames and gives the buffer back: an idle connection holds a
// parked goroutine and no buffer. A buffer for a large frame grows with the
// bytes that arrive, never to a declared length.
//
// # Keepalive and closing
//
// Every PingInterval, native connections that have sent nothing since the
// last tick get a PING frame, and those silent for another interval are
// dropped. Closing a connection writes what is queued, then its last
// frame, such as a fatal ERROR, closes the connection's write side and
// waits up to CloseTimeout for the client to close its own.
// [Server.Shutdown] stops accepting, sends every connection a fatal ERROR
// "unavailable" after what is queued for it, closes it that way and waits
// for the connections to end, bounded by its context.
//
// # Concurrency
//
// A Server and its connections are safe for concurrent use. A Session's
// ReceiveFrame calls for one connection run one at a time in that
// connection's reader goroutine; Closed follows the last of them. No lock
// is held during I/O. A panic in a Session's ReceiveFrame is recovered and
// logged, and closes only that connection, with a fatal ERROR "internal".
package tcp
