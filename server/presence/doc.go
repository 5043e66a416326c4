// Package presence keeps who is subscribed to each topic of a server: the
// clients (connections) with a subscription to it, their users and their
// client ids, and it tells the subscriptions that ask for it when a
// client joins or leaves.
//
// Presence is kept by the exact string a client subscribed to: a
// subscription to a pattern such as "chat/#" makes its client present in
// "chat/#", not in each topic the pattern matches. A client counts once in
// a topic however many subscriptions it holds there; it joins with its
// first and leaves with its last.
//
// A [Registry] is safe for concurrent use. Its lock is held only to update
// or copy its maps: the watchers of join and leave events run after it is
// released, in the goroutine that joined or left, so one client's events
// reach each watcher in the order that client joined and left.
package presence
