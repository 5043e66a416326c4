// Package hook holds the connection hooks of a whispeer server: the
// plugin interfaces that see a client connection open, authenticate, ack
// a delivery and end, and [Conn], the connection as they see it.
//
// A plugin is a [whispeer.Plugin] that also implements any of [Connect],
// [Auth], [Ack] and [Disconnect]. The broker knows nothing of connections:
// a server builds a [Set] from the plugins the broker was given
// ([whispeer.Broker.Plugins]) and runs the hooks itself as its connections
// come and go. As for the broker's own hooks, they run in registration
// order, the first refusal stops a connect or authenticate (every
// [whispeer.RejectHook] is told of it), and a hook that panics is logged
// and skipped.
//
// A [whispeer.PublishHook] or [whispeer.RejectHook] learns which connection
// published a message with [PublisherConn].
//
// A Set is safe for concurrent use; its hooks run in the goroutine of the
// connection they concern.
package hook
