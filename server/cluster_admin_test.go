package server

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/whispeer-io/whispeer/internal/redistest"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/admin"
	"github.com/whispeer-io/whispeer/server/config"
	"github.com/whispeer-io/whispeer/server/presence"
	"github.com/whispeer-io/whispeer/store/redis"
)

// TestCluster_PresenceAcrossNodes checks that presence covers every node:
// a subscriber on one node gets the joins and leaves of clients of the
// other, and the admin API, a JSON presence and a native PRESENCE on
// either node list the clients of both, with their nodes.
func TestCluster_PresenceAcrossNodes(t *testing.T) {
	url := redistest.Start(t).URL()
	a, b := clusterServer(t, url, "a"), clusterServer(t, url, "b")
	alice := a.authed(t, "alice")
	alice.send(`{"type":"subscribe","topic":"chat/room","presence":true}`)
	alice.expect("subscribed")

	onB := b.authedAs(t, "admin", "admin-json")
	onB.subscribe("chat/room")
	if f := alice.expectPresenceEvent("join", "chat/room", "admin"); f.str("client_id") != "admin-json" {
		t.Fatalf("join %v, want admin-json's", f)
	}
	native := b.presenceAuthed(t, "ws", "admin")
	native.send(&wire.Frame{Type: wire.TypeSubscribe, Subscribe: wire.Subscribe{SID: 7, Presence: true, Topic: []byte("chat/room")}})
	native.expect(wire.TypeSubAck)
	alice.expectPresenceEvent("join", "chat/room", "admin")

	var p admin.Presence
	if code := adminGet(t, a.httpURL()+"/api/topics/chat%2Froom/presence", &p); code != http.StatusOK {
		t.Fatalf("GET presence: %d", code)
	}
	var nodes []string
	for _, c := range p.Clients {
		nodes = append(nodes, c.User+"@"+c.Node)
	}
	if p.Count != 3 || p.Users != 2 || p.Truncated || len(p.MissingNodes) != 0 ||
		!slices.Equal(nodes, []string{"admin@b", "admin@b", "alice@a"}) {
		t.Fatalf("presence on a: %+v, clients %v", p, nodes)
	}

	alice.send(`{"type":"presence","topic":"chat/room"}`)
	if f := alice.expect("presence"); f["count"] != 3.0 || len(f["clients"].([]any)) != 3 {
		t.Fatalf("JSON presence on a: %v", f)
	}
	alice.send(`{"type":"presence_stats","topic":"chat/room"}`)
	alice.expectRaw(`{"type":"presence_stats","topic":"chat/room","clients":3,"users":2}`)
	info, clients := native.askPresence(1, "chat/room", false)
	if info.Code != 0 || info.Count != 3 || info.Users != 2 || len(clients) != 3 || clients[2][0] != "alice" {
		t.Fatalf("native PRESENCE on b: %+v %v", info, clients)
	}

	onB.send(`{"type":"unsubscribe","topic":"chat/room"}`)
	onB.expect("unsubscribed")
	alice.expectPresenceEvent("leave", "chat/room", "admin")
	native.expectJoinLeave(7, true, "admin")    // on its own node
	a.authed(t, "admin").subscribe("chat/room") // a join on a reaches b's watcher
	native.expectJoinLeave(7, false, "admin")
}

// TestCluster_PresenceUsersBeyondLimit checks that the distinct users
// present across the nodes are counted exactly when fewer clients are
// listed than are present: by the admin API with a small limit and by a
// JSON presence_stats past presence.list_limit.
func TestCluster_PresenceUsersBeyondLimit(t *testing.T) {
	url := redistest.Start(t).URL()
	small := func(c *config.Config) { clusterConfig(c, url, c.Cluster.Node); c.Presence.ListLimit = 5 }
	a := newTestServer(t, func(c *config.Config) { c.Cluster.Node = "a"; small(c) })
	b := newTestServer(t, func(c *config.Config) { c.Cluster.Node = "b"; small(c) })
	join := func(s *testServer, from, to int) { // users from to to-1, each with two connections
		for i := from; i < to; i++ {
			for _, conn := range []string{"ws:" + strconv.Itoa(2*i), "ws:" + strconv.Itoa(2*i+1)} {
				c := presence.Client{User: "u" + strconv.Itoa(i), ClientID: conn, Conn: conn}
				s.presence.Join("chat/room", c, presence.Key{SID: 1, Pattern: "chat/room"}, nil)
			}
		}
	}
	join(a, 0, 30)
	join(b, 20, 50) // 10 users on both nodes
	var p admin.Presence
	if code := adminGet(t, a.httpURL()+"/api/topics/chat%2Froom/presence?limit=3", &p); code != http.StatusOK {
		t.Fatalf("GET presence: %d", code)
	}
	if p.Count != 120 || p.Users != 50 || len(p.Clients) != 3 || !p.Truncated {
		t.Fatalf("presence with limit 3: count %d users %d clients %d truncated %v; want 120, 50, 3, true",
			p.Count, p.Users, len(p.Clients), p.Truncated)
	}
	alice := b.authed(t, "alice")
	alice.send(`{"type":"presence_stats","topic":"chat/room"}`)
	alice.expectRaw(`{"type":"presence_stats","topic":"chat/room","clients":120,"users":50}`)
}

