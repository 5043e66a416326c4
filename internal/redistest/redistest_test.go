package redistest_test

import (
	"bufio"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/whispeer-io/whispeer/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// mustDo runs a command and fails the test on an error.
func mustDo(t *testing.T, s *redistest.Server, args ...string) any {
	t.Helper()
	r, err := s.Do(args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return r
}

func TestStart_ServesAndShowsContents(t *testing.T) {
	s := redistest.Start(t)
	if got := mustDo(t, s, "PING"); got != "PONG" {
		t.Fatalf("PING = %v", got)
	}
	if !strings.HasPrefix(s.URL(), "redis://127.0.0.1:") || s.URL() == "redis://127.0.0.1:6379" {
		t.Fatalf("URL = %q, want a free loopback port", s.URL())
	}
	mustDo(t, s, "SET", "plain", "hello world")
	mustDo(t, s, "XADD", "stream", "*", "payload", "sealed \x00\xff bytes")
	mustDo(t, s, "HSET", "hash", "field", "other")
	if _, err := s.Do("NOSUCHCOMMAND"); !errors.As(err, new(redistest.ReplyError)) {
		t.Fatalf("unknown command: err = %v, want a ReplyError", err)
	}

	entries, err := s.Contents()
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, e := range entries {
		types[e.Key] = e.Type
	}
	want := map[string]string{"plain": "string", "stream": "stream", "hash": "hash"}
	if len(types) != len(want) {
		t.Fatalf("Contents keys = %v, want %v", types, want)
	}
	for k, v := range want {
		if types[k] != v {
			t.Errorf("type of %q = %q, want %q", k, types[k], v)
		}
	}
	keys, err := s.KeysContaining([]byte("\x00\xff bytes"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"stream"}) {
		t.Errorf("KeysContaining(stream payload) = %v, want [stream]", keys)
	}
	if keys, _ := s.KeysContaining([]byte("absent")); len(keys) != 0 {
		t.Errorf("KeysContaining(absent) = %v, want none", keys)
	}
}

func TestStart_PersistsNothingInItsDir(t *testing.T) {
	s := redistest.Start(t)
	mustDo(t, s, "SET", "k", "v")
	s.Stop()
	if s.Running() {
		t.Fatal("Running after Stop")
	}
	files, err := os.ReadDir(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Name() != "redis.log" {
			t.Errorf("file %s left in the server's directory", f.Name())
		}
	}
}

func TestServer_RestartComesBackEmptyOnTheSameAddress(t *testing.T) {
	s := redistest.Start(t)
	addr := s.Addr
	mustDo(t, s, "SET", "k", "v")
	s.Restart()
	if s.Addr != addr {
		t.Fatalf("Addr after Restart = %s, want %s", s.Addr, addr)
	}
	if got := mustDo(t, s, "EXISTS", "k"); got != int64(0) {
		t.Fatalf("EXISTS k after Restart = %v, want 0", got)
	}
}

func TestServer_KillEndsConnectionsAndRestartServesAgain(t *testing.T) {
	s := redistest.Start(t)
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s.Kill()
	if s.Running() {
		t.Fatal("Running after Kill")
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("a connection read after Kill succeeded")
	}
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("PING after Kill succeeded")
	}
	s.Restart()
	if got := mustDo(t, s, "PING"); got != "PONG" {
		t.Fatalf("PING after Restart = %v", got)
	}
}

func TestStart_WithArgs(t *testing.T) {
	s := redistest.Start(t, redistest.WithArgs("--maxmemory", "7mb"))
	got := mustDo(t, s, "CONFIG", "GET", "maxmemory").([]any)
	if got[1] != "7340032" {
		t.Fatalf("maxmemory = %v, want 7340032", got[1])
	}
}

func TestStartCluster_ServesEverySlotAndSurvivesANodeRestart(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	if len(c.Nodes) != 3 {
		t.Fatalf("%d nodes, want 3", len(c.Nodes))
	}
	if u := c.URL(); strings.Count(u, "addr=") != 2 {
		t.Fatalf("URL = %q, want the two other nodes as addr", u)
	}
	// Each key lands on the one node that owns its slot; the others
	// answer MOVED.
	owner := map[string]int{}
	for _, key := range []string{"a", "b", "c", "d", "e", "f"} {
		for i, n := range c.Nodes {
			_, err := n.Do("SET", key, "value of "+key)
			if err == nil {
				owner[key] = i
				break
			}
			if !strings.HasPrefix(err.Error(), "redis: MOVED") {
				t.Fatalf("SET %s on node %d: %v", key, i, err)
			}
		}
	}
	if len(owner) != 6 {
		t.Fatalf("keys set = %v, want all 6", owner)
	}
	if keys, err := c.KeysContaining([]byte("value of")); err != nil || len(keys) != 6 {
		t.Fatalf("KeysContaining = %v, %v; want 6 keys", keys, err)
	}
	lost := c.Nodes[owner["a"]]
	lost.Restart()
	c.WaitOK()
	if got := mustDo(t, lost, "EXISTS", "a"); got != int64(0) {
		t.Fatalf("EXISTS a on its restarted node = %v, want 0", got)
	}
	if _, err := lost.Do("SET", "a", "again"); err != nil {
		t.Fatalf("SET a on its restarted node: %v", err)
	}
}

func TestProxy_CutResetsAndHealReconnects(t *testing.T) {
	s := redistest.Start(t)
	p := redistest.NewProxy(t, s.Addr)
	c, r := dialProxy(t, p)
	if got := roundTrip(t, c, r); got != "+PONG\r\n" {
		t.Fatalf("PING through proxy = %q", got)
	}
	p.Cut()
	if _, err := r.ReadString('\n'); err == nil {
		t.Fatal("an open connection read after Cut succeeded")
	}
	if answered(p) {
		t.Fatal("a new connection through a cut proxy got a reply")
	}
	p.Heal()
	c3, r3 := dialProxy(t, p)
	if got := roundTrip(t, c3, r3); got != "+PONG\r\n" {
		t.Fatalf("PING after Heal = %q", got)
	}
}

func TestProxy_BlackholeHoldsBytesUntilHeal(t *testing.T) {
	s := redistest.Start(t)
	p := redistest.NewProxy(t, s.Addr)
	c, r := dialProxy(t, p)
	roundTrip(t, c, r)
	p.Blackhole()
	if _, err := c.Write([]byte("INCR n\r\n")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if line, err := r.ReadString('\n'); err == nil {
		t.Fatalf("reply %q through a blackholed proxy", line)
	}
	if got := mustDo(t, s, "GET", "n"); got != nil {
		t.Fatalf("n = %v on the server while blackholed, want nil", got)
	}
	p.Heal()
	c.SetReadDeadline(time.Time{})
	if line, err := r.ReadString('\n'); err != nil || line != ":1\r\n" {
		t.Fatalf("reply after Heal = %q, %v; want :1", line, err)
	}
}

func TestProxy_ServerDownResetsClients(t *testing.T) {
	s := redistest.Start(t)
	p := redistest.NewProxy(t, s.Addr)
	s.Kill()
	if answered(p) {
		t.Fatal("a reply through a proxy to a killed server")
	}
}

// dialProxy connects to the proxy.
func dialProxy(t *testing.T, p *redistest.Proxy) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

// answered reports whether a new connection through the proxy answers a
// PING; the proxy may reset it at the dial, the write or the read.
func answered(p *redistest.Proxy) bool {
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		return false
	}
	defer c.Close()
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	_, err = bufio.NewReader(c).ReadString('\n')
	return err == nil
}

// roundTrip sends an inline PING and returns the reply line.
func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader) string {
	t.Helper()
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return line
}

func TestMonitor_RecordsCommandsAndTheirArguments(t *testing.T) {
	s := redistest.Start(t)
	m := s.Monitor(t)
	mustDo(t, s, "SET", "k", "secret words")
	mustDo(t, s, "PING") // a marker: once it is recorded, so is SET
	if !m.Wait([]byte(`"PING"`)) {
		t.Fatal("PING not recorded")
	}
	if !m.Contains([]byte("secret words")) {
		t.Fatal("the SET's value is not in the record")
	}
	if m.Contains([]byte("never sent")) {
		t.Fatal("Contains found bytes never sent")
	}
	m.Stop()
	if n, full := m.Commands(); n < 2 || full {
		t.Fatalf("Commands = %d, %v", n, full)
	}
}
