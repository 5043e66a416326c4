package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// hashed is a syntactically valid argon2id PHC string.
const hashed = "$argon2id$v=19$m=65536,t=1,p=2$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string // substring of the error; "" for no error
	}{
		{"defaults", func(*Config) {}, ""},
		{"port zero", func(c *Config) { c.Server.Port = 0 }, "server.port: must be between 1 and 65535, got 0"},
		{"port too big", func(c *Config) { c.Server.Port = 65536 }, "server.port: must be between 1 and 65535"},
		{"tcp port negative", func(c *Config) { c.Server.TCPPort = -1 }, "server.tcp_port: must be between"},
		{"tcp port disabled", func(c *Config) { c.Server.TCPPort = 0 }, ""},
		{"tcp port equals port", func(c *Config) { c.Server.TCPPort = c.Server.Port }, "server.tcp_port: must differ"},
		{"zero ping interval", func(c *Config) { c.Server.PingInterval = 0 }, "server.ping_interval: must be a positive duration"},
		{"negative write timeout", func(c *Config) { c.Server.WriteTimeout = -1 }, "server.write_timeout: must be a positive duration"},
		{"zero token ttl", func(c *Config) { c.Auth.TokenTTL = 0 }, "auth.token_ttl"},
		{"zero auth timeout", func(c *Config) { c.Server.AuthTimeout = 0 }, "server.auth_timeout: must be a positive duration"},
		{"zero http idle timeout", func(c *Config) { c.Server.HTTPIdleTimeout = 0 }, "server.http_idle_timeout"},
		{"negative max hashes", func(c *Config) { c.Auth.MaxHashes = -1 }, "auth.max_hashes: must be at least 0"},
		{"origins", func(c *Config) {
			c.Server.AllowedOrigins = []string{"*", "https://*.example.com", "http://localhost:3000"}
		}, ""},
		{"origin without scheme", func(c *Config) { c.Server.AllowedOrigins = []string{"example.com"} }, "server.allowed_origins[0]"},
		{"origin with a path", func(c *Config) { c.Server.AllowedOrigins = []string{"https://example.com/app"} }, "server.allowed_origins[0]"},
		{"zero ack timeout", func(c *Config) { c.QoS.AckTimeout = 0 }, "qos.ack_timeout"},
		{"zero max connections", func(c *Config) { c.Server.MaxConnections = 0 }, "server.max_connections: must be at least 1, got 0"},
		{"zero max message bytes", func(c *Config) { c.Server.MaxMessageBytes = 0 }, "server.max_message_bytes"},
		{"zero max subscriptions", func(c *Config) { c.Server.MaxSubscriptions = 0 }, "server.max_subscriptions"},
		{"zero max inflight", func(c *Config) { c.QoS.MaxInflight = 0 }, "qos.max_inflight"},
		{"negative retries", func(c *Config) { c.QoS.MaxRetries = -1 }, "qos.max_retries: must be at least 0"},
		{"zero retries", func(c *Config) { c.QoS.MaxRetries = 0 }, ""},
		{"zero dedup window", func(c *Config) { c.QoS.DedupWindow = 0 }, "qos.dedup_window: must be a positive duration"},
		{"zero dedup max", func(c *Config) { c.QoS.DedupMax = 0 }, "qos.dedup_max: must be at least 1, got 0"},
		{"dedup total under max", func(c *Config) { c.QoS.DedupMaxTotal = c.QoS.DedupMax - 1 }, "qos.dedup_max_total: must be at least 10000"},
		{"negative replay", func(c *Config) { c.Replay.Size = -1 }, "replay.size"},
		{"zero replay", func(c *Config) { c.Replay.Size = 0 }, ""},
		{"cert without key", func(c *Config) { c.TLS.CertFile = "cert.pem" }, "tls: cert_file and key_file must be set together"},
		{"cert and key", func(c *Config) { c.TLS = TLS{CertFile: "c", KeyFile: "k"} }, ""},
		{"bad level", func(c *Config) { c.Log.Level = "loud" }, `log.level: must be debug, info, warn or error, got "loud"`},
		{"bad format", func(c *Config) { c.Log.Format = "xml" }, `log.format: must be text or json, got "xml"`},
		{"no users", func(c *Config) { c.Auth.Users = nil }, ""},
		{"empty username", func(c *Config) { c.Auth.Users[0].Username = "" }, "auth.users[0]: username is empty"},
		{"control in username", func(c *Config) { c.Auth.Users[0].Username = "a\nb" }, "control character"},
		{"empty password", func(c *Config) { c.Auth.Users[0].Password = "" }, `auth.users[0] ("admin"): password is empty`},
		{"bcrypt hash", func(c *Config) { c.Auth.Users[0].Password = "$2a$10$abc" }, "not argon2id"},
		{"argon2id hash", func(c *Config) { c.Auth.Users[0].Password = hashed }, ""},
		{"duplicate user", func(c *Config) { c.Auth.Users = append(c.Auth.Users, c.Auth.Users[0]) }, `auth.users[1] ("admin"): duplicate username`},
		{"bad publish pattern", func(c *Config) { c.Auth.Users[0].Publish = []string{"a/#/b"} }, `publish pattern "a/#/b"`},
		{"bad subscribe pattern", func(c *Config) { c.Auth.Users[0].Subscribe = []string{"a+"} }, `subscribe pattern "a+"`},
		{"empty pattern", func(c *Config) { c.Auth.Users[0].Subscribe = []string{""} }, `subscribe pattern ""`},
		{"several problems", func(c *Config) { c.Server.Port = 0; c.Log.Format = "" }, "server.port"},
		{"store kinds", func(c *Config) { c.Store.Kind = "file"; c.Store.Path = "data" }, ""},
		{"memory store", func(c *Config) { c.Store.Kind = "memory"; c.Store.Path = "" }, ""},
		{"unknown store", func(c *Config) { c.Store.Kind = "postgres" }, `store.kind: must be sqlite, file, memory, none or redis, got "postgres"`},
		{"store without path", func(c *Config) { c.Store.Path = "" }, `store.path: must be set for store.kind "sqlite"`},
		{"sync interval", func(c *Config) { c.Store.Sync = "20ms" }, ""},
		{"sync always", func(c *Config) { c.Store.Sync = "always" }, ""},
		{"bad sync", func(c *Config) { c.Store.Sync = "sometimes" }, `store.sync: must be batch, always, never or an interval`},
		{"durable backlog", func(c *Config) { c.Store.DurableBacklog = 0 }, "store.durable_backlog: must be at least 1"},
		{"retention interval", func(c *Config) { c.Store.RetentionInterval = 0 }, "store.retention_interval: must be a positive duration"},
		{"retention rule", func(c *Config) {
			c.Store.Retention = []RetentionRule{{Pattern: "logs/#", MaxAge: time.Hour}, {Pattern: "#", MaxMessages: 10, MaxBytes: 1 << 20}}
		}, ""},
		{"retention pattern", func(c *Config) { c.Store.Retention = []RetentionRule{{Pattern: "a/#/b", MaxMessages: 1}} }, `store.retention[0]: pattern "a/#/b"`},
		{"negative retention", func(c *Config) { c.Store.Retention = []RetentionRule{{Pattern: "#", MaxBytes: -1}} }, "store.retention[0]: max_messages, max_bytes and max_age must not be negative"},
		{"retention without store", func(c *Config) {
			c.Store.Kind = "none"
			c.Store.Retention = []RetentionRule{{Pattern: "#", MaxMessages: 1}}
		}, `store.retention: needs a store`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.modify(c)
			wantError(t, "Validate()", c.Validate(), tt.want)
		})
	}
}

