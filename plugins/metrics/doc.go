// Package metrics is a whispeer plugin that counts a broker's traffic and
// exposes it, with whatever the server adds, to Prometheus: [Plugin] is a
// whispeer.Plugin, and [Plugin.Handler] serves its registry in the
// Prometheus text format, at /metrics on a whispeer server.
//
// # Cost
//
// Counters on the message path are plain atomics, read by CounterFuncs
// and GaugeFuncs only when /metrics is scraped; the broker-wide figures
// (topics, subscriptions) are read from whispeer.Broker.Stats at scrape
// time and cost nothing in between. Delivery latency is sampled: only the
// deliveries of one message in Options.LatencySample per topic, chosen by
// sequence number, are timed and observed. History replayed to a new
// subscription goes through the same hook and is observed with its age.
//
// # Metrics
//
// The broker's, all prefixed whispeer_ (see docs/operations.md for the
// server's additions):
//
//	connections                      gauge     client connections open now
//	connections_total                counter   client connections accepted
//	authentications_total            counter   successful authentications
//	subscriptions                    gauge     live subscriptions
//	topics                           gauge     topics published to
//	messages_in_total                counter   messages published (seen by the plugin)
//	bytes_in_total                   counter   payload bytes of those messages, as routed
//	messages_out_total               counter   deliveries to subscribers
//	bytes_out_total                  counter   payload bytes of those deliveries, as routed
//	acks_total                       counter   acks of QoS 1 and 2 deliveries
//	dropped_messages_total{reason}   counter   messages dropped, by reason
//	rejected_total{op,plugin}        counter   operations rejected by a plugin
//	delivery_latency_seconds         histogram broker acceptance to hand-off, sampled
//	store_latency_seconds{op}        histogram store operations (see Plugin.InstrumentStore)
//	store_errors_total{op}           counter   store operations that failed
//
// plus the Go runtime's and the process's standard collectors.
//
// # Concurrency
//
// A Plugin is safe for concurrent use. Register it with one broker.
package metrics
