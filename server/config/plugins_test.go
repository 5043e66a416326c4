package config

import (
	"bytes"
	"log/slog"
	"reflect"
	"strings"
	"testing"
)

func TestLoad_PluginsAndAdmin(t *testing.T) {
	file := writeFile(t, "whispeer.toml", `
[admin]
token = "file-token"
listen = "127.0.0.1:9090"

[plugins]
enabled = ["logging", "typecheck"]

[[plugins.typecheck]]
pattern = "sensor/#"
fields = { temp = "number" }

[[plugins.typecheck]]
pattern = "count"
type = "integer"
`)
	tests := []struct {
		name        string
		environ     []string
		args        []string
		wantEnabled []string
		wantAuth    bool
	}{
		{"file", nil, nil, []string{"logging", "typecheck"}, false},
		{"environment list", []string{"WHISPEER_PLUGINS_ENABLED=metrics, stamp", "WHISPEER_ADMIN_AUTH_HEALTH=true"}, nil, []string{"metrics", "stamp"}, true},
		{"empty environment list", []string{"WHISPEER_PLUGINS_ENABLED="}, nil, []string{}, false},
		{"flags", nil, []string{"--plugins.enabled=stamp,metrics", "--admin.auth_health"}, []string{"stamp", "metrics"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(Options{ConfigFile: file, Environ: append([]string{}, tt.environ...), Flags: parsedFlags(t, tt.args...)})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Plugins.Enabled, tt.wantEnabled) || c.Admin.AuthHealth != tt.wantAuth {
				t.Errorf("enabled %q, auth_health %v; want %q, %v", c.Plugins.Enabled, c.Admin.AuthHealth, tt.wantEnabled, tt.wantAuth)
			}
			want := []TypeRule{
				{Pattern: "sensor/#", Fields: map[string]string{"temp": "number"}},
				{Pattern: "count", Type: "integer"},
			}
			if !reflect.DeepEqual(c.Plugins.Typecheck, want) {
				t.Errorf("typecheck %+v, want %+v", c.Plugins.Typecheck, want)
			}
			if c.Admin.Token.Reveal() != "file-token" || c.Admin.Listen != "127.0.0.1:9090" {
				t.Errorf("admin %+v", c.Admin)
			}
		})
	}
}

func TestRegisterFlags_NoAdminTokenFlag(t *testing.T) {
	if parsedFlags(t).Lookup("admin.token") != nil {
		t.Error("RegisterFlags added a flag for the admin token")
	}
}

func TestValidate_PluginsAndAdmin(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"listen without port", func(c *Config) { c.Admin.Listen = "localhost" }, "admin.listen: must be host:port"},
		{"listen bad port", func(c *Config) { c.Admin.Listen = ":http" }, "admin.listen: port must be"},
		{"listen ok", func(c *Config) { c.Admin.Listen = ":9090" }, ""},
		{"empty plugin", func(c *Config) { c.Plugins.Enabled = []string{""} }, "plugins.enabled: empty plugin name"},
		{"plugin twice", func(c *Config) { c.Plugins.Enabled = []string{"metrics", "metrics"} }, `plugins.enabled: "metrics" listed twice`},
		{"bad type pattern", func(c *Config) { c.Plugins.Typecheck = []TypeRule{{Pattern: "a/#/b"}} }, `plugins.typecheck[0]: pattern "a/#/b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.modify(c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSecurity_ShortAdminToken(t *testing.T) {
	c := Default()
	c.Admin.Token = "short"
	warnings, _ := c.Security()
	if !strings.Contains(strings.Join(warnings, "\n"), "admin.token is 5 bytes") {
		t.Errorf("warnings %q lack the short admin token", warnings)
	}
}

func TestConfig_LogValueMasksAdminToken(t *testing.T) {
	c := Default()
	c.Admin.Token = "admin-TOKEN-value"
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", c)
	if strings.Contains(buf.String(), "TOKEN") || !strings.Contains(buf.String(), "config.admin.token=[REDACTED]") {
		t.Errorf("logged %s", buf.String())
	}
}
