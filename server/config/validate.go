package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/match"
)

// HashPrefix starts every password hash that whispeer accepts: an argon2id
// PHC string. A password without it is plain text.
const HashPrefix = "$argon2id$"

// MinSecretBytes is the JWT secret length below which Security warns.
const MinSecretBytes = 32

// Validate reports every value that cannot work, joined in one error whose
// lines each start with the key at fault. It does not check that password
// hashes parse; auth.NewUsers does.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	s := c.Server
	if s.Port < 1 || s.Port > 65535 {
		bad("server.port", "must be between 1 and 65535, got %d", s.Port)
	}
	if s.TCPPort < 0 || s.TCPPort > 65535 {
		bad("server.tcp_port", "must be between 1 and 65535, or 0 to disable, got %d", s.TCPPort)
	} else if s.TCPPort == s.Port {
		bad("server.tcp_port", "must differ from server.port (%d)", s.Port)
	}
	for _, p := range []struct {
		key string
		v   int
		min int
	}{
		{"server.max_connections", s.MaxConnections, 1},
		{"server.max_message_bytes", s.MaxMessageBytes, 1},
		{"server.max_subscriptions", s.MaxSubscriptions, 1},
		{"server.max_pending_bytes", s.MaxPendingBytes, 1},
		{"server.max_publish_rate", s.MaxPublishRate, 0},
		{"qos.max_retries", c.QoS.MaxRetries, 0},
		{"qos.max_inflight", c.QoS.MaxInflight, 1},
		{"qos.max_queued", c.QoS.MaxQueued, 0},
		{"qos.dedup_max", c.QoS.DedupMax, 1},
		{"qos.dedup_max_total", c.QoS.DedupMaxTotal, c.QoS.DedupMax},
		{"qos.max_durable_per_user", c.QoS.MaxDurablePerUser, 1},
		{"replay.size", c.Replay.Size, 0},
		{"presence.list_limit", c.Presence.ListLimit, 1},
		{"presence.join_leave_limit", c.Presence.JoinLeaveLimit, 0},
		{"auth.max_hashes", c.Auth.MaxHashes, 0},
	} {
		if p.v < p.min {
			bad(p.key, "must be at least %d, got %d", p.min, p.v)
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"server.ping_interval", s.PingInterval},
		{"server.write_timeout", s.WriteTimeout},
		{"server.auth_timeout", s.AuthTimeout},
		{"server.http_idle_timeout", s.HTTPIdleTimeout},
		{"auth.token_ttl", c.Auth.TokenTTL},
		{"qos.ack_timeout", c.QoS.AckTimeout},
		{"qos.dedup_window", c.QoS.DedupWindow},
		{"qos.durable_expiry", c.QoS.DurableExpiry},
	} {
		if d.v <= 0 {
			bad(d.key, "must be a positive duration, got %s", d.v)
		}
	}
	if s.MaxStall < 0 {
		bad("server.max_stall", "must be a duration ≥ 0, got %s", s.MaxStall)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls", "cert_file and key_file must be set together")
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Log.Level)); err != nil {
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "must be text or json, got %q", c.Log.Format)
	}
	errs = append(errs, validateOrigins(s.AllowedOrigins)...)
	errs = append(errs, c.validateUsers()...)
	errs = append(errs, c.validateAdmin()...)
	errs = append(errs, c.validatePlugins()...)
	errs = append(errs, c.validateStore()...)
	errs = append(errs, c.validateCluster()...)
	errs = append(errs, c.validateRuntime()...)
	return errors.Join(errs...)
}

// minGCPercent is the smallest runtime.gc_percent accepted besides -1: below
// it the collector runs nearly all the time.
const minGCPercent = 10

