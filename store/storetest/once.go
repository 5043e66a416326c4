package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
)

// testExactlyOnce checks that the store keeps the publisher ids of
// exactly-once messages, and, for a store that implements
// whispeer.ExactlyOnceStore, that it finds exactly those of them not
// older than a time, across topics.
func testExactlyOnce(t *testing.T, s whispeer.Store) {
	var want []string
	for i := 1; i <= 30; i++ {
		for _, topic := range []string{"once/a", "once/b"} {
			m := Message(topic, i)
			m.Time = base.Add(time.Duration(i) * time.Second)
			if err := s.Append(ctx, m, nil); err != nil {
				t.Fatal(err)
			}
			if m.QoS == whispeer.ExactlyOnce && i >= 10 {
				want = append(want, fmt.Sprint(m.PublisherID, "/", m.ID, "@", i))
			}
		}
	}
	for _, topic := range []string{"once/a", "once/b"} {
		for i, m := range readAll(t, s, topic, 1, 0) {
			if w := Message(topic, i+1); m.ID != w.ID || m.QoS != w.QoS || m.PublisherID != w.PublisherID {
				t.Fatalf("%s #%d: %s at QoS %d from %q, want %s at QoS %d from %q", topic, i+1, m.ID, m.QoS, m.PublisherID, w.ID, w.QoS, w.PublisherID)
			}
		}
	}
	es, ok := s.(whispeer.ExactlyOnceStore)
	if !ok {
		return
	}
	appendN(t, s, "once/sync", 1) // waits until the store has made every append durable
	var got []string
	err := es.ReadExactlyOnce(ctx, base.Add(10*time.Second), func(pub, id string, at time.Time) error {
		got = append(got, fmt.Sprint(pub, "/", id, "@", int64(at.Sub(base)/time.Second)))
		return nil
	})
	if errors.Is(err, errors.ErrUnsupported) {
		return // a store that lacks the capability after all, as it may say
	}
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("ReadExactlyOnce from 10s:\n got %v\nwant %v", got, want)
	}
}
