package server

import (
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// TestNative_RefusalsCarryTheReason checks that a client granted
// CapReasons learns why a QoS 1 publish was refused from its PUBACK, as a
// QoS 0 publish does from its ERROR, and that a PUB or SUB sent before
// authenticating gets its own answer, so that a client waiting for it does
// not wait in vain.
func TestNative_RefusalsCarryTheReason(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, tc := range []struct {
		name string
		caps wire.Caps
		text func(reason string) string // the text expected with reason
	}{
		{"with reasons", wire.CapReasons, func(r string) string { return "whispeer: " + r }},
		{"without", 0, func(string) string { return "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ts.dialNative(t, "tcp", nil, tc.caps)
			if got := c.welcome.Caps; got != tc.caps {
				t.Fatalf("granted %v, want %v", got, tc.caps)
			}
			c.publish(wire.Publish{QoS: wire.AtLeastOnce, Topic: []byte("chat/bob"), ID: []byte("p1"), Payload: []byte("x")})
			wantAck(t, c.expect(wire.TypePubAck).Ack, wire.CodeUnauthorized, tc.text("not authenticated"))
			c.send(&wire.Frame{Type: wire.TypeSubscribe, Subscribe: wire.Subscribe{SID: 1, Topic: []byte("chat/#")}})
			if a := c.expect(wire.TypeSubAck).SubAck; a.SID != 1 || a.Code != wire.CodeUnauthorized || string(a.Text) != "whispeer: not authenticated" {
				t.Fatalf("SUB before AUTH: SUBACK %+v %q", a, a.Text)
			}
			c.publish(wire.Publish{Topic: []byte("chat/bob"), Payload: []byte("x")})
			c.expectError(wire.CodeUnauthorized, false, wire.TypePublish)

			c.send(&wire.Frame{Type: wire.TypeLogin, Login: wire.Login{User: []byte("alice"), Password: []byte("alice-pw")}})
			c.expect(wire.TypeAuthOK)
			c.publish(wire.Publish{QoS: wire.AtLeastOnce, Topic: []byte("chat/bob"), ID: []byte("p2"), Payload: []byte("x")})
			wantAck(t, c.expect(wire.TypePubAck).Ack, wire.CodeForbidden, tc.text(`permission denied: may not publish to "chat/bob"`))
			c.publish(wire.Publish{QoS: wire.AtLeastOnce, Topic: []byte("chat/alice"), ID: []byte("p3"), Payload: []byte("x")})
			wantAck(t, c.expect(wire.TypePubAck).Ack, wire.CodeOK, "")
		})
	}
}

// wantAck checks a PUBACK answering a publish.
func wantAck(t *testing.T, a wire.Ack, code wire.Code, text string) {
	t.Helper()
	if a.SID != 0 || a.Code != code || string(a.Text) != text {
		t.Fatalf("PUBACK %v %q, want %v %q", a.Code, a.Text, code, text)
	}
	if code != wire.CodeOK && text != "" && !strings.HasPrefix(string(a.Text), "whispeer: ") {
		t.Fatalf("reason %q does not start with whispeer: ", a.Text)
	}
}
