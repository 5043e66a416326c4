package redis

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/redistest"
	"github.com/whispeer-io/whispeer/store/internal/record"
	"github.com/whispeer-io/whispeer/store/storetest"
)

// batchStore returns a store that publishes, on the Redis srv, its keys
// under prefix.
func batchStore(t *testing.T, srv *redistest.Server, prefix string) *Store {
	t.Helper()
	s, err := Open(srv.URL(), WithPrefix(prefix), WithPublish())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// arrival is one message a backplane handed over.
type arrival struct {
	m     *whispeer.Message
	epoch uint64
}

// watching returns a backplane of another store on srv, as another node's,
// watching topic, and the channel its messages arrive on.
func watching(t *testing.T, srv *redistest.Server, prefix, topic string, opts ...BackplaneOption) (*Backplane, chan arrival) {
	t.Helper()
	bp, err := NewBackplane(batchStore(t, srv, prefix), opts...)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan arrival, 1024)
	if err := bp.Start(func(m *whispeer.Message, ep uint64) { got <- arrival{m, ep} }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bp.Close() })
	if err := bp.Watch(t.Context(), topic); err != nil {
		t.Fatal(err)
	}
	return bp, got
}

// outcome is what an append's done was called with.
type outcome struct {
	off, ep uint64
	err     error
	stored  bool // the message was in Redis when done was called
}

// queue returns the appends of msgs, each recording its outcome in
// got[i]; done checks that the message is already in Redis.
func queue(t *testing.T, s *Store, srv *redistest.Server, msgs []*whispeer.Message, got []outcome) []*pending {
	t.Helper()
	var mu sync.Mutex
	calls := make([]int, len(msgs))
	run := make([]*pending, len(msgs))
	for i, m := range msgs {
		run[i] = s.prepare(m)
		run[i].done = func(off, ep uint64, err error) {
			mu.Lock()
			defer mu.Unlock()
			if calls[i]++; calls[i] > 1 {
				t.Errorf("done of append %d called %d times", i, calls[i])
			}
			id := strconv.FormatUint(off, 10) + "-0"
			v, rerr := srv.Do("XRANGE", s.keys(m.Topic)[0], id, id)
			entries, _ := v.([]any)
			got[i] = outcome{off, ep, err, rerr == nil && len(entries) == 1}
		}
	}
	return run
}

// commandCalls returns how many times Redis ran each command since its
// statistics were reset.
func commandCalls(t *testing.T, srv *redistest.Server) map[string]int {
	t.Helper()
	v, err := srv.Do("INFO", "commandstats")
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for _, m := range regexp.MustCompile(`cmdstat_(\w+):calls=(\d+)`).FindAllStringSubmatch(v.(string), -1) {
		calls[m[1]], _ = strconv.Atoi(m[2])
	}
	return calls
}

