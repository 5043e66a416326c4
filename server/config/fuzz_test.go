package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad loads arbitrary bytes as the TOML file: bad input is an error
// that says why, never a panic, and whatever loads is valid.
func FuzzLoad(f *testing.F) {
	f.Add("")
	f.Add("[server]\nport = 4250\n")
	f.Add("[server]\nport = true\n")
	f.Add("[server]\nport = 18520.5\nmax_connections = -1\n")
	f.Add("[limits]\nmax_publish_rate = 1.5\n[store]\nkind = \"sqlite\"\n")
	f.Add("[auth]\nenabled = true\n[[auth.users]]\nusername = \"a\"\npassword_hash = \"x\"\n")
	f.Add("[server]\nidle_timeout = \"1h\"\nwrite_timeout = \"-1s\"\n")
	f.Add("a = [1, \"b\", {c = 2}]\n")
	dir := f.TempDir()
	envFile := filepath.Join(dir, ".env")
	if err := os.WriteFile(envFile, nil, 0o600); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, content string) {
		path := filepath.Join(t.TempDir(), "whispeer.toml")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(Options{ConfigFile: path, EnvFile: envFile, Environ: []string{}})
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("Load failed without saying why")
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Load returned a configuration that does not validate: %v", err)
		}
	})
}
