package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer/server/presence"
)

// TestNotice_Bounds checks that a join another node relays reaches this
// node's watchers of the topic or pattern, and that one naming a node,
// connection, user or client id out of bounds, or a bad topic, is dropped.
func TestNotice_Bounds(t *testing.T) {
	var got []presence.Event
	s := &Server{presence: presence.New(100)}
	watch := func(e presence.Event) { got = append(got, e) }
	s.presence.Join("a/#", presence.Client{User: "w", ClientID: "w", Conn: "ws:1"}, presence.Key{SID: 1, Pattern: "a/#"}, watch)
	s.presence.Join("a/b", presence.Client{User: "w", ClientID: "w", Conn: "ws:1"}, presence.Key{SID: 2, Pattern: "a/b"}, watch)
	long := strings.Repeat("x", 1000)
	notice := func(from string, e joinLeave) {
		body, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		s.Notice(from, ctlJoinLeave, body)
	}
	ok := joinLeave{Topic: "a/b", Join: true, User: "u", ClientID: "c", Conn: "tcp:7"}
	bad := map[string]func(*joinLeave) (from string){
		"long node":      func(*joinLeave) string { return long },
		"long conn":      func(e *joinLeave) string { e.Conn = long; return "n" },
		"no conn":        func(e *joinLeave) string { e.Conn = ""; return "n" },
		"long user":      func(e *joinLeave) string { e.User = long; return "n" },
		"long client id": func(e *joinLeave) string { e.ClientID = long; return "n" },
		"bad topic":      func(e *joinLeave) string { e.Topic = "a/#/b"; return "n" },
		"long topic":     func(e *joinLeave) string { e.Topic = strings.Repeat("a", 2000); return "n" },
	}
	for name, spoil := range bad {
		e := ok
		notice(spoil(&e), e)
		if len(got) != 0 {
			t.Fatalf("%s: delivered %+v", name, got)
		}
	}
	notice("n", ok)
	pat := ok
	pat.Topic = "a/#" // a subscription to a pattern is present in it
	notice("n", pat)
	if len(got) != 2 || got[0].Topic != "a/b" || got[0].Client.Conn != "n/tcp:7" || got[1].Topic != "a/#" {
		t.Fatalf("delivered %+v, want the joins in a/b and a/#", got)
	}
}