// TestUserCount checks the distinct users across nodes: exact when every
// node lists all its own, else at least the most of any one node.
func TestUserCount(t *testing.T) {
	u := userCount{all: true, set: map[string]struct{}{}}
	u.add([]string{"a", "b"}, 2, true)
	u.add([]string{"b", "c"}, 2, true)
	if n := u.count(); n != 3 {
		t.Fatalf("every list complete: %d users, want 3", n)
	}
	u.add([]string{"d"}, 7, false)
	if n := u.count(); n != 7 {
		t.Fatalf("a node with 7 users listing 1: %d users, want 7 at least", n)
	}
	u.add([]string{"e", "f", "g", "h", "i"}, 9, false)
	if n := u.count(); n != 9 {
		t.Fatalf("%d users, want 9: the union 9 and the most of one node 9", n)
	}
}

// TestCluster_DisconnectUserOnEveryNode closes a user's connections on
// both nodes through one node's admin API.
func TestCluster_DisconnectUserOnEveryNode(t *testing.T) {
	url := redistest.Start(t).URL()
	a, b := clusterServer(t, url, "a"), clusterServer(t, url, "b")
	onA, onB := a.authed(t, "alice"), b.authed(t, "alice")
	native := b.nativeAuthed(t, "tcp", "alice")
	bob := b.authed(t, "bob")
	code, body := api(t, "DELETE", a.httpURL()+"/api/users/alice/connections", adminToken, "")
	if code != http.StatusOK || !strings.Contains(body, `"closed": 3`) || strings.Contains(body, "missing_nodes") {
		t.Fatalf("disconnect: %d %s", code, body)
	}
	for _, c := range []*client{onA, onB} {
		if st := c.closeStatus(); st != websocket.StatusPolicyViolation {
			t.Errorf("JSON connection closed with %v", st)
		}
	}
	if text := native.expectError(wire.CodeForbidden, true, 0); !strings.Contains(text, "administrator") {
		t.Errorf("native ERROR %q", text)
	}
	bob.sync()
}

// TestCluster_TopicsConnectionsStatus lists the topics and connections of
// both nodes through either, with each connection's node, and the
// cluster's totals in the status.
func TestCluster_TopicsConnectionsStatus(t *testing.T) {
	url := redistest.Start(t).URL()
	a, b := clusterServer(t, url, "a"), clusterServer(t, url, "b")
	x, y, z := a.authed(t, "admin"), b.authed(t, "admin"), b.authed(t, "alice")
	x.subscribe("t/a")
	x.subscribe("t/both")
	y.subscribe("t/b")
	y.subscribe("t/both")
	z.subscribe("chat/z")

	var tl admin.TopicList
	if code := adminGet(t, b.httpURL()+"/api/topics?pattern=t/%23", &tl); code != http.StatusOK {
		t.Fatalf("GET topics: %d", code)
	}
	var got []string
	for _, tp := range tl.Topics {
		got = append(got, tp.Name+":"+string(rune('0'+tp.Subscribers)))
	}
	if !slices.Equal(got, []string{"t/a:1", "t/b:1", "t/both:2"}) || tl.Truncated || len(tl.MissingNodes) != 0 {
		t.Fatalf("topics on b: %v (%+v)", got, tl)
	}
	if adminGet(t, a.httpURL()+"/api/topics?limit=2&pattern=t/%23", &tl); len(tl.Topics) != 2 || !tl.Truncated {
		t.Fatalf("topics limited to 2: %+v", tl)
	}

	var cl admin.ConnectionList
	adminGet(t, a.httpURL()+"/api/connections", &cl)
	got = nil
	for _, c := range cl.Connections {
		got = append(got, c.User+"@"+c.Node)
	}
	if !slices.Equal(got, []string{"admin@a", "admin@b", "alice@b"}) {
		t.Fatalf("connections on a: %v", got)
	}
	adminGet(t, a.httpURL()+"/api/connections?user=alice", &cl)
	if len(cl.Connections) != 1 || cl.Connections[0].Node != "b" {
		t.Fatalf("alice's connections: %+v", cl)
	}

	var st admin.Status
	adminGet(t, a.httpURL()+"/api/status", &st)
	if st.Connections != 1 || st.Cluster == nil || st.Cluster.Nodes != 2 || st.Cluster.Connections != 3 || st.Cluster.Subscriptions != 5 {
		t.Fatalf("status on a: %+v cluster %+v", st, st.Cluster)
	}
}

