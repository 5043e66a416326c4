package json_test

import (
	stdjson "encoding/json"
	"reflect"
	"testing"

	"github.com/whispeer-io/whispeer/protocol/json"
)

func TestParse_Presence(t *testing.T) {
	for _, tc := range []struct {
		in       string
		typ      json.Type
		presence bool
	}{
		{`{"type":"presence","topic":"chat"}`, json.TypePresence, false},
		{`{"type":"presence_stats","topic":"chat/#"}`, json.TypePresenceStats, false},
		{`{"type":"subscribe","topic":"chat","presence":true}`, json.TypeSubscribe, true},
		{`{"type":"subscribe","topic":"chat","presence":false}`, json.TypeSubscribe, false},
	} {
		f, err := json.Parse([]byte(tc.in))
		if err != nil {
			t.Fatalf("Parse(%s): %v", tc.in, err)
		}
		if f.Type != tc.typ || f.Topic == "" || f.Presence != tc.presence {
			t.Errorf("Parse(%s) = %v", tc.in, f)
		}
	}
	for _, bad := range []string{
		`{"type":"presence"}`,
		`{"type":"presence_stats","topic":""}`,
		`{"type":"subscribe","topic":"chat","presence":1}`,
	} {
		if _, err := json.Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) succeeded", bad)
		}
	}
}

func TestAppendPresence(t *testing.T) {
	clients := []json.PresenceClient{{User: "ann", ClientID: "c\"1"}, {User: "bob", ClientID: "ws:2"}}
	var got map[string]any
	b := json.AppendPresence(nil, "chat", clients, 3, true)
	if err := stdjson.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	want := map[string]any{"type": "presence", "topic": "chat", "count": 3.0, "truncated": true,
		"clients": []any{map[string]any{"user": "ann", "client_id": "c\"1"}, map[string]any{"user": "bob", "client_id": "ws:2"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AppendPresence = %s", b)
	}
	if b := json.AppendPresence(nil, "t", nil, 0, false); string(b) != `{"type":"presence","topic":"t","clients":[],"count":0,"truncated":false}` {
		t.Errorf("empty presence = %s", b)
	}
	if b := json.AppendPresenceStats(nil, "t", 4, 2); string(b) != `{"type":"presence_stats","topic":"t","clients":4,"users":2}` {
		t.Errorf("AppendPresenceStats = %s", b)
	}
	if b := json.AppendJoin(nil, true, "t", json.PresenceClient{User: "u", ClientID: "c"}); string(b) != `{"type":"leave","topic":"t","user":"u","client_id":"c"}` {
		t.Errorf("AppendJoin(leave) = %s", b)
	}
}
