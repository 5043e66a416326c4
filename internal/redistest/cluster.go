package redistest

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/internal/proctest"
)

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// clusterNodeTimeout is the nodes' cluster-node-timeout in milliseconds:
// short, so that a test sees a node's failure and return quickly.
const clusterNodeTimeout = 2000

// Cluster is a Redis Cluster of masters without replicas, started by
// StartCluster.
type Cluster struct {
	// Nodes are the cluster's masters; a node's Restart brings it back
	// empty with its identity and slots, as a master that lost its data.
	Nodes []*Server

	t testing.TB
}

// StartCluster runs n redis-server masters (at least 3) with
// --cluster-enabled yes on free loopback ports, joins them with redis-cli
// --cluster create, and returns once every node reports cluster_state:ok
// and knows every slot. The nodes are killed when the test ends.
func StartCluster(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	if n < 3 {
		t.Fatalf("redistest: a Redis Cluster needs at least 3 masters, not %d", n)
	}
	cli := lookPath(t, "redis-cli")
	var c config
	for _, o := range opts {
		o(&c)
	}
	cl := &Cluster{t: t}
	for range n {
		s := newServer(t, 1)
		s.args = func(port int) []string {
			args := append(baseArgs(s.dir, port),
				"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", strconv.Itoa(clusterNodeTimeout),
				"--cluster-port", strconv.Itoa(s.extra[0]))
			return append(args, c.args...)
		}
		s.launch()
		cl.Nodes = append(cl.Nodes, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append([]string{"--cluster", "create"}, cl.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, proctest.LastLines(string(out), 10))
	}
	cl.WaitOK()
	return cl
}

// Addrs returns the nodes' addresses.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		addrs[i] = s.Addr
	}
	return addrs
}

// URL returns a redis:// URL of the first node with the others as addr
// parameters, the form rueidis.ParseURL reads as a cluster's seeds.
func (c *Cluster) URL() string {
	q := url.Values{}
	for _, a := range c.Addrs()[1:] {
		q.Add("addr", a)
	}
	return c.Nodes[0].URL() + "?" + q.Encode()
}

// WaitOK waits until every node reports cluster_state:ok, knows every node
// and sees every slot served, as after StartCluster or a node's Restart; it
// fails the test after 30 seconds.
func (c *Cluster) WaitOK() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.ok()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("redistest: cluster not ok after 30s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ok returns why the cluster is not ok yet, or nil.
func (c *Cluster) ok() error {
	want := map[string]string{
		"cluster_state":       "ok",
		"cluster_slots_ok":    strconv.Itoa(clusterSlots),
		"cluster_known_nodes": strconv.Itoa(len(c.Nodes)),
	}
	for _, s := range c.Nodes {
		info, err := doString(s.Addr, "CLUSTER", "INFO")
		if err != nil {
			return fmt.Errorf("node %s: %w", s.Addr, err)
		}
		fields := infoFields(info)
		for k, v := range want {
			if fields[k] != v {
				return fmt.Errorf("node %s: %s is %q, want %q", s.Addr, k, fields[k], v)
			}
		}
	}
	return nil
}

// Contents returns the keys of every node and what they hold.
func (c *Cluster) Contents() ([]Entry, error) {
	var out []Entry
	for _, s := range c.Nodes {
		e, err := s.Contents()
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", s.Addr, err)
		}
		out = append(out, e...)
	}
	return out, nil
}

// KeysContaining returns the keys of every node whose name or contents
// contain needle.
func (c *Cluster) KeysContaining(needle []byte) ([]string, error) {
	entries, err := c.Contents()
	if err != nil {
		return nil, err
	}
	return keysContaining(entries, needle), nil
}

// infoFields parses the name:value lines of an INFO-like reply.
func infoFields(info string) map[string]string {
	m := map[string]string{}
	for line := range strings.Lines(info) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = v
		}
	}
	return m
}
