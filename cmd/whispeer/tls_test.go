package main

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer/internal/testcert"
	"github.com/whispeer-io/whispeer/server"
	"github.com/whispeer-io/whispeer/server/config"
)

// tlsServer runs a server with a self-signed certificate on a native
// listener and a WebSocket one, and returns their tls:// and wss:// URLs
// and the certificate's PEM file.
func tlsServer(t *testing.T) (tlsURL, wssURL, certFile string) {
	t.Helper()
	certFile, keyFile, _, err := testcert.Files(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Store.Kind = config.StoreMemory
	cfg.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile}
	s, err := server.New(cfg, server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	listen := func() net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	}
	tln, wln := listen(), listen()
	served := make(chan struct{}, 2)
	go func() { s.ServeTCP(tln); served <- struct{}{} }()
	go func() { s.Serve(wln); served <- struct{}{} }()
	t.Cleanup(func() {
		s.Shutdown(context.Background())
		<-served
		<-served
	})
	return "tls://" + tln.Addr().String(), "wss://" + wln.Addr().String(), certFile
}

func TestPub_TLS(t *testing.T) {
	tlsURL, wssURL, certFile := tlsServer(t)
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	auth := []string{"--user", "admin", "--password", "password", "--qos", "1"}
	for _, url := range []string{tlsURL, wssURL} {
		scheme, _, _ := strings.Cut(url, ":")
		t.Run(scheme, func(t *testing.T) {
			_, _, err := execute(t, promptly(t), append([]string{"pub", "--url", url}, append(auth, "a", "x")...)...)
			wantError(t, err, "--ca FILE")

			_, errOut, err := execute(t, promptly(t), append([]string{"pub", "--url", url, "--ca", certFile}, append(auth, "a", "x")...)...)
			if err != nil || strings.Contains(errOut, "warning") {
				t.Fatalf("--ca: %v, %q", err, errOut)
			}

			_, errOut, err = execute(t, promptly(t), append([]string{"pub", "--url", url, "--insecure"}, append(auth, "a", "x")...)...)
			if err != nil || !strings.Contains(errOut, "warning: --insecure") {
				t.Fatalf("--insecure: %v, %q", err, errOut)
			}
		})
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--url", tlsURL, "--ca", notPEM}, "no PEM certificate"},
		{[]string{"--url", tlsURL, "--ca", filepath.Join(t.TempDir(), "missing.pem")}, "missing.pem"},
		{[]string{"--url", tlsURL, "--ca", certFile, "--insecure"}, "none of the others"},
		{[]string{"--url", "tcp://127.0.0.1:1", "--insecure"}, "for tls:// and wss:// URLs"},
	} {
		_, _, err := execute(t, promptly(t), append(append([]string{"pub"}, tc.args...), "a", "x")...)
		wantError(t, err, tc.want)
	}
}
