package envelope

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestKeyFile_RoundTrip(t *testing.T) {
	kr := newTestKeyring(t)
	if _, err := kr.Rotate(); err != nil {
		t.Fatal(err)
	}
	if err := kr.SetTopicKey("chat/#", 10, testKey(10)); err != nil {
		t.Fatal(err)
	}
	if err := kr.SetTopicKey("chat/#", 11, testKey(11)); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.GenerateTopicKey("billing/invoices"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "keys.json")
	if err := WriteKeyFile(path, kr); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", info.Mode().Perm())
	}
	loaded, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := loaded.String(), kr.String(); got != want {
		t.Fatalf("loaded %s, wrote %s", got, want)
	}
	a, _ := MarshalKeyFile(kr)
	b, _ := MarshalKeyFile(loaded)
	if !bytes.Equal(a, b) {
		t.Fatalf("re-encoded key file differs:\n%s\n%s", a, b)
	}
	// What one seals, the other opens.
	e1 := newTestEngine(t, WithKeyring(kr))
	e2 := newTestEngine(t, WithKeyring(loaded))
	for _, topic := range []string{"chat/x", "billing/invoices", "news"} {
		env := mustSeal(t, e1, topic, "1", []byte("hi"))
		if _, err := e2.Open(nil, topic, "1", env); err != nil {
			t.Fatalf("%s: %v", topic, err)
		}
	}
}

func TestLoadKeyFile_RefusesOpenModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes do not describe access on Windows")
	}
	path := filepath.Join(t.TempDir(), "keys.json")
	if _, err := GenerateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660, 0o602, 0o610, 0o666} {
		t.Run(mode.String(), func(t *testing.T) {
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadKeyFile(path)
			if !errors.Is(err, ErrKeyFilePermissions) {
				t.Fatalf("LoadKeyFile with mode %04o = %v, want ErrKeyFilePermissions", mode, err)
			}
			if !strings.Contains(err.Error(), "chmod 600") {
				t.Fatalf("error %q does not say how to fix it", err)
			}
		})
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKeyFile(path); err != nil {
			t.Fatalf("mode %04o: %v", mode, err)
		}
	}
}

func TestWriteKeyFile_Overwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	first, err := GenerateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := GenerateKeyFile(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second GenerateKeyFile = %v, want fs.ErrExist", err)
	}
	if err := WriteKeyFile(path, NewKeyring()); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("WriteKeyFile over a file = %v, want fs.ErrExist", err)
	}
	loaded, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := MarshalKeyFile(first)
	b, _ := MarshalKeyFile(loaded)
	if !bytes.Equal(a, b) {
		t.Fatal("refused write changed the file")
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	second, err := GenerateKeyFile(path, AllowOverwrite())
	if err != nil {
		t.Fatal(err)
	}
	loaded, err = LoadKeyFile(path) // mode is 0600 again
	if err != nil {
		t.Fatal(err)
	}
	a, _ = MarshalKeyFile(second)
	b, _ = MarshalKeyFile(loaded)
	if !bytes.Equal(a, b) {
		t.Fatal("overwrite did not write the new keyring")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestParseKeyFile_Errors(t *testing.T) {
	const key = `"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="`
	tests := []struct {
		name, in string
	}{
		{"not json", `keys`},
		{"version", `{"version":2,"current":1,"keys":[{"id":1,"key":` + key + `}]}`},
		{"unknown field", `{"version":1,"current":1,"keys":[{"id":1,"key":` + key + `}],"extra":1}`},
		{"bad base64", `{"version":1,"current":1,"keys":[{"id":1,"key":"!!"}]}`},
		{"short key", `{"version":1,"current":1,"keys":[{"id":1,"key":"AAEC"}]}`},
		{"missing current", `{"version":1,"current":2,"keys":[{"id":1,"key":` + key + `}]}`},
		{"duplicate id", `{"version":1,"current":1,"keys":[{"id":1,"key":` + key + `},{"id":1,"key":"AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}]}`},
		{"topic current missing", `{"version":1,"current":0,"keys":[],"topics":[{"pattern":"a","current":3,"keys":[{"id":2,"key":` + key + `}]}]}`},
		{"bad pattern", `{"version":1,"current":0,"keys":[],"topics":[{"pattern":"#/a","current":2,"keys":[{"id":2,"key":` + key + `}]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseKeyFile([]byte(tt.in)); !errors.Is(err, ErrKeyFile) {
				t.Fatalf("ParseKeyFile = %v, want ErrKeyFile", err)
			}
		})
	}
	kr, err := ParseKeyFile([]byte(`{"version":1,"current":0,"keys":[],"topics":[{"pattern":"#","current":2,"keys":[{"id":2,"key":` + key + `}]}]}`))
	if err != nil {
		t.Fatalf("global key only: %v", err)
	}
	if id, err := kr.KeyIDFor("any/topic"); err != nil || id != 2 {
		t.Fatalf("KeyIDFor = %d, %v", id, err)
	}
}
