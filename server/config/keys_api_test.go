package config

import (
	"strings"
	"testing"
)

func TestLoad_AdminKeys(t *testing.T) {
	path := writeFile(t, "keys.toml", `
[[admin.keys]]
name = "shop"
key = "a-key-of-the-shop-0123456789abcdef"
publish = ["orders/#"]
read = ["orders/#", "stock"]
max_publish_rate = 500

[[admin.keys]]
name = "ops"
key = "a-key-of-the-ops-0123456789abcdefg"
admin = true
`)
	c, err := Load(Options{ConfigFile: path})
	if err != nil {
		t.Fatal(err)
	}
	k := c.Admin.Keys
	if len(k) != 2 || k[0].Name != "shop" || k[0].Key.Reveal() != "a-key-of-the-shop-0123456789abcdef" ||
		len(k[0].Read) != 2 || k[0].Admin || !k[1].Admin || k[0].MaxPublishRate != 500 {
		t.Fatalf("keys %+v", k)
	}
	if s := k[0].Key.String(); strings.Contains(s, "shop-0123") {
		t.Errorf("a key prints as %q", s)
	}
}

func TestValidate_AdminKeys(t *testing.T) {
	key := func(name, secret string, publish ...string) APIKey {
		return APIKey{Name: name, Key: Secret(secret), Publish: publish}
	}
	tests := []struct {
		name string
		keys []APIKey
		want string
	}{
		{"ok", []APIKey{key("a", "k1", "x/#"), key("b", "k2")}, ""},
		{"no name", []APIKey{key("", "k1")}, "admin.keys[0]: name must hold"},
		{"duplicate name", []APIKey{key("a", "k1"), key("a", "k2")}, `admin.keys[1] ("a"): duplicate name`},
		{"empty key", []APIKey{key("a", "")}, "key is empty"},
		{"shared key", []APIKey{key("a", "k1"), key("b", "k1")}, `admin.keys[1] ("b"): key is admin.token's or another key's`},
		{"the admin token", []APIKey{key("a", "the-token")}, "key is admin.token's"},
		{"bad pattern", []APIKey{key("a", "k1", "a/#/b")}, `publish: "a/#/b"`},
		{"negative rate", []APIKey{{Name: "a", Key: "k1", MaxPublishRate: -1}}, "max_publish_rate must be 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Admin.Token = "the-token"
			c.Admin.Keys = tt.keys
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
