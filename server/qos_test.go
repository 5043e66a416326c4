package server

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/whispeer-io/whispeer/server/config"
)

// qosConfig sets a short ack timeout, which the tests wait on in a
// synctest bubble: the bubble's clock moves to it once every goroutine
// waits, so a resend comes exactly when no ack came in time.
func qosConfig(retries, inflight, queued int) func(*config.Config) {
	return func(c *config.Config) {
		c.QoS.AckTimeout = 20 * time.Millisecond
		c.QoS.MaxRetries = retries
		c.QoS.MaxInflight = inflight
		c.QoS.MaxQueued = queued
		c.Replay.Size = 0
	}
}

func TestQoS1_RedeliveryPerSubscriber(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newBubbleTestServer(t, qosConfig(3, 10, 10))
		expired := make(chan string, 1)
		ts.hooks.expired = func(id string) { expired <- id }
		pub, a, b := ts.authed(t, "admin"), ts.authed(t, "admin"), ts.authed(t, "admin")
		a.subscribe("q")
		b.subscribe("q")

		pub.send(`{"type":"publish","topic":"q","payload":"x","message_id":"m1","qos":1}`)
		pub.expectRaw(`{"type":"puback","message_id":"m1"}`)

		first := a.expect("message")
		if first.str("message_id") != "m1" || first["qos"] != 1.0 {
			t.Fatalf("delivery %v", first)
		}
		a.send(`{"type":"ack","message_id":"m1"}`)
		a.sync() // the ack came before the timeout: no resend
		if n, _ := ts.window(t, a).len(); n != 0 {
			t.Fatalf("A acked, yet %d copies are in flight for it", n)
		}

		// B never acks: it gets the message, then max_retries resends, each
		// after twice the wait before it, then the copy is given up once
		// the last wait has passed. A's ack did not clear B's copy.
		timeout, last := ts.cfg.QoS.AckTimeout, time.Now()
		for i, wait := range []time.Duration{0, timeout, 2 * timeout, 4 * timeout} {
			if m := b.expect("message"); m.str("message_id") != "m1" || m.str("payload") != "x" {
				t.Fatalf("copy %d: %v", i, m)
			}
			if d := time.Since(last); d != wait {
				t.Fatalf("copy %d came %v after the one before, want %v", i, d, wait)
			}
			last = time.Now()
		}
		if id := <-expired; id != "m1" {
			t.Fatalf("expired %q", id)
		}
		if d, want := time.Since(last), 8*timeout; d != want {
			t.Fatalf("given up %v after the last resend, want %v", d, want)
		}
		b.sync() // no fifth copy
		if n, _ := ts.window(t, b).len(); n != 0 {
			t.Fatalf("%d copies still in flight after expiry", n)
		}
		a.sync() // A never saw a resend
		st := ts.Stats()
		if st.Retries != 3 || st.Expired != 1 {
			t.Fatalf("Retries = %d, Expired = %d", st.Retries, st.Expired)
		}
	})
}

func TestQoS1_AckStopsRedelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newBubbleTestServer(t, qosConfig(100, 10, 10))
		pub, sub := ts.authed(t, "admin"), ts.authed(t, "admin")
		sub.subscribe("q")
		pub.send(`{"type":"publish","topic":"q","payload":"x","message_id":"m1","qos":1}`)
		pub.expect("puback")
		sub.expect("message")
		sub.expect("message") // a resend: the first copy was not acked in time
		sub.send(`{"type":"ack","message_id":"m1"}`)
		sub.sync()
		if n, _ := ts.window(t, sub).len(); n != 0 {
			t.Fatalf("%d in flight after the ack", n)
		}
		sub.sync() // and no resend after it
	})
}

func TestQoS1_MaxInflight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newBubbleTestServer(t, func(c *config.Config) {
			qosConfig(0, 2, 1)(c)
			c.QoS.AckTimeout = time.Hour // no resends in this test
		})
		pub, sub := ts.authed(t, "admin"), ts.authed(t, "admin")
		sub.subscribe("q")
		for _, id := range []string{"m1", "m2", "m3", "m4"} {
			pub.send(`{"type":"publish","topic":"q","payload":"` + id + `","message_id":"` + id + `","qos":1}`)
			pub.expect("puback")
		}
		// The window holds m1 and m2; m3 waits behind them; m4 found the
		// queue full and was dropped for this subscriber.
		sub.expectMessage("q", `"m1"`)
		sub.expectMessage("q", `"m2"`)
		sub.sync()
		if n, q := ts.window(t, sub).len(); n != 2 || q != 1 {
			t.Fatalf("%d in flight, %d queued; want 2 and 1", n, q)
		}
		if n := ts.Stats().QoSDropped; n != 1 {
			t.Fatalf("QoSDropped = %d", n)
		}
		sub.send(`{"type":"ack","message_id":"m1"}`)
		sub.expectMessage("q", `"m3"`) // took m1's slot
		sub.send(`{"type":"ack","message_id":"m2"}`)
		sub.send(`{"type":"ack","message_id":"m3"}`)
		sub.sync() // m4 never comes
		if n, q := ts.window(t, sub).len(); n != 0 || q != 0 {
			t.Fatalf("%d in flight, %d queued after the acks", n, q)
		}
	})
}

func TestQoS1_Validation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newBubbleTestServer(t, nil)
		c := ts.authed(t, "admin")
		c.send(`{"type":"publish","topic":"q","payload":"x","qos":1}`)
		c.expectError("message_id required for qos 1")
		c.send(`{"type":"publish","topic":"q","payload":"x","message_id":"m","qos":3}`)
		c.expectError(`field "qos" must be 0, 1 or 2`)
		c.send(`{"type":"ack"}`)
		c.expectError(`missing field "message_id"`)
		c.send(`{"type":"ack","message_id":"never-sent"}`) // ignored
		c.sync()
	})
}
