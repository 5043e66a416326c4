package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer/server/admin"
)

// presenceSource is a Source that keeps presence, recording the topic and
// limit it was asked for.
type presenceSource struct {
	*fakeSource
	topic string
	limit int
}

func (p *presenceSource) Presence(topic string, limit int) (admin.Presence, error) {
	p.topic, p.limit = topic, limit
	return admin.Presence{Topic: topic, Count: 1, Users: 1,
		Clients: []admin.PresenceClient{{User: "alice", ClientID: "c1", Conn: "ws:1"}}}, nil
}

func TestHandler_Presence(t *testing.T) {
	src := &presenceSource{fakeSource: newSource()}
	h := admin.NewHandler(src, admin.Options{Token: token, Logger: quiet()})
	code, body, _ := do(t, h, "GET", "/api/topics/chat%2Froom/presence?limit=5", token)
	if code != http.StatusOK || src.topic != "chat/room" || src.limit != 5 || !strings.Contains(body, `"conn": "ws:1"`) {
		t.Fatalf("GET presence: %d %s; asked for %q, limit %d", code, body, src.topic, src.limit)
	}
	for _, tc := range []struct {
		method, target, tok string
		code                int
	}{
		{"GET", "/api/topics/t/presence", "", http.StatusUnauthorized},
		{"GET", "/api/topics/t/presence", "wrong", http.StatusForbidden},
		{"GET", "/api/topics/t/presence?limit=100001", token, http.StatusBadRequest},
		{"GET", "/api/topics/t/presence?limit=x", token, http.StatusBadRequest},
		{"POST", "/api/topics/t/presence", token, http.StatusMethodNotAllowed},
	} {
		if code, body, _ := do(t, h, tc.method, tc.target, tc.tok); code != tc.code {
			t.Errorf("%s %s with %q = %d %s, want %d", tc.method, tc.target, tc.tok, code, body, tc.code)
		}
	}
	plain := admin.NewHandler(newSource(), admin.Options{Token: token, Logger: quiet()})
	if code, _, _ := do(t, plain, "GET", "/api/topics/t/presence", token); code != http.StatusNotFound {
		t.Errorf("a source without presence: %d, want 404", code)
	}
}
