package config

import (
	"reflect"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Names of the flags that RegisterFlags adds besides the configuration keys.
const (
	// FlagConfig names the flag that selects the TOML file.
	FlagConfig = "config"
	// FlagEnvFile names the flag that selects the .env file.
	FlagEnvFile = "env-file"
)

// EnvPrefix starts every environment variable that sets a key.
const EnvPrefix = "WHISPEER_"

// usage describes every scalar key, for flag help. A test keeps it in step
// with the struct tags.
var usage = map[string]string{
	"server.host":               "address to listen on",
	"server.port":               "WebSocket port",
	"server.tcp_port":           "native TCP port (0 disables the TCP listener)",
	"server.jwt_secret":         "secret that signs login tokens (HS256)",
	"server.max_connections":    "maximum concurrent client connections",
	"server.max_message_bytes":  "largest accepted frame, in bytes",
	"server.max_subscriptions":  "maximum subscriptions per connection",
	"server.max_pending_bytes":  "bytes queued for one client before it is dropped as a slow consumer",
	"server.max_publish_rate":   "publishes per second per connection (0 means unlimited)",
	"server.ping_interval":      "keep-alive ping period",
	"server.write_timeout":      "deadline for one write to a client",
	"server.auth_timeout":       "time a new connection has to authenticate before it is closed",
	"server.http_idle_timeout":  "how long an idle HTTP keep-alive connection is kept open",
	"server.allowed_origins":    "Origin headers accepted on WebSocket upgrades (empty: same origin or none; * allows all)",
	"server.max_stall":          "longest a publisher is not read while its subscribers' queues drain; 0 disables flow control",
	"auth.token_ttl":            "lifetime of issued login tokens",
	"auth.max_hashes":           "password hashes computed at once (0: sized from the memory limit, at most 4)",
	"qos.ack_timeout":           "wait for an ack before resending a QoS 1 message",
	"qos.max_retries":           "resends per subscriber before giving up",
	"qos.max_inflight":          "unacknowledged messages per subscriber",
	"qos.max_queued":            "QoS 1 messages waiting for a free in-flight slot, per subscriber",
	"qos.dedup_window":          "how long a QoS 2 message id is remembered to recognise a retry",
	"qos.dedup_max":             "QoS 2 message ids remembered per publisher",
	"qos.dedup_max_total":       "QoS 2 message ids remembered in all",
	"qos.durable_expiry":        "how long a durable QoS 2 subscription is kept after its client left",
	"qos.max_durable_per_user":  "durable QoS 2 subscriptions kept per user",
	"replay.size":               "messages kept per topic for replay (0 disables replay)",
	"presence.enabled":          "keep who is subscribed to each topic and answer presence requests",
	"presence.list_limit":       "most clients one presence answer lists",
	"presence.join_leave_limit": "most clients a topic may have for join and leave events to be sent (0: none)",
	"store.kind":                "message store: sqlite, file, memory, none or redis",
	"store.path":                "SQLite database file, or the file store's directory",
	"store.sync":                "when the store syncs: batch, always, never or an interval such as 10ms",
	"store.durable_backlog":     "missed messages per topic a returning durable subscriber receives, at most",
	"store.retention_interval":  "how often retention rules are applied",
	"cluster.redis":             "address of the Redis the cluster's nodes share (empty: one node alone)",
	"cluster.node":              "this node's name (empty: host name and port)",
	"cluster.prefix":            "what the cluster's Redis keys and channels begin with",
	"cluster.patterns":          "carry messages to pattern subscriptions on other nodes",
	"cluster.timeout":           "limit of one call to Redis",
	"cluster.wait_replicas":     "Redis replicas that must have a QoS 1 or 2 message before it is acknowledged",
	"cluster.wait_timeout":      "how long to wait for cluster.wait_replicas",
	"tls.cert_file":             "PEM certificate chain file",
	"tls.key_file":              "PEM private key file",
	"log.level":                 "log level: debug, info, warn or error",
	"log.format":                "log format: text or json",
	"admin.token":               "bearer token of the admin API (empty disables it)",
	"admin.listen":              "host:port of a listener for the admin API and health endpoints (empty: server.port)",
	"admin.auth_health":         "require the admin token on /healthz, /readyz and /metrics too",
	"plugins.enabled":           "plugins to run, in order: logging, metrics, stamp, typecheck",
	"plugins.node":              "node name the stamp plugin writes (empty: the host name)",
	"runtime.gc_percent":        "heap growth in percent that triggers a garbage collection (-1: off; GOGC wins)",
	"runtime.memory_limit":      "soft memory limit such as 512MiB or 2GiB (empty: none; GOMEMLIMIT wins)",
}

// noFlag lists keys that RegisterFlags leaves out: a secret on the command
// line is visible to every user of the machine.
var noFlag = map[string]bool{"server.jwt_secret": true, "admin.token": true, "cluster.redis": true}

// lists are the keys whose values are lists of tables: they can be set in
// the TOML file only.
var lists = []string{"auth.users", "auth.issuers", "admin.keys", "plugins.typecheck", "store.retention"}

var durationType = reflect.TypeFor[time.Duration]()

// Keys returns every scalar configuration key ("server.port", …) in the
// order of the Config struct; a list of strings, such as plugins.enabled,
// counts as a scalar. auth.users, plugins.typecheck and store.retention,
// lists of tables, are not among them.
func Keys() []string {
	var keys []string
	walkScalars(reflect.ValueOf(Default()).Elem(), func(key string, _ reflect.Value) {
		keys = append(keys, key)
	})
	return keys
}

// EnvVar returns the environment variable that sets key, such as
// WHISPEER_SERVER_JWT_SECRET for "server.jwt_secret".
func EnvVar(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// RegisterFlags adds to fs the flag --config, the flag --env-file and one
// flag per scalar key named after the key, such as --server.port or
// --log.level, except the secrets server.jwt_secret and admin.token. A
// list of strings takes a comma-separated value. Load applies only the flags the
// user set, so the defaults shown in help never override the file or the
// environment.
func RegisterFlags(fs *pflag.FlagSet) {
	fs.String(FlagConfig, "", "TOML configuration file (default "+DefaultConfigFile+")")
	fs.String(FlagEnvFile, "", "file of WHISPEER_* variables (default "+DefaultEnvFile+")")
	walkScalars(reflect.ValueOf(Default()).Elem(), func(key string, v reflect.Value) {
		if noFlag[key] {
			return
		}
		switch {
		case v.Type() == durationType:
			fs.Duration(key, time.Duration(v.Int()), usage[key])
		case v.Kind() == reflect.Int:
			fs.Int(key, int(v.Int()), usage[key])
		case v.Kind() == reflect.Bool:
			fs.Bool(key, v.Bool(), usage[key])
		case v.Kind() == reflect.Slice:
			fs.StringSlice(key, v.Interface().([]string), usage[key])
		default:
			fs.String(key, v.String(), usage[key])
		}
	})
}

// walkScalars calls fn for every scalar field of the sections of c (a
// reflect.Value of a Config), with its dotted key.
func walkScalars(c reflect.Value, fn func(key string, v reflect.Value)) {
	for i := range c.NumField() {
		section := c.Type().Field(i).Tag.Get("koanf")
		sv := c.Field(i)
		for j := range sv.NumField() {
			if f := sv.Field(j); isScalar(f.Type()) {
				fn(section+"."+sv.Type().Field(j).Tag.Get("koanf"), f)
			}
		}
	}
}

// isScalar reports whether a field of type t is a key of its own: not a
// list of tables.
func isScalar(t reflect.Type) bool {
	return t.Kind() != reflect.Slice || t.Elem().Kind() == reflect.String
}

// defaultMap returns Default() as the nested map that a TOML file with the
// same values would produce, the lowest layer of Load.
func defaultMap() map[string]any {
	return plain(reflect.ValueOf(Default()).Elem()).(map[string]any)
}

// plain converts v to TOML-like values: structs become maps keyed by their
// koanf tags, durations strings, named strings plain strings.
func plain(v reflect.Value) any {
	if v.Type() == durationType {
		return time.Duration(v.Int()).String()
	}
	switch v.Kind() {
	case reflect.Struct:
		m := make(map[string]any, v.NumField())
		for i := range v.NumField() {
			m[v.Type().Field(i).Tag.Get("koanf")] = plain(v.Field(i))
		}
		return m
	case reflect.Slice:
		s := make([]any, v.Len())
		for i := range s {
			s[i] = plain(v.Index(i))
		}
		return s
	case reflect.String:
		return v.String()
	case reflect.Int:
		return v.Int()
	}
	return v.Interface()
}
