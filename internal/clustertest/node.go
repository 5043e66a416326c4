package clustertest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/internal/proctest"
)

// startAttempts is how many sets of ports a node's first start tries.
const startAttempts = 5

// readyTimeout bounds the wait for a node's /readyz.
const readyTimeout = time.Minute

// stopTimeout bounds a graceful stop before the node is killed.
const stopTimeout = 30 * time.Second

// Cluster is the nodes started by Start.
type Cluster struct {
	// Nodes are the nodes, node i named node-i.
	Nodes []*Node

	t     testing.TB
	opts  *options
	token string
}

// Node is a `whispeer serve` process.
type Node struct {
	// Name is the node's name: node-0, node-1…
	Name string
	// WSURL is the WebSocket endpoint, ws://127.0.0.1:port/ws, for PopSub
	// JSON and the native protocol alike.
	WSURL string
	// TCPURL is the native TCP endpoint, tcp://127.0.0.1:port.
	TCPURL string
	// AdminURL is the admin listener, http://127.0.0.1:port, with the admin
	// API, /healthz, /readyz and /metrics.
	AdminURL string
	// AdminToken is the admin API's bearer token.
	AdminToken string

	t     testing.TB
	bin   string
	dir   string
	index int
	opts  *options
	ports [3]int // WebSocket, TCP, admin

	mu   sync.Mutex
	proc *proctest.Process
}

// Start starts n nodes with opts, one after the other, and returns once
// each answers /readyz with 200. They are killed when the test ends.
func Start(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	c := &Cluster{t: t, opts: newOptions(opts)}
	for range n {
		c.Add()
	}
	return c
}

// Token returns a token of the user admin (password "password", the
// default configuration's), which authenticates on every node: logging in
// costs a password hash, which a test need not pay per connection.
func (c *Cluster) Token(t testing.TB) string {
	t.Helper()
	if c.token == "" {
		c.token = Login(t, c.Nodes[0].WSURL, "admin", "password")
	}
	return c.token
}

// Add starts one more node with the cluster's options and returns it once
// it is ready.
func (c *Cluster) Add() *Node {
	c.t.Helper()
	nd := &Node{
		Name: "node-" + strconv.Itoa(len(c.Nodes)), AdminToken: c.opts.admin,
		t: c.t, bin: Binary(c.t), dir: c.t.TempDir(), index: len(c.Nodes), opts: c.opts,
	}
	c.t.Cleanup(nd.cleanup)
	nd.launch()
	c.Nodes = append(c.Nodes, nd)
	return nd
}

// launch picks free ports and starts the node, trying other ports when
// another process takes one first.
func (nd *Node) launch() {
	nd.t.Helper()
	var err error
	for range startAttempts {
		for i := range nd.ports {
			nd.ports[i] = proctest.FreePort(nd.t)
		}
		nd.setURLs()
		if err = nd.run(); !errors.Is(err, proctest.ErrPortTaken) {
			break
		}
	}
	if err != nil {
		nd.t.Fatalf("clustertest: start %s: %v", nd.Name, err)
	}
}

// setURLs sets the node's URLs from its ports.
func (nd *Node) setURLs() {
	hp := func(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }
	nd.WSURL = "ws://" + hp(nd.ports[0]) + "/ws"
	nd.TCPURL = "tcp://" + hp(nd.ports[1])
	nd.AdminURL = "http://" + hp(nd.ports[2])
}

// Dir returns the node's own directory, its working directory.
func (nd *Node) Dir() string { return nd.dir }

// config returns the node's configuration file.
func (nd *Node) config() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[server]\nhost = \"127.0.0.1\"\nport = %d\ntcp_port = %d\njwt_secret = %q\nmax_publish_rate = 0\n\n",
		nd.ports[0], nd.ports[1], nd.opts.secret)
	fmt.Fprintf(&b, "[admin]\nlisten = \"127.0.0.1:%d\"\ntoken = %q\n\n", nd.ports[2], nd.opts.admin)
	if nd.opts.redis != nil {
		fmt.Fprintf(&b, "[cluster]\nredis = %q\nnode = %q\n\n", nd.opts.redis(nd.index), nd.Name)
	}
	for _, f := range nd.opts.toml {
		b.WriteString(f(nd.index))
		b.WriteString("\n")
	}
	return b.String()
}

