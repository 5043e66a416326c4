package config

import (
	"log/slog"
	"time"

	"github.com/whispeer-io/whispeer"
)

// DefaultJWTSecret is the JWT signing secret shipped in the built-in
// defaults and in config/default.toml. It is public, so [Config.Security]
// refuses it whenever the server listens on a non-loopback address.
const DefaultJWTSecret = "whispeer-insecure-default-jwt-secret-change-me"

// Config is the whole configuration of a whispeer server. The koanf tags
// are the TOML keys; see docs/configuration.md for every key.
type Config struct {
	Server   Server   `koanf:"server"`
	Auth     Auth     `koanf:"auth"`
	QoS      QoS      `koanf:"qos"`
	Replay   Replay   `koanf:"replay"`
	Presence Presence `koanf:"presence"`
	Store    Store    `koanf:"store"`
	Cluster  Cluster  `koanf:"cluster"`
	TLS      TLS      `koanf:"tls"`
	Log      Log      `koanf:"log"`
	Admin    Admin    `koanf:"admin"`
	Plugins  Plugins  `koanf:"plugins"`
	Runtime  Runtime  `koanf:"runtime"`
}

// Server holds the [server] section: listeners, limits and timeouts.
type Server struct {
	Host             string        `koanf:"host"`              // address to bind; "127.0.0.1" by default
	Port             int           `koanf:"port"`              // WebSocket port, 1–65535
	TCPPort          int           `koanf:"tcp_port"`          // native TCP port; 0 disables the TCP listener
	JWTSecret        Secret        `koanf:"jwt_secret"`        // HS256 signing key for login tokens
	MaxConnections   int           `koanf:"max_connections"`   // concurrent client connections
	MaxMessageBytes  int           `koanf:"max_message_bytes"` // largest accepted frame
	MaxSubscriptions int           `koanf:"max_subscriptions"` // subscriptions per connection
	MaxPendingBytes  int           `koanf:"max_pending_bytes"` // bytes queued for one client before it is dropped as a slow consumer
	MaxPublishRate   int           `koanf:"max_publish_rate"`  // publishes per second per connection; 0 means unlimited
	PingInterval     time.Duration `koanf:"ping_interval"`     // keep-alive ping period
	WriteTimeout     time.Duration `koanf:"write_timeout"`     // deadline for one write to a client
	AuthTimeout      time.Duration `koanf:"auth_timeout"`      // time a connection has to authenticate
	HTTPIdleTimeout  time.Duration `koanf:"http_idle_timeout"` // how long an HTTP keep-alive connection may wait for its next request
	AllowedOrigins   []string      `koanf:"allowed_origins"`   // Origin headers accepted on WebSocket upgrades; empty means same origin only
	MaxStall         time.Duration `koanf:"max_stall"`         // longest a publisher is not read while its subscribers' queues drain; 0 disables flow control
}

// Auth holds the [auth] section: token lifetime and the user list.
type Auth struct {
	TokenTTL  time.Duration `koanf:"token_ttl"`  // lifetime of issued login tokens
	MaxHashes int           `koanf:"max_hashes"` // password hashes computed at once; 0 sizes it from the memory limit
	Users     []User        `koanf:"users"`      // accounts allowed to log in
	Issuers   []Issuer      `koanf:"issuers"`    // applications whose tokens the server trusts
}

// Issuer is one [[auth.issuers]] entry: an application whose signed
// tokens authenticate its users, who need not be in auth.users. Name is
// the "iss" its tokens carry. The keys come from Keys (secrets and PEM
// public keys), from a JWKS document (JWKSURL or JWKSFile), or both.
// Publish and Subscribe are the most a token may grant, topic patterns in
// which "{sub}" stands for the token's subject. Zero durations and sizes
// take the defaults that docs/configuration.md lists.
type Issuer struct {
	Name          string        `koanf:"issuer"`          // the "iss" claim its tokens carry
	Audience      []string      `koanf:"audience"`        // "aud" must name one of them; empty: not checked
	Leeway        time.Duration `koanf:"leeway"`          // tolerated clock skew for "exp", "nbf" and "iat"
	MaxTokenBytes int           `koanf:"max_token_bytes"` // longest token verified
	Publish       []string      `koanf:"publish"`         // the most a token may grant for publishing
	Subscribe     []string      `koanf:"subscribe"`       // the most a token may grant for subscribing
	Keys          []IssuerKey   `koanf:"keys"`            // keys from the configuration
	JWKSURL       string        `koanf:"jwks_url"`        // JWKS document fetched over HTTP(S)
	JWKSFile      string        `koanf:"jwks_file"`       // JWKS document read from a file at start
	JWKSRefresh   time.Duration `koanf:"jwks_refresh"`    // period of refetching jwks_url
	JWKSTimeout   time.Duration `koanf:"jwks_timeout"`    // limit of one fetch of jwks_url
	JWKSRefetch   time.Duration `koanf:"jwks_refetch"`    // least time between fetches for an unknown "kid"
	JWKSMaxBytes  int           `koanf:"jwks_max_bytes"`  // largest JWKS document read
}

