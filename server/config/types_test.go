package config

import (
	"strings"
	"testing"
)

// TestLoad_WrongTypes checks that a value of the wrong type is an error
// naming the key and where the value came from, in every layer, and never
// coerced: a boolean is no port, a fraction no rate, a number no host.
func TestLoad_WrongTypes(t *testing.T) {
	file := func(name, toml string) Options { return Options{ConfigFile: writeFile(t, name, toml)} }
	tests := []struct {
		name string
		opts Options
		want []string // substrings of the error
	}{
		{"port true", file("a.toml", "[server]\nport = true\n"), []string{"a.toml", "server.port", "want an integer", "true"}},
		{"port fraction", file("b.toml", "[server]\nport = 18520.5\n"), []string{"b.toml", "server.port", "want an integer", "18520.5"}},
		{"port whole float", file("c.toml", "[server]\nport = 18520.0\n"), []string{"c.toml", "server.port", "want an integer"}},
		{"port string", file("d.toml", "[server]\nport = \"8080\"\n"), []string{"d.toml", "server.port", "want an integer", `"8080"`}},
		{"rate fraction", file("e.toml", "[server]\nmax_publish_rate = 1.5\n"), []string{"e.toml", "server.max_publish_rate", "1.5"}},
		{"tcp_port false", file("f.toml", "[server]\ntcp_port = false\n"), []string{"f.toml", "server.tcp_port"}},
		{"retries list", file("g.toml", "[qos]\nmax_retries = [1]\n"), []string{"g.toml", "qos.max_retries", "want an integer"}},
		{"replay table", file("h.toml", "[replay]\nsize = {n = 1}\n"), []string{"h.toml", "replay.size"}},
		{"gc_percent fraction", file("i.toml", "[runtime]\ngc_percent = 12.5\n"), []string{"i.toml", "runtime.gc_percent"}},
		{"host number", file("j.toml", "[server]\nhost = 127\n"), []string{"j.toml", "server.host", "want a string", "127"}},
		{"log level bool", file("k.toml", "[log]\nlevel = true\n"), []string{"k.toml", "log.level", "want a string"}},
		{"secret number", file("l.toml", "[server]\njwt_secret = 12345678\n"), []string{"l.toml", "server.jwt_secret", "want a string"}},
		{"store path date", file("m.toml", "[store]\npath = 2026-01-02\n"), []string{"m.toml", "store.path", "want a string"}},
		{"auth_health number", file("n.toml", "[admin]\nauth_health = 1\n"), []string{"n.toml", "admin.auth_health", "want a boolean"}},
		{"auth_health string", file("o.toml", "[admin]\nauth_health = \"yes\"\n"), []string{"o.toml", "admin.auth_health", "want a boolean"}},
		{"plugins numbers", file("p.toml", "[plugins]\nenabled = [1, 2]\n"), []string{"p.toml", "plugins.enabled[0]", "want a string"}},
		{"user password number", file("q.toml", "[[auth.users]]\nusername = \"u\"\npassword = 1234\n"), []string{"q.toml", "auth.users[0].password", "want a string, got an integer"}},
		{"retention max_messages fraction", file("r.toml", "[[store.retention]]\npattern = \"#\"\nmax_messages = 2.5\n"), []string{"r.toml", "store.retention[0].max_messages"}},
		{"retention max_bytes bool", file("s.toml", "[[store.retention]]\npattern = \"#\"\nmax_bytes = true\n"), []string{"s.toml", "store.retention[0].max_bytes"}},
		{"typecheck field number", file("t.toml", "[[plugins.typecheck]]\npattern = \"#\"\ntype = \"object\"\nfields = {a = 1}\n"), []string{"t.toml", "plugins.typecheck[0].fields[a]", "want a string"}},
		{"max_connections exponent", file("u.toml", "[server]\nmax_connections = 1e3\n"), []string{"u.toml", "server.max_connections"}},

		{"env port fraction", Options{Environ: []string{"WHISPEER_SERVER_PORT=18520.5"}}, []string{"WHISPEER_SERVER_PORT", "server.port", "want an integer", `"18520.5"`}},
		{"env port bool", Options{Environ: []string{"WHISPEER_SERVER_PORT=true"}}, []string{"WHISPEER_SERVER_PORT", "server.port"}},
		{"env port empty", Options{Environ: []string{"WHISPEER_SERVER_PORT="}}, []string{"WHISPEER_SERVER_PORT", "server.port"}},
		{"env port hex", Options{Environ: []string{"WHISPEER_SERVER_PORT=0x50"}}, []string{"WHISPEER_SERVER_PORT", "server.port"}},
		{"env port spaces", Options{Environ: []string{"WHISPEER_SERVER_PORT= 80"}}, []string{"WHISPEER_SERVER_PORT", "server.port"}},
		{"env rate fraction", Options{Environ: []string{"WHISPEER_SERVER_MAX_PUBLISH_RATE=1.5"}}, []string{"WHISPEER_SERVER_MAX_PUBLISH_RATE", "1.5"}},
		{"env rate overflow", Options{Environ: []string{"WHISPEER_SERVER_MAX_PUBLISH_RATE=99999999999999999999"}}, []string{"WHISPEER_SERVER_MAX_PUBLISH_RATE", "out of range"}},
		{"env bool", Options{Environ: []string{"WHISPEER_ADMIN_AUTH_HEALTH=yes"}}, []string{"WHISPEER_ADMIN_AUTH_HEALTH", "want a boolean", `"yes"`}},
		{".env port", Options{EnvFile: writeFile(t, "bad.env", "WHISPEER_SERVER_PORT=true\n")}, []string{"bad.env", "WHISPEER_SERVER_PORT", "server.port"}},
		{"flag bool", Options{Flags: parsedFlags(t, "--admin.auth_health=true", "--server.port=1")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Environ == nil {
				tt.opts.Environ = []string{}
			}
			_, err := Load(tt.opts)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Load() = %v, want no error", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load() accepted it, want an error with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load() = %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

// TestLoad_RightTypes checks that values of the right type still load
// from every layer, strings from the environment and flags included.
func TestLoad_RightTypes(t *testing.T) {
	path := writeFile(t, "ok.toml", "[server]\nport = 9000\nhost = \"::1\"\n[admin]\nauth_health = true\n"+
		"[plugins]\nenabled = [\"metrics\", \"stamp\"]\n[runtime]\ngc_percent = -1\nmemory_limit = 1073741824\n")
	c, err := Load(Options{ConfigFile: path, Environ: []string{
		"WHISPEER_SERVER_MAX_PUBLISH_RATE=0", "WHISPEER_QOS_MAX_RETRIES=7", "WHISPEER_ADMIN_AUTH_HEALTH=false",
	}, Flags: parsedFlags(t, "--replay.size=3")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Port != 9000 || c.Server.Host != "::1" || c.Server.MaxPublishRate != 0 || c.QoS.MaxRetries != 7 ||
		c.Admin.AuthHealth || c.Replay.Size != 3 || c.Runtime.GCPercent != -1 || len(c.Plugins.Enabled) != 2 {
		t.Errorf("loaded %+v", c)
	}
}

func TestLoad_WrongTypeHidesSecrets(t *testing.T) {
	for _, toml := range []string{
		"[server]\njwt_secret = 31415926535\n",
		"[[auth.users]]\nusername = \"u\"\npassword = 31415926535\n",
		"[admin]\ntoken = 31415926535\n",
	} {
		_, err := Load(Options{ConfigFile: writeFile(t, "s.toml", toml), Environ: []string{}})
		if err == nil || strings.Contains(err.Error(), "31415926535") {
			t.Errorf("%q: Load() = %v, want an error without the value", toml, err)
		}
	}
}
