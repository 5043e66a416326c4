package server

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
	memstore "github.com/whispeer-io/whispeer/store/memory"
)

// storeServer starts a server keeping its messages in a store of kind at
// path.
func storeServer(t *testing.T, kind, path string) *testServer {
	t.Helper()
	return newTestServer(t, func(c *config.Config) {
		c.Store.Kind, c.Store.Path, c.Store.Sync = kind, path, "always"
	})
}

// stop shuts a test server down before the test ends, after closing its
// clients' connections: the server does not wait for their close
// handshakes.
func (ts *testServer) stop(t *testing.T, clients ...interface{ closeNow() }) {
	t.Helper()
	for _, c := range clients {
		c.closeNow()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func (c *client) closeNow() { c.c.CloseNow() }

func (c *nclient) closeNow() {
	if c.ws != nil {
		c.ws.CloseNow()
		return
	}
	c.nc.Close()
}

// publishAcked publishes payloads 1…n to topic at QoS 1 and waits for every
// puback.
func (c *client) publishAcked(topic string, from, to int) {
	c.t.Helper()
	for i := from; i <= to; i++ {
		c.send(`{"type":"publish","topic":"` + topic + `","payload":` + strconv.Itoa(i) + `,"qos":1,"message_id":"m` + strconv.Itoa(i) + `"}`)
	}
	for i := from; i <= to; i++ {
		if f := c.expect("puback"); f.str("message_id") != "m"+strconv.Itoa(i) {
			c.t.Fatalf("puback %v, want m%d", f, i)
		}
	}
}

func TestStore_JSONResumeAcrossRestart(t *testing.T) {
	for _, kind := range []string{config.StoreSQLite, config.StoreFile} {
		t.Run(kind, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "data", "whispeer.db")
			ts := storeServer(t, kind, path)
			pub := ts.authed(t, "admin")
			pub.publishAcked("log", 1, 5)
			sub := ts.authed(t, "admin")
			sub.send(`{"type":"subscribe","topic":"log","offset":0}`)
			ack := sub.expect("subscribed")
			epoch := ack.str("epoch")
			if epoch == "" || ack["offset"] != 5.0 || ack["recovered"] != true {
				t.Fatalf("subscribed %v", ack)
			}
			for i := 1; i <= 3; i++ { // the client keeps 3 before the server stops
				if m := sub.expectMessage("log", strconv.Itoa(i)); m["offset"] != float64(i) {
					t.Fatalf("message %v, want offset %d", m, i)
				}
			}
			ts.stop(t, pub, sub)

			ts = storeServer(t, kind, path)
			ts.authed(t, "admin").publishAcked("log", 6, 8)
			sub = ts.authed(t, "admin")
			sub.send(`{"type":"subscribe","topic":"log","offset":3,"epoch":"` + epoch + `"}`)
			if ack := sub.expect("subscribed"); ack.str("epoch") != epoch || ack["offset"] != 8.0 || ack["recovered"] != true {
				t.Fatalf("subscribed after the restart %v", ack)
			}
			for i := 4; i <= 8; i++ {
				if m := sub.expectMessage("log", strconv.Itoa(i)); m["offset"] != float64(i) {
					t.Fatalf("message %v, want offset %d", m, i)
				}
			}
			ts.authed(t, "admin").publishAcked("log", 9, 9)
			sub.expectMessage("log", "9")
			sub.sync() // no duplicate

			last := ts.authed(t, "admin")
			last.send(`{"type":"subscribe","topic":"log","last":2}`)
			last.expect("subscribed")
			last.expectMessage("log", "8")
			last.expectMessage("log", "9")
			last.sync()
		})
	}
}

