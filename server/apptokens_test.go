package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/admin"
	"github.com/whispeer-io/whispeer/server/auth"
	"github.com/whispeer-io/whispeer/server/config"
)

const (
	appIss    = "https://app.example"
	appSecret = "the application's secret, 32 bytes or more"
)

// withApp trusts the tokens of one application, signed with appSecret,
// granting at most chat/# and users/{sub}/# for both publishing and
// subscribing.
func withApp(c *config.Config) {
	c.Auth.Issuers = []config.Issuer{{
		Name:      appIss,
		Keys:      []config.IssuerKey{{Algorithm: "HS256", Secret: appSecret}},
		Publish:   []string{"chat/#", "users/{sub}/#"},
		Subscribe: []string{"chat/#", "users/{sub}/#"},
	}}
}

// appToken signs a token of the application for sub, valid for ttl, with
// jti and the "whispeer" claim g when they are set.
func appToken(t testing.TB, sub, jti string, ttl time.Duration, g *auth.GrantClaim) string {
	t.Helper()
	now := time.Now()
	c := jwt.MapClaims{"iss": appIss, "sub": sub, "iat": now.Unix(), "exp": now.Add(ttl).Unix()}
	if jti != "" {
		c["jti"] = jti
	}
	if g != nil {
		c["whispeer"] = g
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(appSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAppTokens_JSONClaimsAndRefresh(t *testing.T) {
	ts := newTestServer(t, withApp)
	c := ts.dial(t)
	// zoe is no account of the configuration: the token alone admits her.
	c.send(`{"type":"auth","token":"` + appToken(t, "zoe", "", time.Hour, &auth.GrantClaim{
		Pub: []string{"users/{sub}/#"}, Sub: []string{"chat/#", "users/{sub}/#"},
	}) + `"}`)
	c.expect("authenticated")
	c.subscribe("chat/#")
	c.subscribe("users/zoe/#")
	c.send(`{"type":"subscribe","topic":"users/bob/#"}`)
	c.expectError("permission denied")
	c.publish("chat/x", `1`)
	c.expectError("permission denied")
	c.publish("users/zoe/inbox", `2`)
	c.expectMessage("users/zoe/inbox", `2`)

	// A refreshed token with fewer grants ends the subscription it no
	// longer covers, and the old publish right goes.
	c.send(`{"type":"auth","token":"` + appToken(t, "zoe", "", time.Hour, &auth.GrantClaim{Sub: []string{"chat/#"}}) + `"}`)
	c.expect("authenticated")
	f := c.expect("error")
	if f.str("topic") != "users/zoe/#" || !strings.Contains(f.str("error"), "subscription ended") {
		t.Fatalf("got %v, want the end of the subscription to users/zoe/#", f)
	}
	c.publish("users/zoe/inbox", `3`)
	c.expectError("permission denied")
	ts.authed(t, "admin").publish("chat/y", `4`)
	c.expectMessage("chat/y", `4`) // the covered subscription stays

	// A failed refresh leaves the session as it was.
	c.send(`{"type":"auth","token":"` + appToken(t, "zoe", "", time.Hour, &auth.GrantClaim{Sub: []string{"#"}}) + `"}`)
	c.expectError("authentication failed")
	c.sync()
}

func TestAppTokens_AccountBoundsToken(t *testing.T) {
	ts := newTestServer(t, withApp)
	c := ts.dial(t)
	// alice's account may publish to chat/alice only, whatever her token says.
	c.send(`{"type":"auth","token":"` + appToken(t, "alice", "", time.Hour, nil) + `"}`)
	c.expect("authenticated")
	c.publish("chat/other", `1`)
	c.expectError("permission denied")
	c.send(`{"type":"publish","topic":"chat/alice","payload":1,"qos":1,"message_id":"m"}`)
	c.expect("puback")
}

func TestAppTokens_NativeRefresh(t *testing.T) {
	for _, tr := range []string{"tcp", "ws"} {
		t.Run(tr, func(t *testing.T) {
			ts := newTestServer(t, func(c *config.Config) { withApp(c); c.Server.TCPPort = 1 })
			c := ts.dialNative(t, tr, nil, 0)
			c.send(&wire.Frame{Type: wire.TypeAuth, Auth: wire.Auth{Token: []byte(appToken(t, "zoe", "", time.Hour, nil))}})
			c.expect(wire.TypeAuthOK)
			if a := c.subscribe(1, "users/zoe/#", wire.AtMostOnce, wire.Resume{}); a.Code != wire.CodeOK {
				t.Fatalf("SUBACK %v", a.Code)
			}
			c.subscribe(2, "chat/#", wire.AtMostOnce, wire.Resume{})
			exp := time.Now().Add(2 * time.Hour)
			c.send(&wire.Frame{Type: wire.TypeAuth, Auth: wire.Auth{Token: []byte(appToken(t, "zoe", "", 2*time.Hour,
				&auth.GrantClaim{Sub: []string{"chat/#"}}))}})
			ok := c.expect(wire.TypeAuthOK).AuthOK
			if d := time.Unix(0, ok.Expires).Sub(exp); d < -2*time.Second || d > 2*time.Second {
				t.Fatalf("AUTHOK expires %v, want the new token's %v", time.Unix(0, ok.Expires), exp)
			}
			text := c.expectError(wire.CodeForbidden, false, wire.TypeSubscribe)
			if !strings.Contains(text, "subscription 1 ended") {
				t.Fatalf("ERROR %q", text)
			}
			c.sync()
		})
	}
}

// TestAppTokens_RefreshOutlivesFirstExpiry: a session refreshed before its
// token's exp lasts until the new token's, then ends saying why.
func TestAppTokens_RefreshOutlivesFirstExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, ln := bubbleServer(t, func(c *config.Config) {
			withApp(c)
			c.Server.PingInterval = 5 * time.Hour // the client does not answer pings
		})
		c := dialPipe(t, ln)
		c.expect(wire.TypeWelcome)
		c.send(&wire.Frame{Type: wire.TypeAuth, Auth: wire.Auth{Token: []byte(appToken(t, "zoe", "", time.Hour, nil))}})
		c.expect(wire.TypeAuthOK)
		time.Sleep(50 * time.Minute)
		c.send(&wire.Frame{Type: wire.TypeAuth, Auth: wire.Auth{Token: []byte(appToken(t, "zoe", "", time.Hour, nil))}})
		c.expect(wire.TypeAuthOK)
		time.Sleep(time.Hour - time.Second) // 1h49m59s: past the first token's exp
		c.send(&wire.Frame{Type: wire.TypePing})
		c.expect(wire.TypePong)
		time.Sleep(time.Second)
		f := c.expect(wire.TypeError)
		if f.Error.Code != wire.CodeUnauthorized || !f.Error.Fatal || !strings.Contains(string(f.Error.Text), "token expired") {
			t.Fatalf("ERROR %v fatal=%v %q, want a fatal unauthorized token expired", f.Error.Code, f.Error.Fatal, f.Error.Text)
		}
		c.expectEnd()
		synctest.Wait()
		if n := srv.Stats().TokensExpired; n != 1 {
			t.Fatalf("TokensExpired = %d", n)
		}
	})
}