// IssuerKey is one key of an [[auth.issuers]] entry, pinned to one
// algorithm: a secret for HS256, HS384 or HS512, or a PEM public key
// (PublicKey or PublicKeyFile) for RS256, RS384, RS512, PS256, PS384,
// PS512, ES256, ES384 or EdDSA. KID, if set, must match the token's "kid".
type IssuerKey struct {
	KID           string `koanf:"kid"`
	Algorithm     string `koanf:"algorithm"`
	Secret        Secret `koanf:"secret"`
	PublicKey     string `koanf:"public_key"`
	PublicKeyFile string `koanf:"public_key_file"`
}

// User is one [[auth.users]] entry. Password is either plain text or an
// argon2id PHC string ("$argon2id$v=19$m=…,t=…,p=…$salt$hash") as printed
// by `whispeer passwd`. Publish and Subscribe are topic patterns: the user
// may publish to a topic matched by one of Publish and subscribe to a
// pattern whose topics are all matched by Subscribe.
type User struct {
	Username  string   `koanf:"username"`
	Password  Secret   `koanf:"password"`
	Publish   []string `koanf:"publish"`
	Subscribe []string `koanf:"subscribe"`
}

// QoS holds the [qos] section: redelivery of QoS 1 and 2 messages.
type QoS struct {
	AckTimeout  time.Duration `koanf:"ack_timeout"`  // wait for an ack before resending
	MaxRetries  int           `koanf:"max_retries"`  // resends per subscriber before giving up; 0 never resends
	MaxInflight int           `koanf:"max_inflight"` // unacknowledged messages per subscriber
	MaxQueued   int           `koanf:"max_queued"`   // messages waiting for a free in-flight slot, per subscriber
	// The de-duplication window of QoS 2 publishes (whispeer.Dedup).
	DedupWindow   time.Duration `koanf:"dedup_window"`    // how long a QoS 2 message id is remembered
	DedupMax      int           `koanf:"dedup_max"`       // ids remembered per publisher
	DedupMaxTotal int           `koanf:"dedup_max_total"` // ids remembered in all
	// Durable QoS 2 subscriptions (of a JSON client that gives a client_id).
	DurableExpiry     time.Duration `koanf:"durable_expiry"`       // kept this long after their client left
	MaxDurablePerUser int           `koanf:"max_durable_per_user"` // kept per user
}

// Dedup returns the broker's de-duplication window that q sets.
func (q QoS) Dedup() whispeer.Dedup {
	return whispeer.Dedup{Window: q.DedupWindow, MaxPerPublisher: q.DedupMax, MaxTotal: q.DedupMaxTotal}
}

// Replay holds the [replay] section.
type Replay struct {
	Size int `koanf:"size"` // messages kept per topic for replay; 0 disables replay
}

// Presence holds the [presence] section: who is subscribed to each topic,
// which clients may ask of the topics they may subscribe to, and the join
// and leave events sent to the subscriptions that ask for them.
type Presence struct {
	Enabled bool `koanf:"enabled"` // keep presence and answer presence requests
	// ListLimit is the most clients a presence answer lists; its count is
	// exact all the same.
	ListLimit int `koanf:"list_limit"`
	// JoinLeaveLimit is the most clients a topic may have for its join
	// and leave events to be sent; 0 sends none.
	JoinLeaveLimit int `koanf:"join_leave_limit"`
}

