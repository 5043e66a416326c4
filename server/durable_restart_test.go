package server

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whispeer-io/whispeer/server/config"
)

// durableNames returns the names of the durable subscriptions whose
// cursors srv's store keeps.
func durableNames(t *testing.T, srv *Server) []string {
	t.Helper()
	var names []string
	err := srv.Broker().Durables(context.Background(), func(name string, _ time.Time) bool {
		names = append(names, name)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

// TestDurables_RestartKeepsBoundAndExpiry restarts a server on the same
// store while a durable QoS 2 subscriber is away: the restarted server
// still counts the subscription against its user's bound, and deletes
// its cursors qos.durable_expiry after its client left, as if it had not
// restarted.
func TestDurables_RestartKeepsBoundAndExpiry(t *testing.T) {
	for _, kind := range []string{config.StoreFile, config.StoreSQLite} {
		t.Run(kind, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "store")
			synctest.Test(t, func(t *testing.T) {
				edit := func(c *config.Config) {
					c.Replay.Size, c.Store.Kind, c.Store.Path, c.Store.Sync = 0, kind, path, "always"
					c.QoS.MaxDurablePerUser, c.QoS.DurableExpiry = 1, time.Hour
				}
				ts := newBubbleTestServer(t, edit)
				js := ts.authedAs(t, "admin", "reader")
				js.send(`{"type":"subscribe","topic":"j","qos":2}`)
				js.expect("subscribed")
				pub := ts.authed(t, "admin")
				pub.send(`{"type":"publish","topic":"j","payload":1,"message_id":"a","qos":2}`)
				pub.expectQoS2("pubrec", "a")
				js.expectMessage("j", "1")
				js.send(`{"type":"pubrec","message_id":"a"}`)
				js.expectQoS2("pubrel", "a")
				js.send(`{"type":"pubcomp","message_id":"a"}`)
				for range 240 { // connected for 20 minutes, with nothing to acknowledge
					time.Sleep(5 * time.Second)
					js.sync()
				}
				js.closeNow()
				synctest.Wait() // the client has left, 20 minutes after its last cursor
				left := time.Now()
				time.Sleep(30 * time.Minute)
				want := []string{"admin\x00reader\x00j"}
				if got := durableNames(t, ts.Server); !slices.Equal(got, want) {
					t.Fatalf("durable subscriptions before the restart: %q, want %q", got, want)
				}
				if err := ts.Shutdown(context.Background()); err != nil {
					t.Fatal(err)
				}

				ts = newBubbleTestServer(t, edit)
				other := ts.authedAs(t, "admin", "other")
				other.send(`{"type":"subscribe","topic":"k","qos":2}`)
				other.expectError("too many durable subscriptions: the limit is 1 per user")
				time.Sleep(left.Add(time.Hour).Sub(time.Now()) - time.Minute)
				synctest.Wait()
				if got := durableNames(t, ts.Server); !slices.Equal(got, want) {
					t.Fatalf("durable subscriptions a minute before the expiry: %q, want %q", got, want)
				}
				time.Sleep(time.Minute)
				synctest.Wait()
				if got := durableNames(t, ts.Server); len(got) != 0 {
					t.Fatalf("durable subscriptions after the expiry: %q, want none", got)
				}
				other = ts.authedAs(t, "admin", "other") // the first was idle too long
				other.send(`{"type":"subscribe","topic":"k","qos":2}`)
				other.expect("subscribed")
			})
		})
	}
}

// TestDurables_RestoredLongGoneForgotten checks that a durable
// subscription whose client left longer than qos.durable_expiry before
// the server starts is forgotten as it starts.
func TestDurables_RestoredLongGoneForgotten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f forgotten
		d := newDurables(1, time.Hour, f.forget)
		d.restore("ann", "a", time.Now().Add(-time.Hour))
		d.restore("ann", "b", time.Now().Add(-59*time.Minute))
		d.restore("bob", "c", time.Now())
		if got := f.get(); !slices.Equal(got, []string{"a"}) {
			t.Fatalf("forgotten as the server started: %q, want [a]", got)
		}
		mustAttach(t, d, "bob", "c") // its client is back: it no longer expires
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		if got := f.get(); !slices.Equal(got, []string{"a", "b"}) {
			t.Fatalf("forgotten: %q, want [a b]", got)
		}
	})
}

// TestDurables_LastToLeaveTouches checks that the last connection to let
// go of a durable subscription marks the cursor it saved last, and that
// an unsubscribe or a connection that saved none does not.
func TestDurables_LastToLeaveTouches(t *testing.T) {
	var f forgotten
	touched := map[string]string{}
	d := newDurables(10, time.Hour, f.forget)
	d.touch = func(name, topic string) { touched[name] = topic }
	defer d.close()
	mustAttach(t, d, "ann", "a")
	mustAttach(t, d, "ann", "a")
	d.detach(durableRef{user: "ann", name: "a", topic: "t/1"}, false) // another still holds it
	mustAttach(t, d, "ann", "b")
	d.detach(durableRef{user: "ann", name: "b"}, false) // saved nothing
	mustAttach(t, d, "ann", "c")
	d.detach(durableRef{user: "ann", name: "c", topic: "t/3"}, true)
	d.detach(durableRef{user: "ann", name: "a", topic: "t/2"}, false)
	if want := map[string]string{"a": "t/2"}; !maps.Equal(touched, want) {
		t.Fatalf("touched %v, want %v", touched, want)
	}
}
