package server

import (
	"fmt"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
)

// pipelineQoS1 encodes n QoS 1 PUBs to topic, with ids and payloads "0",
// "1", ..., as one stream of bytes: a client that publishes without
// waiting for any PUBACK.
func pipelineQoS1(t testing.TB, topic string, n int) []byte {
	var b []byte
	for i := range n {
		id := []byte(strconv.Itoa(i))
		var err error
		b, err = wire.AppendFrame(b, &wire.Frame{Type: wire.TypePublish, Publish: wire.Publish{
			QoS: wire.AtLeastOnce, Topic: []byte(topic), ID: id, Payload: id}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// pubAcks reads n PUBACKs with next and reports the first frame that is
// not one, or not OK.
func pubAcks(next func() (*wire.Frame, error), n int) error {
	for i := range n {
		f, err := next()
		if err != nil {
			return fmt.Errorf("after %d PUBACKs: %w", i, err)
		}
		if f.Type != wire.TypePubAck || f.Ack.Code != wire.CodeOK {
			return fmt.Errorf("after %d PUBACKs: %v %v", i, f.Type, describe(f))
		}
	}
	return nil
}

// TestFlow_QoS1PipelinedPublisherLosesNothing pipelines QoS 1 publishes,
// each acknowledged to the publisher, to a subscriber that acks each
// message as it reads it, more slowly than they come: the publisher is
// slowed to the pace of the subscriber's acks rather than copies being
// dropped past qos.max_queued.
func TestFlow_QoS1PipelinedPublisherLosesNothing(t *testing.T) {
	const n = 5000
	ts := flowServer(t, func(c *config.Config) {
		c.QoS.MaxInflight, c.QoS.MaxQueued = 10, 100
		c.QoS.AckTimeout = time.Minute // no resends in this test
	})
	for _, transport := range []string{"tcp", "ws"} {
		t.Run(transport, func(t *testing.T) {
			topic := "q" + transport
			sub := ts.nativeAuthed(t, transport, "admin")
			sub.subscribe(1, topic, wire.AtLeastOnce, wire.Resume{})
			pub := ts.nativeAuthed(t, "tcp", "admin")
			wrote, acked := make(chan error, 1), make(chan error, 1)
			go func() {
				_, err := pub.nc.Write(pipelineQoS1(t, topic, n))
				wrote <- err
			}()
			go func() { acked <- pubAcks(pub.next, n) }()
			for i := range n {
				sub.expectMessage(1, topic, strconv.Itoa(i))
				sub.ack(1, strconv.Itoa(i))
			}
			if err := <-wrote; err != nil {
				t.Fatal(err)
			}
			if err := <-acked; err != nil {
				t.Fatal(err)
			}
			if d := ts.Stats().QoSDropped; d != 0 {
				t.Fatalf("%d QoS 1 copies dropped", d)
			}
		})
	}
}

// TestFlow_QoS1StallBounded pipelines QoS 1 publishes to a subscriber that
// never acks: the publisher is not read for max_stall, then read again,
// every publish acknowledged to it, and the copies past qos.max_queued are
// dropped for that subscriber as before.
func TestFlow_QoS1StallBounded(t *testing.T) {
	const n, stall = 200, 5 * time.Second
	synctest.Test(t, func(t *testing.T) {
		srv, ln := bubbleServer(t, func(c *config.Config) {
			c.Server.MaxPublishRate = 0
			c.Server.MaxStall = stall
			c.QoS.MaxInflight, c.QoS.MaxQueued = 10, 100
			c.QoS.AckTimeout = time.Hour
		})
		token, _ := srv.issuer.Issue("admin")
		auth := &wire.Frame{Type: wire.TypeAuth, Auth: wire.Auth{Token: []byte(token)}}
		sub, pub := dialPipe(t, ln), dialPipe(t, ln)
		for _, c := range []*pipeClient{sub, pub} {
			c.expect(wire.TypeWelcome)
			c.send(auth)
			c.expect(wire.TypeAuthOK)
		}
		sub.send(&wire.Frame{Type: wire.TypeSubscribe, Subscribe: wire.Subscribe{SID: 1, QoS: wire.AtLeastOnce, Topic: []byte("q")}})
		sub.expect(wire.TypeSubAck)
		go func() { // reads, never acks
			for _, err := sub.r.Next(); err == nil; _, err = sub.r.Next() {
			}
		}()
		start := time.Now()
		go pub.nc.Write(pipelineQoS1(t, "q", n))
		if err := pubAcks(pub.r.Next, n); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited != stall {
			t.Fatalf("the publisher waited %v, want max_stall, %v", waited, stall)
		}
		if d := srv.Stats().QoSDropped; d != n-10-100 {
			t.Fatalf("%d QoS 1 copies dropped, want %d: those past the window and its queue", d, n-10-100)
		}
	})
}