// run writes the configuration, starts the process and waits until it is
// ready.
func (nd *Node) run() error {
	conf := filepath.Join(nd.dir, "whispeer.toml")
	if err := os.WriteFile(conf, []byte(nd.config()), 0o600); err != nil {
		return err
	}
	logPath := filepath.Join(nd.dir, "node.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	start, _ := logf.Seek(0, io.SeekEnd)
	args := []string{"serve", "--config", conf}
	for _, f := range nd.opts.flags {
		args = append(args, f(nd.index)...)
	}
	cmd := exec.Command(nd.bin, args...)
	cmd.Dir = nd.dir
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	p, err := proctest.Start(cmd)
	if err != nil {
		return err
	}
	nd.mu.Lock()
	nd.proc = p
	nd.mu.Unlock()
	if err := nd.waitReady(p); err != nil {
		p.Stop(true, stopTimeout)
		out := nd.logSince(start)
		if strings.Contains(out, "address already in use") {
			return fmt.Errorf("%w: %s", proctest.ErrPortTaken, proctest.LastLines(out, 3))
		}
		return fmt.Errorf("%w\n%s", err, proctest.LastLines(out, 15))
	}
	return nil
}

// cleanEnv is the environment without WHISPEER_ variables, which would
// change the nodes' configuration.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WHISPEER_") {
			env = append(env, kv)
		}
	}
	return env
}

// waitReady polls /readyz until it answers 200 or the process exits.
func (nd *Node) waitReady(p *proctest.Process) error {
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.Exited():
			return errors.New("whispeer serve exited at start")
		default:
		}
		if code, _, err := nd.Readyz(); err == nil && code == http.StatusOK {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("/readyz not 200 within %v", readyTimeout)
}

// Readyz returns the status code and body of the node's /readyz.
func (nd *Node) Readyz() (int, string, error) {
	return nd.get("/readyz", false)
}

// Admin GETs path (such as /api/status) from the admin API with the token
// and returns the status code and body.
func (nd *Node) Admin(path string) (int, string, error) {
	return nd.get(path, true)
}

// httpClient is the client of the admin requests.
var httpClient = &http.Client{Timeout: 10 * time.Second}

// get GETs path from the admin listener.
func (nd *Node) get(path string, auth bool) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, nd.AdminURL+path, nil)
	if err != nil {
		return 0, "", err
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+nd.AdminToken)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(body), err
}

// Running reports whether the node's process is running.
func (nd *Node) Running() bool {
	nd.mu.Lock()
	p := nd.proc
	nd.mu.Unlock()
	return p.Running()
}

// Kill kills the node with SIGKILL and waits for it to exit: its clients
// see their connections end with nothing said, as in a crash.
func (nd *Node) Kill() { nd.stop(true) }

// Stop shuts the node down with SIGTERM, as an operator would, and waits
// for it to exit; after 30 seconds it is killed.
func (nd *Node) Stop() { nd.stop(false) }

// Restart kills the node if it is running and starts it again on the same
// ports and configuration, returning once it is ready.
func (nd *Node) Restart() {
	nd.t.Helper()
	nd.stop(true)
	if err := proctest.Again(10*time.Second, nd.run); err != nil {
		nd.t.Fatalf("clustertest: restart %s: %v", nd.Name, err)
	}
}

// stop ends the running process, if any.
func (nd *Node) stop(kill bool) {
	nd.mu.Lock()
	p := nd.proc
	nd.mu.Unlock()
	if p != nil {
		p.Stop(kill, stopTimeout)
	}
}

// Log returns what the node wrote to stdout and stderr, over all its runs.
func (nd *Node) Log() string { return nd.logSince(0) }

// logSince returns the node's log from byte offset off.
func (nd *Node) logSince(off int64) string {
	return proctest.LogSince(filepath.Join(nd.dir, "node.log"), off)
}

// cleanup kills the node and, on a failed test, logs the end of its log.
func (nd *Node) cleanup() {
	nd.stop(true)
	if nd.t.Failed() {
		nd.t.Logf("clustertest: end of the log of %s:\n%s", nd.Name, proctest.LastLines(nd.Log(), 30))
	}
}