// revoke POSTs body to /api/revocations with token (none if empty) and
// returns the status and the decoded answer.
func revoke(t *testing.T, ts *testServer, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.httpURL()+"/api/revocations", strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

func TestAppTokens_Revocation(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { withApp(c); withAdmin(c) })
	tok := appToken(t, "zoe", "tok-1", time.Hour, nil)
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	c := ts.dial(t)
	c.send(`{"type":"auth","token":"` + tok + `"}`)
	c.expect("authenticated")
	other := ts.dial(t) // another token of zoe's stays valid
	other.send(`{"type":"auth","token":"` + appToken(t, "zoe", "tok-2", time.Hour, nil) + `"}`)
	other.expect("authenticated")

	refusals := []struct {
		token, body string
		code        int
	}{
		{"", `{"jti":"tok-1","exp":` + exp + `}`, http.StatusUnauthorized},
		{"wrong", `{"jti":"tok-1","exp":` + exp + `}`, http.StatusForbidden},
		{adminToken, `{"jti":"tok-1"`, http.StatusBadRequest},
		{adminToken, `{"jti":"tok-1","exp":` + exp + `,"x":1}`, http.StatusBadRequest},
		{adminToken, `{"jti":"","exp":` + exp + `}`, http.StatusBadRequest},
		{adminToken, `{"jti":"tok-1","exp":1}`, http.StatusBadRequest},
		{adminToken, `{"jti":"` + strings.Repeat("x", 5000) + `","exp":` + exp + `}`, http.StatusRequestEntityTooLarge},
	}
	for _, r := range refusals {
		if code, v := revoke(t, ts, r.token, r.body); code != r.code {
			t.Errorf("POST %.40s: %d %v, want %d", r.body, code, v, r.code)
		}
	}
	c.sync() // none of them closed the session

	code, v := revoke(t, ts, adminToken, `{"jti":"tok-1","exp":`+exp+`}`)
	if code != http.StatusCreated || v["closed"] != 1.0 {
		t.Fatalf("revoke: %d %v", code, v)
	}
	if st := c.closeStatus(); st != websocket.StatusPolicyViolation {
		t.Fatalf("close status %v", st)
	}
	other.sync()
	again := ts.dial(t)
	again.send(`{"type":"auth","token":"` + tok + `"}`)
	again.expectError("authentication failed")

	var list admin.RevocationList
	if code := adminGet(t, ts.httpURL()+"/api/revocations", &list); code != http.StatusOK ||
		len(list.Revocations) != 1 || list.Revocations[0].JTI != "tok-1" {
		t.Fatalf("GET /api/revocations: %d %+v", code, list)
	}
	if !bytes.Contains([]byte(ts.logs.String()), []byte("token revoked")) {
		t.Fatal("the revocation was not logged")
	}
}
