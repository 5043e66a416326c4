package clustertest_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/internal/clustertest"
)

// TestCluster runs three nodes as processes on one redis-server and on a
// 3-master Redis Cluster, and checks what a user of a cluster relies on:
// every subscriber gets every message wherever it and the publisher are
// connected, wildcards included, a client resumes on another node, and
// Redis never sees a sealed message's plaintext.
func TestCluster(t *testing.T) {
	for _, kind := range []string{"redis", "redis-cluster"} {
		t.Run(kind, func(t *testing.T) {
			b := startBackend(t, kind)
			c := clustertest.Start(t, 3, clustertest.WithRedis(b.url))
			t.Run("DeliveryAcrossNodesOverEveryProtocol", func(t *testing.T) { testAcrossNodes(t, c) })
			t.Run("Wildcards", func(t *testing.T) { testWildcards(t, c) })
			t.Run("ResumeOnAnotherNode", func(t *testing.T) { testResume(t, c) })
			t.Run("SealedEndToEnd", func(t *testing.T) { testSealed(t, c, b) })
			t.Run("EveryNodeListsTheNodes", func(t *testing.T) { testNodes(t, c) })
			t.Run("AdminAnswersForEveryNode", func(t *testing.T) { testAdminAcrossNodes(t, c) })
		})
	}
}

// subscriber is one subscription of a test, over any protocol: next
// returns the topic and payload of its next message.
type subscriber struct {
	name string
	next func(t *testing.T) (topic, payload string)
}

// subscribeEvery subscribes to pattern on nd over PopSub JSON, native TCP
// and native WebSocket.
func subscribeEvery(t *testing.T, nd *clustertest.Node, tok, pattern string) []subscriber {
	t.Helper()
	j := clustertest.DialJSON(t, nd.WSURL, tok)
	j.Subscribe(t, pattern, map[string]any{"qos": 0})
	subs := []subscriber{{nd.Name + "/json", func(t *testing.T) (string, string) {
		f := j.Next(t, "message")
		return f.Topic, string(f.Payload)
	}}}
	for _, url := range []string{nd.TCPURL, nd.WSURL} {
		_, r := subscribeNative(t, dialNative(t, url, tok), pattern)
		subs = append(subs, subscriber{nd.Name + "/" + url[:strings.Index(url, ":")], func(t *testing.T) (string, string) {
			m := r.next(t)
			return m.Topic, string(m.Payload)
		}})
	}
	return subs
}

// publisher publishes at QoS 1 and returns once the node acknowledged.
type publisher func(t *testing.T, topic, payload string)

// publishers returns a publisher over PopSub JSON, native TCP and native
// WebSocket, each connected to nd.
func publishers(t *testing.T, nd *clustertest.Node, tok string) map[string]publisher {
	t.Helper()
	j := clustertest.DialJSON(t, nd.WSURL, tok)
	n := 0
	pubs := map[string]publisher{"json": func(t *testing.T, topic, payload string) {
		n++
		id := "j" + strconv.Itoa(n)
		j.Send(map[string]any{"type": "publish", "topic": topic, "payload": rawJSON(payload), "qos": 1, "message_id": id})
		if f := j.Next(t, "puback"); f.MessageID != id {
			t.Fatalf("puback of %s, want %s", f.MessageID, id)
		}
	}}
	for _, proto := range []string{"tcp", "ws"} {
		url := nd.TCPURL
		if proto == "ws" {
			url = nd.WSURL
		}
		c := dialNative(t, url, tok)
		pubs[proto] = func(t *testing.T, topic, payload string) {
			if err := c.Publish(context.Background(), topic, []byte(payload), client.WithQoS(client.AtLeastOnce)); err != nil {
				t.Fatalf("publish over %s: %v", proto, err)
			}
		}
	}
	return pubs
}

// rawJSON is a payload that is already JSON.
type rawJSON string

// MarshalJSON implements json.Marshaler.
func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

