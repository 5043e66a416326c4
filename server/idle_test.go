package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	gws "github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// Environment of the idle-connection measurement. It opens thousands of
// connections and takes several seconds, so it runs only when asked:
//
//	WHISPEER_IDLE_CONNS=10000 go test -run TestIdleConnectionMemory -v ./server/
const (
	envIdleConns  = "WHISPEER_IDLE_CONNS"
	envIdleClient = "WHISPEER_IDLE_CLIENT" // set in the client process
)

// TestIdleConnectionMemory measures the memory of idle connections: over
// WebSocket once only connected and once authenticated and subscribed to a
// topic, and native TCP connections authenticated and subscribed. The clients live in a child process, so that only the server's
// side is counted. It reports bytes per connection from runtime.MemStats
// (HeapInuse+StackInuse) and from the process's VmRSS.
func TestIdleConnectionMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(envIdleConns))
	if n <= 0 || testing.Short() {
		t.Skip("set " + envIdleConns + "=10000 to measure idle connections")
	}
	for _, mode := range []string{"connected", "subscribed", "native"} {
		t.Run(mode, func(t *testing.T) { measureIdle(t, n, mode) })
	}
}

func measureIdle(t *testing.T, n int, mode string) {
	cfg := testConfig()
	cfg.Server.MaxConnections = n + 10
	srv, err := New(cfg, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 2)
	go func() { served <- srv.Serve(ln) }()
	go func() { served <- srv.ServeTCP(tln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
		<-served
	}()
	addr := ln.Addr().String()
	if mode == "native" {
		addr = tln.Addr().String()
	}
	token, _ := srv.issuer.Issue("admin")

	before := memory()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClients$")
	cmd.Env = append(os.Environ(), envIdleClient+"="+strings.Join([]string{addr, strconv.Itoa(n), mode, token}, ","))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("client process: %q, %v", line, err)
	}
	if got := srv.ws.Len() + srv.tcp.Len(); got != n {
		t.Fatalf("%d connections open, want %d", got, n)
	}
	after := memory()
	per := func(a, b int64) float64 { return float64(a-b) / float64(n) }
	t.Logf("%d %s connections: %.0f B/conn heap+stack (MemStats; %.0f of it stack), %.0f B/conn VmRSS, %d goroutines",
		n, mode, per(after.heap, before.heap), per(after.stack, before.stack), per(after.rss, before.rss), runtime.NumGoroutine())
}

type usage struct{ heap, stack, rss int64 }

// memory returns the heap and stack in use, and the resident set size,
// after collecting garbage and returning free memory to the system.
func memory() usage {
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return usage{heap: int64(ms.HeapInuse + ms.StackInuse), stack: int64(ms.StackInuse), rss: vmRSS()}
}

// vmRSS returns the process's resident set size from /proc/self/status,
// or 0 where there is none.
func vmRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestIdleClients is the client process of TestIdleConnectionMemory: it
// opens the connections, prints "ready" and holds them until its standard
// input closes.
func TestIdleClients(t *testing.T) {
	spec := os.Getenv(envIdleClient)
	if spec == "" {
		t.Skip("run by TestIdleConnectionMemory")
	}
	parts := strings.SplitN(spec, ",", 4)
	addr, mode, token := parts[0], parts[2], parts[3]
	n, _ := strconv.Atoi(parts[1])
	conns := make([]net.Conn, 0, n)
	for range n {
		var nc net.Conn
		var err error
		if mode == "native" {
			nc, err = net.Dial("tcp", addr)
		} else {
			nc, _, _, err = gws.Dial(context.Background(), "ws://"+addr)
		}
		if err != nil {
			t.Fatalf("dial %d: %v", len(conns), err)
		}
		conns = append(conns, nc)
		switch mode {
		case "subscribed":
			idleSubscribe(t, nc, token)
		case "native":
			idleNative(t, nc, token)
		}
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, nc := range conns {
		nc.Close()
	}
}

// idleSubscribe authenticates nc and subscribes it to a topic, waiting for
// both answers.
func idleSubscribe(t *testing.T, nc net.Conn, token string) {
	for _, f := range []string{`{"type":"auth","token":"` + token + `"}`, `{"type":"subscribe","topic":"idle/topic"}`} {
		if err := wsutil.WriteClientText(nc, []byte(f)); err != nil {
			t.Fatal(err)
		}
		if _, err := wsutil.ReadServerText(nc); err != nil {
			t.Fatal(err)
		}
	}
}

// idleNative says HELLO on nc, authenticates it and subscribes it to a
// topic, waiting for the three answers.
func idleNative(t *testing.T, nc net.Conn, token string) {
	var out []byte
	out, _ = wire.AppendHello(out, &wire.Hello{Version: wire.Version})
	out, _ = wire.AppendAuth(out, &wire.Auth{Token: []byte(token)})
	out, _ = wire.AppendSubscribe(out, &wire.Subscribe{SID: 1, Topic: []byte("idle/topic")})
	if _, err := nc.Write(out); err != nil {
		t.Fatal(err)
	}
	r := wire.NewReader(nc, 0)
	for _, want := range []wire.Type{wire.TypeWelcome, wire.TypeAuthOK, wire.TypeSubAck} {
		if f, err := r.Next(); err != nil || f.Type != want {
			t.Fatalf("want %v: %v", want, err)
		}
	}
}
