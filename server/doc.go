// Package server puts a whispeer broker on the network. Clients speak the
// PopSub JSON protocol (docs/protocol.md) over WebSocket, or whispeer's
// native binary protocol (docs/protocol-native.md) over WebSocket or TCP,
// optionally with TLS: they log in, authenticate with a JWT, publish,
// subscribe with wildcards, replay recent history or resume after an
// offset, get QoS 1 deliveries with acks and redelivery, and, natively,
// route end-to-end encrypted envelopes that the server never opens. JSON
// and native clients of one topic see each other's messages. `whispeer
// serve` runs it; a Go program can embed it (see examples/server).
//
// [New] builds a [Server] from a config.Config: the users and their topic
// permissions, an HS256 token issuer, the applications whose tokens it
// trusts (auth.issuers: their users need not be in auth.users, and their
// tokens' claims grant topics; see apptokens.go), a login throttle and,
// unless
// [WithBroker] gives one, a broker keeping replay.size messages per topic.
// [Server.ListenAndServe], or [Server.Listen] and [Server.Serve], serve
// WebSocket upgrades at "/" and "/ws", where the first data message of a
// connection picks its protocol (text: JSON, binary: native);
// [Server.Handler] returns the same handler for a mux of your own.
// [Server.ListenTCP] and [Server.ServeTCP] serve native clients on
// server.tcp_port. [Server.Shutdown] stops accepting, closes every
// connection after flushing what is queued for it (WebSocket close 1001, or
// a fatal native ERROR "unavailable"), and closes the broker if the server
// made it.
//
// # Sessions
//
// A connection's session holds what does not depend on its protocol: the
// user, the subscriptions, the QoS 1 window and the publish rate, and the
// operations on them (login, authenticate, publish, subscribe), which
// check the same permissions and limits for both protocols. Each protocol
// parses its frames, calls those operations and writes the answers in its
// own form (json.go, native.go).
//
// # The delivery path
//
// A subscribe makes an inline broker subscription whose handler runs in the
// publisher's goroutine and only queues bytes. The JSON delivery frame,
// WebSocket header included, is encoded once per publish by the publish's
// fan-out (path.go) and the same bytes are queued on every JSON
// connection. The native MSG body is encoded once per publish too and
// queued on every native connection, TCP or WebSocket, behind a head
// of that subscription's own: the subscription id and flags, after a
// WebSocket header where there is one, built on the stack and copied into
// the connection's queue. Each connection's writer flushes its batches
// with one vectored write (transport/tcp, transport/ws). A QoS 1 copy is
// also entered in the
// connection's in-flight window: resent after qos.ack_timeout, with the
// wait doubling, until that connection acks it or qos.max_retries resends
// have been made; at most qos.max_inflight copies are unacked per
// connection, up to qos.max_queued more wait behind them, and copies beyond
// that are dropped and counted once flow control has given up on the queue
// (see Limits). One timer per connection serves the whole
// window. Every copy of a distinct message is tracked on its own, even when
// two publishers gave their messages the same id; an ack clears the oldest
// copy in flight under the id (and, native, subscription id) it names.
//
// # Limits
//
// Frames over server.max_message_bytes, subscriptions past
// server.max_subscriptions, publishes past server.max_publish_rate and
// connections past server.max_connections are refused; a client whose
// queued bytes pass server.max_pending_bytes, or whose writes stall past
// server.write_timeout, is disconnected as a slow consumer. Before that, a
// publisher that fills a subscriber's queue past half of max_pending_bytes,
// or its QoS 1 queue past half of qos.max_queued, is not read until the
// queue drains, for up to server.max_stall (flow control). Failed logins
// are throttled per user name and address, per address and, past
// ceilings per user name and in total, for every address the user has not
// logged in from lately (auth.Throttle),
// and logged without the
// password.
//
// # Plugins and operations
//
// A server that makes its broker registers the plugins that
// plugins.enabled names, in that order (PluginNames lists the built-in
// ones), and runs the connection hooks of package hook that the broker's
// plugins implement (whispeer.Broker.Plugins) as each connection opens,
// authenticates, acks and ends; a plugin can refuse a connection or an
// authentication. The admin API of server/admin,
// /healthz, /readyz and, with the metrics plugin, /metrics are served on
// the same port, or on admin.listen's with ListenAdmin and ServeAdmin;
// Server is the admin.Source they report on (docs/operations.md).
//
// # Concurrency
//
// A Server is safe for concurrent use. Each session's protocol state
// belongs to its connection's reader goroutine; deliveries, which run in
// publishers' goroutines, and the retry timer share only the connection's
// queue and the in-flight window, each under its own lock, and no lock is
// held during I/O.
package server
