// Package match validates topic names and subscription patterns and finds
// the patterns that match a topic.
//
// # Topics and patterns
//
// A topic is a non-empty string of levels separated by '/', such as
// "sensor/kitchen/temperature". A pattern is a topic that may also contain
// wildcard levels:
//
//   - "+" and "*" each match exactly one level: "sensor/+/temperature"
//     matches "sensor/kitchen/temperature" but not "sensor/temperature" or
//     "sensor/a/b/temperature"; "chat/*" matches "chat/a" but not "chat".
//   - "#", allowed only as the last level, matches its parent level and
//     every level below it: "chat/#" matches "chat", "chat/a" and
//     "chat/a/b"; "#" alone matches every topic.
//
// A wildcard stands for a whole level: "a+" and "#x" are invalid. Levels may
// not be empty, topics and patterns must be valid UTF-8 without C0 control
// characters or DEL, and both are bounded by [Limits].
//
// [ValidateTopic], [ValidatePattern], [IsPattern] and [Matches] are pure
// functions. [Matches] tests one pattern against one topic without
// allocating; a [Sublist] holds many patterns, each with values, and finds
// those matching a topic in one walk of a trie, remembering recent answers
// in a bounded match cache.
//
// # Concurrency
//
// All functions and all methods of [Sublist] are safe for concurrent use.
// Insert and Remove serialize on the Sublist's one lock; a Match that
// misses the cache walks the trie under that lock's read side; a Match
// that hits the cache takes no lock and does not write shared memory.
// Slices returned by [Sublist.Match] are shared with the cache and with
// other callers: treat them as read-only. No method calls out to user code,
// so no lock is ever held across a callback, and Match does not retain the
// topic string after it returns (a caller may pass a string that views a
// reusable buffer, as long as the buffer does not change during the call).
package match
