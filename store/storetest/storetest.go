package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
)

// Run runs the conformance suite against the stores newStore returns, a
// new, empty one per subtest. The suite closes them.
func Run(t *testing.T, newStore func(t *testing.T) whispeer.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, whispeer.Store)
	}{
		{"AppendRead", testAppendRead},
		{"ReadRange", testReadRange},
		{"ReadStops", testReadStops},
		{"ReadYourAppends", testReadYourAppends},
		{"Topics", testTopics},
		{"TopicInfo", testTopicInfo},
		{"Payloads", testPayloads},
		{"SealedPayloads", testSealedPayloads},
		{"ExactlyOnce", testExactlyOnce},
		{"TrimMessages", testTrimMessages},
		{"TrimBytes", testTrimBytes},
		{"TrimAge", testTrimAge},
		{"TrimAll", testTrimAll},
		{"Delete", testDelete},
		{"Cursors", testCursors},
		{"ListCursors", testListCursors},
		{"Concurrent", testConcurrent},
		{"RandomAppends", testRandomAppends},
		{"Close", testClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}
}

var ctx = context.Background()

// base is the Time of the messages Message makes.
var base = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Message returns the i-th test message of topic, its payload, headers and
// publisher id derived from i, its Time a minute ago: recent for retention
// by age.
func Message(topic string, i int) *whispeer.Message {
	m := &whispeer.Message{
		Topic:   topic,
		ID:      fmt.Sprintf("id-%d", i),
		Payload: Payload(topic, i),
		QoS:     whispeer.QoS(i % 3),
		Sealed:  i%4 == 3,
		Time:    time.Now().Add(time.Duration(i)*time.Microsecond - time.Minute).Round(0),
	}
	if i%2 == 0 {
		m.Headers, _ = whispeer.NewHeaders("trace", "t-"+topic, "k", fmt.Sprint(i))
	}
	if m.QoS == whispeer.ExactlyOnce && i%4 != 1 {
		m.PublisherID = fmt.Sprint("pub-", i%3)
	}
	return m
}

// Payload returns the payload of [Message](topic, i).
func Payload(topic string, i int) []byte {
	return fmt.Appendf(nil, "%s/%d/%s", topic, i, bytes.Repeat([]byte{byte('a' + i%26)}, i%40))
}

// appendN appends messages 1..n of topic, waits until they are durable
// and returns them.
func appendN(t testing.TB, s whispeer.Store, topic string, n int) []*whispeer.Message {
	t.Helper()
	var wg sync.WaitGroup
	var failed atomic.Value
	msgs := make([]*whispeer.Message, n)
	for i := range n {
		msgs[i] = Message(topic, i+1)
		wg.Add(1)
		err := s.Append(ctx, msgs[i], func(err error) {
			if err != nil {
				failed.Store(err)
			}
			wg.Done()
		})
		if err != nil {
			t.Fatalf("Append %s #%d: %v", topic, i+1, err)
		}
	}
	awaitDones(t, &wg)
	if err := failed.Load(); err != nil {
		t.Fatalf("Append %s: done with %v", topic, err)
	}
	return msgs
}

// readAll returns every message Read gives from offset from on.
func readAll(t testing.TB, s whispeer.Store, topic string, from uint64, max int) []*whispeer.Message {
	t.Helper()
	var got []*whispeer.Message
	if err := s.Read(ctx, topic, from, max, func(m *whispeer.Message) error {
		got = append(got, m)
		return nil
	}); err != nil {
		t.Fatalf("Read %s from %d: %v", topic, from, err)
	}
	return got
}

// Same reports how got differs from want, a message as appended; "" when
// they are the same.
func Same(got, want *whispeer.Message) string {
	switch {
	case got.Topic != want.Topic:
		return fmt.Sprintf("topic %q, want %q", got.Topic, want.Topic)
	case got.Seq != want.Seq:
		return fmt.Sprintf("seq %d, want %d", got.Seq, want.Seq)
	case got.ID != want.ID:
		return fmt.Sprintf("id %q, want %q", got.ID, want.ID)
	case !bytes.Equal(got.Payload, want.Payload):
		return fmt.Sprintf("payload %q, want %q", got.Payload, want.Payload)
	case got.QoS != want.QoS:
		return fmt.Sprintf("qos %d, want %d", got.QoS, want.QoS)
	case got.PublisherID != want.PublisherID:
		return fmt.Sprintf("publisher id %q, want %q", got.PublisherID, want.PublisherID)
	case got.Sealed != want.Sealed:
		return fmt.Sprintf("sealed %t, want %t", got.Sealed, want.Sealed)
	case !got.Time.Equal(want.Time):
		return fmt.Sprintf("time %v, want %v", got.Time, want.Time)
	case !bytes.Equal(got.Headers.Encoded(), want.Headers.Encoded()):
		return fmt.Sprintf("headers %v, want %v", got.Headers.Map(), want.Headers.Map())
	}
	return ""
}

func checkSame(t testing.TB, got, want []*whispeer.Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read %d messages, want %d", len(got), len(want))
	}
	for i := range got {
		if d := Same(got[i], want[i]); d != "" {
			t.Fatalf("message %d: %s", i, d)
		}
	}
}

func info(t testing.TB, s whispeer.Store, topic string) whispeer.TopicInfo {
	t.Helper()
	ti, err := s.Topic(ctx, topic)
	if err != nil {
		t.Fatalf("Topic %s: %v", topic, err)
	}
	return ti
}

