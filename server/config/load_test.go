package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// writeFile writes content to name in a fresh temporary directory and
// returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// parsedFlags returns a FlagSet set up by RegisterFlags and parsed from args.
func parsedFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestLoad_Defaults(t *testing.T) {
	// The package directory holds neither config/default.toml nor .env.
	c, err := Load(Options{Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("Load() = %+v\nwant %+v", c, Default())
	}
}

func TestLoad_ShippedFileMatchesDefault(t *testing.T) {
	c, err := Load(Options{ConfigFile: "../../config/default.toml", Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("config/default.toml = %+v\nwant %+v", c, Default())
	}
}

func TestLoad_Precedence(t *testing.T) {
	file := writeFile(t, "whispeer.toml", "[server]\nport = 1001\nmax_connections = 11\n")
	dotenv := writeFile(t, ".env", "WHISPEER_SERVER_PORT=1002\nWHISPEER_SERVER_MAX_CONNECTIONS=12\n")
	environ := []string{"WHISPEER_SERVER_PORT=1003", "WHISPEER_SERVER_MAX_CONNECTIONS=13"}
	args := []string{"--server.port=1004", "--server.max_connections=14"}

	tests := []struct {
		name                    string
		file, dotenv            string
		environ, args           []string
		wantPort, wantMaxConnec int
	}{
		{"flags beat environment", file, dotenv, environ, args, 1004, 14},
		{"environment beats .env", file, dotenv, environ, nil, 1003, 13},
		{".env beats file", file, dotenv, nil, nil, 1002, 12},
		{"file beats defaults", file, "", nil, nil, 1001, 11},
		{"defaults", "", "", nil, nil, 8080, 10000},
		{"flags beat file alone", file, "", nil, args, 1004, 14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{
				ConfigFile: tt.file,
				EnvFile:    tt.dotenv,
				Environ:    append([]string{}, tt.environ...),
				Flags:      parsedFlags(t, tt.args...),
			}
			c, err := Load(opts)
			if err != nil {
				t.Fatal(err)
			}
			if c.Server.Port != tt.wantPort || c.Server.MaxConnections != tt.wantMaxConnec {
				t.Errorf("port, max_connections = %d, %d; want %d, %d",
					c.Server.Port, c.Server.MaxConnections, tt.wantPort, tt.wantMaxConnec)
			}
		})
	}
}

func TestLoad_UnchangedFlagsDoNotOverride(t *testing.T) {
	file := writeFile(t, "whispeer.toml", "[log]\nlevel = \"debug\"\n")
	c, err := Load(Options{ConfigFile: file, Environ: []string{}, Flags: parsedFlags(t)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Log.Level != "debug" {
		t.Errorf("log.level = %q, want the file's %q", c.Log.Level, "debug")
	}
}

func TestEnvKey(t *testing.T) {
	tests := []struct {
		name, want string
	}{
		{"WHISPEER_SERVER_PORT", "server.port"},
		{"WHISPEER_SERVER_JWT_SECRET", "server.jwt_secret"},
		{"WHISPEER_SERVER_MAX_MESSAGE_BYTES", "server.max_message_bytes"},
		{"WHISPEER_QOS_MAX_INFLIGHT", "qos.max_inflight"},
		{"WHISPEER_AUTH_TOKEN_TTL", "auth.token_ttl"},
		{"WHISPEER_TLS_CERT_FILE", "tls.cert_file"},
		{"WHISPEER_LOG_LEVEL", "log.level"},
		{"WHISPEER_SERVER", ""},
		{"WHISPEER_CONFIG", ""},
		{"WHISPEER_SERVER_NOPE", ""},
		{"WHISPEER_AUTH_USERS", ""},
		{"OTHER_SERVER_PORT", ""},
		{"whispeer_server_port", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := envKey(tt.name); got != tt.want {
				t.Errorf("envKey(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestEnvVar(t *testing.T) {
	for _, key := range Keys() {
		t.Run(key, func(t *testing.T) {
			if got := envKey(EnvVar(key)); got != key {
				t.Errorf("envKey(EnvVar(%q)) = %q", key, got)
			}
		})
	}
}

func TestLoad_Environment(t *testing.T) {
	c, err := Load(Options{Environ: []string{
		"WHISPEER_SERVER_JWT_SECRET=from-env",
		"WHISPEER_SERVER_HOST=::1",
		"WHISPEER_QOS_ACK_TIMEOUT=750ms",
		"WHISPEER_REPLAY_SIZE=0",
		"WHISPEER_UNKNOWN_KEY=ignored",
		"UNRELATED=1",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Server.JWTSecret.Reveal(); got != "from-env" {
		t.Errorf("jwt_secret = %q", got)
	}
	if c.Server.Host != "::1" || c.QoS.AckTimeout != 750*time.Millisecond || c.Replay.Size != 0 {
		t.Errorf("host, ack_timeout, replay.size = %q, %s, %d", c.Server.Host, c.QoS.AckTimeout, c.Replay.Size)
	}
}

func TestLoad_DotEnvNeverOverridesEnvironment(t *testing.T) {
	dotenv := writeFile(t, ".env", "WHISPEER_SERVER_JWT_SECRET=from-dotenv\nWHISPEER_SERVER_PORT=9001\n")
	c, err := Load(Options{EnvFile: dotenv, Environ: []string{"WHISPEER_SERVER_JWT_SECRET=from-env"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Server.JWTSecret.Reveal(); got != "from-env" {
		t.Errorf("jwt_secret = %q, want the environment's", got)
	}
	if c.Server.Port != 9001 {
		t.Errorf("port = %d, want 9001 from .env", c.Server.Port)
	}
}

func TestLoad_FileSelection(t *testing.T) {
	file := writeFile(t, "chosen.toml", "[server]\nport = 7001\n")
	dotenv := writeFile(t, "chosen.env", "WHISPEER_CONFIG="+file+"\n")
	tests := []struct {
		name string
		opts Options
	}{
		{"option", Options{ConfigFile: file}},
		{"flag", Options{Flags: parsedFlags(t, "--config", file)}},
		{"environment", Options{Environ: []string{"WHISPEER_CONFIG=" + file}}},
		{".env", Options{EnvFile: dotenv}},
		{"env-file flag", Options{Flags: parsedFlags(t, "--env-file", dotenv)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Environ == nil {
				tt.opts.Environ = []string{}
			}
			c, err := Load(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if c.Server.Port != 7001 {
				t.Errorf("port = %d, want 7001 from %s", c.Server.Port, file)
			}
		})
	}
}

func TestLoad_Errors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	tests := []loadErrorCase{
		{"missing explicit config file", Options{ConfigFile: missing}, "missing"},
		{"missing config file from env", Options{Environ: []string{"WHISPEER_CONFIG=" + missing}}, "missing"},
		{"missing explicit env file", Options{EnvFile: missing}, "env file"},
		{"unknown key", Options{ConfigFile: writeFile(t, "a.toml", "[server]\nprot = 1\n")}, `unknown key "server.prot"`},
		{"unknown section", Options{ConfigFile: writeFile(t, "b.toml", "[srv]\nport = 1\n")}, `unknown key "srv.port"`},
		{"unknown user field", Options{ConfigFile: writeFile(t, "c.toml",
			"[[auth.users]]\nusername = \"u\"\npasword = \"p\"\n")}, "pasword"},
		{"bad toml", Options{ConfigFile: writeFile(t, "d.toml", "[server\n")}, "d.toml:1:"},
		{"duration as number", Options{ConfigFile: writeFile(t, "e.toml", "[server]\nping_interval = 30\n")}, "invalid duration 30"},
		{"bad duration", Options{Environ: []string{"WHISPEER_QOS_ACK_TIMEOUT=soon"}}, `invalid duration "soon"`},
		{"bad integer", Options{Environ: []string{"WHISPEER_SERVER_PORT=eighty"}}, "port"},
		{"bad flag value", Options{Flags: parsedFlags(t, "--server.port=0")}, "server.port: must be between 1 and 65535"},
	}
	wantLoadErrors(t, tests)
}

func TestLoad_UsersReplaceDefault(t *testing.T) {
	file := writeFile(t, "users.toml", `
[[auth.users]]
username = "alice"
password = "a"
publish = ["chat/alice"]
subscribe = ["chat/#"]

[[auth.users]]
username = "bob"
password = "b"
`)
	c, err := Load(Options{ConfigFile: file, Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	want := []User{
		{Username: "alice", Password: "a", Publish: []string{"chat/alice"}, Subscribe: []string{"chat/#"}},
		{Username: "bob", Password: "b"},
	}
	if !reflect.DeepEqual(c.Auth.Users, want) {
		t.Errorf("users = %#v\nwant %#v", c.Auth.Users, want)
	}
}

func TestRegisterFlags(t *testing.T) {
	fs := parsedFlags(t, "--server.host=0.0.0.0", "--server.ping_interval=1m", "--log.format=json", "--qos.max_retries=0")
	c, err := Load(Options{Flags: fs, Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Host != "0.0.0.0" || c.Server.PingInterval != time.Minute || c.Log.Format != "json" || c.QoS.MaxRetries != 0 {
		t.Errorf("got host %q, ping %s, format %q, retries %d", c.Server.Host, c.Server.PingInterval, c.Log.Format, c.QoS.MaxRetries)
	}
	if fs.Lookup("server.jwt_secret") != nil {
		t.Error("RegisterFlags added a flag for the JWT secret")
	}
	for _, key := range Keys() {
		if usage[key] == "" {
			t.Errorf("key %q has no usage text", key)
		}
	}
	if len(usage) != len(Keys()) {
		t.Errorf("usage has %d entries for %d keys", len(usage), len(Keys()))
	}
}

func TestDocsListEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range append(Keys(), "auth.users") {
		t.Run(key, func(t *testing.T) {
			if !strings.Contains(string(doc), "`"+key+"`") {
				t.Errorf("docs/configuration.md does not list `%s`", key)
			}
			if key != "auth.users" && !strings.Contains(string(doc), EnvVar(key)) {
				t.Errorf("docs/configuration.md does not name %s", EnvVar(key))
			}
		})
	}
}

func TestLoad_Store(t *testing.T) {
	path := writeFile(t, "whispeer.toml", `
[store]
kind = "file"
path = "/var/lib/whispeer"
sync = "always"

[[store.retention]]
pattern = "logs/#"
max_age = "24h"

[[store.retention]]
pattern = "#"
max_messages = 100000
max_bytes = 1073741824
`)
	c, err := Load(Options{ConfigFile: path, Environ: []string{"WHISPEER_STORE_SYNC=20ms", "WHISPEER_STORE_DURABLE_BACKLOG=50"}})
	if err != nil {
		t.Fatal(err)
	}
	want := Store{
		Kind: "file", Path: "/var/lib/whispeer", Sync: "20ms", DurableBacklog: 50, RetentionInterval: time.Second,
		Retention: []RetentionRule{
			{Pattern: "logs/#", MaxAge: 24 * time.Hour},
			{Pattern: "#", MaxMessages: 100000, MaxBytes: 1 << 30},
		},
	}
	if !reflect.DeepEqual(c.Store, want) {
		t.Errorf("store = %+v\nwant %+v", c.Store, want)
	}
	bad := writeFile(t, "bad.toml", "[[store.retention]]\npattern = \"#\"\nmax_age = 60\n")
	if _, err := Load(Options{ConfigFile: bad, Environ: []string{}}); err == nil || !strings.Contains(err.Error(), "invalid duration") {
		t.Errorf("a bare number for max_age: %v", err)
	}
}