// Store kinds, the values of store.kind.
const (
	StoreSQLite = "sqlite" // a SQLite database at store.path (the default)
	StoreFile   = "file"   // an append-only log in the directory store.path
	StoreMemory = "memory" // a log in memory, lost when the server stops
	StoreNone   = "none"   // no log: replay comes from the last replay.size messages kept in memory
	StoreRedis  = "redis"  // Streams in the Redis at cluster.redis, which the nodes of a cluster share
)

// Cluster holds the [cluster] section: the Redis that the nodes of a
// whispeer cluster share. Without Redis the server is one node alone.
type Cluster struct {
	// Redis is the address of the Redis, Redis Cluster or Sentinel:
	// "redis://[user:pass@]host:port[/db]", "rediss://" for TLS, several
	// seed nodes as "redis://h1:p1,h2:p2", a Sentinel's master with
	// "?master_set=name". A secret: it may hold a password.
	Redis        Secret        `koanf:"redis"`
	Node         string        `koanf:"node"`          // this node's name; by default host name and port
	Prefix       string        `koanf:"prefix"`        // what the names of the cluster's Redis keys and channels begin with
	Patterns     bool          `koanf:"patterns"`      // carry messages to pattern subscriptions on other nodes
	Timeout      time.Duration `koanf:"timeout"`       // limit of one call to Redis; a publish waiting longer fails
	WaitReplicas int           `koanf:"wait_replicas"` // Redis replicas that must have a QoS 1 or 2 message before it is acknowledged
	WaitTimeout  time.Duration `koanf:"wait_timeout"`  // how long to wait for them
}

// Enabled reports whether the server joins a cluster.
func (c Cluster) Enabled() bool { return c.Redis != "" }

// Store holds the [store] section: where the server keeps the messages it
// accepts, so that subscribers can replay them and resume after an offset.
type Store struct {
	Kind              string          `koanf:"kind"`               // sqlite, file, memory or none
	Path              string          `koanf:"path"`               // the SQLite database file, or the file store's directory
	Sync              string          `koanf:"sync"`               // when appends are synced: batch, always, never or an interval such as "10ms"
	DurableBacklog    int             `koanf:"durable_backlog"`    // missed messages per topic a returning subscriber receives, at most
	RetentionInterval time.Duration   `koanf:"retention_interval"` // how often retention is applied
	Retention         []RetentionRule `koanf:"retention"`          // per topic pattern; the first match applies
}

// Enabled reports whether the server keeps a log.
func (s Store) Enabled() bool { return s.Kind != StoreNone }

// RetentionRule is one [[store.retention]] entry: bounds on the log of the
// topics matching Pattern. A zero bound is no bound.
type RetentionRule struct {
	Pattern     string        `koanf:"pattern"`
	MaxMessages int           `koanf:"max_messages"` // messages kept per topic
	MaxBytes    int64         `koanf:"max_bytes"`    // payload bytes kept per topic
	MaxAge      time.Duration `koanf:"max_age"`      // how long a message is kept
}

// TLS holds the [tls] section. Both files are set, or neither.
type TLS struct {
	CertFile string `koanf:"cert_file"` // PEM certificate chain
	KeyFile  string `koanf:"key_file"`  // PEM private key
}

// Enabled reports whether TLS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// Log holds the [log] section.
type Log struct {
	Level  string `koanf:"level"`  // debug, info, warn or error (slog level syntax)
	Format string `koanf:"format"` // text or json
}

// Admin holds the [admin] section: the admin HTTP API and the health and
// metrics endpoints.
type Admin struct {
	Token      Secret   `koanf:"token"`       // bearer token for /api/*; empty disables the admin API
	Listen     string   `koanf:"listen"`      // host:port of a listener of its own; empty serves on server.port
	AuthHealth bool     `koanf:"auth_health"` // require the token on /healthz, /readyz and /metrics too
	Keys       []APIKey `koanf:"keys"`        // keys of applications' backends
}

