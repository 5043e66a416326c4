package server

import (
	"testing"

	"github.com/whispeer-io/whispeer/server/config"
)

// authedAs is authed with a client_id.
func (ts *testServer) authedAs(t testing.TB, user, clientID string) *client {
	t.Helper()
	c := ts.dial(t)
	token, err := ts.issuer.Issue(user)
	if err != nil {
		t.Fatal(err)
	}
	c.send(`{"type":"auth","token":"` + token + `","client_id":"` + clientID + `"}`)
	c.expect("authenticated")
	return c
}

// expectQoS2 reads a frame of type typ naming id.
func (c *client) expectQoS2(typ, id string) frame {
	c.t.Helper()
	f := c.expect(typ)
	if f.str("message_id") != id {
		c.t.Fatalf("%v, want a %q frame for %q", f, typ, id)
	}
	return f
}

// TestJSON_QoS2SubscriptionLevels checks that a subscription without
// "qos":2 receives QoS 2 messages at QoS 1.
func TestJSON_QoS2SubscriptionLevels(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.Replay.Size = 0 })
	sub := ts.authed(t, "admin")
	sub.subscribe("orders")
	pub := ts.authed(t, "admin")
	pub.send(`{"type":"publish","topic":"orders","payload":1,"message_id":"a","qos":2}`)
	pub.expectQoS2("pubrec", "a")
	if m := sub.expectMessage("orders", "1"); m["qos"] != 1.0 {
		t.Fatalf("message %v, want QoS 1", m)
	}
}
