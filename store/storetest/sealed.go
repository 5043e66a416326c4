package storetest

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/envelope"
)

// envelopePrefix is how an envelope begins: magic, version, compression
// and AEAD ids (docs/envelope.md).
var envelopePrefix = []byte{0xC1, 0x57, 1, 0, 0}

// sealedMessages returns n messages of topic with random binary payloads,
// sealed or not at random, half of them beginning like an envelope: a
// store keeps the publisher's Sealed as it is and the payload's bytes as
// they are, whatever they look like.
func sealedMessages(t testing.TB, topic string, n int) []*whispeer.Message {
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	msgs := make([]*whispeer.Message, n)
	for i := range msgs {
		p := make([]byte, rng.IntN(300))
		for j := range p {
			p[j] = byte(rng.Uint32())
		}
		if i%2 == 0 {
			// 2 to 5 bytes of the prefix: the magic alone up to a whole header
			p = append(append([]byte(nil), envelopePrefix[:2+i%4]...), p...)
		}
		msgs[i] = &whispeer.Message{Topic: topic, ID: strconv.Itoa(i), Payload: p, Sealed: rng.IntN(2) == 0,
			QoS: whispeer.QoS(rng.IntN(3)), Time: base.Add(time.Duration(i))}
	}
	msgs[0].Payload, msgs[0].Sealed = append([]byte(nil), envelopePrefix...), false
	msgs[1].Payload, msgs[1].Sealed = append([]byte(nil), envelopePrefix...), true
	if !envelope.IsEnvelope(msgs[0].Payload) {
		t.Fatalf("%x does not begin like an envelope", envelopePrefix)
	}
	t.Logf("payloads of seed %d", seed)
	return msgs
}

// appendAll appends msgs and waits until they are durable.
func appendAll(t testing.TB, s whispeer.Store, msgs []*whispeer.Message) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(msgs))
	for _, m := range msgs {
		wg.Add(1)
		err := s.Append(ctx, m, func(err error) {
			if err != nil {
				errs <- err
			}
			wg.Done()
		})
		if err != nil {
			t.Fatalf("Append %s: %v", m.ID, err)
		}
	}
	awaitDones(t, &wg)
	close(errs)
	if err := <-errs; err != nil {
		t.Fatalf("Append: done with %v", err)
	}
}

// testSealedPayloads appends random binary payloads, some beginning like
// an envelope, sealed or not, and reads them back byte for byte, each
// with its Sealed.
func testSealedPayloads(t *testing.T, s whispeer.Store) {
	want := sealedMessages(t, "sealed", 200)
	appendAll(t, s, want)
	checkSame(t, readAll(t, s, "sealed", 1, 0), want)
}

// testReopenSealedPayloads does the same across closing and reopening
// the store.
func testReopenSealedPayloads(t *testing.T, open func(*testing.T, string) whispeer.Store) {
	dir := t.TempDir()
	s := open(t, dir)
	want := sealedMessages(t, "sealed", 200)
	appendAll(t, s, want)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	checkSame(t, readAll(t, s, "sealed", 1, 0), want)
}
