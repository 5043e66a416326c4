package clustertest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/internal/clustertest"
	"github.com/whispeer-io/whispeer/internal/redistest"
)

// TestCluster_KillANodeUnderQoS1Load kills a node with SIGKILL while
// publishers and a subscriber connected to it work at QoS 1: they
// reconnect to another node, and every message a node acknowledged
// reaches the subscriber that moved and one that stayed.
func TestCluster_KillANodeUnderQoS1Load(t *testing.T) {
	b := startBackend(t, "redis")
	c := clustertest.Start(t, 3, clustertest.WithRedis(b.url))
	tok := c.Token(t)
	stay, victim, rescue := c.Nodes[0], c.Nodes[1], c.Nodes[2]
	reconnect := client.WithReconnect(10*time.Millisecond, 200*time.Millisecond)

	_, stayed := subscribeNative(t, dialNative(t, stay.TCPURL, tok), "load/t", client.WithMaxQoS(client.AtLeastOnce))
	_, moved := subscribeNative(t, dialNative(t, victim.TCPURL, tok, failover(victim.TCPURL, rescue.TCPURL), reconnect),
		"load/t", client.WithMaxQoS(client.AtLeastOnce))
	pub := dialNative(t, victim.TCPURL, tok, failover(victim.TCPURL, rescue.TCPURL), reconnect)

	var acked acks
	var n atomic.Int64
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("p%d-%d", g, i)
				pctx, cancel := context.WithTimeout(ctx, waitTimeout)
				err := pub.Publish(pctx, "load/t", []byte(id), client.WithQoS(client.AtLeastOnce), client.WithID(id))
				cancel()
				if err == nil {
					acked.add(id)
					n.Add(1)
				}
			}
		})
	}
	waitCount(t, &n, 200)
	victim.Kill()
	waitCount(t, &n, n.Load()+200) // acknowledged by the node the clients moved to
	stop()
	wg.Wait()

	for name, r := range map[string]*received{"the subscriber that stayed": stayed, "the subscriber that moved": moved} {
		missing := map[string]bool{}
		for _, id := range acked.list() {
			missing[id] = true
		}
		for len(missing) > 0 {
			select {
			case m := <-r.ch:
				delete(missing, string(m.Payload))
			case <-time.After(waitTimeout):
				t.Fatalf("%s: %d of %d acknowledged messages never arrived", name, len(missing), len(acked.list()))
			}
		}
	}
}

// TestCluster_KilledNodeNamedMissing kills a node with SIGKILL: until it
// leaves the list of nodes, the others' admin API answers without it and
// names it, rather than failing or waiting past cluster.timeout.
func TestCluster_KilledNodeNamedMissing(t *testing.T) {
	b := startBackend(t, "redis")
	c := clustertest.Start(t, 3, clustertest.WithRedis(b.url))
	asker, victim := c.Nodes[0], c.Nodes[2]
	victim.Kill()
	// Asked together: each waits cluster.timeout (5 s) for the victim,
	// which leaves the list 10 s after its last heartbeat.
	var wg sync.WaitGroup
	for _, path := range []string{"/api/connections", "/api/topics", "/api/status"} {
		wg.Go(func() { checkMissing(t, asker, path, victim.Name) })
	}
	wg.Wait()
}

// checkMissing checks that nd's answer to path names the node missing.
func checkMissing(t *testing.T, nd *clustertest.Node, path, missingNode string) {
	var answer struct {
		MissingNodes []string `json:"missing_nodes"`
		Cluster      struct {
			Nodes        int      `json:"nodes"`
			MissingNodes []string `json:"missing_nodes"`
		} `json:"cluster"`
	}
	code, body, err := nd.Admin(path)
	if err != nil || code != http.StatusOK {
		t.Errorf("%s %s = %d %s, %v", nd.Name, path, code, body, err)
		return
	}
	if err := json.Unmarshal([]byte(body), &answer); err != nil {
		t.Errorf("%s %s: %v: %s", nd.Name, path, err, body)
		return
	}
	missing := answer.MissingNodes
	if path == "/api/status" {
		missing = answer.Cluster.MissingNodes
		if answer.Cluster.Nodes != 2 {
			t.Errorf("%s: %d nodes answered, want 2", path, answer.Cluster.Nodes)
		}
	}
	if len(missing) != 1 || missing[0] != missingNode {
		t.Errorf("%s: missing %v, want [%s]", path, missing, missingNode)
	}
}

