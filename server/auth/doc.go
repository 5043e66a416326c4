// Package auth authenticates whispeer clients and authorizes what they do.
//
// It has five parts, each usable alone:
//
//   - [Issuer] issues and verifies login tokens: JWTs signed with HS256
//     carrying "sub" (the user name), "iat" and "exp" and, with
//     [WithPasswordStamps], "pwd", which binds a token to the user's
//     password so that changing the password revokes it. Verification
//     accepts HS256 only, so "alg": "none", other HMAC sizes and
//     public-key algorithms are refused, and requires an expiry.
//   - [Apps] verifies the tokens that applications sign for their own
//     users ([[auth.issuers]]), picked by "iss": HS256/384/512 with a
//     secret, RS*, PS*, ES256/384/512 and EdDSA with a PEM public key or a
//     JWKS document (a file, or a URL refetched periodically and, rate
//     limited, for an unknown "kid"). Every key is pinned to one algorithm
//     and kind of key, so a public key never serves as an HMAC secret, a
//     JWKS document never supplies one, and "none" is never accepted. The
//     token's "whispeer" claim ([GrantClaim]) grants topics within the
//     issuer's patterns, with "{sub}" standing for the subject; a
//     [DenyList] revokes tokens by "jti".
//   - [Users] holds the accounts of the configuration and checks passwords.
//     A password is either an argon2id PHC string made by [HashPassword] or,
//     for trying whispeer on one machine, plain text. Every call to
//     [Users.Authenticate] computes exactly one argon2id hash and compares
//     in constant time, whether the user exists or not and whatever kind of
//     password it has, so response times do not reveal user names.
//   - [User.CanPublish] and [User.CanSubscribe] apply the user's topic
//     permissions. A subscription pattern is allowed only when every topic
//     it can match is allowed; see [Covers].
//   - [Limiter] slows down password guessing: after a number of
//     consecutive failures for one key (a user name, a remote address) each
//     further attempt must wait, with the wait doubling up to a cap.
//     [Throttle] combines three of them so that guesses at a user from
//     other addresses never lock the user out.
//
// # Password hashes
//
// [HashPassword] uses [DefaultParams], the second recommended option of RFC
// 9106 section 4: argon2id with 64 MiB of memory, 3 passes, 4 lanes, a
// 16-byte random salt and a 32-byte tag, encoded as
//
//	$argon2id$v=19$m=65536,t=3,p=4$<salt>$<tag>
//
// with salt and tag in unpadded standard base64, the PHC string format that
// other argon2 libraries read and write. One hash takes about 130 ms on two
// cores of a current server. Hashes with other parameters, within sane
// bounds, are accepted, so stronger or cheaper settings can be chosen when
// hashing.
//
// # Concurrency
//
// An [Issuer], a [Users] with its [User] values, a [Limiter] and a
// [Throttle] are safe
// for concurrent use by many goroutines; none of them changes after
// construction except the Limiter, which guards its state with one mutex
// held for a map update and never across a call out. Users bounds the
// argon2id computations running at once (each needs its memory parameter
// in RAM, 64 MiB by default) to [MaxHashesDefault], GOMAXPROCS or what a
// quarter of the runtime's memory limit (else of the machine's memory,
// counting the collector's garbage) holds, whichever is least, or to
// [WithMaxHashes]; further calls to Authenticate wait for a slot, up to
// [HashQueueFactor] of them per slot, and beyond that fail with [ErrBusy].
package auth
