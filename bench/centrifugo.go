package bench

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Centrifugo is the Centrifugo server, reached over WebSocket with its
// JSON protocol by a Go client of this suite that batches its writes, as
// the whispeer JSON target's does. With Nodes of 2 or more, the nodes run
// its Redis engine on one redis-server, and the publisher connects to the
// first node while the subscribers connect to the others (or, with
// Spread, to every node in turn); with one node it runs its in-memory
// engine, or its Redis engine with Redis set. Publishes go through the
// client protocol (allow_publish_for_client), as a browser's would; the
// server answers each, and Centrifugo handles a connection's commands one
// after the other, so one publisher's rate is bounded by the time one
// publish takes through the engine.
//
// The binary is found on PATH, in $GOPATH/bin or at $CENTRIFUGO; build it
// with `go install github.com/centrifugal/centrifugo/v6@v6.9.1`.
type Centrifugo struct {
	Nodes  int
	Redis  bool // the Redis engine even on one node
	Spread bool

	redis  *server
	procs  []*server
	urls   []string
	secret string
	next   atomic.Int64
}

// Name implements Target: centrifugo, centrifugo-redis-x2 (publisher and
// subscribers on different nodes), centrifugo-redis-n3 (subscribers
// spread over 3 nodes).
func (c *Centrifugo) Name() string {
	switch {
	case c.Spread:
		return "centrifugo-redis-n" + strconv.Itoa(c.count())
	case c.count() > 1:
		return "centrifugo-redis-x" + strconv.Itoa(c.count())
	case c.Redis:
		return "centrifugo-redis"
	}
	return "centrifugo"
}

// count is how many nodes run, at least one.
func (c *Centrifugo) count() int { return max(c.Nodes, 1) }

// engine reports whether the nodes run the Redis engine.
func (c *Centrifugo) engine() bool { return c.Redis || c.count() > 1 || c.Spread }

// centrifugoBin finds the centrifugo binary.
func centrifugoBin() (string, error) {
	if p := os.Getenv("CENTRIFUGO"); p != "" {
		return p, nil
	}
	if p, err := lookBin("centrifugo"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		home, _ := os.UserHomeDir()
		gopath = filepath.Join(home, "go")
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "centrifugo")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: centrifugo is not installed (go install github.com/centrifugal/centrifugo/v6@v6.9.1, or set CENTRIFUGO)", ErrUnavailable)
}

// Start implements Target: Redis when the engine needs it, then the
// nodes, each on a free port with a configuration of its own.
func (c *Centrifugo) Start(ctx context.Context) (string, string, error) {
	bin, err := centrifugoBin()
	if err != nil {
		return "", "", err
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	c.secret = hex.EncodeToString(secret)
	c.next.Store(0)
	version := centrifugoVersion(bin)
	redisAddr := ""
	if c.engine() {
		var rv string
		c.redis, redisAddr, rv, err = startRedis(ctx, "--appendonly", "no")
		if err != nil {
			return "", "", err
		}
		version += ", Redis engine on " + rv
	}
	for range c.count() {
		if err := c.startNode(ctx, bin, redisAddr); err != nil {
			return "", "", err
		}
	}
	return c.urls[0], fmt.Sprintf("%s, %d node(s), JSON over WebSocket, gobwas/ws %s", version, c.count(), modVersion("github.com/gobwas/ws")), nil
}

// centrifugoVersion returns the binary's version: as it reports it, or,
// for a binary built with go install, which reports v0.0.0, as its module
// records it.
func centrifugoVersion(bin string) string {
	v := strings.TrimSpace(commandOutput(bin, "version"))
	if !strings.Contains(v, "v0.0.0") {
		return v
	}
	for _, line := range strings.Split(commandOutput("go", "version", "-m", bin), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "mod" {
			return "Centrifugo " + f[2]
		}
	}
	return v
}

// startNode starts one node, with the Redis engine when redisAddr is set.
func (c *Centrifugo) startNode(ctx context.Context, bin, redisAddr string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "whispeer-bench-centrifugo-")
	if err != nil {
		return err
	}
	conf := map[string]any{
		"http_server": map[string]any{"address": "127.0.0.1", "port": port},
		"log":         map[string]any{"level": "error"},
		"usage_stats": map[string]any{"disabled": true},
		// A queue as deep as the others' so that a subscriber behind a
		// burst is not disconnected.
		"client":   map[string]any{"token": map[string]any{"hmac_secret_key": c.secret}, "queue_max_size": 64 << 20},
		"http_api": map[string]any{"key": c.secret},
		"channel": map[string]any{"namespaces": []any{map[string]any{
			"name": "bench", "allow_subscribe_for_client": true, "allow_publish_for_client": true}}},
	}
	if redisAddr != "" {
		conf["engine"] = map[string]any{"type": "redis", "redis": map[string]any{"address": []string{"redis://" + redisAddr}}}
	}
	b, _ := json.Marshal(conf)
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		os.RemoveAll(dir)
		return err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	srv, err := startServer(ctx, dir, addr, bin, "--config", path)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, srv)
	c.urls = append(c.urls, "ws://"+addr+"/connection/websocket")
	return nil
}

