package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"github.com/whispeer-io/whispeer/client"
)

// WhispeerCluster is `whispeer serve` as Nodes nodes of a cluster on one
// redis-server, each with its configuration and free ports, reached over
// native TCP with whispeer's Go client (Transport "tcp") or over WebSocket
// with the PopSub JSON client (Transport "json"). The publisher connects
// to the first node; the subscribers connect to the other nodes in turn,
// so that every message crosses Redis, or with Spread to every node in
// turn, the publisher's included, so that the nodes share the
// subscribers.
//
// The nodes keep the topics' history in Redis (the redis store), as every
// cluster does. With Durable, Redis fsyncs its append-only file every
// second, as the redis target's durable mode does, and the target runs
// only the durable workload:
// QoS 1 publishes to the first node, each returning at its PUBACK, which
// the node sends once Redis acknowledged the append.
type WhispeerCluster struct {
	Build     *WhispeerBuild
	Transport string // "tcp" or "json"
	Nodes     int
	Spread    bool
	Durable   bool
	Queue     int // each native subscription's queue, in messages; 0: nativeQueue

	redis  *server
	nodes  []clusterNode
	token  string
	next   atomic.Int64
	errors atomic.Int64
}

// clusterNode is one running node.
type clusterNode struct {
	srv     *server
	tcpURL  string // native TCP
	jsonURL string // PopSub JSON over WebSocket
}

// Name implements Target: whispeer-tcp-x2 (publisher and subscribers on
// different nodes), whispeer-tcp-n3 (subscribers spread over 3 nodes),
// whispeer-durable-redis.
func (w *WhispeerCluster) Name() string {
	base := "whispeer-tcp"
	if w.Transport == "json" {
		base = "whispeer-json-ws"
	}
	switch {
	case w.Durable:
		return "whispeer-durable-redis" + w.Build.suffix()
	case w.Spread:
		base += "-n"
	default:
		base += "-x"
	}
	return base + strconv.Itoa(w.count()) + w.Build.suffix()
}

// count is how many nodes run, at least one.
func (w *WhispeerCluster) count() int { return max(w.Nodes, 1) }

// Start implements Target: Redis, then the nodes.
func (w *WhispeerCluster) Start(ctx context.Context) (string, string, error) {
	return w.start(ctx, "--appendonly", "no")
}

// StartDurable implements Durable.
func (w *WhispeerCluster) StartDurable(ctx context.Context) (string, string, error) {
	if !w.Durable {
		return "", "", fmt.Errorf("%w: durable runs use whispeer-durable-redis", ErrNotApplicable)
	}
	return w.start(ctx, redisDurable...)
}

// start runs Redis with its arguments, then the nodes, and logs in once.
func (w *WhispeerCluster) start(ctx context.Context, redisArgs ...string) (string, string, error) {
	bin, err := w.Build.binary()
	if err != nil {
		return "", "", err
	}
	w.next.Store(0)
	w.errors.Store(0)
	var addr, rv string
	w.redis, addr, rv, err = startRedis(ctx, append([]string{"--maxmemory-policy", "noeviction"}, redisArgs...)...)
	if err != nil {
		return "", "", err
	}
	for i := range w.count() {
		if err := w.startNode(ctx, bin, "redis://"+addr, i); err != nil {
			return "", "", err
		}
	}
	if w.token, err = wsLogin(ctx, w.nodes[0].jsonURL, "admin", "password"); err != nil {
		return "", "", fmt.Errorf("login: %w", err)
	}
	transport := "native over TCP, Go client of the working tree"
	if w.Transport == "json" {
		transport = "JSON over WebSocket, gobwas/ws " + modVersion("github.com/gobwas/ws")
	}
	if w.Durable {
		transport += ", redis store, QoS 1"
	}
	return w.nodes[0].tcpURL, fmt.Sprintf("whispeer %s, %d node(s) on %s, %s", w.Build.revision(), w.count(), rv, transport), nil
}