// APIKey is one [[admin.keys]] entry: a bearer token that an application's
// backend presents to the admin listener's HTTP API. A key may publish to
// the topics that Publish matches and read the history and the description
// of those that Read matches; one with Admin set may also do all that
// admin.token may. Name identifies the key in logs, and its QoS 2
// publishes are de-duplicated under it.
type APIKey struct {
	Name    string   `koanf:"name"`    // unique; in logs and as the publisher of its messages
	Key     Secret   `koanf:"key"`     // the bearer token, at least 32 random bytes
	Publish []string `koanf:"publish"` // topic patterns it may publish to
	Read    []string `koanf:"read"`    // topic patterns whose history and description it may read
	Admin   bool     `koanf:"admin"`   // it may also use the endpoints of admin.token
	// MaxPublishRate bounds the messages it publishes per second, in
	// bursts of a second's worth; 0 means unlimited.
	MaxPublishRate int `koanf:"max_publish_rate"`
}

// Plugins holds the [plugins] section: the built-in plugins to run and
// their settings.
type Plugins struct {
	Enabled   []string   `koanf:"enabled"`   // plugin names, in the order they run
	Node      string     `koanf:"node"`      // the stamp plugin's node name; empty means the host name
	Typecheck []TypeRule `koanf:"typecheck"` // the typecheck plugin's rules
}

// Runtime holds the [runtime] section: the Go garbage collector of the
// process that `whispeer serve` runs. The command applies it at start, and
// the GOGC and GOMEMLIMIT environment variables win over it; the library
// packages never read it, so a program that embeds a server keeps its own
// settings.
type Runtime struct {
	GCPercent   int  `koanf:"gc_percent"`   // heap growth, in percent of the live heap, that triggers a collection; -1 turns the collector off
	MemoryLimit Size `koanf:"memory_limit"` // soft memory limit such as "512MiB"; empty means none
}

// MemoryLimitBytes returns MemoryLimit in bytes, or 0 when it is empty (no
// limit). It returns an error when MemoryLimit is not a size (Validate
// reports that case).
func (r Runtime) MemoryLimitBytes() (int64, error) {
	if r.MemoryLimit == "" {
		return 0, nil
	}
	return parseSize(string(r.MemoryLimit))
}

// TypeRule is one [[plugins.typecheck]] entry: the JSON shape required of
// the payloads published to the topics matching Pattern. Type is a JSON
// kind (any, string, number, integer, boolean, object, array, null);
// Fields maps the fields an object must have to their kinds.
type TypeRule struct {
	Pattern string            `koanf:"pattern"`
	Type    string            `koanf:"type"`
	Fields  map[string]string `koanf:"fields"`
}

// SlogLevel returns Level as a slog.Level, or slog.LevelInfo when Level does
// not parse (Validate reports that case).
func (l Log) SlogLevel() slog.Level {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(l.Level)); err != nil {
		return slog.LevelInfo
	}
	return lvl
}

// Default returns the built-in configuration: the lowest layer of [Load]
// and the same values as the shipped config/default.toml.
func Default() *Config {
	return &Config{
		Server: Server{
			Host:             "127.0.0.1",
			Port:             8080,
			TCPPort:          4250,
			JWTSecret:        DefaultJWTSecret,
			MaxConnections:   10000,
			MaxMessageBytes:  1 << 20,
			MaxSubscriptions: 1000,
			MaxPendingBytes:  4 << 20,
			MaxPublishRate:   10000,
			PingInterval:     30 * time.Second,
			WriteTimeout:     10 * time.Second,
			AuthTimeout:      10 * time.Second,
			HTTPIdleTimeout:  time.Minute,
			AllowedOrigins:   []string{},
			MaxStall:         2 * time.Second,
		},
		Auth: Auth{
			TokenTTL: 24 * time.Hour,
			Users: []User{{
				Username:  "admin",
				Password:  "password",
				Publish:   []string{"#"},
				Subscribe: []string{"#"},
			}},
			Issuers: []Issuer{},
		},
		QoS: QoS{AckTimeout: 5 * time.Second, MaxRetries: 5, MaxInflight: 1000, MaxQueued: 1000,
			DedupWindow: whispeer.DefaultDedupWindow, DedupMax: whispeer.DefaultDedupMax, DedupMaxTotal: whispeer.DefaultDedupMaxTotal,
			DurableExpiry: 24 * time.Hour, MaxDurablePerUser: 100},
		Replay:   Replay{Size: 10},
		Presence: Presence{Enabled: true, ListLimit: 1000, JoinLeaveLimit: 100},
		Store: Store{
			Kind:              StoreSQLite,
			Path:              "data/whispeer.db",
			Sync:              "batch",
			DurableBacklog:    10000,
			RetentionInterval: time.Second,
			Retention:         []RetentionRule{},
		},
		Cluster: Cluster{Prefix: "whispeer", Patterns: true, Timeout: 5 * time.Second, WaitTimeout: time.Second},
		Log:     Log{Level: "info", Format: "text"},
		Admin:   Admin{Keys: []APIKey{}},
		Plugins: Plugins{Enabled: []string{"metrics"}, Typecheck: []TypeRule{}},
		Runtime: Runtime{GCPercent: 400},
	}
}