// validateRuntime checks the [runtime] section.
func (c *Config) validateRuntime() []error {
	var errs []error
	r := c.Runtime
	if _, err := r.MemoryLimitBytes(); err != nil {
		errs = append(errs, fmt.Errorf("runtime.memory_limit: %w", err))
	}
	switch {
	case r.GCPercent == -1 && r.MemoryLimit == "":
		errs = append(errs, errors.New("runtime.gc_percent: -1 turns the garbage collector off, which needs runtime.memory_limit to bound memory"))
	case r.GCPercent != -1 && r.GCPercent < minGCPercent:
		errs = append(errs, fmt.Errorf("runtime.gc_percent: must be -1 (collector off) or at least %d, got %d", minGCPercent, r.GCPercent))
	}
	return errs
}

// validateStore checks the [store] section.
func (c *Config) validateStore() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("store.%s: "+format, append([]any{key}, args...)...))
	}
	st := c.Store
	switch st.Kind {
	case StoreSQLite, StoreFile:
		if st.Path == "" {
			bad("path", "must be set for store.kind %q", st.Kind)
		}
	case StoreMemory, StoreNone:
	case StoreRedis:
		if !c.Cluster.Enabled() {
			bad("kind", "redis needs cluster.redis, the address of the Redis")
		}
	default:
		bad("kind", "must be sqlite, file, memory, none or redis, got %q", st.Kind)
	}
	if c.Cluster.Enabled() && st.Kind != StoreRedis && st.Kind != StoreSQLite {
		bad("kind", "a cluster keeps its history in Redis: must be redis (or left at its default), got %q", st.Kind)
	}
	if _, err := whispeer.ParseSyncPolicy(st.Sync); err != nil {
		bad("sync", "must be batch, always, never or an interval such as \"10ms\", got %q", st.Sync)
	}
	if st.DurableBacklog < 1 {
		bad("durable_backlog", "must be at least 1, got %d", st.DurableBacklog)
	}
	if st.RetentionInterval <= 0 {
		bad("retention_interval", "must be a positive duration, got %s", st.RetentionInterval)
	}
	for i, r := range st.Retention {
		key := fmt.Sprintf("retention[%d]", i)
		if err := match.ValidatePattern(r.Pattern, match.DefaultLimits); err != nil {
			bad(key, "pattern %q: %v", r.Pattern, err)
		}
		if r.MaxMessages < 0 || r.MaxBytes < 0 || r.MaxAge < 0 {
			bad(key, "max_messages, max_bytes and max_age must not be negative")
		}
	}
	if st.Kind == StoreNone && len(st.Retention) > 0 {
		bad("retention", "needs a store: store.kind is %q", st.Kind)
	}
	return errs
}

// validateAdmin checks the [admin] section.
func (c *Config) validateAdmin() []error {
	errs := c.validateKeys()
	l := c.Admin.Listen
	if l == "" {
		return errs
	}
	_, port, err := net.SplitHostPort(l)
	if err != nil {
		return append(errs, fmt.Errorf("admin.listen: must be host:port, got %q", l))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return append(errs, fmt.Errorf("admin.listen: port must be between 0 and 65535, got %q", port))
	}
	return errs
}

// MaxKeyNameBytes is the longest name of an [[admin.keys]] entry.
const MaxKeyNameBytes = 64

// validateKeys checks the [[admin.keys]] entries: a unique name, a unique
// key that is not admin.token, and valid patterns.
func (c *Config) validateKeys() []error {
	var errs []error
	names, keys := map[string]bool{}, map[string]bool{c.Admin.Token.Reveal(): true}
	for i, k := range c.Admin.Keys {
		at := fmt.Sprintf("admin.keys[%d] (%q)", i, k.Name)
		switch {
		case k.Name == "" || len(k.Name) > MaxKeyNameBytes || strings.ContainsFunc(k.Name, unicode.IsControl):
			errs = append(errs, fmt.Errorf("admin.keys[%d]: name must hold 1 to %d printable bytes", i, MaxKeyNameBytes))
		case names[k.Name]:
			errs = append(errs, fmt.Errorf("%s: duplicate name", at))
		}
		names[k.Name] = true
		switch key := k.Key.Reveal(); {
		case key == "":
			errs = append(errs, fmt.Errorf("%s: key is empty", at))
		case keys[key]:
			errs = append(errs, fmt.Errorf("%s: key is admin.token's or another key's: give each its own", at))
		default:
			keys[key] = true
		}
		if k.MaxPublishRate < 0 {
			errs = append(errs, fmt.Errorf("%s: max_publish_rate must be 0 (unlimited) or more, got %d", at, k.MaxPublishRate))
		}
		for _, list := range []struct {
			field    string
			patterns []string
		}{{"publish", k.Publish}, {"read", k.Read}} {
			for _, p := range list.patterns {
				if err := match.ValidatePattern(p, match.DefaultLimits); err != nil {
					errs = append(errs, fmt.Errorf("%s: %s: %q: %w", at, list.field, p, err))
				}
			}
		}
	}
	return errs
}

