package server

import (
	"context"
	"strconv"
	"testing"

	"github.com/whispeer-io/whispeer/server/config"
)

func TestReplay_OrderAndLimit(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.Replay.Size = 5 })
	pub := ts.authed(t, "admin")
	for i := 1; i <= 8; i++ {
		pub.publish("r/a", strconv.Itoa(i))
		pub.publish("r/b", strconv.Itoa(100+i))
	}
	pub.sync()

	t.Run("the last replay.size of each topic, oldest first, before live", func(t *testing.T) {
		c := ts.authed(t, "admin")
		c.subscribe("r/+")
		for i := 4; i <= 8; i++ {
			c.expectMessage("r/a", strconv.Itoa(i))
		}
		for i := 4; i <= 8; i++ {
			c.expectMessage("r/b", strconv.Itoa(100+i))
		}
		pub.publish("r/a", "9")
		c.expectMessage("r/a", "9")
	})
	t.Run("last asks for fewer", func(t *testing.T) {
		c := ts.authed(t, "admin")
		c.send(`{"type":"subscribe","topic":"r/a","last":2}`)
		c.expect("subscribed")
		c.expectMessage("r/a", "8")
		c.expectMessage("r/a", "9")
		c.sync()
	})
	t.Run("last 0 replays nothing", func(t *testing.T) {
		c := ts.authed(t, "admin")
		c.send(`{"type":"subscribe","topic":"r/a","last":0}`)
		c.expect("subscribed")
		c.sync()
	})
	t.Run("resume by offset without a store gets live messages, not recovered", func(t *testing.T) {
		c := ts.authed(t, "admin")
		c.send(`{"type":"subscribe","topic":"r/a","offset":3}`)
		c.expectRaw(`{"type":"subscribed","topic":"r/a","recovered":false}`)
		c.sync()
		c.send(`{"type":"subscribe","topic":"r/+","offset":3}`)
		c.expectError("needs a topic, not a pattern")
		c.send(`{"type":"subscribe","topic":"r/b","offset":3,"last":2}`)
		c.expectError(`"last" and "offset" exclude each other`)
		c.send(`{"type":"subscribe","topic":"r/b","offset":3,"epoch":"b7"}`)
		c.expectError(`invalid "epoch"`)
	})
}

// TestReplay_NoGapNoDuplicate subscribes while another goroutine publishes
// through the broker: the subscriber must see an unbroken run of numbers
// ending with the last one.
func TestReplay_NoGapNoDuplicate(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.Replay.Size = 10 })
	const n = 2000
	started := make(chan struct{})
	published := make(chan error, 1)
	go func() {
		for i := 1; i <= n; i++ {
			if i == n/4 {
				close(started)
			}
			if err := ts.Broker().Publish(context.Background(), "seq", []byte(strconv.Itoa(i))); err != nil {
				published <- err
				return
			}
		}
		published <- nil
	}()
	<-started
	c := ts.authed(t, "admin")
	c.subscribe("seq")
	prev := 0
	for prev < n {
		f := c.expect("message")
		got, err := strconv.Atoi(string(mustJSON(t, f["payload"])))
		if err != nil {
			t.Fatal(err)
		}
		if prev != 0 && got != prev+1 {
			t.Fatalf("got %d after %d", got, prev)
		}
		prev = got
	}
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	c.sync()
}
