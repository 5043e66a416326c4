package auth

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// cheap are argon2id parameters small enough for tests.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// cheapHash hashes password with cheap parameters.
func cheapHash(t testing.TB, password string) string {
	t.Helper()
	h, err := HashPasswordWith(password, cheap)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$`)

func TestHashPassword_Default(t *testing.T) {
	s, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, "$argon2id$v=19$m=65536,t=3,p=4$") || !phcPattern.MatchString(s) {
		t.Errorf("HashPassword() = %q, not a PHC string with the default parameters", s)
	}
	h, err := parseHash(s)
	if err != nil {
		t.Fatal(err)
	}
	if h.Params != DefaultParams {
		t.Errorf("parameters = %+v, want %+v", h.Params, DefaultParams)
	}
	if !h.verify("correct horse battery staple") {
		t.Error("the hash does not verify its password")
	}
}

func TestHashPasswordWith(t *testing.T) {
	tests := []struct {
		name     string
		password string
	}{
		{"ascii", "password"},
		{"empty", ""},
		{"unicode", "pässwörd ✓"},
		{"long", strings.Repeat("x", 1000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := cheapHash(t, tt.password)
			if !phcPattern.MatchString(s) {
				t.Fatalf("hash %q is not a PHC string", s)
			}
			if err := CheckHash(s); err != nil {
				t.Fatalf("CheckHash(%q) = %v", s, err)
			}
			h, err := parseHash(s)
			if err != nil {
				t.Fatal(err)
			}
			if h.String() != s {
				t.Errorf("re-encoded %q, want %q", h.String(), s)
			}
			if !h.verify(tt.password) {
				t.Error("does not verify the right password")
			}
			if h.verify(tt.password + "x") {
				t.Error("verifies a wrong password")
			}
		})
	}
	if a, b := cheapHash(t, "same"), cheapHash(t, "same"); a == b {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	if _, err := HashPasswordWith("x", Params{}); !errors.Is(err, ErrInvalidHash) {
		t.Errorf("HashPasswordWith(zero Params) = %v, want ErrInvalidHash", err)
	}
}

// TestParseHash_ReferenceVector checks the PHC encoding against the
// argon2id test vector of the reference implementation (phc-winner-argon2):
// password "password", salt "somesalt", t=2, m=65536, p=1.
func TestParseHash_ReferenceVector(t *testing.T) {
	const ref = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	h, err := parseHash(ref)
	if err != nil {
		t.Fatal(err)
	}
	if !h.verify("password") {
		t.Error("reference hash does not verify")
	}
	if h.verify("Password") {
		t.Error("reference hash verifies a wrong password")
	}
}

func TestParseHash_Errors(t *testing.T) {
	const salt, tag = "c29tZXNhbHRzb21lc2FsdA", "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	tests := []struct {
		name, hash string
	}{
		{"argon2i", "$argon2i$v=19$m=65536,t=2,p=1$" + salt + "$" + tag},
		{"old version", "$argon2id$v=16$m=65536,t=2,p=1$" + salt + "$" + tag},
		{"no version", "$argon2id$m=65536,t=2,p=1$" + salt + "$" + tag},
		{"missing tag", "$argon2id$v=19$m=65536,t=2,p=1$" + salt},
		{"extra field", "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + tag + "$x"},
		{"parameters out of order", "$argon2id$v=19$t=2,m=65536,p=1$" + salt + "$" + tag},
		{"missing parameter", "$argon2id$v=19$m=65536,t=2$" + salt + "$" + tag},
		{"leading zero", "$argon2id$v=19$m=065536,t=2,p=1$" + salt + "$" + tag},
		{"trailing junk", "$argon2id$v=19$m=65536,t=2,p=1x$" + salt + "$" + tag},
		{"memory too large", "$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + tag},
		{"memory below 8p", "$argon2id$v=19$m=15,t=1,p=2$" + salt + "$" + tag},
		{"zero passes", "$argon2id$v=19$m=65536,t=0,p=1$" + salt + "$" + tag},
		{"too many passes", "$argon2id$v=19$m=65536,t=1000,p=1$" + salt + "$" + tag},
		{"zero lanes", "$argon2id$v=19$m=65536,t=2,p=0$" + salt + "$" + tag},
		{"lanes overflow", "$argon2id$v=19$m=65536,t=2,p=257$" + salt + "$" + tag},
		{"padded salt", "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "==$" + tag},
		{"bad base64", "$argon2id$v=19$m=65536,t=2,p=1$!!!!$" + tag},
		{"short salt", "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$" + tag},
		{"short tag", "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$c2hvcnR0YWc"},
		{"plain text", "password"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckHash(tt.hash); !errors.Is(err, ErrInvalidHash) {
				t.Errorf("CheckHash(%q) = %v, want ErrInvalidHash", tt.hash, err)
			}
		})
	}
}

// BenchmarkHashPassword measures DefaultParams: about 130 ms per hash on 2 idle
// cores (Intel Xeon), the cost of one login.
func BenchmarkHashPassword(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := HashPassword("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
