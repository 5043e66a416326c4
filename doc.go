// Package whispeer is a publish/subscribe broker whose payloads can be
// end-to-end encrypted per topic. This package is the embeddable core: an
// in-memory broker with topics and wildcards, sync and async subscribers,
// typed topics and functional options.
//
// # Topics and patterns
//
// A topic is a name of '/'-separated levels, such as "sensor/kitchen/temperature".
// Subscriptions take a pattern: "+" and "*" match exactly one level, and "#"
// as the last level matches that level's parent and everything below it, so
// "chat/#" matches "chat", "chat/a" and "chat/a/b". Topics are limited in
// bytes and levels (see [WithTopicLimits]); empty levels, invalid UTF-8 and
// control characters are rejected, and a topic to publish to may not
// contain a wildcard character.
//
// # Delivery
//
// A subscription is asynchronous by default: it has a bounded queue and a
// goroutine of its own, and its handler receives a context that is canceled
// when the subscription ends. When the queue is full, the subscription's
// [Overflow] policy decides: drop the oldest message (the default), drop the
// newest, or block the publisher up to a timeout. Every drop is counted in
// [Subscription.Stats] and [Broker.Stats] and reported to [WithDropHandler].
// An inline subscription ([WithInline]) runs its handler in the publisher's
// goroutine instead.
//
// Messages one publisher publishes to one topic reach each subscription in
// the order they were published. Every message carries a per-topic sequence
// number; async subscriptions receive a topic's messages in sequence order.
// An [AtLeastOnce] message whose async handler returns an error is
// redelivered with doubling delays, up to a limit ([WithMaxRedeliveries]).
//
// # Typed topics
//
// [NewTopic] gives a [Topic] whose payloads are values of a Go type, encoded
// with a [Codec] ([JSON] by default); [Publish] and [Subscribe] are the
// package-level equivalents. [Bind] or [WithTypeEnforcement] make the broker
// reject any publish whose payload does not decode into the bound type.
//
// # Encryption and compression
//
// [WithEncryption] seals every payload at Publish with a key from an
// envelope.Keyring (a key per topic, derived or explicit; rotation keeps old
// keys for opening), [WithCompression] compresses payloads above a
// threshold, and [ForTopics] overrides both per topic pattern. Subscribers
// receive the opened payload; plugins, the history, the store and the
// transports, which forward envelopes their clients open, hold only the
// envelope. Payloads sealed by their publisher ([WithSealedPayload]) are
// routed untouched.
//
// # Persistence
//
// With [WithStore], every message is appended to a [Store] and its Seq is
// its offset in the topic's log, which continues across restarts; each topic
// has an epoch that changes when its history is lost. [WithReplay] and
// [WithResume] are served from the store with no gap and no duplicate
// before live messages, and [Subscription.Recovered] says whether a resume
// found everything it asked for. A QoS 1 Publish returns once the store has
// made the message durable ([PublishAsync] reports it instead); retention
// rules ([WithRetention]) bound each topic's log, and durable subscriptions
// ([WithDurable]) keep a bounded backlog while their subscriber is away,
// on a store that also keeps their cursors ([CursorStore]).
//
// # Exactly once
//
// An [ExactlyOnce] publish is stored and routed once per publisher
// identity ([WithPublisher], [PublisherName]) and message id within a window of count and
// age ([WithDedup]): a retry is answered as the first publish was and
// delivered no second time. With a store, the identity is written with the
// message and the window is rebuilt when the broker opens it, so a retry
// after a crash is recognised too. A server holds each id until its
// client releases it ([Broker.Release]); past the window's bounds a
// publish fails with [ErrDedupLimit]. docs/persistence.md says what holds
// across crashes and reconnects, and where the guarantee stops.
//
// # Plugins
//
// A [Plugin] has a name and implements any of the small hook interfaces:
// [Provisioner], [PublishHook] (may rewrite a message or reject it),
// [SubscribeHook], [DeliverHook], [DropHook], [RejectHook], [Closer]; the
// hooks of a server's client connections are package hook's, which a
// server runs on the broker's [Broker.Plugins]. [WithPlugin]
// registers plugins; they run in registration order, a rejection stops the
// operation with [ErrRejected] and the plugin's reason, and a panicking
// hook is logged and skipped. The broker keeps one slice per hook, so a
// hook no plugin implements costs nothing. Built-in plugins live under
// plugins/.
//
// # Errors
//
// Errors wrap the sentinel values of this package (test with [errors.Is]),
// each an [*Error] whose [Code] transports map to wire error codes.
//
// # Concurrency
//
// A [Broker], its [Subscription]s and [Topic]s are safe for concurrent use.
// The broker hands one *[Message] to every subscriber: handlers must not
// modify it. [Broker.Close] drains async queues and returns once every
// goroutine the broker started has exited.
package whispeer
