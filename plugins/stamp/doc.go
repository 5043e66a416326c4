// Package stamp is a whispeer plugin that rewrites every published
// message: it adds a header naming the node that received the message and
// one with the time it was received. It is the model of a transforming
// plugin: a PublishHook that returns a changed copy made with
// whispeer.Message.Clone, never modifying the message it was given, whose
// payload and headers the publisher still owns.
//
// Headers travel outside the payload, so stamping works on messages sealed
// end to end as well as on plain ones; the payload is never read.
//
// # Concurrency
//
// A Plugin is safe for concurrent use; it keeps no state besides its
// options.
package stamp