func testAcrossNodes(t *testing.T, c *clustertest.Cluster) {
	tok := c.Token(t)
	const n = 10
	var subs []subscriber
	for _, nd := range c.Nodes[1:] {
		subs = append(subs, subscribeEvery(t, nd, tok, "across/+")...)
	}
	pubs := publishers(t, c.Nodes[0], tok)
	for proto, pub := range pubs {
		for i := range n {
			pub(t, "across/"+proto, fmt.Sprintf(`"%s %d"`, proto, i))
		}
	}
	for _, s := range subs {
		next := map[string]int{}
		for range n * len(pubs) {
			topic, payload := s.next(t)
			proto := strings.TrimPrefix(topic, "across/")
			if want := fmt.Sprintf(`"%s %d"`, proto, next[proto]); payload != want {
				t.Fatalf("%s: got %s on %s, want %s: lost, duplicated or out of order", s.name, payload, topic, want)
			}
			next[proto]++
		}
	}
}

func testWildcards(t *testing.T, c *clustertest.Cluster) {
	tok := c.Token(t)
	topics := []string{"wild/a/x", "wild/b/x", "wild/a/y", "wild/b/y/z", "tame/a/x"}
	patterns := map[string][]string{ // what each pattern must get
		"wild/+/x": {"wild/a/x", "wild/b/x"},
		"wild/#":   {"wild/a/x", "wild/b/x", "wild/a/y", "wild/b/y/z"},
		"+/a/+":    {"wild/a/x", "wild/a/y", "tame/a/x"},
	}
	subs := map[string][]subscriber{}
	i := 0
	for p := range patterns {
		subs[p] = subscribeEvery(t, c.Nodes[1+i%2], tok, p)
		i++
	}
	pub := publishers(t, c.Nodes[0], tok)["tcp"]
	for _, topic := range topics {
		pub(t, topic, `"`+topic+`"`)
	}
	for p, want := range patterns {
		for _, s := range subs[p] {
			got := map[string]bool{}
			for range want {
				topic, payload := s.next(t)
				if payload != `"`+topic+`"` || !contains(want, topic) || got[topic] {
					t.Fatalf("%s on %s: got %s (%s), want each of %v once", p, s.name, topic, payload, want)
				}
				got[topic] = true
			}
		}
	}
}

// contains reports whether list has s.
func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func testResume(t *testing.T, c *clustertest.Cluster) {
	tok := c.Token(t)
	pub := publishers(t, c.Nodes[0], tok)["json"]
	first := clustertest.DialJSON(t, c.Nodes[1].WSURL, tok)
	sub := first.Subscribe(t, "resume/t", map[string]any{"qos": 0})
	if sub.Epoch == "" {
		t.Fatalf("subscribed without an epoch: %+v", sub)
	}
	var last uint64
	for i := range 3 {
		pub(t, "resume/t", strconv.Itoa(i))
		m := first.Next(t, "message")
		if string(m.Payload) != strconv.Itoa(i) || m.Offset <= last {
			t.Fatalf("message %s at offset %d after %d", m.Payload, m.Offset, last)
		}
		last = m.Offset
	}
	first.Close()
	for i := 3; i < 6; i++ {
		pub(t, "resume/t", strconv.Itoa(i))
	}
	again := clustertest.DialJSON(t, c.Nodes[2].WSURL, tok)
	res := again.Subscribe(t, "resume/t", map[string]any{"qos": 0, "offset": last, "epoch": sub.Epoch})
	if res.Recovered == nil || !*res.Recovered || res.Epoch != sub.Epoch {
		t.Fatalf("resume on another node: %+v, want recovered in epoch %s", res, sub.Epoch)
	}
	for i := 3; i < 6; i++ {
		m := again.Next(t, "message")
		if string(m.Payload) != strconv.Itoa(i) || m.Offset != last+1 {
			t.Fatalf("resumed message %s at offset %d, want %d at %d", m.Payload, m.Offset, i, last+1)
		}
		last = m.Offset
	}
}