// waitCount waits until n reaches want.
func waitCount(t *testing.T, n *atomic.Int64, want int64) {
	t.Helper()
	for deadline := time.Now().Add(waitTimeout); n.Load() < want; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d acknowledged publishes, want %d", n.Load(), want)
		}
	}
}

// TestCluster_RedisRestartedEmpty restarts Redis without its data: the
// nodes reconnect, the topic starts a new epoch, and a subscriber resuming
// in the old one is told it did not recover.
func TestCluster_RedisRestartedEmpty(t *testing.T) {
	b := startBackend(t, "redis")
	c := clustertest.Start(t, 3, clustertest.WithRedis(b.url))
	tok := c.Token(t)
	live := clustertest.DialJSON(t, c.Nodes[1].WSURL, tok)
	before := live.Subscribe(t, "restart/t", map[string]any{"qos": 0})
	pub := dialNative(t, c.Nodes[0].TCPURL, tok)
	for i := range 2 {
		if err := pub.Publish(context.Background(), "restart/t", []byte(strconv.Itoa(i)), client.WithQoS(client.AtLeastOnce)); err != nil {
			t.Fatal(err)
		}
	}
	var last uint64
	for range 2 {
		last = live.Next(t, "message").Offset
	}

	b.single.Restart()
	for _, nd := range c.Nodes {
		waitReadyz(t, nd, http.StatusOK)
	}
	publishUntilAcked(t, pub, "restart/t", `"after"`)
	if m := live.Next(t, "message"); string(m.Payload) != `"after"` {
		t.Fatalf("the live subscriber got %s after the restart, want after", m.Payload)
	}
	late := clustertest.DialJSON(t, c.Nodes[2].WSURL, tok)
	res := subscribeUntilDone(t, late, "restart/t", map[string]any{"qos": 0, "offset": last, "epoch": before.Epoch})
	if res.Recovered == nil || *res.Recovered || res.Epoch == before.Epoch || res.Epoch == "" {
		t.Fatalf("resume in the epoch before the restart (%s): %+v, want recovered false and a new epoch", before.Epoch, res)
	}
}

// subscribeUntilDone subscribes until the node answers subscribed rather
// than an error, as a client does while a node finds its connection to
// Redis broken and makes a new one.
func subscribeUntilDone(t *testing.T, c *clustertest.JSONConn, topic string, fields map[string]any) clustertest.Frame {
	t.Helper()
	m := map[string]any{"type": "subscribe", "topic": topic}
	for k, v := range fields {
		m[k] = v
	}
	for deadline := time.Now().Add(waitTimeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		c.Send(m)
		f, err := c.RecvAny("subscribed", "error")
		if err != nil {
			t.Fatalf("subscribe %s: %v", topic, err)
		}
		if f.Type == "subscribed" {
			return f
		}
	}
	t.Fatalf("subscribe %s: only errors for %v", topic, waitTimeout)
	return clustertest.Frame{}
}

// publishUntilAcked publishes at QoS 1 until a node acknowledges, as a
// client does while a node reconnects to Redis.
func publishUntilAcked(t *testing.T, c *client.Client, topic, payload string) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(waitTimeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = c.Publish(ctx, topic, []byte(payload), client.WithQoS(client.AtLeastOnce))
		cancel()
		if err == nil {
			return
		}
	}
	t.Fatalf("publish %s: %v", topic, err)
}

// TestCluster_NodeCutFromRedis cuts one node from Redis, its connections
// reset or, as when a network drops packets, silent: it reports the
// outage on /readyz while the others stay ready, a QoS 1 publish through
// it fails within cluster.timeout instead of waiting, a QoS 0 one still
// reaches its own subscriber (without an offset), its goroutines do not
// grow with the publishes its clients keep sending, and once the cut heals
// it is ready again and its subscribers get messages from other nodes.
func TestCluster_NodeCutFromRedis(t *testing.T) {
	t.Run("reset", func(t *testing.T) { testCut(t, (*redistest.Proxy).Cut) })
	t.Run("blackhole", func(t *testing.T) { testCut(t, (*redistest.Proxy).Blackhole) })
}

