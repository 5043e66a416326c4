package server

import (
	"testing"

	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
)

// TestResume_WithoutStoreGoesLive checks what a client resuming on a server
// without a store sees, over JSON and the native protocol: its subscription
// is made, says it did not recover (the epoch it names is no epoch the
// broker's in-memory history has), and receives live messages, not the
// history it might take for what followed its offset.
func TestResume_WithoutStoreGoesLive(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.Replay.Size = 5 })
	pub := ts.authed(t, "admin")
	for _, p := range []string{"1", "2", "3"} {
		pub.publish("r/a", p)
	}
	pub.sync()

	js := ts.authed(t, "admin")
	js.send(`{"type":"subscribe","topic":"r/a","offset":1,"epoch":"12345"}`)
	js.expectRaw(`{"type":"subscribed","topic":"r/a","recovered":false}`)
	ns := ts.qos2Client(t, "tcp", "", "admin")
	ack := ns.subscribe(1, "r/a", wire.AtLeastOnce, wire.Resume{Mode: wire.ResumeOffset, Epoch: 12345, Offset: 1})
	if ack.Recovered {
		t.Fatalf("SUBACK %+v: recovered, want not", ack)
	}
	pub.publish("r/a", "4")
	js.expectMessage("r/a", "4")
	ns.expectMessage(1, "r/a", "4")
}
