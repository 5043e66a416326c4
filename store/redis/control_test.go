package redis_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/internal/redistest"
	"github.com/whispeer-io/whispeer/store/redis"
)

// echo answers a request with its kind and its node's name, refuses the
// kind "fail", and passes notices on.
type echo struct {
	name    string
	notices chan string
}

func (e *echo) Answer(_ context.Context, from, kind string, body []byte) ([]byte, error) {
	if kind == "fail" {
		return nil, errors.New("refused")
	}
	return fmt.Appendf(nil, "%q", e.name+":"+kind+":"+from+":"+string(body)), nil
}

func (e *echo) Notice(from, kind string, body []byte) {
	e.notices <- from + ":" + kind + ":" + string(body)
}

// control starts the control channel of node name in the Redis at url
// under prefix, and closes it when the test ends.
func control(t *testing.T, url, prefix, name string) (*redis.Control, *echo) {
	t.Helper()
	st, err := redis.Open(url, redis.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	h := &echo{name: name, notices: make(chan string, 8)}
	c, err := redis.NewControl(st, name, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); st.Close() })
	return c, h
}

// TestControl_AskGathersAndNamesMissing asks two nodes and one that does
// not exist: the two answer, the third is named missing once the context
// ends, and a node's error is its reply's.
func TestControl_AskGathersAndNamesMissing(t *testing.T) {
	url := redistest.Start(t).URL()
	a, _ := control(t, url, "ctl", "a")
	control(t, url, "ctl", "b")
	control(t, url, "ctl", "c")

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	replies, missing, err := a.Ask(ctx, []string{"b", "c", "ghost"}, "status", []byte(`1`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range replies {
		got = append(got, r.Node+"="+string(r.Body))
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{`b="b:status:a:1"`, `c="c:status:a:1"`}) || !slices.Equal(missing, []string{"ghost"}) {
		t.Fatalf("replies %v, missing %v", got, missing)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	replies, missing, err = a.Ask(ctx, []string{"b"}, "fail", nil)
	if err != nil || len(missing) != 0 || len(replies) != 1 || replies[0].Err != "refused" {
		t.Fatalf("a refused request: %+v %v %v", replies, missing, err)
	}
}

// TestControl_DropsWhatIsDamagedOrTooLong publishes on the control channel
// what a broken node might: it is dropped and counted, and the node goes
// on answering.
func TestControl_DropsWhatIsDamagedOrTooLong(t *testing.T) {
	srv := redistest.Start(t)
	a, _ := control(t, srv.URL(), "ctl", "a")
	b, hb := control(t, srv.URL(), "ctl", "b")
	raw, err := redis.Open(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rc := raw.Client()
	for _, m := range []string{"not json", `{"id":"x"}`, `{"id":"x","from":"z","kind":"` + strings.Repeat("k", 100) + `"}`,
		`{"from":"z","kind":"n","body":"` + strings.Repeat("x", redis.MaxControlRequest) + `"}`} {
		if err := rc.Do(context.Background(), rc.B().Publish().Channel("ctl:ctl").Message(m).Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	replies, missing, err := a.Ask(ctx, []string{"b"}, "status", []byte(`{}`))
	if err != nil || len(missing) != 0 || len(replies) != 1 {
		t.Fatalf("after damaged messages: %+v %v %v", replies, missing, err)
	}
	if n := b.Dropped(); n != 4 {
		t.Errorf("dropped %d, want 4", n)
	}

	if err := a.Notify(ctx, "hello", []byte(`"hi"`)); err != nil {
		t.Fatal(err)
	}
	if got := <-hb.notices; got != `a:hello:"hi"` {
		t.Errorf("notice %q", got)
	}
}

// TestStore_Lease checks that one holder at a time has a lease, that
// releasing it or letting it expire lets another take it.
func TestStore_Lease(t *testing.T) {
	s := open(t, redistest.Start(t).URL())
	defer s.Close()
	ctx := context.Background()
	lease := func(holder string, ttl time.Duration) bool {
		t.Helper()
		ok, err := s.Lease(ctx, "job", holder, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !lease("a", time.Minute) || lease("b", time.Minute) || !lease("a", time.Minute) {
		t.Fatal("a takes and renews the lease, b does not take it")
	}
	if err := s.Release(ctx, "job", "b"); err != nil { // not b's: a keeps it
		t.Fatal(err)
	}
	if h, _ := s.LeaseHolder(ctx, "job"); h != "a" {
		t.Fatalf("holder %q after b's release, want a", h)
	}
	if err := s.Release(ctx, "job", "a"); err != nil {
		t.Fatal(err)
	}
	if !lease("b", 50*time.Millisecond) {
		t.Fatal("b does not take the released lease")
	}
	for lease("a", time.Minute) == false { // b stops renewing: its lease expires
		time.Sleep(10 * time.Millisecond)
	}
	if h, _ := s.LeaseHolder(ctx, "job"); h != "a" {
		t.Fatalf("holder %q after b's lease expired, want a", h)
	}
}
