package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/whispeer-io/whispeer/server/config"
)

// rotatingJWKS serves a JWKS document of one Ed25519 key at a time.
type rotatingJWKS struct {
	*httptest.Server
	mu  sync.Mutex
	doc []byte
}

// publish makes key, named kid, the document's only key.
func (j *rotatingJWKS) publish(t *testing.T, kid string, key ed25519.PublicKey) {
	t.Helper()
	jwk, err := jwkset.NewJWKFromKey(key, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: jwkset.AlgEdDSA}})
	if err != nil {
		t.Fatal(err)
	}
	store := jwkset.NewMemoryStorage()
	if err := store.KeyWrite(t.Context(), jwk); err != nil {
		t.Fatal(err)
	}
	doc, err := store.JSONPublic(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	j.mu.Lock()
	j.doc = doc
	j.mu.Unlock()
}

// edToken signs a token of the application for sub with key, named kid.
func edToken(t *testing.T, kid string, key ed25519.PrivateKey, sub string) string {
	t.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"iss": appIss, "sub": sub, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAppTokens_JWKSRotationWhileConnected: the application rotates its
// signing key; a connected client refreshes with a token of the new key
// without reconnecting, and the retired key's tokens are refused.
func TestAppTokens_JWKSRotationWhileConnected(t *testing.T) {
	_, k1, _ := ed25519.GenerateKey(rand.Reader)
	_, k2, _ := ed25519.GenerateKey(rand.Reader)
	jwks := &rotatingJWKS{}
	jwks.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		jwks.mu.Lock()
		defer jwks.mu.Unlock()
		w.Write(jwks.doc)
	}))
	defer jwks.Close()
	jwks.publish(t, "k1", k1.Public().(ed25519.PublicKey))
	ts := newTestServer(t, func(c *config.Config) {
		c.Auth.Issuers = []config.Issuer{{Name: appIss, JWKSURL: jwks.URL, JWKSRefetch: time.Millisecond,
			Publish: []string{"users/{sub}/#"}, Subscribe: []string{"users/{sub}/#"}}}
	})
	c := ts.dial(t)
	c.send(`{"type":"auth","token":"` + edToken(t, "k1", k1, "zoe") + `"}`)
	c.expect("authenticated")
	c.subscribe("users/zoe/#")

	jwks.publish(t, "k2", k2.Public().(ed25519.PublicKey))
	c.send(`{"type":"auth","token":"` + edToken(t, "k2", k2, "zoe") + `"}`)
	c.expect("authenticated") // the unknown kid fetched the document again
	c.publish("users/zoe/x", `1`)
	c.expectMessage("users/zoe/x", `1`)

	old := ts.dial(t)
	old.send(`{"type":"auth","token":"` + edToken(t, "k1", k1, "zoe") + `"}`)
	old.expectError("authentication failed")
}
