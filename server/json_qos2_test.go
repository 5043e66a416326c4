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

// TestJSON_QoS2DurableSubscriber checks that a "qos":2 subscription of a
// client that gave a client_id outlives its connection: back under the
// same id, the client first receives what it had not answered with
// pubrec, then what was published while it was away.
func TestJSON_QoS2DurableSubscriber(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.Replay.Size = 0; c.Store.Kind = config.StoreMemory })
	pub := ts.authed(t, "admin")
	send := func(id string) {
		t.Helper()
		pub.send(`{"type":"publish","topic":"j","payload":"` + id + `","message_id":"` + id + `","qos":2}`)
		pub.expectQoS2("pubrec", id)
		pub.send(`{"type":"pubrel","message_id":"` + id + `"}`)
		pub.expect("pubcomp")
	}
	subscribe := func() *client {
		js := ts.authedAs(t, "admin", "reader")
		js.send(`{"type":"subscribe","topic":"j","qos":2}`)
		js.expect("subscribed")
		return js
	}
	js := subscribe()
	send("a")
	js.expectMessage("j", `"a"`)
	js.send(`{"type":"pubrec","message_id":"a"}`)
	js.expectQoS2("pubrel", "a")
	send("b") // received, never answered
	js.expectMessage("j", `"b"`)
	js.closeNow()
	send("c")

	js = subscribe()
	js.expectMessage("j", `"b"`)
	js.expectMessage("j", `"c"`)
}

// TestJSON_QoS2InFlightLimit checks that a JSON connection's QoS 2
// publishes awaiting pubrel are bounded, with an error naming the limit,
// and that a pubrel makes room.
func TestJSON_QoS2InFlightLimit(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.QoS.MaxInflight = 1 })
	pub := ts.authed(t, "admin")
	pub.send(`{"type":"publish","topic":"q","payload":1,"message_id":"a","qos":2}`)
	pub.expectQoS2("pubrec", "a")
	pub.send(`{"type":"publish","topic":"q","payload":2,"message_id":"b","qos":2}`)
	if f := pub.expect("error"); f.str("message_id") != "b" || f.str("error") != "too many QoS 2 publishes in flight: the limit is 1" {
		t.Fatalf("error %v", f)
	}
	pub.send(`{"type":"pubrel","message_id":"a"}`)
	pub.expectQoS2("pubcomp", "a")
	pub.send(`{"type":"publish","topic":"q","payload":2,"message_id":"b","qos":2}`)
	pub.expectQoS2("pubrec", "b")
}

// TestJSON_QoS2DurableBoundedAndForgotten checks that a user keeps at most
// qos.max_durable_per_user durable subscriptions, with an error naming the
// limit, and that an unsubscribe frees its place and deletes its cursors:
// subscribing again starts afresh, without what the first left unanswered.
func TestJSON_QoS2DurableBoundedAndForgotten(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) {
		c.Replay.Size, c.Store.Kind, c.QoS.MaxDurablePerUser = 0, config.StoreMemory, 1
	})
	pub := ts.authed(t, "admin")
	send := func(id string) {
		t.Helper()
		pub.send(`{"type":"publish","topic":"j","payload":"` + id + `","message_id":"` + id + `","qos":2}`)
		pub.expectQoS2("pubrec", id)
		pub.send(`{"type":"pubrel","message_id":"` + id + `"}`)
		pub.expect("pubcomp")
	}
	js := ts.authedAs(t, "admin", "reader")
	js.send(`{"type":"subscribe","topic":"j","qos":2}`)
	js.expect("subscribed")
	send("a")
	js.expectMessage("j", `"a"`)
	js.send(`{"type":"pubrec","message_id":"a"}`)
	js.expectQoS2("pubrel", "a")
	send("b") // received, never answered
	js.expectMessage("j", `"b"`)

	other := ts.authedAs(t, "admin", "other")
	other.send(`{"type":"subscribe","topic":"k","qos":2}`)
	other.expectError("too many durable subscriptions: the limit is 1 per user")
	js.send(`{"type":"unsubscribe","topic":"j"}`)
	js.expect("unsubscribed")
	other.send(`{"type":"subscribe","topic":"k","qos":2}`)
	other.expect("subscribed")
	other.send(`{"type":"unsubscribe","topic":"k"}`)
	other.expect("unsubscribed")

	js.closeNow()
	js = ts.authedAs(t, "admin", "reader")
	js.send(`{"type":"subscribe","topic":"j","qos":2}`)
	js.expect("subscribed")
	send("c")
	js.expectMessage("j", `"c"`)
}
