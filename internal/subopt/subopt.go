// Package subopt holds what a broker subscription's options set, so that
// the transports of this module can ask for the two settings the root
// package keeps from its users' API: borrowing each message and receiving
// payloads as routed.
package subopt

// Options is what a whispeer.SubscribeOption sets.
type Options struct {
	// Borrow lends each message to an inline handler rather than giving
	// it: the message, its ID and its Payload are valid only until the
	// handler returns, and a publish that nothing else keeps allocates
	// nothing for its message. It suits a transport, which encodes a
	// delivery into buffers of its own before returning.
	Borrow bool
	// Raw delivers payloads as routed: the envelopes, when the broker
	// seals them, which only the remote subscribers can open.
	Raw bool
	// Own holds the root package's own settings, which it alone reads
	// and writes.
	Own any
}

// Borrow is the option that sets [Options.Borrow]. It needs an inline
// subscription.
func Borrow(o *Options) { o.Borrow = true }

// Raw is the option that sets [Options.Raw].
func Raw(o *Options) { o.Raw = true }
