package auth

import (
	"errors"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/whispeer-io/whispeer/server/config"
)

// hsIssuer is an issuer of HS256 tokens granting at most publish and
// subscribe, bounded by the accounts of us if not nil.
func hsIssuer(t *testing.T, publish, subscribe []string, us *Users) *Apps {
	t.Helper()
	var opts []AppOption
	if us != nil {
		opts = append(opts, WithAccounts(us))
	}
	return newTestApps(t, config.Issuer{
		Keys:    []config.IssuerKey{{Algorithm: "HS256", Secret: config.Secret(secret1)}},
		Publish: publish, Subscribe: subscribe,
	}, opts...)
}

// grantToken signs a token for sub with the claim "whispeer" if c is set.
func grantToken(t *testing.T, sub string, c *GrantClaim) string {
	claims := jwt.MapClaims{"sub": sub}
	if c != nil {
		claims["whispeer"] = c
	}
	return signApp(t, jwt.SigningMethodHS256, []byte(secret1), "", claims)
}

func TestGrants_ClaimsNarrowTheIssuer(t *testing.T) {
	a := hsIssuer(t, []string{"chat/#", "users/{sub}/#"}, []string{"chat/#", "users/{sub}/#", "news/+"}, nil)
	_, u, err := verify(a, grantToken(t, "alice", &GrantClaim{
		Pub: []string{"chat/room1", "users/{sub}/out"},
		Sub: []string{"chat/+", "users/{sub}/#"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		ok   bool
		what string
	}{
		{u.CanPublish("chat/room1"), "publish chat/room1"},
		{u.CanPublish("users/alice/out"), "publish users/alice/out"},
		{!u.CanPublish("chat/room2"), "no publish to chat/room2: the claim narrows"},
		{!u.CanPublish("users/bob/out"), "no publish to users/bob/out"},
		{u.CanSubscribe("chat/+"), "subscribe chat/+"},
		{u.CanSubscribe("users/alice/#"), "subscribe users/alice/#"},
		{!u.CanSubscribe("chat/#"), "no subscribe to chat/#: the claim has chat/+ only"},
		{!u.CanSubscribe("users/+/#"), "no subscribe to users/+/#"},
		{!u.CanSubscribe("news/a"), "no subscribe to news/a: not claimed"},
	}
	for _, c := range checks {
		if !c.ok {
			t.Error(c.what)
		}
	}
}

func TestGrants_NoClaimTakesTheIssuers(t *testing.T) {
	a := hsIssuer(t, []string{"users/{sub}/#"}, []string{"chat/#"}, nil)
	_, u, err := verify(a, grantToken(t, "bob", nil))
	if err != nil {
		t.Fatal(err)
	}
	if !u.CanPublish("users/bob/x") || u.CanPublish("users/alice/x") || !u.CanSubscribe("chat/#") || u.CanSubscribe("users/bob/x") {
		t.Fatal("a token without a claim did not get exactly its issuer's patterns")
	}
}

func TestGrants_Refused(t *testing.T) {
	a := hsIssuer(t, []string{"chat/#", "users/{sub}/#"}, []string{"chat/+", "users/{sub}/#"}, nil)
	cases := []struct {
		name, sub string
		claim     *GrantClaim
	}{
		{"publish beyond the issuer", "alice", &GrantClaim{Pub: []string{"news/x"}}},
		{"subscribe wider than the issuer", "alice", &GrantClaim{Sub: []string{"chat/#"}}},
		{"another user's topics", "alice", &GrantClaim{Sub: []string{"users/bob/#"}}},
		{"everything", "alice", &GrantClaim{Sub: []string{"#"}}},
		{"invalid pattern", "alice", &GrantClaim{Sub: []string{"chat/#/x"}}},
		{"subject with a slash", "alice/../bob", nil},
		{"subject a wildcard", "#", nil},
		{"subject a one-level wildcard", "+", nil},
	}
	for _, c := range cases {
		if _, _, err := verify(a, grantToken(t, c.sub, c.claim)); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("%s: err = %v, want ErrTokenInvalid", c.name, err)
		}
	}
	many := make([]string, MaxGrantPatterns+1)
	for i := range many {
		many[i] = "chat/a"
	}
	if _, _, err := verify(a, grantToken(t, "alice", &GrantClaim{Pub: many})); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("too many patterns: err = %v", err)
	}
}

func TestGrants_SubjectWithoutPlaceholderNeedNotBeALevel(t *testing.T) {
	a := hsIssuer(t, []string{"chat/#"}, []string{"chat/#"}, nil)
	if _, _, err := verify(a, grantToken(t, "mail@example.com/x", nil)); err != nil {
		t.Fatalf("subject unused in any pattern refused: %v", err)
	}
}

func TestGrants_AccountsBoundTheirTokens(t *testing.T) {
	us, err := NewUsers([]config.User{{Username: "carol", Password: "pw", Publish: []string{"chat/a"}, Subscribe: []string{"chat/a"}}}, WithMaxHashes(1))
	if err != nil {
		t.Fatal(err)
	}
	a := hsIssuer(t, []string{"chat/#"}, []string{"chat/#"}, us)
	_, carol, err := verify(a, grantToken(t, "carol", nil))
	if err != nil {
		t.Fatal(err)
	}
	if !carol.CanPublish("chat/a") || carol.CanPublish("chat/b") || !carol.CanSubscribe("chat/a") || carol.CanSubscribe("chat/#") {
		t.Fatal("a token naming an account was not bounded by the account's permissions")
	}
	_, dave, err := verify(a, grantToken(t, "dave", nil))
	if err != nil {
		t.Fatalf("a subject that is no account refused: %v", err)
	}
	if !dave.CanPublish("chat/b") {
		t.Fatal("a subject that is no account lacks the issuer's grant")
	}
}