// validatePlugins checks the [plugins] section. Which names exist is the
// server's business: it knows the plugins.
func (c *Config) validatePlugins() []error {
	var errs []error
	seen := make(map[string]bool)
	for _, name := range c.Plugins.Enabled {
		switch {
		case name == "":
			errs = append(errs, errors.New("plugins.enabled: empty plugin name"))
		case seen[name]:
			errs = append(errs, fmt.Errorf("plugins.enabled: %q listed twice", name))
		}
		seen[name] = true
	}
	for i, r := range c.Plugins.Typecheck {
		if err := match.ValidatePattern(r.Pattern, match.DefaultLimits); err != nil {
			errs = append(errs, fmt.Errorf("plugins.typecheck[%d]: pattern %q: %w", i, r.Pattern, err))
		}
	}
	return errs
}

// validateUsers checks each [[auth.users]] entry.
func (c *Config) validateUsers() []error {
	var errs []error
	seen := make(map[string]bool, len(c.Auth.Users))
	for i, u := range c.Auth.Users {
		key := fmt.Sprintf("auth.users[%d]", i)
		if u.Username != "" {
			key = fmt.Sprintf("auth.users[%d] (%q)", i, u.Username)
		}
		switch {
		case u.Username == "":
			errs = append(errs, fmt.Errorf("%s: username is empty", key))
		case strings.IndexFunc(u.Username, unicode.IsControl) >= 0:
			errs = append(errs, fmt.Errorf("%s: username contains a control character", key))
		case seen[u.Username]:
			errs = append(errs, fmt.Errorf("%s: duplicate username", key))
		}
		seen[u.Username] = true
		pw := u.Password.Reveal()
		switch {
		case pw == "":
			errs = append(errs, fmt.Errorf("%s: password is empty", key))
		case strings.HasPrefix(pw, "$") && !strings.HasPrefix(pw, HashPrefix):
			errs = append(errs, fmt.Errorf("%s: password looks like a hash but is not argon2id (%s…); hash it with `whispeer passwd`", key, HashPrefix))
		}
		for _, list := range []struct {
			name     string
			patterns []string
		}{{"publish", u.Publish}, {"subscribe", u.Subscribe}} {
			for _, p := range list.patterns {
				if err := match.ValidatePattern(p, match.DefaultLimits); err != nil {
					errs = append(errs, fmt.Errorf("%s: %s pattern %q: %w", key, list.name, p, err))
				}
			}
		}
	}
	return errs
}

