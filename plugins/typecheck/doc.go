// Package typecheck is a whispeer plugin that enforces the shape of JSON
// payloads per topic pattern: the server-side form of the library's typed
// topics (whispeer.Bind), for clients that are not written in Go. A
// publish whose payload does not fit every rule matching its topic is
// rejected, and the publisher is told why, for example
//
//	whispeer: rejected by typecheck: topic "sensor/kitchen" expects an object {temp: number, unit: string}: field "temp" is a string, want a number
//
// A [Rule] names a pattern, the payload's JSON kind and, for objects, the
// fields that must be present and their kinds ([Kind]); [GoType] adds the
// check whispeer.Bind makes, that the payload decodes into a Go type.
// Fields not listed are allowed.
//
// The plugin reads payloads, so it applies to plaintext topics only: an
// envelope sealed end to end, or by the broker's encryption, is not JSON
// and fails every rule. Give rules patterns that cover plaintext topics.
//
// # Concurrency
//
// A Plugin is safe for concurrent use; its rules do not change after New.
package typecheck