// TestCluster_MissingNodeNamed registers a node that never answers: the
// admin API answers within cluster.timeout with the others' views and
// names it, rather than failing or waiting.
func TestCluster_MissingNodeNamed(t *testing.T) {
	url := redistest.Start(t).URL()
	short := func(c *config.Config) { c.Cluster.Timeout = time.Second }
	a := newTestServer(t, func(c *config.Config) { clusterConfig(c, url, "a"); short(c) })
	b := newTestServer(t, func(c *config.Config) { clusterConfig(c, url, "b"); short(c) })
	st, err := redis.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Register(context.Background(), redis.NodeInfo{Name: "ghost", StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	b.authed(t, "admin").subscribe("t/b")

	var cl admin.ConnectionList
	adminGet(t, a.httpURL()+"/api/connections", &cl)
	if len(cl.Connections) != 1 || cl.Connections[0].Node != "b" || !slices.Equal(cl.MissingNodes, []string{"ghost"}) {
		t.Fatalf("connections with a node missing: %+v", cl)
	}
	var p admin.Presence
	adminGet(t, a.httpURL()+"/api/topics/t%2Fb/presence", &p)
	if p.Count != 1 || !slices.Equal(p.MissingNodes, []string{"ghost"}) {
		t.Fatalf("presence with a node missing: %+v", p)
	}
	code, body := api(t, "DELETE", a.httpURL()+"/api/users/nobody/connections", adminToken, "")
	if code != http.StatusOK || !strings.Contains(body, `"ghost"`) {
		t.Fatalf("disconnect with a node missing: %d %s", code, body)
	}
}

// TestCluster_RetentionByOneNode checks that one node at a time holds the
// retention lease and trims, and that the other takes over when the
// holder stops.
func TestCluster_RetentionByOneNode(t *testing.T) {
	url := redistest.Start(t).URL()
	retain := func(c *config.Config) {
		c.Store.RetentionInterval = 50 * time.Millisecond
		c.Store.Retention = []config.RetentionRule{{Pattern: "r/#", MaxMessages: 2}}
	}
	a := newTestServer(t, func(c *config.Config) { clusterConfig(c, url, "a"); retain(c) })
	b := newTestServer(t, func(c *config.Config) { clusterConfig(c, url, "b"); retain(c) })
	st, err := redis.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	holder := waitFor(t, "a lease holder", func() (string, bool) {
		h, err := st.LeaseHolder(context.Background(), "retention")
		return h, err == nil && h != ""
	})
	servers := map[string]*testServer{"a": a, "b": b}
	other := map[string]string{"a": "b", "b": "a"}[holder]
	if held, _ := st.Lease(context.Background(), "retention", other, time.Minute); held {
		t.Fatalf("%s took the lease %s holds", other, holder)
	}
	servers[other].authed(t, "admin").publishAcked("r/1", 1, 5)
	waitFor(t, "the log trimmed to 2", func() (int, bool) {
		var tp admin.Topic
		adminGet(t, servers[other].httpURL()+"/api/topics/r%2F1", &tp)
		return tp.Retained, tp.Retained == 2
	})

	if err := servers[holder].Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lease moved to "+other, func() (string, bool) {
		h, _ := st.LeaseHolder(context.Background(), "retention")
		return h, h == other
	})
	servers[other].authed(t, "admin").publishAcked("r/1", 6, 9)
	waitFor(t, "the log trimmed to 2 by "+other, func() (uint64, bool) {
		var tp admin.Topic
		adminGet(t, servers[other].httpURL()+"/api/topics/r%2F1", &tp)
		return tp.FirstOffset, tp.Retained == 2 && tp.FirstOffset == 8
	})
}

// TestCluster_LeaseNotTakenAfterStop checks that a node that gave up the
// retention lease as it stops does not take it again while its broker
// still runs: the broker stops after the node.
func TestCluster_LeaseNotTakenAfterStop(t *testing.T) {
	url := redistest.Start(t).URL()
	n, err := openNode(config.Cluster{Redis: config.Secret(url), Node: "a", Prefix: "whispeer", Timeout: time.Second}, time.Minute, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer n.st.Close()
	defer n.bp.Close()
	lease := n.holdLease(time.Second)
	if !lease(context.Background()) {
		t.Fatal("a node alone did not take the lease")
	}
	(&Server{node: n}).stopNode()
	if lease(context.Background()) {
		t.Fatal("the stopped node took the lease again")
	}
	if h, err := n.st.LeaseHolder(context.Background(), retentionLease); err != nil || h != "" {
		t.Fatalf("lease holder after stop = %q, %v; want none", h, err)
	}
}

// clusterConfig makes c the configuration of node name of a cluster on
// the Redis at url, with the admin API.
func clusterConfig(c *config.Config, url, name string) {
	c.Store.Kind = config.StoreSQLite
	c.Cluster.Redis, c.Cluster.Node = config.Secret(url), name
	withAdmin(c)
}

// waitFor polls cond until it holds, failing the test after 20 seconds
// with the last value cond saw.
func waitFor[T any](t *testing.T, what string, cond func() (T, bool)) T {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, ok := cond()
		if ok {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: last %v", what, v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