func TestStore_JSONNotRecovered(t *testing.T) {
	t.Run("topic deleted", func(t *testing.T) {
		ts := storeServer(t, config.StoreSQLite, filepath.Join(t.TempDir(), "w.db"))
		ts.authed(t, "admin").publishAcked("t", 1, 3)
		info, err := ts.Broker().TopicInfo(context.Background(), "t")
		if err != nil {
			t.Fatal(err)
		}
		if err := ts.Broker().DeleteTopic(context.Background(), "t"); err != nil {
			t.Fatal(err)
		}
		ts.authed(t, "admin").publishAcked("t", 4, 4)
		sub := ts.authed(t, "admin")
		sub.send(`{"type":"subscribe","topic":"t","offset":2,"epoch":"` + strconv.FormatUint(info.Epoch, 10) + `"}`)
		ack := sub.expect("subscribed")
		if ack["recovered"] != false || ack.str("epoch") == strconv.FormatUint(info.Epoch, 10) || ack["offset"] != 1.0 {
			t.Fatalf("subscribed %v", ack)
		}
		sub.sync() // live messages only
		ts.authed(t, "admin").publishAcked("t", 5, 5)
		if m := sub.expectMessage("t", "5"); m["offset"] != 2.0 {
			t.Fatalf("message %v", m)
		}
	})
	t.Run("store wiped", func(t *testing.T) {
		ts := storeServer(t, config.StoreMemory, "")
		pub := ts.authed(t, "admin")
		pub.publishAcked("t", 1, 3)
		pub.closeNow()
		sub := ts.authed(t, "admin")
		sub.send(`{"type":"subscribe","topic":"t","last":0}`)
		epoch := sub.expect("subscribed").str("epoch")
		ts.stop(t, sub)
		ts = storeServer(t, config.StoreMemory, "")
		sub = ts.authed(t, "admin")
		sub.send(`{"type":"subscribe","topic":"t","offset":3,"epoch":"` + epoch + `"}`)
		if ack := sub.expect("subscribed"); ack["recovered"] != false || ack.str("epoch") == epoch {
			t.Fatalf("subscribed %v", ack)
		}
		sub.sync()
	})
}

func TestStore_NativeResumeAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	ts := storeServer(t, config.StoreSQLite, path)
	pub := ts.nativeAuthed(t, "tcp", "admin")
	for i := 1; i <= 5; i++ {
		pub.publish(wire.Publish{Topic: []byte("n"), QoS: wire.AtLeastOnce, ID: []byte("m" + strconv.Itoa(i)), Payload: []byte(strconv.Itoa(i))})
	}
	for i := 1; i <= 5; i++ {
		if f := pub.expect(wire.TypePubAck); f.Ack.Code != wire.CodeOK || string(f.Ack.ID) != "m"+strconv.Itoa(i) {
			t.Fatalf("PUBACK %+v", f.Ack)
		}
	}
	sub := ts.nativeAuthed(t, "tcp", "admin")
	a := sub.subscribe(1, "n", wire.AtMostOnce, wire.Resume{Mode: wire.ResumeLast, Last: 2})
	if a.Epoch == 0 || a.Offset != 5 {
		t.Fatalf("SUBACK %+v", a)
	}
	sub.expectMessage(1, "n", "4")
	sub.expectMessage(1, "n", "5")
	ts.stop(t, pub, sub)

	ts = storeServer(t, config.StoreSQLite, path)
	pub = ts.nativeAuthed(t, "ws", "admin")
	pub.publish(wire.Publish{Topic: []byte("n"), Payload: []byte("6")})
	pub.sync()
	sub = ts.nativeAuthed(t, "ws", "admin")
	r := sub.subscribe(7, "n", wire.AtLeastOnce, wire.Resume{Mode: wire.ResumeOffset, Epoch: a.Epoch, Offset: 5})
	if !r.Recovered || r.Epoch != a.Epoch || r.Offset != 6 {
		t.Fatalf("SUBACK of the resume %+v", r)
	}
	if m := sub.expectMessage(7, "n", "6"); m.Offset != 6 || !m.Replay {
		t.Fatalf("MSG %+v", m)
	}
	pub.publish(wire.Publish{Topic: []byte("n"), Payload: []byte("7")})
	if m := sub.expectMessage(7, "n", "7"); m.Offset != 7 || m.Replay {
		t.Fatalf("MSG %+v", m)
	}
	sub.sync()
}

