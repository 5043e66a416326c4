package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/server/auth"
)

func TestToken(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "whispeer.toml")
	const secret = "a-jwt-secret-that-is-long-enough-for-tests"
	toml := "[server]\njwt_secret = \"" + secret + "\"\n[auth]\ntoken_ttl = \"2h\"\n" +
		"[[auth.users]]\nusername = \"alice\"\npassword = \"pw\"\npublish = [\"#\"]\nsubscribe = [\"#\"]\n"
	if err := os.WriteFile(file, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	iss, err := auth.NewIssuer([]byte(secret), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		ttl  time.Duration
	}{
		{nil, 2 * time.Hour},
		{[]string{"--ttl", "30m"}, 30 * time.Minute},
	} {
		out, errOut, err := execute(t, context.Background(), append([]string{"token", "--user", "alice", "--config", file}, tc.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		claims, err := iss.Verify(strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("the token does not verify: %v", err)
		}
		if claims.Subject != "alice" || claims.ExpiresAt.Sub(claims.IssuedAt) != tc.ttl {
			t.Errorf("claims %+v, want alice for %s", claims, tc.ttl)
		}
		if errOut != "" {
			t.Errorf("stderr %q", errOut)
		}
	}
	if _, _, err := execute(t, context.Background(), "token", "--user", "mallory", "--config", file); err == nil || !strings.Contains(err.Error(), `no user "mallory"`) {
		t.Errorf("unknown user: %v", err)
	}
	if _, _, err := execute(t, context.Background(), "token", "--config", file); err == nil || !strings.Contains(err.Error(), `"user" not set`) {
		t.Errorf("no --user: %v", err)
	}
}

func TestToken_WarnsOnDefaultSecret(t *testing.T) {
	t.Chdir(t.TempDir()) // no config/default.toml: built-in defaults
	out, errOut, err := execute(t, context.Background(), "token", "--user", "admin")
	if err != nil || out == "" {
		t.Fatalf("%q, %v", out, err)
	}
	if !strings.Contains(errOut, "shipped default server.jwt_secret") {
		t.Errorf("no warning: %q", errOut)
	}
}
