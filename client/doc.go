// Package client is whispeer's Go client. It speaks the native binary
// protocol (docs/protocol-native.md, package protocol/wire) over TCP, TLS
// or WebSocket, and offers the broker's API across the network: Publish
// at QoS 0, 1 or 2, Subscribe with wildcards and automatic acknowledgement,
// typed topics (NewTopic), and end-to-end encryption.
//
//	c, err := client.Dial(ctx, "tls://broker.example:4250",
//		client.WithCredentials("alice", password),
//		client.WithKeyring(keys))
//	sub, err := c.Subscribe("chat/#", func(ctx context.Context, m *client.Message) error {
//		fmt.Printf("%s: %s\n", m.Topic, m.Payload)
//		return nil // acknowledges a QoS 1 delivery
//	})
//	err = c.Publish(ctx, "chat/lobby", []byte("hello"), client.WithQoS(client.AtLeastOnce))
//
// # End-to-end encryption
//
// With WithKeyring the client seals every payload with the topic's key
// before it leaves the process (envelope.Engine.Seal, binding the topic and
// the message id) and opens what it receives; the server routes, stores
// and replays envelopes it cannot read. A delivery that does not open — a
// wrong or missing key, a tampered envelope, a plaintext payload when
// plaintext is not accepted — goes to the error handler as a
// [*DeliveryError] wrapping whispeer.ErrOpen, is not delivered, and is
// acknowledged all the same (a redelivery would not open either); the
// subscription goes on. Headers and topic names are not encrypted.
//
// # Application tokens
//
// An application that mints whispeer tokens for its users (the server's
// [[auth.issuers]], docs/security.md) hands them to the client with
// WithTokenSource: the client asks for a token before every connection
// and, before the current token expires (a fifth of its remaining life
// ahead, at most MaxRefreshLead), sends a new one on the live connection,
// so that the connection outlives its tokens without reconnecting.
//
//	c, err := client.Dial(ctx, "tls://broker.example:4250",
//		client.WithTokenSource(func(ctx context.Context) (string, error) {
//			return backend.WhispeerToken(ctx) // the application's own call
//		}))
//
// A refresh that fails is reported to the error handler and tried again
// closer to the expiry; should the token expire meanwhile, the server
// ends the connection and the client reconnects with a token from the
// source. Subscriptions the new token no longer allows are ended by the
// server, which reports each as an error.
//
// # Connections
//
// One goroutine reads each connection and dispatches frames; another
// writes: Publish encodes a frame into the client's queue and returns, and
// the writer sends whatever accumulated as one write (on WebSocket, one
// binary message of whole frames, split only at the server's message
// limit). The client answers the server's PINGs and, at the
// interval the server asks for, pings an idle server and treats a PING
// without answer as a dead connection.
//
// When the connection is lost the client reconnects with exponential
// backoff and full jitter (WithReconnect), authenticates again (with the
// token a LOGIN earned), renews every subscription — one to a concrete
// topic resumes after the last message it received, when the server
// offers resume — and sends again, flagged dup, every QoS 1 or 2 publish
// not yet acknowledged, and the PUBREL of every QoS 2 publish not yet
// complete, under the same client id (WithClientID), so that the server
// delivers a QoS 2 message once. Meanwhile Publish buffers up to WithPublishBuffer
// bytes, or fails fast with ErrDisconnected. Close flushes; Drain also
// waits out a reconnection.
//
// # Delivery
//
// Each subscription has a goroutine and a bounded queue (WithQueueSize):
// handlers of one subscription run one at a time, in order. When a
// delivery finds the queue full, the connection's reader waits for room,
// for at most WithSlowConsumerWait (2s by default): meanwhile it reads
// nothing, so the server's flow control slows the publishers and nothing
// is lost to a handler that keeps up on average. The wait is
// head-of-line: the connection's other subscriptions wait too, for at
// most that long at a time. Past it, the deliveries that do not fit are
// dropped and reported (ErrSlowConsumer), and so is every one that finds
// the queue full until the handler takes from it again; a handler that
// never returns thus holds the connection up once. A QoS 1 delivery is
// acknowledged after the handler returns nil; an error leaves it
// unacknowledged, so that the server delivers it again. A QoS 2 delivery
// (WithMaxQoS(ExactlyOnce)) is handed to the handler once per message id
// and offset until the server releases it, and answered with PUBREC after
// the handler returns nil, with PUBCOMP at the release. WithDurable makes
// such a subscription outlive the client's connections and process: the
// server keeps its cursor under the client's id (WithClientID), and the
// subscription continues after it. Errors that no call returns go to the
// error handler (WithErrorHandler).
//
// # Presence
//
// Client.Presence asks the server who is subscribed to a topic (users and
// client ids, kept by the exact topic or pattern subscribed to), and
// Client.PresenceStats how many; the user must be allowed to subscribe to
// it. A subscription made WithPresenceEvents has the server tell it when
// other clients join or leave its topic, while the topic is small enough
// for the server to send such events; its callback runs in the
// subscription's goroutine, between deliveries.
//
// # Concurrency
//
// A Client, its Subscriptions and Topics are safe for concurrent use.
// Handlers run in their subscription's goroutine; the error, connect and
// disconnect handlers run in the client's goroutines and must not block.
// Close and Drain return once every goroutine the client started has
// exited.
//
// # Performance
//
// Publish encodes straight into the connection's queue under one short
// lock: no goroutine and no allocation per message, with or without
// sealing; the writer sends each accumulated batch with one write. Measured
// with
//
//	go test ./client -run '^$' -bench . -benchmem -count 8
//
// on 2 shared vCPUs (Intel Xeon, Go 1.26, load average 6–10 from other
// builds, so figures vary by up to 2×), median and best of 8, 128-byte
// payloads. "sink" is a server that only reads, so its allocations are the
// client's alone; the other runs go into clienttest's server in the same
// process, whose own 3–4 allocations per message are counted too.
//
//	Publish, QoS 0, tcp-sink          181 ns/op (best 151)    0 allocs/op
//	Publish, QoS 0, sealed, tcp-sink  845 ns/op (best 740)    0 allocs/op
//	Publish, QoS 0, tcp              1460 ns/op (best 941)    4 allocs/op
//	Publish, QoS 0, ws               1050 ns/op (best 704)    5 allocs/op
//	Publish, QoS 0, sealed, tcp      1280 ns/op (best 1184)   6 allocs/op
//	Publish, QoS 0, 2 goroutines      690 ns/op (best 596)    5 allocs/op
//	Publish, QoS 1, 64 goroutines    6300 ns/op (best 5798)  12 allocs/op
//	Deliver, QoS 0, tcp              2000 ns/op (best 1409)   3 allocs/op
//
// A delivery costs the client two allocations: the Message and one block
// for its topic, id and payload.
//
// # Errors
//
// The client's sentinels (ErrClosed, ErrDisconnected, ErrBufferFull,
// ErrTimeout, ErrAuth, ErrProtocol, ...) are [*whispeer.Error] values. A
// refusal from the server is a [*ServerError] that unwraps to the
// broker's sentinel for it (whispeer.ErrPayloadTooLarge, ...) or to a
// [*whispeer.Error] with its code, so errors.Is and whispeer.ErrorCode
// work on both sides of the network. A frame from the server that does
// not parse closes that connection with ErrProtocol; the client reconnects.
package client