// Security reports the settings that are unsafe on a network. While
// server.host is a loopback address (127.0.0.0/8, ::1 or "localhost") they
// are allowed and returned as warnings; on any other host they make err
// non-nil, naming each setting that must change. Some findings, such as a
// short JWT secret or a public listener without TLS, are only ever
// warnings.
func (c *Config) Security() (warnings []string, err error) {
	var unsafe []string
	secret := c.Server.JWTSecret.Reveal()
	secretVar := EnvVar("server.jwt_secret")
	switch {
	case secret == "":
		unsafe = append(unsafe, "server.jwt_secret is empty: set it (or "+secretVar+") to a random value of at least 32 bytes")
	case secret == DefaultJWTSecret:
		unsafe = append(unsafe, "server.jwt_secret is the shipped default: set it (or "+secretVar+") to a random value of at least 32 bytes")
	case len(secret) < MinSecretBytes:
		warnings = append(warnings, fmt.Sprintf("server.jwt_secret is %d bytes; use at least %d random bytes", len(secret), MinSecretBytes))
	}
	var plain []string
	for _, u := range c.Auth.Users {
		if !strings.HasPrefix(u.Password.Reveal(), HashPrefix) {
			plain = append(plain, fmt.Sprintf("%q", u.Username))
		}
	}
	if len(plain) > 0 {
		unsafe = append(unsafe, "auth.users "+strings.Join(plain, ", ")+
			" have plain-text passwords: replace each with the hash printed by `whispeer passwd`")
	}
	if t := c.Admin.Token.Reveal(); t != "" && len(t) < MinSecretBytes {
		warnings = append(warnings, fmt.Sprintf("admin.token is %d bytes; use at least %d random bytes", len(t), MinSecretBytes))
	}
	for _, k := range c.Admin.Keys {
		if n := len(k.Key.Reveal()); n > 0 && n < MinSecretBytes {
			warnings = append(warnings, fmt.Sprintf("admin.keys %q: key is %d bytes; use at least %d random bytes", k.Name, n, MinSecretBytes))
		}
	}
	loopback := IsLoopback(c.Server.Host)
	if !loopback && !c.TLS.Enabled() {
		warnings = append(warnings, fmt.Sprintf("server.host %q is not loopback and TLS is off: tokens and passwords cross the network in clear unless a proxy terminates TLS", c.Server.Host))
	}
	if loopback {
		return append(unsafe, warnings...), nil
	}
	if len(unsafe) > 0 {
		return warnings, fmt.Errorf("config: server.host %q is not a loopback address, so these must change:\n  %s",
			c.Server.Host, strings.Join(unsafe, "\n  "))
	}
	return warnings, nil
}

// IsLoopback reports whether host names only the local machine:
// "localhost", an address in 127.0.0.0/8, or ::1. An empty host, which
// binds every interface, is not loopback.
func IsLoopback(host string) bool {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// validateOrigins checks server.allowed_origins: each entry is "*" or an
// origin pattern, scheme://host[:port], in which "*" may stand for any
// run of characters.
func validateOrigins(origins []string) []error {
	var errs []error
	for i, o := range origins {
		if o == "*" {
			continue
		}
		scheme, host, ok := strings.Cut(o, "://")
		if !ok || scheme == "" || host == "" || strings.ContainsAny(host, "/?#") {
			errs = append(errs, fmt.Errorf("server.allowed_origins[%d]: %q is not \"*\" or scheme://host[:port], such as https://*.example.com", i, o))
		}
	}
	return errs
}

// validateCluster checks the [cluster] section.
func (c *Config) validateCluster() []error {
	cl := c.Cluster
	if !cl.Enabled() {
		return nil
	}
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("cluster.%s: "+format, append([]any{key}, args...)...))
	}
	if !strings.HasPrefix(cl.Redis.Reveal(), "redis://") && !strings.HasPrefix(cl.Redis.Reveal(), "rediss://") && !strings.HasPrefix(cl.Redis.Reveal(), "unix://") {
		bad("redis", "must be a redis://, rediss:// or unix:// address")
	}
	if len(cl.Node) > 128 {
		bad("node", "must be at most 128 bytes, got %d", len(cl.Node))
	}
	if cl.Prefix == "" || len(cl.Prefix) > 64 || strings.Trim(cl.Prefix, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-.") != "" {
		bad("prefix", "must be 1 to 64 letters, digits or \":_-.\", got %q", cl.Prefix)
	}
	if cl.Timeout <= 0 {
		bad("timeout", "must be a positive duration, got %s", cl.Timeout)
	}
	if cl.WaitReplicas < 0 || (cl.WaitReplicas > 0 && cl.WaitTimeout <= 0) {
		bad("wait_replicas", "must not be negative, and wait_timeout positive with it")
	}
	return errs
}
