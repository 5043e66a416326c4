package storetest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
)

// The random appends test reads its size and seed from these.
const (
	// EnvAppends sets how many appends the RandomAppends test makes in
	// all, such as 1000000; by default 50,000, and 10,000 with -short.
	EnvAppends = "WHISPEER_STORETEST_APPENDS"
	// EnvSeed sets the seed of the random appends, to replay a failure.
	EnvSeed = "WHISPEER_STORETEST_SEED"
)

// randomTopics is how many topics the random appends spread over.
const randomTopics = 7

// randomAppends returns how many appends testRandomAppends makes.
func randomAppends(t *testing.T) int {
	if v := os.Getenv(EnvAppends); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a count", EnvAppends, v)
		}
		return n
	}
	if testing.Short() {
		return 10_000
	}
	return 50_000
}

func randomSeed(t *testing.T) uint64 {
	if v := os.Getenv(EnvSeed); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want a number", EnvSeed, v)
		}
		return seed
	}
	return uint64(time.Now().UnixNano())
}

// randomRun is the state of one testRandomAppends: what each append i was
// given and what became of it.
type randomRun struct {
	s     whispeer.Store
	n     int
	next  atomic.Int64   // the next append's index
	seqs  []uint64       // the offset Append gave append i
	tps   []uint8        // the topic append i went to
	calls []atomic.Int32 // how many times append i's done was called
	wg    sync.WaitGroup // one per append whose done has not been called
	fail  atomic.Value   // the first error a done reported
}

// testRandomAppends appends from several goroutines at once, in bursts of
// random sizes (up to tens of thousands, not waiting for durability) and
// trickles (one at a time, each waiting for its done), to a few topics. It
// checks that every append is stored exactly once at the offset Append
// gave it, intact, and that every done is called exactly once, without
// error, for its own message.
func testRandomAppends(t *testing.T, s whispeer.Store) {
	seed := randomSeed(t)
	r := &randomRun{s: s, n: randomAppends(t)}
	r.seqs, r.tps = make([]uint64, r.n), make([]uint8, r.n)
	r.calls = make([]atomic.Int32, r.n)
	t.Logf("%d appends, seed %d (%s=%d replays it)", r.n, seed, EnvSeed, seed)
	var workers sync.WaitGroup
	for w := range 4 {
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		workers.Go(func() {
			if err := r.work(rng); err != nil {
				t.Error(err)
			}
		})
	}
	workers.Wait()
	if !waitFor(r.wg.Wait) {
		t.Fatalf("dones not called %v after the last append: %d of %d missing", doneTimeout, r.missing(), r.n)
	}
	if err := r.fail.Load(); err != nil {
		t.Fatalf("done reported %v", err)
	}
	if t.Failed() {
		return
	}
	r.check(t)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i := range r.calls {
		if c := r.calls[i].Load(); c != 1 {
			t.Fatalf("append %d: done called %d times, want once", i, c)
		}
	}
}

// work appends bursts and trickles until the run's appends are all made.
func (r *randomRun) work(rng *rand.Rand) error {
	for {
		// Burst sizes are spread evenly over their orders of magnitude,
		// 1 to 20,000.
		size := int(math.Exp(rng.Float64() * math.Log(20_000)))
		for range size {
			if _, more, err := r.append(rng); !more || err != nil {
				return err
			}
		}
		for range rng.IntN(8) {
			done, more, err := r.append(rng)
			if !more || err != nil {
				return err
			}
			if !waitFor(func() { <-done }) {
				return fmt.Errorf("a done not called %v after its append: %d of %d missing", doneTimeout, r.missing(), r.n)
			}
		}
	}
}

// append makes the run's next append, to a random topic; done is closed
// once its done is called. more is false once every append was made.
func (r *randomRun) append(rng *rand.Rand) (done chan struct{}, more bool, err error) {
	i := int(r.next.Add(1) - 1)
	if i >= r.n {
		return nil, false, nil
	}
	r.tps[i] = uint8(rng.IntN(randomTopics))
	m := randomMessage(i, int(r.tps[i]))
	done = make(chan struct{})
	r.wg.Add(1)
	err = r.s.Append(ctx, m, func(err error) {
		if r.calls[i].Add(1) != 1 {
			return // counted; check reports it
		}
		if err != nil {
			r.fail.CompareAndSwap(nil, fmt.Errorf("append %d: %w", i, err))
		}
		close(done)
		r.wg.Done()
	})
	if err != nil {
		r.wg.Done()
		return nil, false, fmt.Errorf("Append %d: %w", i, err)
	}
	r.seqs[i] = m.Seq
	return done, true, nil
}

// check reads every topic back: offsets 1..Last with no gap, each append
// once, where Append put it, intact.
func (r *randomRun) check(t *testing.T) {
	seen := make([]bool, r.n)
	total := 0
	for tp := range randomTopics {
		topic := randomTopic(tp)
		next := uint64(1)
		err := r.s.Read(ctx, topic, 1, 0, func(m *whispeer.Message) error {
			if m.Seq != next {
				return fmt.Errorf("offset %d after %d", m.Seq, next-1)
			}
			next++
			i, err := strconv.Atoi(m.ID)
			if err != nil || i < 0 || i >= r.n {
				return fmt.Errorf("offset %d: id %q is no append's", m.Seq, m.ID)
			}
			if seen[i] {
				return fmt.Errorf("append %d stored twice, again at offset %d", i, m.Seq)
			}
			seen[i] = true
			want := randomMessage(i, int(r.tps[i]))
			want.Seq = r.seqs[i]
			if d := Same(m, want); d != "" {
				return fmt.Errorf("append %d: %s", i, d)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", topic, err)
		}
		total += int(next - 1)
	}
	if total != r.n {
		for i, ok := range seen {
			if !ok {
				t.Fatalf("read %d messages, want %d: append %d is missing", total, r.n, i)
			}
		}
	}
}

func randomTopic(i int) string { return "rand/" + strconv.Itoa(i) }

// randomMessage returns append i, to topic tp: a small payload derived
// from i, of 8 to 23 bytes.
func randomMessage(i, tp int) *whispeer.Message {
	p := binary.LittleEndian.AppendUint64(make([]byte, 0, 24), uint64(i))
	p = append(p, bytes.Repeat([]byte{byte(i)}, i%16)...)
	return &whispeer.Message{Topic: randomTopic(tp), ID: strconv.Itoa(i), Payload: p,
		QoS: whispeer.QoS(i % 2), Sealed: i%3 == 0, Time: base.Add(time.Duration(i))}
}

// missing returns how many dones have not been called.
func (r *randomRun) missing() int {
	n := 0
	for i := range r.calls {
		if r.calls[i].Load() == 0 {
			n++
		}
	}
	return n
}

// doneTimeout is how long after an append its done may take to be called
// before the test fails: a done never called fails the test instead of
// hanging it.
const doneTimeout = 2 * time.Minute

// awaitDones waits for wg, which counts appends whose done has not been
// called, and fails t when one is not called within doneTimeout.
func awaitDones(t testing.TB, wg *sync.WaitGroup) {
	t.Helper()
	if !waitFor(wg.Wait) {
		t.Fatalf("a done was not called within %v of its Append", doneTimeout)
	}
}

// waitFor runs wait and reports whether it returned within doneTimeout.
func waitFor(wait func()) bool {
	ok := make(chan struct{})
	go func() {
		wait()
		close(ok)
	}()
	select {
	case <-ok:
		return true
	case <-time.After(doneTimeout):
		return false
	}
}
