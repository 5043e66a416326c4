package server

import (
	stdjson "encoding/json"
	"strings"
	"testing"
)

// TestJSON_ErrorsNameTheirFrame pipelines publishes, subscribes and
// unsubscribes, some refused, without waiting for answers, and checks
// that each error frame repeats the topic and message_id of the frame it
// answers, besides "error" and "message", so that the client can tell
// which of its frames failed.
func TestJSON_ErrorsNameTheirFrame(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.authed(t, "alice")
	frames := []struct {
		send string
		want map[string]string // the answer's fields
	}{
		{`{"type":"publish","topic":"chat/alice","payload":1,"qos":1,"message_id":"p1"}`,
			map[string]string{"type": "puback", "message_id": "p1"}},
		{`{"type":"publish","topic":"chat/bob","payload":2,"qos":1,"message_id":"p2"}`,
			map[string]string{"type": "error", "topic": "chat/bob", "message_id": "p2", "error": "permission denied"}},
		{`{"type":"publish","topic":"chat/bob","payload":3}`,
			map[string]string{"type": "error", "topic": "chat/bob", "message_id": "", "error": "permission denied"}},
		{`{"type":"publish","topic":"chat/alice","payload":4,"qos":1,"message_id":"p4"}`,
			map[string]string{"type": "puback", "message_id": "p4"}},
		{`{"type":"publish","topic":"a//b","payload":5,"qos":1,"message_id":"p5"}`,
			map[string]string{"type": "error", "topic": "a//b", "message_id": "p5", "error": "invalid topic"}},
		{`{"type":"publish","topic":"` + strings.Repeat("x", 2000) + `","payload":6,"message_id":"p6"}`,
			map[string]string{"type": "error", "topic": "", "message_id": "p6", "error": "invalid topic"}},
		{`{"type":"subscribe","topic":"admin/#"}`,
			map[string]string{"type": "error", "topic": "admin/#", "message_id": "", "error": "permission denied"}},
		{`{"type":"unsubscribe","topic":"chat/nope"}`,
			map[string]string{"type": "error", "topic": "chat/nope", "message_id": "", "error": "not subscribed"}},
		{`{"type":"publish","topic":"chat/alice","payload":7,"qos":9,"message_id":"p7"}`,
			map[string]string{"type": "error", "topic": "chat/alice", "message_id": "p7", "error": `field "qos"`}},
		{`{"type":"publish","topic":"chat/alice","payload":8,"qos":1,"message_id":""}`,
			map[string]string{"type": "error", "topic": "chat/alice", "message_id": "", "error": "message_id required"}},
		{`{"type":"publish","topic":"chat/\ud800","payload":9,"message_id":"p9"}`,
			map[string]string{"type": "error", "topic": "", "message_id": "p9", "error": "lone UTF-16 surrogate"}},
		{`{"type":"publish","topic":"chat/alice","payload":10,"message_id":"p10"`,
			map[string]string{"type": "error", "topic": "", "message_id": "", "error": "invalid JSON"}},
	}
	for _, f := range frames {
		c.send(f.send)
	}
	for i, f := range frames {
		raw := c.readRaw()
		var got map[string]any
		if err := stdjson.Unmarshal(raw, &got); err != nil {
			t.Fatalf("answer %d: %s: %v", i, raw, err)
		}
		for k, v := range f.want {
			s, _ := got[k].(string)
			ok := s == v
			if k == "error" {
				ok = strings.Contains(s, v) && got["message"] == s
			}
			if !ok {
				t.Fatalf("answer to frame %d is %s, want %s %q", i, raw, k, v)
			}
		}
	}
	c.sync()
}