// testCut is TestCluster_NodeCutFromRedis with a way to cut.
func testCut(t *testing.T, cutOff func(*redistest.Proxy)) {
	r := redistest.Start(t)
	var proxies []*redistest.Proxy
	for range 3 {
		proxies = append(proxies, redistest.NewProxy(t, r.Addr))
	}
	c := clustertest.Start(t, 3, clustertest.WithRedisFor(func(i int) string { return proxies[i].URL() }),
		clustertest.WithFlags(func(int) []string { return []string{"--cluster.timeout=1s"} }))
	tok := c.Token(t)
	cut := c.Nodes[1]
	sub := clustertest.DialJSON(t, cut.WSURL, tok)
	sub.Subscribe(t, "part/t", map[string]any{"qos": 0})
	var pubs []*clustertest.JSONConn
	for range 20 {
		pubs = append(pubs, clustertest.DialJSON(t, cut.WSURL, tok))
	}
	before := goroutines(t, cut)

	cutOff(proxies[1])
	body := waitReadyz(t, cut, http.StatusServiceUnavailable)
	if !strings.Contains(strings.ToLower(body), "redis") {
		t.Errorf("/readyz of the cut node says %q; want it to name Redis", body)
	}
	for _, nd := range []*clustertest.Node{c.Nodes[0], c.Nodes[2]} {
		if code, body, err := nd.Readyz(); err != nil || code != http.StatusOK {
			t.Errorf("%s /readyz = %d %q, %v; want 200 while another node is cut", nd.Name, code, body, err)
		}
	}
	pubs[0].Send(map[string]any{"type": "publish", "topic": "part/t", "payload": 0, "qos": 1, "message_id": "cut"})
	if f := pubs[0].Next(t, "error"); f.MessageID != "" && f.MessageID != "cut" {
		t.Errorf("error frame %+v, want one for the publish cut", f)
	}
	// Its clients' QoS 0 publishes still reach its own subscriber, without
	// an offset, and are counted.
	stopLocal := make(chan struct{})
	var lwg sync.WaitGroup
	lwg.Go(func() {
		for {
			pubs[1].Send(map[string]any{"type": "publish", "topic": "part/t", "payload": "local"})
			select {
			case <-stopLocal:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	m := sub.Next(t, "message")
	close(stopLocal)
	lwg.Wait()
	if string(m.Payload) != `"local"` || m.Offset != 0 {
		t.Errorf("the cut node's subscriber got %s at offset %d, want the local publish without one", m.Payload, m.Offset)
	}
	if n := metric(t, cut, "whispeer_cluster_local_only_total"); n < 1 {
		t.Errorf("whispeer_cluster_local_only_total = %d after a local delivery", n)
	}
	for _, p := range pubs {
		for i := range 100 {
			p.Send(map[string]any{"type": "publish", "topic": "part/t", "payload": i})
		}
	}
	if after := goroutines(t, cut); after > before+100 {
		t.Errorf("goroutines of the cut node grew from %d to %d with 2,000 publishes waiting", before, after)
	}

	proxies[1].Heal()
	waitReadyz(t, cut, http.StatusOK)
	// Publish from another node until the cut node's subscriber has three
	// of these messages: it must get them all, in order, from the first,
	// whether they came live or from the store when the node saw the gap.
	pub := dialNative(t, c.Nodes[0].TCPURL, tok)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			for ctx.Err() == nil && pub.Publish(ctx, "part/t", []byte(fmt.Sprintf(`"healed %d"`, i)), client.WithQoS(client.AtLeastOnce)) != nil {
				time.Sleep(50 * time.Millisecond) // the node may still reconnect
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	defer wg.Wait()
	defer stop()
	for next := 0; next < 3; {
		m := sub.Next(t, "message")
		if !strings.HasPrefix(string(m.Payload), `"healed`) {
			continue // a publish made on the cut node, delivered once healed
		}
		if want := fmt.Sprintf(`"healed %d"`, next); string(m.Payload) != want {
			t.Fatalf("after the heal the cut node's subscriber got %s, want %s", m.Payload, want)
		}
		next++
	}
}

// goroutines reads go_goroutines from a node's /metrics.
func goroutines(t *testing.T, nd *clustertest.Node) int { return metric(t, nd, "go_goroutines") }

// metric reads the value of name, a metric without labels, from a node's
// /metrics.
func metric(t *testing.T, nd *clustertest.Node, name string) int {
	t.Helper()
	code, body, err := nd.Admin("/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("%s /metrics = %d, %v", nd.Name, code, err)
	}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
	}
	t.Fatalf("%s /metrics has no %s", nd.Name, name)
	return 0
}
