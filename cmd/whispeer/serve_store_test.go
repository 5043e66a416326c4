package main

import (
	"bufio"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// storeServer is a `whispeer serve` process keeping its messages in a
// SQLite store.
type storeServer struct {
	t    *testing.T
	file string // the configuration
	tcp  string // host:port of the native TCP listener
}

// startStoreServer runs `whispeer serve` with a SQLite store at db and
// waits until its native TCP listener is up. The process is killed when
// the test ends, if it still runs.
func startStoreServer(t *testing.T, db string) (*storeServer, func()) {
	t.Helper()
	port, tcpPort := freePort(t), freePort(t)
	file := filepath.Join(t.TempDir(), "whispeer.toml")
	toml := "[server]\nport = " + strconv.Itoa(port) + "\ntcp_port = " + strconv.Itoa(tcpPort) +
		"\nmax_publish_rate = 0\n\n[store]\nkind = \"sqlite\"\npath = " + strconv.Quote(db) + "\nsync = \"batch\"\n"
	if err := os.WriteFile(file, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := command(t, nil, "serve", "--config", file)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill := func() {
		once.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
	t.Cleanup(kill)
	out := bufio.NewReader(stdout)
	for range 2 { // WebSocket, then native TCP
		if line, err := out.ReadString('\n'); err != nil {
			kill()
			t.Fatalf("no listening line: %q %v\n%s", line, err, stderr.String())
		}
	}
	return &storeServer{t: t, file: file, tcp: "127.0.0.1:" + strconv.Itoa(tcpPort)}, kill
}

// nativeLogin connects to the server's native TCP listener and logs in as
// the default user.
func (s *storeServer) nativeLogin() (net.Conn, *wire.Reader) {
	s.t.Helper()
	nc, err := net.Dial("tcp", s.tcp)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	b, _ := wire.AppendHello(nil, &wire.Hello{Version: wire.Version, Caps: wire.CapResume})
	b, _ = wire.AppendLogin(b, &wire.Login{User: []byte("admin"), Password: []byte("password")})
	if _, err := nc.Write(b); err != nil {
		s.t.Fatal(err)
	}
	r := wire.NewReader(nc, 0)
	for _, want := range []wire.Type{wire.TypeWelcome, wire.TypeAuthOK} {
		if f, err := r.Next(); err != nil || f.Type != want {
			s.t.Fatalf("want %v, got %v", want, err)
		}
	}
	return nc, r
}

// TestServe_KillDuringQoS1Publishes kills the server with SIGKILL while a
// publisher keeps many QoS 1 publishes in flight, restarts it on the same
// store, and checks that a subscriber resuming from the start receives
// every message the server acknowledged, once, in offset order.
func TestServe_KillDuringQoS1Publishes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server twice")
	}
	db := filepath.Join(t.TempDir(), "data", "whispeer.db")
	srv, kill := startStoreServer(t, db)
	nc, r := srv.nativeLogin()
	nc.SetDeadline(time.Time{})

	const window, killAfter = 100, 2000
	credits := make(chan struct{}, window)
	for range window {
		credits <- struct{}{}
	}
	stop := make(chan struct{}) // enough acknowledged: kill
	dead := make(chan struct{}) // the connection ended
	var acked []string
	readDone := make(chan error, 1)
	go func() { // records every PUBACK until the connection ends
		defer close(dead)
		for {
			f, err := r.Next()
			if err != nil {
				readDone <- nil
				return
			}
			if f.Type != wire.TypePubAck || f.Ack.Code != wire.CodeOK {
				readDone <- errors.New("unexpected frame " + f.Type.String())
				return
			}
			acked = append(acked, string(f.Ack.ID))
			if len(acked) == killAfter {
				close(stop)
			}
			credits <- struct{}{}
		}
	}()
	wrote := make(chan int, 1)
	go func() { // publishes with up to window in flight until the server dies
		var buf []byte
		for i := 1; ; i++ {
			select {
			case <-credits:
			case <-dead:
				wrote <- i - 1
				return
			}
			buf, _ = wire.AppendPublish(buf[:0], &wire.Publish{Topic: []byte("k"), QoS: wire.AtLeastOnce,
				ID: []byte("m" + strconv.Itoa(i)), Payload: []byte(strconv.Itoa(i))})
			if _, err := nc.Write(buf); err != nil {
				wrote <- i - 1
				return
			}
		}
	}()
	<-stop
	kill() // SIGKILL with publishes in flight
	if err := <-readDone; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d publishes written, %d acknowledged before the kill", <-wrote, len(acked))

	srv, _ = startStoreServer(t, db)
	nc, r = srv.nativeLogin()
	sub, _ := wire.AppendSubscribe(nil, &wire.Subscribe{SID: 1, QoS: wire.AtMostOnce, Topic: []byte("k"),
		Resume: wire.Resume{Mode: wire.ResumeOffset}})
	if _, err := nc.Write(sub); err != nil {
		t.Fatal(err)
	}
	f, err := r.Next()
	if err != nil || f.Type != wire.TypeSubAck || f.SubAck.Code != wire.CodeOK {
		t.Fatalf("want SUBACK, got %v", err)
	}
	last := f.SubAck.Offset
	if last < uint64(len(acked)) {
		t.Fatalf("the log ends at offset %d, before the %d acknowledged messages", last, len(acked))
	}
	got := make(map[string]bool, last)
	for next := uint64(1); next <= last; next++ {
		f, err := r.Next()
		if err != nil || f.Type != wire.TypeMessage {
			t.Fatalf("message %d of %d: %v", next, last, err)
		}
		if f.Message.Offset != next {
			t.Fatalf("offset %d, want %d", f.Message.Offset, next)
		}
		id := string(f.Message.ID)
		if got[id] {
			t.Fatalf("%s twice", id)
		}
		got[id] = true
	}
	for _, id := range acked {
		if !got[id] {
			t.Fatalf("%s was acknowledged but is not in the log (%d kept)", id, last)
		}
	}
}