func testSealed(t *testing.T, c *clustertest.Cluster, b *backend) {
	tok := c.Token(t)
	keys := envelope.NewKeyring()
	if _, err := keys.Generate(); err != nil {
		t.Fatal(err)
	}
	monitors := b.monitors(t)
	secret := make([]byte, 12)
	rand.Read(secret)
	plaintext := "plaintext " + hex.EncodeToString(secret)
	_, r := subscribeNative(t, dialNative(t, c.Nodes[1].TCPURL, tok, client.WithKeyring(keys)), "sealed/t")
	pub := dialNative(t, c.Nodes[0].TCPURL, tok, client.WithKeyring(keys))
	if err := pub.Publish(context.Background(), "sealed/t", []byte(plaintext), client.WithQoS(client.AtLeastOnce)); err != nil {
		t.Fatal(err)
	}
	if m := r.next(t); string(m.Payload) != plaintext {
		t.Fatalf("opened %q, want %q", m.Payload, plaintext)
	}
	if keys := b.keysContaining(t, []byte("sealed/t")); len(keys) == 0 {
		t.Fatal("no key of topic sealed/t in Redis: the message was not stored there")
	}
	if keys := b.keysContaining(t, []byte(plaintext)); len(keys) != 0 {
		t.Fatalf("the plaintext is in Redis, in %v", keys)
	}
	seen := false
	for _, m := range monitors {
		m.Stop()
		seen = seen || m.Contains([]byte("sealed/t"))
		if m.Contains([]byte(plaintext)) {
			t.Fatal("the plaintext was sent to Redis")
		}
	}
	if !seen {
		t.Fatal("Redis was sent no command naming sealed/t: the monitors saw nothing")
	}
}

func testNodes(t *testing.T, c *clustertest.Cluster) {
	want := []string{"node-0", "node-1", "node-2"}
	for _, nd := range c.Nodes {
		code, body, err := nd.Admin("/api/nodes")
		if err != nil || code != http.StatusOK {
			t.Fatalf("%s /api/nodes = %d %s, %v", nd.Name, code, body, err)
		}
		var list struct {
			Nodes []struct {
				Name string `json:"name"`
				Self bool   `json:"self"`
			} `json:"nodes"`
		}
		if err := json.Unmarshal([]byte(body), &list); err != nil {
			t.Fatalf("%s /api/nodes: %v: %s", nd.Name, err, body)
		}
		var names []string
		for _, n := range list.Nodes {
			names = append(names, n.Name)
			if n.Self != (n.Name == nd.Name) {
				t.Errorf("%s lists %s with self %v", nd.Name, n.Name, n.Self)
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, want) {
			t.Errorf("%s /api/nodes lists %v, want %v", nd.Name, names, want)
		}
	}
}

// testAdminAcrossNodes subscribes a JSON client on each node and checks
// that every node's admin API lists the three in the topic's presence and
// among the connections, with their nodes.
func testAdminAcrossNodes(t *testing.T, c *clustertest.Cluster) {
	tok := c.Token(t)
	for _, nd := range c.Nodes {
		j := clustertest.DialJSON(t, nd.WSURL, tok)
		j.Subscribe(t, "adm/room", map[string]any{"qos": 0})
	}
	want := []string{"node-0", "node-1", "node-2"}
	for _, nd := range c.Nodes {
		var p struct {
			Count   int `json:"count"`
			Clients []struct {
				Node string `json:"node"`
			} `json:"clients"`
			MissingNodes []string `json:"missing_nodes"`
		}
		adminJSON(t, nd, "/api/topics/adm%2Froom/presence", &p)
		var nodes []string
		for _, cl := range p.Clients {
			nodes = append(nodes, cl.Node)
		}
		slices.Sort(nodes)
		if p.Count != 3 || !slices.Equal(nodes, want) || len(p.MissingNodes) != 0 {
			t.Errorf("%s: presence %+v", nd.Name, p)
		}
		var cl struct {
			Connections []struct {
				Node string `json:"node"`
			} `json:"connections"`
		}
		adminJSON(t, nd, "/api/connections", &cl)
		seen := map[string]bool{}
		for _, conn := range cl.Connections {
			seen[conn.Node] = true
		}
		if len(seen) != 3 || !seen["node-0"] || !seen["node-1"] || !seen["node-2"] {
			t.Errorf("%s: connections on %v, want every node's", nd.Name, seen)
		}
	}
}

// adminJSON GETs path from nd's admin API and decodes its 200 answer into v.
func adminJSON(t *testing.T, nd *clustertest.Node, path string, v any) {
	t.Helper()
	code, body, err := nd.Admin(path)
	if err != nil || code != http.StatusOK {
		t.Fatalf("%s %s = %d %s, %v", nd.Name, path, code, body, err)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%s %s: %v: %s", nd.Name, path, err, body)
	}
}