// Stop implements Target.
func (c *Centrifugo) Stop() error {
	for _, s := range c.procs {
		s.stop()
	}
	c.redis.stop()
	c.procs, c.urls, c.redis = nil, nil, nil
	return nil
}

// PIDs implements Processes: the nodes and Redis.
func (c *Centrifugo) PIDs() []int {
	var pids []int
	for _, s := range append(c.procs, c.redis) {
		if p := s.pid(); p != 0 {
			pids = append(pids, p)
		}
	}
	return pids
}

// Skip implements Limiter.
func (c *Centrifugo) Skip(workload string) error {
	switch workload {
	case "throughput", "fanout", "latency", "http-publish", "http-batch":
		return nil
	}
	return fmt.Errorf("%w: the Centrifugo targets run throughput, fanout, latency and the HTTP API workloads", ErrNotApplicable)
}

// HTTPAPI implements HTTPPublisher: the server API of the first node,
// /api/publish and /api/batch, with its API key.
func (c *Centrifugo) HTTPAPI() HTTPAPI {
	base := "http" + strings.TrimSuffix(strings.TrimPrefix(c.urls[0], "ws"), "/connection/websocket")
	return HTTPAPI{
		PublishURL: base + "/api/publish", BatchURL: base + "/api/batch",
		Header: "X-API-Key", Credential: c.secret,
		Single: func(topic string, payload []byte) []byte {
			return fmt.Appendf(nil, `{"channel":%q,"data":%s}`, centrifugoChannel(topic), payload)
		},
		Batch: func(topic string, payloads [][]byte) []byte {
			b := []byte(`{"commands":[`)
			for i, p := range payloads {
				if i > 0 {
					b = append(b, ',')
				}
				b = fmt.Appendf(b, `{"publish":{"channel":%q,"data":%s}}`, centrifugoChannel(topic), p)
			}
			return append(b, "]}"...)
		},
		Failed: func(body []byte) bool { return bytes.Contains(body, []byte(`"error"`)) },
	}
}

// ConnectPublisher implements Placer: the first node.
func (c *Centrifugo) ConnectPublisher(ctx context.Context) (Client, error) {
	return c.dial(ctx, c.urls[0])
}

// Connect implements Target: a subscriber's connection, on the nodes
// other than the publisher's in turn (every node with Spread or one node).
func (c *Centrifugo) Connect(ctx context.Context) (Client, error) {
	return c.dial(ctx, c.urls[subscriberNode(int(c.next.Add(1)-1), len(c.urls), c.Spread)])
}

// subscriberNode returns the node of the i-th subscriber among n nodes:
// node 0 is the publisher's, which takes subscribers only when spread or
// alone.
func subscriberNode(i, n int, spread bool) int {
	if spread || n == 1 {
		return i % n
	}
	return 1 + i%(n-1)
}

// dial opens and authenticates one connection.
func (c *Centrifugo) dial(ctx context.Context, url string) (Client, error) {
	cl, err := dialCentrifugo(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := cl.connect(ctx, centrifugoToken(c.secret, "bench")); err != nil {
		cl.Close()
		return nil, err
	}
	return cl, nil
}

// centrifugoToken mints an HS256 connection token for user sub.
func centrifugoToken(secret, sub string) string {
	b64 := base64.RawURLEncoding.EncodeToString
	head := b64([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{"sub": sub, "exp": time.Now().Add(time.Hour).Unix()})
	body := head + "." + b64(claims)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return body + "." + b64(mac.Sum(nil))
}

var (
	_ Target        = (*Centrifugo)(nil)
	_ Processes     = (*Centrifugo)(nil)
	_ Placer        = (*Centrifugo)(nil)
	_ Limiter       = (*Centrifugo)(nil)
	_ HTTPPublisher = (*Centrifugo)(nil)
)