func TestValidate_ReportsEveryProblem(t *testing.T) {
	c := Default()
	c.Server.Port = 0
	c.Log.Format = ""
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "server.port") || !strings.Contains(err.Error(), "log.format") {
		t.Errorf("Validate() = %v, want both server.port and log.format", err)
	}
}

func TestSecurity(t *testing.T) {
	secure := func(c *Config) {
		c.Server.JWTSecret = Secret(strings.Repeat("k", 48))
		c.Auth.Users[0].Password = hashed
		c.TLS = TLS{CertFile: "c", KeyFile: "k"}
	}
	tests := []struct {
		name         string
		host         string
		modify       func(*Config)
		wantErr      []string // substrings of the error; nil for no error
		wantWarnings int
	}{
		{"defaults on loopback", "127.0.0.1", func(*Config) {}, nil, 2},
		{"defaults on 127.1.2.3", "127.1.2.3", func(*Config) {}, nil, 2},
		{"defaults on ::1", "::1", func(*Config) {}, nil, 2},
		{"defaults on [::1]", "[::1]", func(*Config) {}, nil, 2},
		{"defaults on localhost", "localhost", func(*Config) {}, nil, 2},
		{"defaults on all interfaces", "0.0.0.0", func(*Config) {},
			[]string{`"0.0.0.0" is not a loopback address`, "server.jwt_secret is the shipped default", `auth.users "admin"`, "WHISPEER_SERVER_JWT_SECRET"}, 1},
		{"defaults on empty host", "", func(*Config) {}, []string{"server.jwt_secret"}, 1},
		{"defaults on public address", "192.0.2.1", func(*Config) {}, []string{"server.jwt_secret"}, 1},
		{"empty secret on public address", "::", func(c *Config) { secure(c); c.Server.JWTSecret = "" },
			[]string{"server.jwt_secret is empty"}, 0},
		{"plain password on public address", "0.0.0.0", func(c *Config) { secure(c); c.Auth.Users[0].Password = "pw" },
			[]string{`auth.users "admin" have plain-text passwords`, "whispeer passwd"}, 0},
		{"secure on public address", "0.0.0.0", secure, nil, 0},
		{"secure without TLS warns", "0.0.0.0", func(c *Config) { secure(c); c.TLS = TLS{} }, nil, 1},
		{"short secret warns", "0.0.0.0", func(c *Config) { secure(c); c.Server.JWTSecret = "short" }, nil, 1},
		{"secure on loopback", "127.0.0.1", secure, nil, 0},
		{"empty secret on loopback", "127.0.0.1", func(c *Config) { secure(c); c.Server.JWTSecret = "" }, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.modify(c)
			c.Server.Host = tt.host
			warnings, err := c.Security()
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Security() error = %v", err)
			}
			for _, w := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Security() error = %v, want it to contain %q", err, w)
				}
			}
			if len(warnings) != tt.wantWarnings {
				t.Errorf("Security() warnings = %q, want %d", warnings, tt.wantWarnings)
			}
			for _, s := range append(warnings, fmt.Sprint(err)) {
				if strings.Contains(s, DefaultJWTSecret) {
					t.Errorf("a secret leaked into %q", s)
				}
			}
		})
	}
}

