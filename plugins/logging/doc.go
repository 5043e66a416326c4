// Package logging is a whispeer plugin that logs what happens to a broker
// with log/slog: connections, authentications, subscriptions,
// disconnections, rejections and drops, each as one structured record.
//
// # What is logged, and at which level
//
//   - info: a connection opened, authenticated, or closed (with the reason
//     when it was not orderly);
//   - warn: an operation a plugin rejected (with the plugin and its reason),
//     a message a subscription dropped (with the reason);
//   - debug: every subscription, every publish (topic, id, QoS, payload
//     size) and every ack.
//
// Records name the connection (id, remote address, transport, user), the
// topic and the message id. They never carry a payload, a header value, a
// password or a token: a broker whose payloads are encrypted end to end
// must not leak them into logs, and neither may one whose payloads are
// not. Options.Headers adds the names (never the values) of headers.
//
// # Concurrency
//
// A Plugin is safe for concurrent use; its hooks run in the broker's and
// the server's goroutines and only call the logger. Records below the
// logger's level cost one Enabled check.
package logging
