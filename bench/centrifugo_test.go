package bench

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

func TestReplyID(t *testing.T) {
	for in, want := range map[string]uint64{`{"id":7,"publish":{}}`: 7, `{"id":12}`: 12} {
		if got, ok := replyID([]byte(in)); !ok || got != want {
			t.Errorf("replyID(%s) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{`{"push":{"channel":"x"}}`, `{"id":x}`, `{}`} {
		if _, ok := replyID([]byte(in)); ok {
			t.Errorf("replyID(%s) found an id", in)
		}
	}
}

func TestSubscriberNode(t *testing.T) {
	for _, tc := range []struct {
		n      int
		spread bool
		want   []int
	}{
		{1, false, []int{0, 0, 0}},
		{2, false, []int{1, 1, 1}},
		{3, false, []int{1, 2, 1}},
		{3, true, []int{0, 1, 2}},
	} {
		for i, want := range tc.want {
			if got := subscriberNode(i, tc.n, tc.spread); got != want {
				t.Errorf("subscriberNode(%d, %d, %v) = %d, want %d", i, tc.n, tc.spread, got, want)
			}
		}
	}
}

func TestCentrifugoToken_VerifiesWithTheSecret(t *testing.T) {
	tok := centrifugoToken("s3cret", "bench")
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d parts", tok, len(parts))
	}
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) != parts[2] {
		t.Fatal("the signature is not HS256 of the secret")
	}
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if !strings.Contains(string(claims), `"sub":"bench"`) {
		t.Fatalf("claims %s", claims)
	}
}