// startNode starts node i on a Redis at url.
func (w *WhispeerCluster) startNode(ctx context.Context, bin, url string, i int) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	tcpPort, err := freePort()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "whispeer-bench-node-")
	if err != nil {
		return err
	}
	conf := fmt.Sprintf(whispeerNativeConfig, port, tcpPort) + w.clusterConfig(url, i)
	if err := os.WriteFile(filepath.Join(dir, "whispeer.toml"), []byte(conf), 0o600); err != nil {
		os.RemoveAll(dir)
		return err
	}
	tcpAddr := "127.0.0.1:" + strconv.Itoa(tcpPort)
	srv, err := startServer(ctx, dir, tcpAddr, bin, "serve", "--config", filepath.Join(dir, "whispeer.toml"))
	if err != nil {
		return fmt.Errorf("node %d: %w", i, err)
	}
	w.nodes = append(w.nodes, clusterNode{srv: srv, tcpURL: "tcp://" + tcpAddr,
		jsonURL: "ws://127.0.0.1:" + strconv.Itoa(port) + "/"})
	return nil
}

// clusterConfig is node i's [cluster] and [store] sections: the Redis at
// url, which keeps the history of a cluster (store.kind redis) whether
// the run is durable or not; only Redis's own persistence differs.
func (w *WhispeerCluster) clusterConfig(url string, i int) string {
	return fmt.Sprintf("\n[cluster]\nredis = %q\nnode = \"node-%d\"\n\n[store]\nkind = \"redis\"\n", url, i)
}

// Stop implements Target.
func (w *WhispeerCluster) Stop() error {
	for _, n := range w.nodes {
		n.srv.stop()
	}
	w.redis.stop()
	w.nodes, w.redis = nil, nil
	return nil
}

// Close removes the binary that Build built.
func (w *WhispeerCluster) Close() error { return w.Build.Close() }

// PIDs implements Processes: the nodes and Redis.
func (w *WhispeerCluster) PIDs() []int {
	var pids []int
	for _, n := range w.nodes {
		pids = append(pids, n.srv.pid())
	}
	if p := w.redis.pid(); p != 0 {
		pids = append(pids, p)
	}
	return pids
}

// Skip implements Limiter.
func (w *WhispeerCluster) Skip(workload string) error {
	switch {
	case w.Durable && workload != "durable":
		return fmt.Errorf("%w: a durable target runs the durable workload only", ErrNotApplicable)
	case w.Durable:
		return nil
	case workload == "throughput", workload == "fanout", workload == "latency":
		return nil
	}
	return fmt.Errorf("%w: the cluster targets run throughput, fanout and latency", ErrNotApplicable)
}

// ConnectPublisher implements Placer: the first node.
func (w *WhispeerCluster) ConnectPublisher(ctx context.Context) (Client, error) {
	return w.dial(ctx, w.nodes[0])
}

// Connect implements Target: a subscriber's connection, on the nodes
// other than the publisher's in turn (every node with Spread or one node).
func (w *WhispeerCluster) Connect(ctx context.Context) (Client, error) {
	return w.dial(ctx, w.nodes[subscriberNode(int(w.next.Add(1)-1), len(w.nodes), w.Spread)])
}

// dial opens one connection to n.
func (w *WhispeerCluster) dial(ctx context.Context, n clusterNode) (Client, error) {
	if w.Transport != "json" {
		return dialNative(ctx, n.tcpURL, w.token, w.Queue, &w.errors)
	}
	c, err := dialJSON(ctx, n.jsonURL)
	if err != nil {
		return nil, err
	}
	if err := c.auth(ctx, w.token); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// ConnectDurable implements Durable: QoS 1 publishes to the first node.
func (w *WhispeerCluster) ConnectDurable(ctx context.Context) (AckPublisher, error) {
	c, err := dialNative(ctx, w.nodes[0].tcpURL, w.token, w.Queue, &w.errors)
	if err != nil {
		return nil, err
	}
	return &nativeDurable{c: c.c, qos: client.WithQoS(client.AtLeastOnce)}, nil
}

var (
	_ Target    = (*WhispeerCluster)(nil)
	_ Processes = (*WhispeerCluster)(nil)
	_ Placer    = (*WhispeerCluster)(nil)
	_ Limiter   = (*WhispeerCluster)(nil)
	_ Durable   = (*WhispeerCluster)(nil)
	_ io.Closer = (*WhispeerCluster)(nil)
)
