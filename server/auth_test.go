package server

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/whispeer-io/whispeer/server/auth"
	"github.com/whispeer-io/whispeer/server/config"
)

const authFailed = `{"type":"error","error":"authentication failed","message":"authentication failed"}`

func TestAuth_LoginFailures(t *testing.T) {
	ts := newTestServer(t, nil)
	cases := []struct {
		name  string
		login string
	}{
		{
			name:  "wrong password",
			login: `{"type":"login","username":"admin","password":"wrong"}`,
		},
		{
			name:  "unknown user",
			login: `{"type":"login","username":"mallory","password":"password"}`,
		},
		{
			name:  "another user's password",
			login: `{"type":"login","username":"alice","password":"bob-pw"}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ts.dial(t)
			c.send(tc.login)
			c.expectRaw(authFailed)
			c.send(`{"type":"subscribe","topic":"chat"}`)
			c.expectError("not authenticated")
		})
	}
	if logs := ts.logs.String(); strings.Contains(logs, "wrong") || strings.Contains(logs, "bob-pw") {
		t.Fatalf("a password reached the log:\n%s", logs)
	}
	if n := ts.Stats().LoginFailures; n != uint64(len(cases)) {
		t.Fatalf("LoginFailures = %d", n)
	}
}

// token signs claims with method and key, for tokens the issuer would
// never make.
func token(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuth_TokenFailures(t *testing.T) {
	ts := newTestServer(t, nil)
	secret := []byte(config.DefaultJWTSecret)
	future := time.Now().Add(time.Hour).Unix()
	b64 := base64.RawURLEncoding.EncodeToString

	expired, err := auth.NewIssuer(secret, time.Minute, auth.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }))
	if err != nil {
		t.Fatal(err)
	}
	expiredToken, _ := expired.Issue("admin")
	otherKey, _ := auth.NewIssuer([]byte("some other secret of thirty-two bytes"), time.Hour)
	otherKeyToken, _ := otherKey.Issue("admin")
	good, _ := ts.issuer.Issue("admin")

	cases := []struct {
		name  string
		token string
	}{
		{name: "expired", token: expiredToken},
		{name: "alg none", token: b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64([]byte(`{"sub":"admin","exp":`+strconv.FormatInt(future, 10)+`}`)) + "."},
		{name: "HS512 with the right secret", token: token(t, jwt.SigningMethodHS512, secret, jwt.MapClaims{"sub": "admin", "exp": future})},
		{name: "HS384 with the right secret", token: token(t, jwt.SigningMethodHS384, secret, jwt.MapClaims{"sub": "admin", "exp": future})},
		{name: "wrong secret", token: otherKeyToken},
		{name: "no exp", token: token(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "admin"})},
		{name: "unknown user", token: token(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "mallory", "exp": future})},
		{name: "tampered", token: good[:len(good)-2] + "xx"},
		{name: "malformed", token: "not.a.jwt"},
		{name: "garbage", token: "garbage"},
		{name: "empty", token: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ts.dial(t)
			c.send(`{"type":"auth","token":"` + tc.token + `"}`)
			if tc.token == "" {
				c.expectError(`missing field "token"`)
			} else {
				c.expectRaw(authFailed)
			}
			c.send(`{"type":"publish","topic":"chat","payload":1}`)
			c.expectError("not authenticated")
		})
	}
}

func TestAuth_NothingBeforeAuth(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial(t)
	for _, f := range []string{
		`{"type":"subscribe","topic":"chat"}`,
		`{"type":"unsubscribe","topic":"chat"}`,
		`{"type":"publish","topic":"chat","payload":"x"}`,
		`{"type":"publish","topic":"chat","payload":"x","message_id":"m","qos":1}`,
		`{"type":"ack","message_id":"m"}`,
		`{"type":"ping"}`,
	} {
		c.send(f)
		c.expectError("not authenticated")
	}
	if n := ts.Broker().Stats().Subscriptions; n != 0 {
		t.Fatalf("%d subscriptions before auth", n)
	}
	if n := ts.Broker().Stats().Published; n != 0 {
		t.Fatalf("%d messages published before auth", n)
	}
}

func TestAuth_RepeatedFailuresThrottledAndLogged(t *testing.T) {
	ts := newTestServer(t, nil)
	slow := auth.LimiterConfig{Threshold: 2, BaseDelay: time.Hour, MaxDelay: time.Hour}
	ts.throttle = auth.NewThrottle(auth.ThrottleConfig{UserAddress: slow, Address: slow})
	c := ts.dial(t)
	bad := `{"type":"login","username":"admin","password":"guess"}`
	for range 2 {
		c.send(bad)
		c.expectRaw(authFailed)
	}
	// The third attempt is refused without a password check, even with
	// the right password.
	c.send(readmeLogin)
	c.expectError("too many failed logins")
	// The address is throttled too: another user from it has to wait.
	c.send(`{"type":"login","username":"alice","password":"alice-pw"}`)
	c.expectError("too many failed logins")
	logs := ts.logs.String()
	for _, want := range []string{"repeated failed logins", "login throttled", "username=admin"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "guess") {
		t.Fatalf("the password reached the log:\n%s", logs)
	}
}

func TestACL(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.Replay.Size = 0 })
	admin, alice, bob := ts.authed(t, "admin"), ts.authed(t, "alice"), ts.authed(t, "bob")
	bob.subscribe("chat/bob")

	t.Run("publish outside the user's patterns", func(t *testing.T) {
		alice.publish("chat/bob", `"forged"`)
		alice.expectError(`permission denied: may not publish to "chat/bob"`)
		admin.publish("chat/bob", `"sentinel"`)
		bob.expectMessage("chat/bob", `"sentinel"`) // and not "forged" before it
	})
	t.Run("QoS 1 publish denied gets no puback", func(t *testing.T) {
		alice.send(`{"type":"publish","topic":"chat/bob","payload":1,"message_id":"x","qos":1}`)
		alice.expectError("permission denied")
		alice.sync()
	})
	t.Run("subscribe wider than allowed", func(t *testing.T) {
		for _, p := range []string{"#", "chat/#", "chat/+", "chat/alice"} {
			bob.send(`{"type":"subscribe","topic":"` + p + `"}`)
			bob.expectError(`permission denied: may not subscribe to "` + p + `"`)
		}
		alice.send(`{"type":"subscribe","topic":"news"}`)
		alice.expectError("permission denied")
	})
	t.Run("allowed within the patterns", func(t *testing.T) {
		alice.subscribe("chat/+")
		alice.publish("chat/alice", `"hi"`)
		alice.expectMessage("chat/alice", `"hi"`)
		bob.publish("chat/room", `{"from":"bob"}`)
		alice.expectMessage("chat/room", `{"from":"bob"}`)
	})
	if n := ts.Stats().Denied; n != 7 {
		t.Fatalf("Denied = %d, want 7", n)
	}
}
