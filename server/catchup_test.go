package server

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
	memstore "github.com/whispeer-io/whispeer/store/memory"
)

// storedServer starts a server on a broker with an in-memory store holding
// n messages on topic "t", payloads "1"…"n" padded to size bytes, at qos.
func storedServer(t *testing.T, n, size int, qos whispeer.QoS, st whispeer.Store, edit func(*config.Config)) *testServer {
	t.Helper()
	b, err := whispeer.New(whispeer.WithStore(st))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		if err := b.Publish(ctx, "t", []byte(padded(i, size)), whispeer.WithQoS(qos), whispeer.WithID("m"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	return newTestServer(t, edit, WithBroker(b))
}

// padded returns i in decimal or, for a size, a JSON string of size bytes
// holding i.
func padded(i, size int) string {
	s := strconv.Itoa(i)
	if size == 0 {
		return s
	}
	return strconv.Quote(s + strings.Repeat(".", max(0, size-len(s)-2)))
}

// TestCatchUp_ResumeQoS1BeyondWindow resumes more QoS 1 messages than the
// window and its queue hold together: every one arrives, in order, as the
// client acks, and the resume says recovered.
func TestCatchUp_ResumeQoS1BeyondWindow(t *testing.T) {
	const n = 5000
	for _, transport := range []string{"tcp", "ws"} {
		t.Run(transport, func(t *testing.T) {
			ts := storedServer(t, n, 0, whispeer.AtLeastOnce, memstore.New(), nil)
			sub := ts.nativeAuthed(t, transport, "admin")
			a := sub.subscribe(1, "t", wire.AtLeastOnce, wire.Resume{Mode: wire.ResumeOffset})
			if !a.Recovered || a.Offset != n {
				t.Fatalf("SUBACK %+v", a)
			}
			for i := 1; i <= n; i++ {
				m := sub.expectMessage(1, "t", strconv.Itoa(i))
				if m.QoS != wire.AtLeastOnce || !m.Replay || m.Offset != uint64(i) {
					t.Fatalf("MSG %d: %+v", i, m)
				}
				sub.ack(1, m.id)
			}
			sub.sync() // nothing more: no error, no redelivery yet
		})
	}
}

// TestCatchUp_QoS0BacklogBeyondPendingCap resumes a QoS 0 backlog many
// times larger than the bytes a connection may have pending: it is read
// from the store as the connection drains, and the subscriber, reading,
// gets all of it and is not dropped as a slow consumer.
func TestCatchUp_QoS0BacklogBeyondPendingCap(t *testing.T) {
	const n, size = 4000, 200 // 800 kB against a 64 KiB cap
	limit := func(c *config.Config) { c.Server.MaxPendingBytes = 64 << 10 }
	t.Run("json", func(t *testing.T) {
		ts := storedServer(t, n, size, whispeer.AtMostOnce, memstore.New(), limit)
		sub := ts.authed(t, "admin")
		sub.send(`{"type":"subscribe","topic":"t","offset":0}`)
		if ack := sub.expect("subscribed"); ack["recovered"] != true {
			t.Fatalf("subscribed %v", ack)
		}
		for i := 1; i <= n; i++ {
			sub.expectMessage("t", padded(i, size))
		}
		sub.sync()
	})
	for _, transport := range []string{"tcp", "ws"} {
		t.Run(transport, func(t *testing.T) {
			ts := storedServer(t, n, size, whispeer.AtMostOnce, memstore.New(), limit)
			sub := ts.nativeAuthed(t, transport, "admin")
			if a := sub.subscribe(1, "t", wire.AtMostOnce, wire.Resume{Mode: wire.ResumeOffset}); !a.Recovered {
				t.Fatalf("SUBACK %+v", a)
			}
			for i := 1; i <= n; i++ {
				sub.expectMessage(1, "t", padded(i, size))
			}
			sub.sync()
		})
	}
}

// gapStore is a store that has lost one message: Read skips offset lost.
type gapStore struct {
	whispeer.Store
	lost uint64
}

func (g *gapStore) Read(ctx context.Context, topic string, from uint64, max int, fn func(*whispeer.Message) error) error {
	return g.Store.Read(ctx, topic, from, max, func(m *whispeer.Message) error {
		if m.Seq == g.lost {
			return nil
		}
		return fn(m)
	})
}

// TestCatchUp_IncompleteIsReported checks that a client whose resume said
// recovered is told when the catch-up then finds messages missing.
func TestCatchUp_IncompleteIsReported(t *testing.T) {
	const n = 600
	st := &gapStore{Store: memstore.New(), lost: 300}
	ts := storedServer(t, n, 0, whispeer.AtMostOnce, st, nil)

	nc := ts.nativeAuthed(t, "tcp", "admin")
	if a := nc.subscribe(3, "t", wire.AtMostOnce, wire.Resume{Mode: wire.ResumeOffset}); !a.Recovered {
		t.Fatalf("SUBACK %+v", a)
	}
	for i := 1; i <= n; i++ {
		if i != 300 {
			nc.expectMessage(3, "t", strconv.Itoa(i))
		}
	}
	if text := nc.expectError(wire.CodeUnavailable, false, wire.TypeSubscribe); !strings.Contains(text, "incomplete") {
		t.Fatalf("ERROR %q", text)
	}

	js := ts.authed(t, "admin")
	js.send(`{"type":"subscribe","topic":"t","offset":0}`)
	js.expect("subscribed")
	for i := 1; i <= n; i++ {
		if i != 300 {
			js.expectMessage("t", strconv.Itoa(i))
		}
	}
	js.expectError("incomplete")
}

// TestCatchUp_LiveDuringReplay publishes to a topic while a client's
// resume replays its history, from a store or the broker's own history:
// the client gets the history, then the live messages, each once, in
// offset order, the live ones not flagged as replayed.
func TestCatchUp_LiveDuringReplay(t *testing.T) {
	const stored, live = 3000, 2000
	for _, src := range []struct {
		name string
		opt  func() whispeer.Option
	}{
		{"store", func() whispeer.Option { return whispeer.WithStore(memstore.New()) }},
		{"history", func() whispeer.Option { return whispeer.WithHistory(stored + live) }},
	} {
		t.Run(src.name, func(t *testing.T) {
			b, err := whispeer.New(src.opt())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			ctx := context.Background()
			publish := func(from, to int) {
				for i := from; i <= to; i++ {
					if err := b.Publish(ctx, "t", []byte(strconv.Itoa(i))); err != nil {
						t.Error(err)
						return
					}
				}
			}
			publish(1, stored)
			ts := newTestServer(t, nil, WithBroker(b))
			sub := ts.nativeAuthed(t, "tcp", "admin")
			if a := sub.subscribe(1, "t", wire.AtMostOnce, wire.Resume{Mode: wire.ResumeOffset}); !a.Recovered {
				t.Fatalf("SUBACK %+v", a)
			}
			published := make(chan struct{})
			go func() {
				defer close(published)
				publish(stored+1, stored+live)
			}()
			for i := 1; i <= stored+live; i++ {
				m := sub.expectMessage(1, "t", strconv.Itoa(i))
				if m.Offset != uint64(i) || m.Replay != (i <= stored) {
					t.Fatalf("MSG %d: %+v", i, m)
				}
			}
			<-published
			sub.sync() // nothing more
		})
	}
}
