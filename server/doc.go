// Package server puts a whispeer broker on the network: WebSocket clients
// speaking the PopSub JSON protocol (docs/protocol.md) log in, authenticate
// with a JWT, publish, subscribe with wildcards, replay recent history and
// get QoS 1 deliveries with acks and redelivery. `whispeer serve` runs it;
// a Go program can embed it (see examples/server).
//
// [New] builds a [Server] from a config.Config: the users and their topic
// permissions, an HS256 token issuer, a login throttle and, unless
// [WithBroker] gives one, a broker keeping replay.size messages per topic.
// [Server.ListenAndServe], or [Server.Listen] and [Server.Serve], serve
// WebSocket upgrades at "/" and "/ws"; [Server.Handler] returns the same
// handler for a mux of your own. [Server.Shutdown] stops accepting, closes
// every connection with 1001 after flushing what is queued for it, and
// closes the broker if the server made it.
//
// # The delivery path
//
// Each connection has one session. A subscribe makes a sync broker
// subscription whose handler runs in the publisher's goroutine and only
// queues bytes: the delivery frame, JSON and WebSocket header, is encoded
// once per message (whispeer.Message.Memo) and the same bytes are queued on
// every subscribed connection, whose writer flushes batches with one
// vectored write (see transport/ws). A QoS 1 copy is also entered in the
// connection's in-flight window: resent after qos.ack_timeout, with the
// wait doubling, until that connection acks it or qos.max_retries resends
// have been made; at most qos.max_inflight copies are unacked per
// connection, up to qos.max_queued more wait behind them, and copies beyond
// that are dropped and counted. One timer per connection serves the whole
// window.
//
// # Limits
//
// Frames over server.max_message_bytes, subscriptions past
// server.max_subscriptions, publishes past server.max_publish_rate and
// connections past server.max_connections are refused; a client whose
// queued bytes pass server.max_pending_bytes, or whose writes stall past
// server.write_timeout, is disconnected as a slow consumer. Failed logins
// are throttled per user name and per address, and logged without the
// password.
//
// # Plugins and operations
//
// A server that makes its broker registers the plugins that
// plugins.enabled names, in that order (PluginNames lists the built-in
// ones), and reports each connection's lifecycle to the broker's
// connection hooks (whispeer.Broker.Connected and the rest); a plugin can
// refuse a connection or an authentication. The admin API of server/admin,
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