func testAppendRead(t *testing.T, s whispeer.Store) {
	want := appendN(t, s, "chat/a", 20)
	for i, m := range want {
		if m.Seq != uint64(i+1) {
			t.Fatalf("Append set seq %d, want %d", m.Seq, i+1)
		}
	}
	checkSame(t, readAll(t, s, "chat/a", 1, 0), want)
	checkSame(t, readAll(t, s, "chat/a", 0, 0), want)
}

func testReadRange(t *testing.T, s whispeer.Store) {
	want := appendN(t, s, "r", 50)
	checkSame(t, readAll(t, s, "r", 11, 0), want[10:])
	checkSame(t, readAll(t, s, "r", 11, 5), want[10:15])
	checkSame(t, readAll(t, s, "r", 50, 10), want[49:])
	if got := readAll(t, s, "r", 51, 0); len(got) != 0 {
		t.Fatalf("read %d messages past the end", len(got))
	}
	if got := readAll(t, s, "nothing", 1, 0); len(got) != 0 {
		t.Fatalf("read %d messages of an unknown topic", len(got))
	}
	var last []*whispeer.Message
	err := whispeer.ReadLast(ctx, s, "r", 3, func(m *whispeer.Message) error {
		last = append(last, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, last, want[47:])
}

func testReadStops(t *testing.T, s whispeer.Store) {
	appendN(t, s, "r", 10)
	stop := errors.New("stop")
	n := 0
	err := s.Read(ctx, "r", 1, 0, func(*whispeer.Message) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("Read returned %v after %d calls, want stop after 3", err, n)
	}
}

func testReadYourAppends(t *testing.T, s whispeer.Store) {
	var calls atomic.Int32
	var wg sync.WaitGroup
	for i := 1; i <= 5; i++ {
		m := Message("ryw", i)
		wg.Add(1)
		if err := s.Append(ctx, m, func(error) { calls.Add(1); wg.Done() }); err != nil {
			t.Fatal(err)
		}
		got := readAll(t, s, "ryw", uint64(i), 0)
		if len(got) != 1 || got[0].Seq != uint64(i) {
			t.Fatalf("Read right after Append #%d got %d messages", i, len(got))
		}
	}
	if err := s.Append(ctx, Message("ryw", 6), nil); err != nil {
		t.Fatal(err)
	}
	awaitDones(t, &wg)
	if n := calls.Load(); n != 5 {
		t.Fatalf("done called %d times, want 5", n)
	}
}

func testTopics(t *testing.T, s whispeer.Store) {
	a := appendN(t, s, "t/a", 3)
	b := appendN(t, s, "t/b", 2)
	if a[2].Seq != 3 || b[1].Seq != 2 {
		t.Fatalf("offsets not per topic: %d, %d", a[2].Seq, b[1].Seq)
	}
	var names []string
	if err := s.Topics(ctx, func(n string) bool { names = append(names, n); return true }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"t/a", "t/b"}) {
		t.Fatalf("Topics = %v, want [t/a t/b]", names)
	}
	n := 0
	s.Topics(ctx, func(string) bool { n++; return false })
	if n != 1 {
		t.Fatalf("Topics went on after fn returned false: %d calls", n)
	}
}

func testTopicInfo(t *testing.T, s whispeer.Store) {
	empty := info(t, s, "i")
	if empty.Epoch == 0 || empty.First != 1 || empty.Last != 0 || empty.Messages != 0 {
		t.Fatalf("unknown topic: %+v, want an epoch, First 1, Last 0", empty)
	}
	msgs := appendN(t, s, "i", 4)
	got := info(t, s, "i")
	var n int64
	for _, m := range msgs {
		n += int64(len(m.Payload))
	}
	want := whispeer.TopicInfo{Topic: "i", Epoch: empty.Epoch, First: 1, Last: 4, Messages: 4, Bytes: n}
	if got != want {
		t.Fatalf("Topic = %+v, want %+v (the epoch given before the first message)", got, want)
	}
	if other := info(t, s, "j"); other.Epoch == got.Epoch {
		t.Fatalf("two topics share epoch %x", got.Epoch)
	}
}

func testPayloads(t *testing.T, s whispeer.Store) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	kv := []string{"z", "first", "", "empty key"} // in order, a key repeated
	for i := range whispeer.MaxHeaders - 3 {
		kv = append(kv, fmt.Sprint("h", i), fmt.Sprint(i))
	}
	hs, err := whispeer.NewHeaders(append(kv, "z", "last")...)
	if err != nil {
		t.Fatal(err)
	}
	want := []*whispeer.Message{
		{Topic: "p", ID: "empty", Payload: []byte{}, Time: base},
		{Topic: "p", ID: "big", Payload: big, Time: base},
		{Topic: "p", ID: "headers", Payload: []byte{0, 1, 2, 255}, Headers: hs, QoS: whispeer.ExactlyOnce, Time: base},
		{Topic: "p", ID: "once", PublisherID: "alice\x00app-7", Payload: []byte("once"), QoS: whispeer.ExactlyOnce, Time: base},
		{Topic: "p", ID: "", Payload: []byte("no id"), Time: base.Add(time.Nanosecond)},
	}
	for _, m := range want {
		if err := s.Append(ctx, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	got := readAll(t, s, "p", 1, 0)
	if len(got) != len(want) {
		t.Fatalf("read %d, want %d", len(got), len(want))
	}
	for i := range got {
		if d := Same(got[i], want[i]); d != "" {
			t.Fatalf("message %s: %s", want[i].ID, d)
		}
	}
}
