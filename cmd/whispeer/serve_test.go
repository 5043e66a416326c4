package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/internal/testcert"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

func TestServe_NativeTCPAndTLS(t *testing.T) {
	for _, secure := range []bool{false, true} {
		name := map[bool]string{false: "tcp", true: "tls"}[secure]
		t.Run(name, func(t *testing.T) {
			port, tcpPort := freePort(t), freePort(t)
			args := []string{"serve", "--server.port=" + strconv.Itoa(port), "--server.tcp_port=" + strconv.Itoa(tcpPort)}
			var pool *x509.CertPool
			if secure {
				var cert, key string
				cert, key, pool = testCertificate(t)
				args = append(args, "--tls.cert_file="+cert, "--tls.key_file="+key)
			}
			cmd := command(t, nil, args...)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			out := bufio.NewReader(stdout)
			ws, wsURL := map[bool]string{false: "ws", true: "wss"}[secure], "127.0.0.1:"+strconv.Itoa(port)
			expectLine(t, out, "WebSocket server listening on "+ws+"://"+wsURL+"\n")
			addr := "127.0.0.1:" + strconv.Itoa(tcpPort)
			expectLine(t, out, "Native TCP listening on "+name+"://"+addr+"\n")

			var nc net.Conn
			if secure {
				nc, err = tls.Dial("tcp", addr, &tls.Config{RootCAs: pool})
			} else {
				nc, err = net.Dial("tcp", addr)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			hello, _ := wire.AppendHello(nil, &wire.Hello{Version: wire.Version})
			if _, err := nc.Write(hello); err != nil {
				t.Fatal(err)
			}
			r := wire.NewReader(nc, 0)
			if f, err := r.Next(); err != nil || f.Type != wire.TypeWelcome {
				t.Fatalf("want WELCOME, got %v", err)
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			f, err := r.Next()
			if err != nil || f.Type != wire.TypeError || f.Error.Code != wire.CodeUnavailable || !f.Error.Fatal {
				t.Fatalf("want a fatal ERROR unavailable at shutdown, got %v", err)
			}
			if _, err := r.Next(); !errors.Is(err, io.EOF) {
				t.Fatalf("want the end of the stream, got %v", err)
			}
			nc.Close()
			if err := cmd.Wait(); err != nil {
				t.Fatalf("exit: %v", err)
			}
		})
	}
}

func expectLine(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil || line != want {
		t.Fatalf("printed %q (%v), want %q", line, err, want)
	}
}

// testCertificate writes a self-signed certificate for 127.0.0.1 and its
// key, and returns their files and a pool trusting the certificate.
func testCertificate(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	certFile, keyFile, pool, err := testcert.Files(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pool
}