func TestSecret_NeverPrinted(t *testing.T) {
	c := Default()
	c.Server.JWTSecret = "jwt-SECRET-value"
	c.Auth.Users[0].Password = "user-PASSWORD-value"
	secrets := []string{"jwt-SECRET-value", "user-PASSWORD-value"}

	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("config", "config", c, "value", *c)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("config", "config", c, "value", *c)
	marshaled, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":         fmt.Sprintf("%v", c),
		"%+v":        fmt.Sprintf("%+v", *c),
		"%#v":        fmt.Sprintf("%#v", *c),
		"%s":         fmt.Sprintf("%s", c.Server.JWTSecret),
		"%q":         fmt.Sprintf("%q", c.Server.JWTSecret),
		"%x":         fmt.Sprintf("%x", c.Server.JWTSecret),
		"user %+v":   fmt.Sprintf("%+v", c.Auth.Users),
		"slog text":  text.String(),
		"slog json":  js.String(),
		"json":       string(marshaled),
		"LogValue":   c.LogValue().String(),
		"server %#v": fmt.Sprintf("%#v", c.Server),
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("output contains secret %q: %s", s, out)
				}
			}
		})
	}
	if got := c.Server.JWTSecret.Reveal(); got != "jwt-SECRET-value" {
		t.Errorf("Reveal() = %q", got)
	}
	if !strings.Contains(text.String(), "admin") || !strings.Contains(text.String(), redacted) {
		t.Errorf("slog text output lacks the user name or the mask: %s", text.String())
	}
	if got := Secret("").String(); got != "" {
		t.Errorf("empty Secret prints %q, want empty", got)
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.255.0.9", true},
		{"::1", true},
		{"[::1]", true},
		{"localhost", true},
		{"LOCALHOST", true},
		{"", false},
		{"0.0.0.0", false},
		{"::", false},
		{"10.0.0.1", false},
		{"example.com", false},
		{"localhost.example.com", false},
		{"128.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if got := IsLoopback(tt.host); got != tt.want {
				t.Errorf("IsLoopback(%q) = %v, want %v", tt.host, got, tt.want)
			}
		})
	}
}

func TestLog_SlogLevel(t *testing.T) {
	tests := []struct {
		level string
		want  slog.Level
	}{
		{"debug", slog.LevelDebug},
		{"info", slog.LevelInfo},
		{"WARN", slog.LevelWarn},
		{"error", slog.LevelError},
		{"bogus", slog.LevelInfo},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			if got := (Log{Level: tt.level}).SlogLevel(); got != tt.want {
				t.Errorf("SlogLevel() = %v, want %v", got, tt.want)
			}
		})
	}
}

// wantError fails t unless err, what call returned, is nil when want is
// empty, or mentions want.
func wantError(t *testing.T, call string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s = %v, want nil", call, err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("%s = %v, want it to mention %q", call, err, want)
	}
}

// loadErrorCase is options that Load must refuse with an error that
// mentions want.
type loadErrorCase struct {
	name string
	opts Options
	want string
}

// wantLoadErrors runs Load on each case, with an empty environment unless
// the case sets one.
func wantLoadErrors(t *testing.T, tests []loadErrorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Environ == nil {
				tt.opts.Environ = []string{}
			}
			_, err := Load(tt.opts)
			wantError(t, "Load()", err, tt.want)
		})
	}
}
