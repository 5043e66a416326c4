package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/whispeer-io/whispeer/internal/testcert"
	"github.com/whispeer-io/whispeer/server/config"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// signalLogger returns a logger that sends the message of each record to
// the channel it returns, dropping those that find it full.
func signalLogger() (*slog.Logger, <-chan string) {
	msgs := make(chan string, 64)
	return slog.New(signalHandler(msgs)), msgs
}

// awaitLog returns once msgs has carried msg.
func awaitLog(t *testing.T, msgs <-chan string, msg string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-msgs:
			if m == msg {
				return
			}
		case <-timeout:
			t.Fatalf("never logged %q", msg)
		}
	}
}

// signalHandler is a slog.Handler that sends each record's message.
type signalHandler chan<- string

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h signalHandler) WithGroup(string) slog.Handler            { return h }

func (h signalHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h <- r.Message:
	default:
	}
	return nil
}

func TestListenAndServe_StopsWithItsContext(t *testing.T) {
	cfg := testConfig()
	cfg.Server.Port = freePort(t)
	log, logged := signalLogger()
	srv, err := New(cfg, WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx) }()
	awaitLog(t, logged, "whispeer: listening")
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	c, _, err := websocket.Dial(dctx, "ws://127.0.0.1:"+strconv.Itoa(cfg.Server.Port), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	cancel()
	if _, _, err := c.Read(dctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("want 1001, got %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("ListenAndServe: %v", err)
	}
}

func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	cfg := testConfig()
	cfg.Server.Port = freePort(t)
	cfg.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile}
	srv, err := New(cfg, WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := srv.URL(ln), "wss://127.0.0.1:"+strconv.Itoa(cfg.Server.Port); got != want {
		t.Fatalf("URL %s, want %s", got, want)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		srv.Shutdown(context.Background())
		<-served
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	c, _, err := websocket.Dial(ctx, srv.URL(ln)+"/ws", &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(-1)
	token, _ := srv.issuer.Issue("admin")
	cl := &client{t: t, c: c}
	cl.send(`{"type":"auth","token":"` + token + `"}`)
	cl.expect("authenticated")
	cl.subscribe("secure")
	big := `"` + strings.Repeat("x", 100000) + `"` // several TLS records and read buffers
	cl.publish("secure", big)
	cl.expectMessage("secure", big)
	cl.sync()
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their files and a pool trusting the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	certFile, keyFile, pool, err := testcert.Files(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pool
}