// LogValue renders c for log/slog with secrets masked and users reduced to
// their names, so the whole configuration can be logged at start-up.
func (c *Config) LogValue() slog.Value {
	names := make([]string, len(c.Auth.Users))
	for i, u := range c.Auth.Users {
		names[i] = u.Username
	}
	keys := make([]string, len(c.Admin.Keys))
	for i, k := range c.Admin.Keys {
		keys[i] = k.Name
	}
	s := c.Server
	return slog.GroupValue(
		slog.Group("server",
			"host", s.Host, "port", s.Port, "tcp_port", s.TCPPort,
			"jwt_secret", s.JWTSecret,
			"max_connections", s.MaxConnections, "max_message_bytes", s.MaxMessageBytes,
			"max_subscriptions", s.MaxSubscriptions, "max_pending_bytes", s.MaxPendingBytes,
			"max_publish_rate", s.MaxPublishRate,
			"ping_interval", s.PingInterval, "write_timeout", s.WriteTimeout,
			"auth_timeout", s.AuthTimeout, "http_idle_timeout", s.HTTPIdleTimeout, "allowed_origins", s.AllowedOrigins,
			"max_stall", s.MaxStall),
		slog.Group("auth", "token_ttl", c.Auth.TokenTTL, "max_hashes", c.Auth.MaxHashes, "users", names),
		slog.Group("qos", "ack_timeout", c.QoS.AckTimeout,
			"max_retries", c.QoS.MaxRetries, "max_inflight", c.QoS.MaxInflight,
			"max_queued", c.QoS.MaxQueued, "dedup_window", c.QoS.DedupWindow,
			"dedup_max", c.QoS.DedupMax, "dedup_max_total", c.QoS.DedupMaxTotal,
			"durable_expiry", c.QoS.DurableExpiry, "max_durable_per_user", c.QoS.MaxDurablePerUser),
		slog.Group("replay", "size", c.Replay.Size),
		slog.Group("presence", "enabled", c.Presence.Enabled, "list_limit", c.Presence.ListLimit,
			"join_leave_limit", c.Presence.JoinLeaveLimit),
		slog.Group("store", "kind", c.Store.Kind, "path", c.Store.Path, "sync", c.Store.Sync,
			"durable_backlog", c.Store.DurableBacklog, "retention_interval", c.Store.RetentionInterval,
			"retention_rules", len(c.Store.Retention)),
		slog.Group("cluster", "redis", c.Cluster.Redis, "node", c.Cluster.Node, "prefix", c.Cluster.Prefix,
			"patterns", c.Cluster.Patterns, "timeout", c.Cluster.Timeout,
			"wait_replicas", c.Cluster.WaitReplicas, "wait_timeout", c.Cluster.WaitTimeout),
		slog.Group("tls", "cert_file", c.TLS.CertFile, "key_file", c.TLS.KeyFile),
		slog.Group("log", "level", c.Log.Level, "format", c.Log.Format),
		slog.Group("admin", "token", c.Admin.Token, "listen", c.Admin.Listen, "auth_health", c.Admin.AuthHealth, "keys", keys),
		slog.Group("plugins", "enabled", c.Plugins.Enabled, "node", c.Plugins.Node, "typecheck_rules", len(c.Plugins.Typecheck)),
		slog.Group("runtime", "gc_percent", c.Runtime.GCPercent, "memory_limit", c.Runtime.MemoryLimit),
	)
}

var _ slog.LogValuer = (*Config)(nil)