// TestFlush_RunInOneCall checks that consecutive appends of one topic are
// one call of the append script and one publish; that they get
// consecutive offsets, each done called once, when Redis has the message;
// and that another node receives them all, in order.
func TestFlush_RunInOneCall(t *testing.T) {
	srv := redistest.Start(t)
	s := batchStore(t, srv, "run")
	_, arrived := watching(t, srv, "run", "batch")
	first := make([]outcome, 1)
	s.flush(queue(t, s, srv, []*whispeer.Message{storetest.Message("batch", 1)}, first)) // loads the script
	if first[0].err != nil {
		t.Fatal(first[0].err)
	}
	if _, err := srv.Do("CONFIG", "RESETSTAT"); err != nil {
		t.Fatal(err)
	}
	const k = 10
	msgs := make([]*whispeer.Message, k)
	for i := range msgs {
		msgs[i] = storetest.Message("batch", 2+i)
		msgs[i].QoS = whispeer.AtLeastOnce
	}
	got := make([]outcome, k)
	s.flush(queue(t, s, srv, msgs, got))
	for i, o := range got {
		if o.err != nil || o.off != uint64(2+i) || o.ep != first[0].ep || !o.stored {
			t.Errorf("append %d: offset %d, epoch %d, %v, in Redis when done: %v; want offset %d, epoch %d", i, o.off, o.ep, o.err, o.stored, 2+i, first[0].ep)
		}
	}
	calls := commandCalls(t, srv)
	if calls["evalsha"] != 1 || calls["xadd"] != k || calls["spublish"] != 1 || calls["publish"] != 1 {
		t.Errorf("Redis ran %v; want one evalsha, %d xadd, one spublish and one publish", calls, k)
	}
	for i := range k + 1 {
		select {
		case a := <-arrived:
			if want := storetest.Message("batch", 1+i); a.m.Seq != uint64(1+i) || a.m.ID != want.ID || !bytes.Equal(a.m.Payload, want.Payload) || a.epoch != first[0].ep {
				t.Fatalf("arrival %d: offset %d, id %q, epoch %d; want offset %d, id %q, epoch %d", i, a.m.Seq, a.m.ID, a.epoch, 1+i, want.ID, first[0].ep)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("another node received %d of %d messages", i, k+1)
		}
	}
}

// TestFlush_DuplicateInRun checks that an exactly-once message repeated
// within one run is stored and published once, and its repeat answered
// with the first one's offset as a duplicate.
func TestFlush_DuplicateInRun(t *testing.T) {
	srv := redistest.Start(t)
	s := batchStore(t, srv, "dup")
	_, arrived := watching(t, srv, "dup", "once")
	msg := func(id string) *whispeer.Message {
		return &whispeer.Message{Topic: "once", ID: id, PublisherID: "pub", QoS: whispeer.ExactlyOnce,
			Payload: []byte(id), Time: time.Now()}
	}
	got := make([]outcome, 4)
	s.flush(queue(t, s, srv, []*whispeer.Message{msg("a"), msg("b"), msg("a"), msg("c")}, got))
	for i, want := range []uint64{1, 2, 1, 3} {
		if got[i].off != want || got[i].ep == 0 || (i == 2) != errors.Is(got[i].err, whispeer.ErrDuplicate) || (i != 2 && got[i].err != nil) {
			t.Errorf("append %d: offset %d, epoch %d, %v; want offset %d (a duplicate: %v)", i, got[i].off, got[i].ep, got[i].err, want, i == 2)
		}
	}
	if n, err := srv.Do("XLEN", s.keys("once")[0]); err != nil || n != int64(3) {
		t.Errorf("XLEN %v, %v; want 3 messages stored", n, err)
	}
	for i, id := range []string{"a", "b", "c"} {
		select {
		case a := <-arrived:
			if a.m.Seq != uint64(1+i) || a.m.ID != id {
				t.Fatalf("arrival %d: offset %d, id %q; want %d, %q", i, a.m.Seq, a.m.ID, 1+i, id)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("another node received %d of 3 messages", i)
		}
	}
}

func TestRunLen(t *testing.T) {
	p := func(topic string, size int) *pending { return &pending{topic: topic, rec: strings.Repeat("x", size)} }
	many := func(n int, topic string, size int) []*pending {
		ps := make([]*pending, n)
		for i := range ps {
			ps[i] = p(topic, size)
		}
		return ps
	}
	for _, tc := range []struct {
		name  string
		batch []*pending
		want  int
	}{
		{"one", many(1, "a", 10), 1},
		{"a topic's run", many(5, "a", 10), 5},
		{"ends at another topic", append(many(3, "a", 10), p("b", 10), p("a", 10)), 3},
		{"at most maxRun", many(maxRun+5, "a", 10), maxRun},
		{"at most maxRunBytes", many(10, "a", maxRunBytes/4), 4},
		{"a larger record alone", append(many(1, "a", maxRunBytes+1), p("a", 1)), 1},
		{"a larger record after others", append(many(2, "a", 10), p("a", maxRunBytes)), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := runLen(tc.batch); got != tc.want {
				t.Errorf("runLen = %d, want %d", got, tc.want)
			}
		})
	}
}

// published returns the payload the append script publishes for msgs,
// numbered from first.
func published(ep, first uint64, msgs ...*whispeer.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "v2:%d:%d:", ep, first)
	for _, m := range msgs {
		rec := record.AppendMessage(nil, 0, 0, m)
		fmt.Fprintf(&b, "%d:%s", len(rec), rec)
	}
	return b.String()
}

