package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/whispeer-io/whispeer/server/config"
)

const testIss = "https://app.example"

// testKeys are the key pairs of the tests, made once: RSA keys take long.
var testKeys = sync.OnceValue(func() (k struct {
	rsa, rsa2 *rsa.PrivateKey
	ec, ec2   *ecdsa.PrivateKey
	ed, ed2   ed25519.PrivateKey
}) {
	k.rsa, _ = rsa.GenerateKey(rand.Reader, 2048)
	k.rsa2, _ = rsa.GenerateKey(rand.Reader, 2048)
	k.ec, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k.ec2, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, k.ed, _ = ed25519.GenerateKey(rand.Reader)
	_, k.ed2, _ = ed25519.GenerateKey(rand.Reader)
	return k
})

const (
	secret1 = "an application secret of 32 bytes or more"
	secret2 = "another application secret, also long enough"
)

// pemOf returns the PEM PUBLIC KEY of a private key's public half.
func pemOf(t testing.TB, priv crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// signApp makes a token with method, key, kid (if not empty) and claims, with
// "iss", "sub", "iat" and "exp" filled in unless claims set them.
func signApp(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	c := jwt.MapClaims{"iss": testIss, "sub": "alice", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newTestApps builds Apps of one issuer, with "chat/#" and "users/{sub}/#"
// to grant unless e says otherwise.
func newTestApps(t testing.TB, e config.Issuer, opts ...AppOption) *Apps {
	t.Helper()
	if e.Name == "" {
		e.Name = testIss
	}
	if e.Publish == nil {
		e.Publish = []string{"chat/#", "users/{sub}/#"}
	}
	if e.Subscribe == nil {
		e.Subscribe = []string{"chat/#", "users/{sub}/#"}
	}
	a, err := NewApps([]config.Issuer{e}, append([]AppOption{WithAppLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// verify verifies token with the issuer it names.
func verify(a *Apps, token string) (Claims, *User, error) {
	i := a.Issuer(token)
	if i == nil {
		return Claims{}, nil, errors.New("no issuer")
	}
	return i.Verify(token)
}

// algCase is one algorithm: its configured key, the key that signs its
// tokens, and a key of the same kind that is not the issuer's.
type algCase struct {
	method        jwt.SigningMethod
	key           config.IssuerKey
	good, foreign any
}

func algCases(t testing.TB) []algCase {
	k := testKeys()
	hs := func(m jwt.SigningMethod) algCase {
		return algCase{m, config.IssuerKey{Algorithm: m.Alg(), Secret: config.Secret(secret1)}, []byte(secret1), []byte(secret2)}
	}
	pub := func(m jwt.SigningMethod, priv, other crypto.Signer) algCase {
		return algCase{m, config.IssuerKey{Algorithm: m.Alg(), PublicKey: pemOf(t, priv)}, priv, other}
	}
	return []algCase{
		hs(jwt.SigningMethodHS256), hs(jwt.SigningMethodHS384), hs(jwt.SigningMethodHS512),
		pub(jwt.SigningMethodRS256, k.rsa, k.rsa2),
		pub(jwt.SigningMethodPS256, k.rsa, k.rsa2),
		pub(jwt.SigningMethodES256, k.ec, k.ec2),
		pub(jwt.SigningMethodEdDSA, k.ed, k.ed2),
	}
}

func TestApps_EveryAlgorithm(t *testing.T) {
	for _, c := range algCases(t) {
		t.Run(c.method.Alg(), func(t *testing.T) {
			a := newTestApps(t, config.Issuer{Keys: []config.IssuerKey{c.key}})
			claims, u, err := verify(a, signApp(t, c.method, c.good, "", jwt.MapClaims{"jti": "t1"}))
			if err != nil {
				t.Fatalf("good token refused: %v", err)
			}
			if claims.Subject != "alice" || claims.ID != "t1" || claims.Issuer != testIss || u.Name() != "alice" {
				t.Fatalf("claims %+v, user %q", claims, u.Name())
			}
			_, _, err = verify(a, signApp(t, c.method, c.foreign, "", nil))
			if !errors.Is(err, ErrTokenInvalid) {
				t.Fatalf("token signed with another key: err = %v", err)
			}
			// alice's signature on a payload naming mallory
			tok := strings.Split(signApp(t, c.method, c.good, "", nil), ".")
			other := strings.Split(signApp(t, c.method, c.good, "", jwt.MapClaims{"sub": "mallory"}), ".")
			tampered := tok[0] + "." + other[1] + "." + tok[2]
			if _, _, err := verify(a, tampered); !errors.Is(err, ErrTokenInvalid) {
				t.Fatalf("tampered token: err = %v", err)
			}
		})
	}
}

func TestApps_PinnedAlgorithm(t *testing.T) {
	k := testKeys()
	rsaPEM := pemOf(t, k.rsa)
	a := newTestApps(t, config.Issuer{Keys: []config.IssuerKey{
		{Algorithm: "RS256", PublicKey: rsaPEM},
		{Algorithm: "HS256", KID: "hs", Secret: config.Secret(secret1)},
	}})
	der, _ := x509.MarshalPKIXPublicKey(k.rsa.Public())
	none := signApp(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", nil)
	cases := map[string]string{
		// The RS256 key's public half, used as an HMAC secret.
		"RS256 public key as HS256 secret (PEM)": signApp(t, jwt.SigningMethodHS256, []byte(rsaPEM), "", nil),
		"RS256 public key as HS256 secret (DER)": signApp(t, jwt.SigningMethodHS256, der, "", nil),
		"RS256 key signing PS256":                signApp(t, jwt.SigningMethodPS256, k.rsa, "", nil),
		"RS256 key signing RS512":                signApp(t, jwt.SigningMethodRS512, k.rsa, "", nil),
		"alg none":                               none,
		"wrong kid":                              signApp(t, jwt.SigningMethodHS256, []byte(secret1), "other", nil),
		"no kid for a key with one":              signApp(t, jwt.SigningMethodHS256, []byte(secret1), "", nil),
	}
	for name, tok := range cases {
		if _, _, err := verify(a, tok); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("%s: err = %v, want ErrTokenInvalid", name, err)
		}
	}
	if _, _, err := verify(a, signApp(t, jwt.SigningMethodHS256, []byte(secret1), "hs", nil)); err != nil {
		t.Fatalf("HS256 token with the key's kid: %v", err)
	}
	if _, _, err := verify(a, signApp(t, jwt.SigningMethodRS256, k.rsa, "any", nil)); err != nil {
		t.Fatalf("RS256 token: %v", err)
	}
}

func TestApps_ConfigRefusesMismatchedKeys(t *testing.T) {
	k := testKeys()
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	cases := map[string]config.IssuerKey{
		"HS256 with a public key": {Algorithm: "HS256", PublicKey: pemOf(t, k.rsa)},
		"RS256 with a secret":     {Algorithm: "RS256", Secret: config.Secret(secret1)},
		"ES256 with an RSA key":   {Algorithm: "ES256", PublicKey: pemOf(t, k.rsa)},
		"EdDSA with an EC key":    {Algorithm: "EdDSA", PublicKey: pemOf(t, k.ec)},
		"none":                    {Algorithm: "none", Secret: config.Secret(secret1)},
		"short secret":            {Algorithm: "HS256", Secret: "short"},
		"RSA of 1024 bits":        {Algorithm: "RS256", PublicKey: pemOf(t, small)},
		"two sources":             {Algorithm: "HS256", Secret: config.Secret(secret1), PublicKey: pemOf(t, k.rsa)},
		"no PEM":                  {Algorithm: "RS256", PublicKey: "not a key"},
	}
	for name, key := range cases {
		_, err := NewApps([]config.Issuer{{Name: testIss, Keys: []config.IssuerKey{key}}})
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewApps([]config.Issuer{{Name: testIss}}); err == nil {
		t.Error("an issuer without keys was accepted")
	}
}

func TestApps_RegisteredClaims(t *testing.T) {
	now := time.Now()
	a := newTestApps(t, config.Issuer{
		Audience: []string{"whispeer"},
		Leeway:   30 * time.Second,
		Keys:     []config.IssuerKey{{Algorithm: "HS256", Secret: config.Secret(secret1)}},
	})
	key := []byte(secret1)
	hs := jwt.SigningMethodHS256
	cases := []struct {
		name   string
		claims jwt.MapClaims
		want   error
	}{
		{"good", jwt.MapClaims{"aud": "whispeer"}, nil},
		{"audience among others", jwt.MapClaims{"aud": []string{"x", "whispeer"}}, nil},
		{"expired within leeway", jwt.MapClaims{"aud": "whispeer", "exp": now.Add(-10 * time.Second).Unix()}, nil},
		{"expired", jwt.MapClaims{"aud": "whispeer", "exp": now.Add(-time.Minute).Unix()}, ErrTokenExpired},
		{"not yet valid", jwt.MapClaims{"aud": "whispeer", "nbf": now.Add(time.Minute).Unix()}, ErrTokenNotYetValid},
		{"no exp", jwt.MapClaims{"aud": "whispeer", "exp": nil}, ErrTokenInvalid},
		{"other audience", jwt.MapClaims{"aud": "other"}, ErrTokenInvalid},
		{"no audience", nil, ErrTokenInvalid},
		{"no subject", jwt.MapClaims{"aud": "whispeer", "sub": ""}, ErrTokenInvalid},
	}
	for _, c := range cases {
		_, _, err := verify(a, signApp(t, hs, key, "", c.claims))
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if a.Issuer(signApp(t, hs, key, "", jwt.MapClaims{"iss": "https://other.example"})) != nil {
		t.Error("a token of another issuer found an issuer")
	}
	long := signApp(t, hs, key, "", jwt.MapClaims{"aud": "whispeer", "pad": strings.Repeat("x", DefaultAppTokenBytes)})
	if _, _, err := a.byName[testIss].Verify(long); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("token past max_token_bytes: err = %v", err)
	}
}

// jwksServer serves a JWKS document of the public halves of keys, each
// named by its kid, and counts its fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	doc     []byte
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T) *jwksServer {
	s := &jwksServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Write(s.doc)
	}))
	t.Cleanup(s.Close)
	return s
}

// serve makes the document hold keys by kid, with their "alg" if set.
func (s *jwksServer) serve(t *testing.T, keys map[string]any, alg jwkset.ALG) {
	t.Helper()
	store := jwkset.NewMemoryStorage()
	for kid, key := range keys {
		if signer, ok := key.(crypto.Signer); ok {
			key = signer.Public()
		}
		j, err := jwkset.NewJWKFromKey(key, jwkset.JWKOptions{
			Marshal:  jwkset.JWKMarshalOptions{Private: true}, // for the HMAC secret
			Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: alg},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.KeyWrite(t.Context(), j); err != nil {
			t.Fatal(err)
		}
	}
	doc, err := store.JSONPrivate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.doc = doc
	s.mu.Unlock()
}

func TestApps_JWKSRotation(t *testing.T) {
	k := testKeys()
	srv := newJWKSServer(t)
	srv.serve(t, map[string]any{"k1": k.rsa}, "")
	// A fetch for an unknown kid may follow another within 1 ms.
	a := newTestApps(t, config.Issuer{JWKSURL: srv.URL, JWKSRefetch: time.Millisecond})

	old := signApp(t, jwt.SigningMethodRS256, k.rsa, "k1", nil)
	if _, _, err := verify(a, old); err != nil {
		t.Fatalf("token of the first key: %v", err)
	}
	if _, _, err := verify(a, signApp(t, jwt.SigningMethodES256, k.ec, "k2", nil)); err == nil {
		t.Fatal("token of a key not yet published accepted")
	}
	// The application rotates: k1 is gone, k2 is the EC key.
	srv.serve(t, map[string]any{"k2": k.ec}, "")
	if _, _, err := verify(a, signApp(t, jwt.SigningMethodES256, k.ec, "k2", nil)); err != nil {
		t.Fatalf("token of the rotated key: %v", err)
	}
	if _, _, err := verify(a, old); err == nil {
		t.Fatal("token of the retired key accepted")
	}
}

func TestApps_JWKSNewKidFetched(t *testing.T) {
	k := testKeys()
	srv := newJWKSServer(t)
	srv.serve(t, map[string]any{"k1": k.rsa}, "")
	a := newTestApps(t, config.Issuer{JWKSURL: srv.URL})
	srv.serve(t, map[string]any{"k1": k.rsa, "k2": k.ed}, "")
	before := srv.fetches.Load()
	if _, _, err := verify(a, signApp(t, jwt.SigningMethodEdDSA, k.ed, "k2", nil)); err != nil {
		t.Fatalf("token of a key published after start: %v", err)
	}
	if srv.fetches.Load() != before+1 {
		t.Fatalf("fetches %d, want %d", srv.fetches.Load(), before+1)
	}
	// Within jwks_refetch, another unknown kid fetches nothing.
	if _, _, err := verify(a, signApp(t, jwt.SigningMethodEdDSA, k.ed2, "k3", nil)); err == nil {
		t.Fatal("token of an unknown kid accepted")
	}
	if srv.fetches.Load() != before+1 {
		t.Fatalf("unknown kid fetched again within jwks_refetch: %d fetches", srv.fetches.Load())
	}
}

func TestApps_JWKSRefusals(t *testing.T) {
	k := testKeys()
	srv := newJWKSServer(t)
	srv.serve(t, map[string]any{"rs": k.rsa, "hmac": []byte(secret1)}, "")
	a := newTestApps(t, config.Issuer{JWKSURL: srv.URL})
	rsaJWK, _ := jwkset.NewJWKFromKey(k.rsa.Public(), jwkset.JWKOptions{})
	rsaJSON, _ := json.Marshal(rsaJWK.Marshal())
	cases := map[string]string{
		"HS256 with the document's secret": signApp(t, jwt.SigningMethodHS256, []byte(secret1), "hmac", nil),
		"HS256 with the RSA JWK as secret": signApp(t, jwt.SigningMethodHS256, rsaJSON, "rs", nil),
		"RSA key signing ES256":            signApp(t, jwt.SigningMethodES256, k.ec, "rs", nil),
		"none":                             signApp(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "rs", nil),
	}
	for name, tok := range cases {
		if _, _, err := verify(a, tok); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// With HS256 allowed by a configured key, the document's secret still
	// verifies nothing.
	a = newTestApps(t, config.Issuer{JWKSURL: srv.URL,
		Keys: []config.IssuerKey{{KID: "static", Algorithm: "HS256", Secret: config.Secret(secret2)}}})
	if _, _, err := verify(a, signApp(t, jwt.SigningMethodHS256, []byte(secret1), "hmac", nil)); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("HS256 with the document's secret, HS256 allowed: err = %v", err)
	}
	if _, _, err := verify(a, signApp(t, jwt.SigningMethodHS256, []byte(secret2), "static", nil)); err != nil {
		t.Errorf("HS256 with the configured secret: %v", err)
	}
	// A JWK whose "alg" is RS256 verifies RS256 only.
	srv.serve(t, map[string]any{"rs": k.rsa}, jwkset.AlgRS256)
	a = newTestApps(t, config.Issuer{JWKSURL: srv.URL})
	if _, _, err := verify(a, signApp(t, jwt.SigningMethodPS256, k.rsa, "rs", nil)); err == nil {
		t.Error("PS256 token verified with an RS256 JWK")
	}
	if _, _, err := verify(a, signApp(t, jwt.SigningMethodRS256, k.rsa, "rs", nil)); err != nil {
		t.Errorf("RS256 token: %v", err)
	}
}

func TestApps_JWKSTooLarge(t *testing.T) {
	k := testKeys()
	srv := newJWKSServer(t)
	srv.serve(t, map[string]any{"k1": k.rsa}, "")
	a := newTestApps(t, config.Issuer{JWKSURL: srv.URL, JWKSMaxBytes: 100})
	if _, _, err := verify(a, signApp(t, jwt.SigningMethodRS256, k.rsa, "k1", nil)); err == nil {
		t.Fatal("token verified with a key of a document past jwks_max_bytes")
	}
	b := &limitedBody{rc: io.NopCloser(strings.NewReader(strings.Repeat("x", 101))), left: 100}
	if _, err := io.ReadAll(b); !errors.Is(err, ErrJWKSTooLarge) {
		t.Fatalf("err = %v", err)
	}
}

func TestApps_JWKSFile(t *testing.T) {
	k := testKeys()
	j, _ := jwkset.NewJWKFromKey(k.ed.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "f1"}})
	doc, _ := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{j.Marshal()}})
	path := t.TempDir() + "/jwks.json"
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	a := newTestApps(t, config.Issuer{JWKSFile: path})
	if _, _, err := verify(a, signApp(t, jwt.SigningMethodEdDSA, k.ed, "f1", nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := NewApps([]config.Issuer{{Name: testIss, JWKSFile: path, JWKSMaxBytes: 10}}); err == nil {
		t.Fatal("a JWKS file past jwks_max_bytes was accepted")
	}
}
