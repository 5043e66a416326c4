package server

import (
	"strconv"
	"testing"
	"testing/synctest"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
	memstore "github.com/whispeer-io/whispeer/store/memory"
)

func TestNative_QoS1PerSubscription(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newBubbleTestServer(t, qosConfig(2, 10, 10))
		expired := make(chan string, 1)
		ts.hooks.expired = func(id string) { expired <- id }
		pub, a, b := ts.nativeAuthed(t, "tcp", "admin"), ts.nativeAuthed(t, "tcp", "admin"), ts.nativeAuthed(t, "ws", "admin")
		a.subscribe(1, "q", wire.AtLeastOnce, wire.Resume{})
		a.subscribe(2, "q", wire.ExactlyOnce, wire.Resume{}) // capped at QoS 1
		b.subscribe(7, "q", wire.AtLeastOnce, wire.Resume{})

		pub.publish(wire.Publish{QoS: wire.AtLeastOnce, Topic: []byte("q"), ID: []byte("m1"), Payload: []byte("x")})
		pub.expect(wire.TypePubAck)

		// A gets one copy per subscription, each tracked on its own: acking
		// one leaves the other in flight.
		seen := map[uint32]bool{}
		for range 2 {
			f := a.expect(wire.TypeMessage)
			m := f.Message
			if m.QoS != wire.AtLeastOnce || m.Dup || string(m.ID) != "m1" || seen[m.SID] {
				t.Fatalf("copy %+v", m)
			}
			seen[m.SID] = true
		}
		a.ack(1, "m1")
		a.sync() // the ack came before the timeout: no resend
		if n, _ := windowOf(t, a.sess).len(); n != 1 {
			t.Fatalf("%d copies in flight for A, want the one on sid 2", n)
		}
		a.ack(2, "m1")
		a.sync()
		if n, _ := windowOf(t, a.sess).len(); n != 0 {
			t.Fatalf("%d copies in flight for A after both acks", n)
		}

		// B never acks: the first copy, then max_retries resends marked dup,
		// then the copy is given up. A's acks did not clear B's copy.
		for i := range 1 + 2 {
			m := b.expectMessage(7, "q", "x")
			if m.Dup != (i > 0) {
				t.Fatalf("copy %d: dup %v", i, m.Dup)
			}
		}
		if id := <-expired; id != "m1" {
			t.Fatalf("expired %q", id)
		}
		b.sync()
		if st := ts.Stats(); st.Retries != 2 || st.Expired != 1 {
			t.Fatalf("Retries = %d, Expired = %d", st.Retries, st.Expired)
		}
	})
}

func TestNative_Replay(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.Replay.Size = 10 })
	pub := ts.nativeAuthed(t, "tcp", "admin")
	for _, transport := range []string{"tcp", "ws"} {
		t.Run(transport, func(t *testing.T) {
			topic := "r/" + transport
			for i := 1; i <= 5; i++ {
				pub.publish(wire.Publish{Topic: []byte(topic), Payload: []byte(strconv.Itoa(i))})
			}
			pub.sync()
			sub := ts.nativeAuthed(t, transport, "admin")
			sub.subscribe(1, topic, wire.AtMostOnce, wire.Resume{Mode: wire.ResumeLast, Last: 3})
			for i := 3; i <= 5; i++ {
				m := sub.expectMessage(1, topic, strconv.Itoa(i))
				if !m.Replay || m.Offset != uint64(i) {
					t.Fatalf("replayed %+v", m)
				}
			}
			sub.sync() // nothing more
			// An offset cannot be checked without epochs: live only, not
			// recovered. None replays nothing.
			if a := sub.subscribe(2, topic, wire.AtMostOnce, wire.Resume{Mode: wire.ResumeOffset, Epoch: 1, Offset: 4}); a.Recovered {
				t.Fatalf("SUBACK %+v", a)
			}
			sub.subscribe(3, topic, wire.AtMostOnce, wire.Resume{})
			sub.sync()
			sub.send(&wire.Frame{Type: wire.TypeSubscribe, Subscribe: wire.Subscribe{SID: 4, Resume: wire.Resume{Mode: wire.ResumeOffset}, Topic: []byte(topic + "/#")}})
			if a := sub.expect(wire.TypeSubAck).SubAck; a.Code != wire.CodeInvalid {
				t.Fatalf("offset on a pattern: SUBACK %+v", a)
			}

			pub.publish(wire.Publish{Topic: []byte(topic), Payload: []byte("live")})
			got := map[uint32]bool{}
			for range 3 {
				f := sub.expect(wire.TypeMessage)
				if f.Message.Replay || string(f.Message.Payload) != "live" {
					t.Fatalf("live message %+v", f.Message)
				}
				got[f.Message.SID] = true
			}
			if !got[1] || !got[2] || !got[3] {
				t.Fatalf("live message on sids %v", got)
			}
			sub.sync()
		})
	}
}

