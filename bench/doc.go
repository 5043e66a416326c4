// Package bench measures whispeer side by side with other brokers on the
// same machine, in the same run.
//
// A [Target] is one system under test: a server the suite starts itself on a
// free loopback port, and the client that talks to it. A [Workload] drives
// targets with in-process Go clients and returns [Metrics]; the [Runner]
// repeats every (target, workload) pair, keeps medians and spreads, and
// renders them as a markdown table with ratios to the best peer.
//
// Targets that cannot run here, because a server binary is missing or a
// whispeer feature is not written yet, report an error wrapping
// [ErrUnavailable]; the suite skips them and says why. A workload that makes
// no sense for a target (durable publishing on a forwarder) is
// [ErrNotApplicable].
//
// Concurrency: a Target runs one server at a time and is driven by one
// workload at a time; its Clients are safe for one publisher goroutine and
// call handlers from their own goroutines.
package bench
