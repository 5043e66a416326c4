package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer/envelope"
)

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.Execute()
	return out.String(), err
}

func TestKeygen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	if _, err := runCmd(t, "keygen", path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	kr, err := envelope.LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, "keygen", path); err == nil {
		t.Error("keygen replaced an existing file without --force")
	}

	out, err := runCmd(t, "keygen", "--rotate", path)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := envelope.LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.Current() == kr.Current() || !slices.Contains(rotated.IDs(), kr.Current()) {
		t.Errorf("after rotation ids %v current %d, want a new current id and the old one kept", rotated.IDs(), rotated.Current())
	}
	var file struct {
		Keys []struct{ Key string }
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &file); err != nil || len(file.Keys) != 2 {
		t.Fatalf("key file: %v, %d keys", err, len(file.Keys))
	}
	for _, k := range file.Keys {
		if k.Key == "" || strings.Contains(out, k.Key) {
			t.Errorf("keygen printed key material: %q", out)
		}
	}
}

func TestKeygen_RefusesWorldReadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	if _, err := runCmd(t, "keygen", path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, "keygen", "--rotate", path); err == nil {
		t.Fatal("rotated a key file readable by others")
	}
}