func TestNative_ReplayThenLiveNoGap(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.Replay.Size = 1000 })
	pub := ts.nativeAuthed(t, "tcp", "admin")
	const n = 400
	var frames [][]byte
	for i := 1; i <= n; i++ {
		f, _ := wire.AppendPublish(nil, &wire.Publish{Topic: []byte("gap"), Payload: []byte(strconv.Itoa(i))})
		frames = append(frames, f)
	}
	done := make(chan error, 1)
	go func() { // publishes while the subscriber subscribes
		var err error
		for _, f := range frames {
			if _, err = pub.nc.Write(f); err != nil {
				break
			}
		}
		done <- err
	}()
	sub := ts.nativeAuthed(t, "ws", "admin")
	sub.subscribe(1, "gap", wire.AtMostOnce, wire.Resume{Mode: wire.ResumeLast, Last: n})
	for i := 1; i <= n; i++ {
		m := sub.expectMessage(1, "gap", strconv.Itoa(i)) // no gap, no duplicate
		if m.Offset != uint64(i) {
			t.Fatalf("offset %d, want %d", m.Offset, i)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	pub.sync()
	sub.sync()
}

func TestNative_ResumeWithStore(t *testing.T) {
	b, err := whispeer.New(whispeer.WithStore(memstore.New()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ts := newTestServer(t, nil, WithBroker(b))
	pub := ts.nativeAuthed(t, "tcp", "admin")
	for i := 1; i <= 5; i++ {
		pub.publish(wire.Publish{Topic: []byte("res"), Payload: []byte(strconv.Itoa(i))})
	}
	pub.sync()

	sub := ts.nativeAuthed(t, "ws", "admin")
	at := sub.subscribe(1, "res", wire.AtMostOnce, wire.Resume{})
	if at.Epoch == 0 || at.Offset != 5 || at.Recovered {
		t.Fatalf("SUBACK of a live subscription %+v", at)
	}
	a := sub.subscribe(2, "res", wire.AtMostOnce, wire.Resume{Mode: wire.ResumeOffset, Epoch: at.Epoch, Offset: 3})
	if !a.Recovered || a.Epoch != at.Epoch {
		t.Fatalf("SUBACK of a resume %+v", a)
	}
	for i := 4; i <= 5; i++ {
		if m := sub.expectMessage(2, "res", strconv.Itoa(i)); !m.Replay || m.Offset != uint64(i) {
			t.Fatalf("resumed %+v", m)
		}
	}
	if a := sub.subscribe(3, "res", wire.AtMostOnce, wire.Resume{Mode: wire.ResumeOffset, Epoch: at.Epoch + 1, Offset: 3}); a.Recovered {
		t.Fatalf("SUBACK of a resume in another epoch %+v", a)
	}
	sub.sync() // another epoch: nothing from history
	pub.publish(wire.Publish{Topic: []byte("res"), Payload: []byte("6")})
	for range 3 {
		if f := sub.expect(wire.TypeMessage); f.Message.Replay || f.Message.Offset != 6 {
			t.Fatalf("live %+v", f.Message)
		}
	}
	sub.sync()
}
