// Package netconn is the connection core under whispeer's transports:
// everything about a connection but its framing. A [Conn] is one
// connection: its outbound [Queue] with its writer goroutine, the pooled
// [ReadBuffer] that keeps idle connections free of buffers, the [Batch]
// its reader hands its frames in, and its keepalive state. A [Hub] is the
// connections of one listener: it numbers and counts them, runs each one's
// reader ([Hub.Serve]), pings, expires and shuts them down through a [Set],
// and keeps their [Counters]. A transport (transport/tcp, transport/ws)
// embeds a Conn in its own connection and supplies only its [Framer], which
// cuts the bytes in hand into frames and hands them to its session, its
// handshake and its listener.
//
// # Writing
//
// [Queue.Send] queues a complete frame and never blocks on the network.
// A writer goroutine runs only while the queue is not empty: it takes
// everything queued and writes it with one vectored write (net.Buffers)
// under the write timeout, then exits when the queue is empty. A reader
// handles the frames of one read as a [Batch]: it corks its own queue into
// the Batch ([Queue.Cork]), and the deliveries its publishes cause are
// sent through the Batch too ([Queue.SendHeadIn], given the Batch of the
// publishing reader by its session). A queue so held starts its writer
// only when the reader flushes the Batch, before it reads again, so that a
// burst of publishes leaves every connection it reaches, the publisher's
// own included, in one write per connection rather than one per message.
// A batch that fanned out to two connections or more, besides the
// reader's own, also takes in, without waiting, the bytes that arrived
// while it was handled ([ReadBuffer.TryFill]), up to eight reads or
// 64 KiB, before it is flushed: a publisher streaming to many subscribers
// is fanned out in fewer, larger writes. A reader whose
// batches keep finding nothing more, one that gets a frame now and then,
// stops trying for a while, so that a lone frame seldom costs a read more.
// A queue whose bytes pass MaxPendingBytes, or whose write times out, drops
// its connection as a slow consumer.
//
// [Queue.SendHead] queues a frame made of a small head, copied into an
// arena the queue owns, and a body that the queue keeps: a delivery encoded
// once is written to every subscriber behind a head of its own, as two
// buffers of the same vectored write, without copying the body. The queue
// keeps the capacity a burst gave it until [Queue.Trim], which a [Set]
// calls on every keepalive tick, so that busy connections do not regrow
// their queues and idle ones give the memory back.
//
// # Flow control
//
// A queue past its high-water mark marks the Batch that sent to it; the
// reader then waits, at [Batch.Yield] or [Batch.Flush], until the queue has
// drained to its low-water mark, for at most MaxStall, so that a publisher
// goes at the pace of its subscribers; a queue that does not drain in time
// is left to the slow-consumer policy. [Queue.Room] lets other producers,
// such as a replay, wait for the low-water mark too, and [Batch.StallOn]
// lets a queue other than a connection's, any [Waiter], stall a reader in
// the same wait.
//
// # Reading
//
// On Unix a [ReadBuffer] waits for the socket to be readable before taking
// a buffer from a pool, reads what is there with one system call, and
// gives the buffer back once the bytes in hand are handled: an idle
// connection holds a parked goroutine and no buffer. A buffer for a large
// frame grows with the bytes that arrive, never to a declared length.
//
// # Concurrency
//
// A Queue and a Set are safe for concurrent use, and no lock is held during
// I/O. A ReadBuffer belongs to its connection's reader goroutine.
package netconn