func TestDecodePublished(t *testing.T) {
	a1, a2 := storetest.Message("a", 1), storetest.Message("a", 2)
	rec := string(record.AppendMessage(nil, 0, 0, a1))
	t.Run("a run", func(t *testing.T) {
		msgs, ep, err := decodePublished(published(7, 41, a1, a2))
		if err != nil || ep != 7 || len(msgs) != 2 {
			t.Fatalf("decoded %d messages, epoch %d, %v; want 2, epoch 7", len(msgs), ep, err)
		}
		for i, want := range []*whispeer.Message{a1, a2} {
			if m := msgs[i]; m.Seq != uint64(41+i) || m.Topic != "a" || m.ID != want.ID || !bytes.Equal(m.Payload, want.Payload) {
				t.Errorf("message %d: offset %d, topic %q, id %q; want %d, a, %q", i, m.Seq, m.Topic, m.ID, 41+i, want.ID)
			}
		}
	})
	for _, tc := range []struct{ name, payload string }{
		{"empty", ""},
		{"the format of an earlier version", "41:7:" + rec},
		{"another version", "v3:7:41:" + strconv.Itoa(len(rec)) + ":" + rec},
		{"no records", "v2:7:41:"},
		{"offset 0", "v2:7:0:" + strconv.Itoa(len(rec)) + ":" + rec},
		{"a bad epoch", "v2:x:41:" + strconv.Itoa(len(rec)) + ":" + rec},
		{"a bad length", "v2:7:41:x:" + rec},
		{"a negative length", "v2:7:41:-1:" + rec},
		{"a length past the end", "v2:7:41:" + strconv.Itoa(len(rec)+1) + ":" + rec},
		{"a damaged record", "v2:7:41:3:abc"},
		{"another topic in the run", published(7, 41, a1, storetest.Message("b", 2))},
		{"too many records", "v2:7:41:" + strings.Repeat(strconv.Itoa(len(rec))+":"+rec, maxPublished+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if msgs, _, err := decodePublished(tc.payload); !errors.Is(err, whispeer.ErrCorrupt) {
				t.Errorf("decoded %d messages, %v; want ErrCorrupt", len(msgs), err)
			}
		})
	}
}

// TestBackplane_DamagedPayload checks that what does not decode on a
// watched channel is counted and logged as the count doubles, and that
// what follows is still delivered.
func TestBackplane_DamagedPayload(t *testing.T) {
	srv := redistest.Start(t)
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	bp, arrived := watching(t, srv, "bad", "t", WithBackplaneLogger(log))
	for _, p := range []string{"", "1:2:old", "v2:1:1:5:junk", "v2:x", "v2:1:1:99:" + strings.Repeat("z", 40)} {
		if _, err := srv.Do("SPUBLISH", bp.st.Channel("t"), p); err != nil {
			t.Fatal(err)
		}
	}
	s := batchStore(t, srv, "bad")
	if err := s.Append(t.Context(), storetest.Message("t", 1), nil); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-arrived:
		if a.m.Seq != 1 {
			t.Fatalf("received offset %d, want 1", a.m.Seq)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a message after damaged ones was not delivered")
	}
	if n := bp.Damaged(); n != 5 {
		t.Errorf("Damaged() = %d, want 5", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logs.String(), "damaged message"); n != 3 {
		t.Errorf("logged %d damaged messages of 5, want 3 (the 1st, 2nd and 4th):\n%s", n, logs.String())
	}
}

// lockedWriter is a writer safe for concurrent use.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
