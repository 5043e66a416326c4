// Package config loads and checks the configuration of a whispeer server.
//
// # Sources and precedence
//
// [Load] merges five layers; a key set in a higher layer wins over the same
// key in every layer below it:
//
//  1. command-line flags (only flags the user set; see [RegisterFlags]);
//  2. the process environment, WHISPEER_SECTION_KEY, for example
//     WHISPEER_SERVER_PORT for server.port and WHISPEER_SERVER_JWT_SECRET
//     for server.jwt_secret;
//  3. a .env file, read as if its lines were environment variables but
//     never overriding a variable that is really set;
//  4. a TOML file, by default config/default.toml;
//  5. the built-in defaults, the same values as the shipped
//     config/default.toml.
//
// An environment variable is mapped to a key by dropping the WHISPEER_
// prefix, lower-casing the rest and splitting off only the first
// '_'-separated segment as the section: the remaining segments, underscores
// included, are the key. Variables that name no known key are ignored.
// A list of strings, such as plugins.enabled, is written comma-separated in
// a variable or a flag. The lists of tables, [[auth.users]],
// [[plugins.typecheck]] and [[store.retention]], can only be set in the TOML file; a file that
// defines one replaces the built-in list as a whole.
//
// # Checks
//
// Every layer is decoded strictly before it is merged: a value whose type
// is not its key's (a boolean or a fraction for an integer, a number for a
// string) is an error naming the key and the file, variable or flag it came
// from, never converted. Variables and flags are text and must parse
// whole as the key's type.
//
// Load calls [Config.Validate], which rejects values that cannot work
// (ports out of range, durations or sizes that are not positive, invalid
// topic patterns, users without names or passwords, duplicate users). A
// second check, [Config.Security], is kept apart because its answer depends
// on where the server listens: plain-text passwords and the shipped JWT
// secret are tolerated, with warnings, while the server binds a loopback
// address, and refused otherwise.
//
// # Secrets
//
// The JWT secret and user passwords have type [Secret], which prints as
// "[REDACTED]" through fmt, log/slog, encoding/json and encoding.TextMarshaler,
// so logging a [Config] never reveals them. Call [Secret.Reveal] to use the
// value.
//
// # Concurrency
//
// Load, RegisterFlags and the methods of Config are safe to call from
// several goroutines as long as each call has its own FlagSet and Config,
// or none of them modifies a shared one. A loaded Config is a plain value:
// callers that share it must not modify it.
package config
