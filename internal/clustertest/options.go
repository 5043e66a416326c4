package clustertest

import (
	"crypto/rand"
	"encoding/hex"
)

// Option configures the nodes that Start starts.
type Option func(*options)

// options are the settings of a cluster's nodes.
type options struct {
	redis  func(i int) string
	toml   []func(i int) string
	flags  []func(i int) []string
	secret string // server.jwt_secret, shared so a token works on every node
	admin  string // admin.token
}

// WithRedis joins every node to a cluster on the Redis at url ([cluster]
// redis), each under its own name node-0, node-1… ([cluster] node).
func WithRedis(url string) Option {
	return WithRedisFor(func(int) string { return url })
}

// WithRedisFor joins node i to a cluster on the Redis at url(i), such as
// its own redistest.Proxy in front of one Redis.
func WithRedisFor(url func(i int) string) Option {
	return func(o *options) { o.redis = url }
}

// WithTOML appends toml(i) to node i's configuration file: whole sections
// that the file does not have ([store], [[auth.users]], …). The file has
// [server], [admin] and, with WithRedis, [cluster]; set their other keys
// with WithFlags.
func WithTOML(toml func(i int) string) Option {
	return func(o *options) { o.toml = append(o.toml, toml) }
}

// WithFlags adds flags(i) to node i's `whispeer serve` command line, such
// as "--store.kind=memory"; flags override the configuration file.
func WithFlags(flags func(i int) []string) Option {
	return func(o *options) { o.flags = append(o.flags, flags) }
}

// newOptions applies opts over the defaults, with fresh random secrets.
func newOptions(opts []Option) *options {
	o := &options{secret: randomHex(32), admin: randomHex(32)}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// randomHex returns n random bytes in hexadecimal.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
