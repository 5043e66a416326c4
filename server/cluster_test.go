package server

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/whispeer-io/whispeer/internal/redistest"
	"github.com/whispeer-io/whispeer/server/admin"
	"github.com/whispeer-io/whispeer/server/config"
)

// clusterServer starts a server that is the node name of a cluster on
// the Redis at url.
func clusterServer(t *testing.T, url, name string) *testServer {
	t.Helper()
	return newTestServer(t, func(c *config.Config) {
		c.Store.Kind = config.StoreSQLite // the default, which a cluster replaces
		c.Cluster.Redis, c.Cluster.Node = config.Secret(url), name
		withAdmin(c)
	})
}

// TestCluster_JSONAcrossNodes publishes on one node and checks that JSON
// subscribers on another receive the messages, to a topic and to a
// pattern, with their offsets; that a subscriber resumes on the other
// node from an offset it got on the first; and that both nodes list
// each other and are ready.
func TestCluster_JSONAcrossNodes(t *testing.T) {
	url := redistest.Start(t).URL()
	a, b := clusterServer(t, url, "a"), clusterServer(t, url, "b")
	exact, pattern := b.authed(t, "admin"), b.authed(t, "admin")
	exact.subscribe("room/1")
	pattern.subscribe("room/+")
	a.authed(t, "admin").publishAcked("room/1", 1, 5)
	for i := 1; i <= 5; i++ {
		for _, c := range []*client{exact, pattern} {
			if m := c.expectMessage("room/1", strconv.Itoa(i)); m["offset"] != float64(i) {
				t.Fatalf("message %v, want offset %d", m, i)
			}
		}
	}

	first := a.authed(t, "admin")
	first.send(`{"type":"subscribe","topic":"room/1","offset":0}`)
	ack := first.expect("subscribed")
	epoch := ack.str("epoch")
	if ack["recovered"] != true || ack["offset"] != 5.0 || epoch == "" {
		t.Fatalf("subscribed %v", ack)
	}
	for i := 1; i <= 3; i++ {
		first.expectMessage("room/1", strconv.Itoa(i))
	}
	first.closeNow()
	b.authed(t, "admin").publishAcked("room/1", 6, 7)
	moved := b.authed(t, "admin")
	moved.send(`{"type":"subscribe","topic":"room/1","offset":3,"epoch":"` + epoch + `"}`)
	if ack := moved.expect("subscribed"); ack["recovered"] != true || ack.str("epoch") != epoch {
		t.Fatalf("resumed on the other node: %v (epoch %s)", ack, epoch)
	}
	for i := 4; i <= 7; i++ {
		if m := moved.expectMessage("room/1", strconv.Itoa(i)); m["offset"] != float64(i) {
			t.Fatalf("resumed message %v, want offset %d", m, i)
		}
	}

	var nodes admin.NodeList
	if code := adminGet(t, a.httpURL()+"/api/nodes", &nodes); code != http.StatusOK {
		t.Fatalf("GET /api/nodes: %d", code)
	}
	if len(nodes.Nodes) != 2 || nodes.Nodes[0].Name != "a" || !nodes.Nodes[0].Self || nodes.Nodes[1].Name != "b" {
		t.Fatalf("GET /api/nodes on a: %+v", nodes)
	}
	if code := adminGet(t, b.httpURL()+"/readyz", nil); code != http.StatusOK {
		t.Fatalf("GET /readyz: %d", code)
	}
}

// TestCluster_QoS2RetryOnAnotherNode publishes a QoS 2 message on one
// node, drops the connection before PUBREL as a publisher whose node died
// would, and retransmits it through another node under the same client
// id: the retry is answered pubrec, and subscribers on both nodes receive
// the message once.
func TestCluster_QoS2RetryOnAnotherNode(t *testing.T) {
	url := redistest.Start(t).URL()
	a, b := clusterServer(t, url, "a"), clusterServer(t, url, "b")
	onA, onB := a.authed(t, "admin"), b.authed(t, "admin")
	onA.subscribe("pay")
	onB.subscribe("pay")
	publish := func(pub *client, id string) {
		t.Helper()
		pub.send(`{"type":"publish","topic":"pay","payload":"` + id + `","message_id":"` + id + `","qos":2}`)
		pub.expectQoS2("pubrec", id)
	}
	first := a.authedAs(t, "admin", "payer")
	publish(first, "x")
	first.closeNow()
	retry := b.authedAs(t, "admin", "payer")
	publish(retry, "x")
	retry.send(`{"type":"pubrel","message_id":"x"}`)
	retry.expectQoS2("pubcomp", "x")
	publish(retry, "y")
	for _, c := range []*client{onA, onB} {
		if m := c.expectMessage("pay", `"x"`); m["offset"] != 1.0 {
			t.Fatalf("message %v, want offset 1", m)
		}
		if m := c.expectMessage("pay", `"y"`); m["offset"] != 2.0 {
			t.Fatalf("message %v after x, want y at offset 2 (x once)", m)
		}
	}
}