// holdingStore is a store whose appends become durable only when the test
// releases them.
type holdingStore struct {
	whispeer.Store
	mu   sync.Mutex
	held []func(error)
	n    chan struct{} // a signal per append
}

func (h *holdingStore) Append(ctx context.Context, m *whispeer.Message, done func(error)) error {
	err := h.Store.Append(ctx, m, func(err error) {
		h.mu.Lock()
		h.held = append(h.held, func(e error) {
			if err != nil {
				e = err
			}
			done(e)
		})
		h.mu.Unlock()
		h.n <- struct{}{}
	})
	return err
}

// release makes every held append durable, or fails it with err.
func (h *holdingStore) release(err error) {
	h.mu.Lock()
	held := h.held
	h.held = nil
	h.mu.Unlock()
	for _, done := range held {
		done(err)
	}
}

func TestStore_PubAckAfterDurability(t *testing.T) {
	hs := &holdingStore{Store: memstore.New(), n: make(chan struct{}, 100)}
	b, err := whispeer.New(whispeer.WithStore(hs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ts := newTestServer(t, nil, WithBroker(b))

	js := ts.authed(t, "admin")
	js.send(`{"type":"publish","topic":"d","payload":1,"qos":1,"message_id":"a"}`)
	js.send(`{"type":"publish","topic":"d","payload":2,"qos":1,"message_id":"b"}`)
	nc := ts.nativeAuthed(t, "tcp", "admin")
	nc.publish(wire.Publish{Topic: []byte("d"), QoS: wire.AtLeastOnce, ID: []byte("c"), Payload: []byte("3")})
	for range 3 {
		<-hs.n
	}
	js.sync() // both publishes handled, and no puback yet
	nc.sync()
	hs.release(nil)
	js.expectRaw(`{"type":"puback","message_id":"a"}`)
	js.expectRaw(`{"type":"puback","message_id":"b"}`)
	if f := nc.expect(wire.TypePubAck); f.Ack.Code != wire.CodeOK || string(f.Ack.ID) != "c" {
		t.Fatalf("PUBACK %+v", f.Ack)
	}

	js.send(`{"type":"publish","topic":"d","payload":4,"qos":1,"message_id":"e"}`)
	nc.publish(wire.Publish{Topic: []byte("d"), QoS: wire.AtLeastOnce, ID: []byte("f"), Payload: []byte("5")})
	<-hs.n
	<-hs.n
	js.sync()
	nc.sync()
	hs.release(whispeer.ErrStoreClosed)
	js.expectError("store")
	if f := nc.expect(wire.TypePubAck); f.Ack.Code == wire.CodeOK || string(f.Ack.ID) != "f" {
		t.Fatalf("PUBACK of a failed append %+v", f.Ack)
	}
}

// TestStore_GivenBrokerWithStore checks that a server embedding a broker
// made elsewhere with a store serves offsets as if it had opened the store.
func TestStore_GivenBrokerWithStore(t *testing.T) {
	b, err := whispeer.New(whispeer.WithStore(memstore.New()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ts := newTestServer(t, nil, WithBroker(b))
	ts.authed(t, "admin").publishAcked("log", 1, 2)
	sub := ts.authed(t, "admin")
	sub.send(`{"type":"subscribe","topic":"log","offset":0}`)
	if ack := sub.expect("subscribed"); ack.str("epoch") == "" || ack["recovered"] != true {
		t.Fatalf("subscribed %v", ack)
	}
	for i := 1; i <= 2; i++ {
		if m := sub.expectMessage("log", strconv.Itoa(i)); m["offset"] != float64(i) {
			t.Fatalf("message %v, want offset %d", m, i)
		}
	}
}
