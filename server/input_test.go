package server

import (
	"context"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/whispeer-io/whispeer/server/config"
)

// TestBadInput sends every kind of bad frame from one connection and checks
// that each gets an error frame, that the connection stays usable, and that
// a bystander never notices.
func TestBadInput(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) {
		c.Server.MaxSubscriptions = 2
		c.Server.MaxPublishRate = 1000
		c.Replay.Size = 0
	})
	bad, bystander := ts.authed(t, "admin"), ts.authed(t, "admin")
	bystander.subscribe("#")
	cases := []struct {
		name  string
		frame string
		want  string
	}{
		{name: "not JSON", frame: `hello`, want: "invalid JSON"},
		{name: "truncated JSON", frame: `{"type":"publish","topic":"a"`, want: "invalid JSON"},
		{name: "not an object", frame: `["publish"]`, want: "must be a JSON object"},
		{name: "unknown type", frame: `{"type":"publsh","topic":"a"}`, want: `unknown frame type "publsh"`},
		{name: "no type", frame: `{"topic":"a"}`, want: `"type"`},
		{name: "missing topic", frame: `{"type":"subscribe"}`, want: `missing field "topic"`},
		{name: "missing payload", frame: `{"type":"publish","topic":"a"}`, want: `missing field "payload"`},
		{name: "topic not a string", frame: `{"type":"publish","topic":7,"payload":1}`, want: `field "topic"`},
		{name: "wildcard in a publish topic", frame: `{"type":"publish","topic":"a/+","payload":1}`, want: "invalid topic"},
		{name: "empty level", frame: `{"type":"publish","topic":"a//b","payload":1}`, want: "invalid topic"},
		{name: "# not last", frame: `{"type":"subscribe","topic":"a/#/b"}`, want: "invalid topic"},
		{name: "lone surrogate in a topic", frame: `{"type":"publish","topic":"a/\ud800","payload":1}`, want: `field "topic" holds a lone UTF-16 surrogate \ud800`},
		{name: "lone surrogate in a pattern", frame: `{"type":"subscribe","topic":"\udfff/#"}`, want: "lone UTF-16 surrogate"},
		{name: "bidi override in a topic", frame: `{"type":"publish","topic":"invoice/\u202egpj.exe","payload":1}`, want: "invalid topic: bidirectional control character"},
		{name: "bidi isolate in a pattern", frame: `{"type":"subscribe","topic":"a/\u2066/#"}`, want: "invalid topic: bidirectional control character"},
		{name: "C1 control in a topic", frame: `{"type":"publish","topic":"a/\u0085","payload":1}`, want: "invalid topic: control character"},
		{name: "unsubscribe unknown", frame: `{"type":"unsubscribe","topic":"nope"}`, want: `not subscribed to "nope"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad.send(tc.frame)
			bad.expectError(tc.want)
			bad.sync()
		})
	}
	t.Run("duplicate and too many subscriptions", func(t *testing.T) {
		bad.subscribe("x/1")
		bad.send(`{"type":"subscribe","topic":"x/1"}`)
		bad.expectError(`already subscribed to "x/1"`)
		bad.subscribe("x/2")
		bad.send(`{"type":"subscribe","topic":"x/3"}`)
		bad.expectError("too many subscriptions: the limit is 2")
		bad.send(`{"type":"unsubscribe","topic":"x/1"}`)
		bad.expect("unsubscribed")
		bad.subscribe("x/3") // room again
	})
	t.Run("payload of any JSON kind, delivered unchanged", func(t *testing.T) {
		for _, p := range []string{`"s"`, `42`, `-1.5e+300`, `true`, `null`, `[1,"two",{"3":[]}]`, `{"nested":{"a":[1,2]},"u":"\u00e9\n"}`} {
			bad.publish("any", p)
			raw := string(bystander.readRaw())
			if !strings.Contains(raw, `"payload":`+p+`,"timestamp"`) {
				t.Fatalf("payload %s delivered as %s", p, raw)
			}
		}
	})
	// The bystander saw only what was published, nothing of the errors.
	bad.publish("end", `"end"`)
	bystander.expectMessage("end", `"end"`)
	if n := ts.Stats().BadFrames; n < uint64(len(cases)+2) {
		t.Fatalf("BadFrames = %d", n)
	}
}

func TestBadInput_PublishRate(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.Server.MaxPublishRate = 3 })
	c := ts.authed(t, "admin")
	for range 3 {
		c.publish("a", "1")
	}
	c.publish("a", "1")
	c.expectError("publish rate exceeded: the limit is 3 per second")
	if n := ts.Stats().RateLimited; n != 1 {
		t.Fatalf("RateLimited = %d", n)
	}
}

func TestBadInput_OversizedFrame(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.Server.MaxMessageBytes = 1024 })
	c, other := ts.authed(t, "admin"), ts.authed(t, "admin")
	c.publish("a", `"`+strings.Repeat("x", 900)+`"`) // under the limit
	c.publish("a", `"`+strings.Repeat("x", 2000)+`"`)
	c.expectError("message too large: the limit is 1024 bytes")
	if code := c.closeStatus(); code != websocket.StatusMessageTooBig {
		t.Fatalf("close status %v, want 1009", code)
	}
	other.sync() // other clients never notice
}

func TestBadInput_InvalidUTF8(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.authed(t, "admin")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageText, []byte{'"', 0xff, '"'}); err != nil {
		t.Fatal(err)
	}
	c.expectError("not UTF-8")
	if code := c.closeStatus(); code != websocket.StatusInvalidFramePayloadData {
		t.Fatalf("close status %v, want 1007", code)
	}
}

func TestBadInput_BinaryOnJSONConnection(t *testing.T) {
	ts := newTestServer(t, nil)
	c, other := ts.authed(t, "admin"), ts.authed(t, "admin")
	ctx, cancel := readCtx()
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	c.expectError("binary message on a JSON connection")
	if code := c.closeStatus(); code != websocket.StatusUnsupportedData {
		t.Fatalf("close status %v, want 1003", code)
	}
	other.sync()
}
