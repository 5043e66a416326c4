package presence_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/whispeer-io/whispeer/server/presence"
)

// recorder collects the events a watcher gets.
type recorder struct {
	mu     sync.Mutex
	events []presence.Event
}

func (r *recorder) watch(e presence.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) got() []presence.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func client(user, conn string) presence.Client {
	return presence.Client{User: user, ClientID: "c-" + conn, Conn: conn}
}

func TestRegistry_JoinLeaveEvents(t *testing.T) {
	r := presence.New(10)
	var ann recorder
	r.Join("chat", client("ann", "ws:1"), presence.Key{Pattern: "chat"}, ann.watch)
	if got := ann.got(); len(got) != 0 {
		t.Fatalf("a client got its own join: %+v", got)
	}
	bob := client("bob", "ws:2")
	r.Join("chat", bob, presence.Key{SID: 1}, nil)
	r.Join("chat", bob, presence.Key{SID: 2}, nil) // a second subscription: no second join
	r.Leave("chat", "ws:2", presence.Key{SID: 1})  // one left: still present
	r.Leave("chat", "ws:2", presence.Key{SID: 2})
	want := []presence.Event{{Topic: "chat", Join: true, Client: bob}, {Topic: "chat", Client: bob}}
	if got := ann.got(); !slices.Equal(got, want) {
		t.Errorf("events = %+v, want %+v", got, want)
	}
	if st := r.Stats("chat"); st != (presence.Stats{Clients: 1, Users: 1}) {
		t.Errorf("stats = %+v, want 1 client, 1 user", st)
	}
	r.Leave("chat", "ws:1", presence.Key{Pattern: "chat"})
	if n := r.Topics(); n != 0 {
		t.Errorf("topics after everyone left = %d, want 0", n)
	}
	r.Leave("chat", "ws:1", presence.Key{Pattern: "chat"}) // unknown: a no-op
}

func TestRegistry_ListAndStats(t *testing.T) {
	r := presence.New(0)
	r.Join("t", client("zoe", "ws:3"), presence.Key{SID: 1}, nil)
	r.Join("t", client("ann", "ws:2"), presence.Key{SID: 1}, nil)
	r.Join("t", client("ann", "tcp:1"), presence.Key{SID: 1}, nil)
	r.Join("other", client("bob", "ws:9"), presence.Key{SID: 1}, nil)
	got, total := r.List("t", 0)
	want := []presence.Client{client("ann", "tcp:1"), client("ann", "ws:2"), client("zoe", "ws:3")}
	if total != 3 || !slices.Equal(got, want) {
		t.Errorf("List = %+v, %d; want %+v, 3", got, total, want)
	}
	if got, total := r.List("t", 2); total != 3 || len(got) != 2 {
		t.Errorf("List with limit 2 = %d clients of %d, want 2 of 3", len(got), total)
	}
	if got, total := r.List("none", 5); total != 0 || len(got) != 0 {
		t.Errorf("List of an empty topic = %+v, %d", got, total)
	}
	if st := r.Stats("t"); st != (presence.Stats{Clients: 3, Users: 2}) {
		t.Errorf("Stats = %+v, want 3 clients, 2 users", st)
	}
}

func TestRegistry_NoEventsPastLimit(t *testing.T) {
	const limit = 3
	r := presence.New(limit)
	var first recorder
	r.Join("t", client("u0", "c0"), presence.Key{SID: 1}, first.watch)
	for i := 1; i < 6; i++ {
		r.Join("t", client(fmt.Sprint("u", i), fmt.Sprint("c", i)), presence.Key{SID: 1}, nil)
	}
	// Joins 2 and 3 (counts 2 and 3) are sent; 4, 5 and 6 are not.
	if n := len(first.got()); n != limit-1 {
		t.Fatalf("joins seen = %d, want %d", n, limit-1)
	}
	for i := 5; i >= 1; i-- { // leaves counted with the one leaving: 6, 5, 4 not sent, then 3, 2
		r.Leave("t", fmt.Sprint("c", i), presence.Key{SID: 1})
	}
	got := first.got()
	if len(got) != 2*(limit-1) {
		t.Fatalf("events = %d, want %d: %+v", len(got), 2*(limit-1), got)
	}
	for _, e := range got[limit-1:] {
		if e.Join {
			t.Errorf("a join among the leaves: %+v", e)
		}
	}
}

func TestRegistry_Concurrent(t *testing.T) {
	r := presence.New(1000)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client("u", fmt.Sprint("c", i))
			for range 100 {
				r.Join("t", c, presence.Key{SID: 1}, func(presence.Event) {})
				r.List("t", 3)
				r.Leave("t", c.Conn, presence.Key{SID: 1})
			}
		}()
	}
	wg.Wait()
	if st := r.Stats("t"); st != (presence.Stats{}) {
		t.Errorf("stats after all left = %+v", st)
	}
}

// TestRegistry_RelayAndDeliver checks what a cluster's servers exchange:
// the relay gets each join and leave while the topic is within the event
// limit, watcher or not, and Deliver gives another server's events to the
// watchers here within the same limit.
func TestRegistry_RelayAndDeliver(t *testing.T) {
	var relayed recorder
	r := presence.New(2, presence.WithRelay(relayed.watch))
	ann, bob, cid := client("ann", "ws:1"), client("bob", "ws:2"), client("cid", "ws:3")
	r.Join("chat", bob, presence.Key{SID: 1}, nil) // no watcher here: relayed still
	r.Leave("chat", "ws:2", presence.Key{SID: 1})
	want := []presence.Event{{Topic: "chat", Join: true, Client: bob}, {Topic: "chat", Client: bob}}
	if got := relayed.got(); !slices.Equal(got, want) {
		t.Fatalf("relayed %+v, want %+v", got, want)
	}

	var watched recorder
	r.Join("chat", ann, presence.Key{SID: 1}, watched.watch)
	remote := presence.Event{Topic: "chat", Join: true, Client: presence.Client{User: "zed", ClientID: "z", Conn: "b/ws:9"}}
	r.Deliver(remote)
	r.Deliver(presence.Event{Topic: "other", Client: remote.Client}) // no one here
	if got := watched.got(); !slices.Equal(got, []presence.Event{remote}) {
		t.Fatalf("delivered %+v, want the remote join", got)
	}
	r.Join("chat", bob, presence.Key{SID: 1}, nil)
	r.Join("chat", cid, presence.Key{SID: 1}, nil) // 3 clients: past the limit of 2
	n := len(relayed.got())
	r.Deliver(remote)
	r.Leave("chat", "ws:3", presence.Key{SID: 1}) // counted with the one leaving: 3
	if got := relayed.got(); len(got) != n {
		t.Errorf("relayed past the limit: %+v", got[n:])
	}
	if got := watched.got(); len(got) != 2 { // the remote join and bob's join
		t.Errorf("delivered past the limit: %+v", got)
	}
	users := r.Users("chat", 0)
	slices.Sort(users)
	if !slices.Equal(users, []string{"ann", "bob"}) || len(r.Users("chat", 1)) != 1 {
		t.Errorf("users %v", users)
	}
}
