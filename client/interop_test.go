package client_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/server"
	"github.com/whispeer-io/whispeer/server/config"
)

// realServer runs whispeer's server on loopback ports for one test and
// returns its tcp:// and ws:// URLs.
func realServer(t *testing.T) map[string]string {
	t.Helper()
	cfg := config.Default()
	cfg.Auth.Users = []config.User{
		{Username: "admin", Password: "password", Publish: []string{"#"}, Subscribe: []string{"#"}},
		{Username: "alice", Password: "alice-pw", Publish: []string{"chat/alice"}, Subscribe: []string{"chat/#"}},
	}
	srv, err := server.New(cfg, server.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 2)
	go func() { served <- srv.Serve(ws) }()
	go func() { served <- srv.ServeTCP(tcp) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		for range 2 {
			if err := <-served; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}
	})
	return map[string]string{"tcp": "tcp://" + tcp.Addr().String(), "ws": "ws://" + ws.Addr().String()}
}

// TestServer_Interop runs the client against whispeer's own server.
func TestServer_Interop(t *testing.T) {
	urls := realServer(t)
	for _, scheme := range []string{"tcp", "ws"} {
		t.Run(scheme, func(t *testing.T) {
			kr := newKeyring(t)
			admin := dial(t, urls[scheme], client.WithCredentials("admin", "password"), client.WithKeyring(kr))
			h, got := collect(4)
			if _, err := admin.Subscribe("chat/#", h); err != nil {
				t.Fatal(err)
			}
			ctx := ctxT(t)
			if err := admin.Publish(ctx, "chat/x", []byte("sealed hello"), client.WithQoS(client.AtLeastOnce)); err != nil {
				t.Fatal(err)
			}
			if m := recv(t, got); string(m.Payload) != "sealed hello" || m.Topic != "chat/x" || m.QoS != client.AtLeastOnce {
				t.Fatalf("got %+v", m)
			}
			if err := admin.Publish(ctx, "chat/y", []byte("qos 0")); err != nil {
				t.Fatal(err)
			}
			if m := recv(t, got); string(m.Payload) != "qos 0" {
				t.Fatalf("got %q", m.Payload)
			}

			alice := dial(t, urls[scheme], client.WithCredentials("alice", "alice-pw"), client.WithKeyring(kr))
			err := alice.Publish(ctx, "chat/bob", []byte("x"), client.WithQoS(client.AtLeastOnce))
			if whispeer.ErrorCode(err) != whispeer.CodeForbidden {
				t.Fatalf("publish outside the ACL: %v", err)
			}
			if _, err := alice.Subscribe("admin/#", h); whispeer.ErrorCode(err) != whispeer.CodeForbidden {
				t.Fatalf("subscribe outside the ACL: %v", err)
			}
			if _, err := client.Dial(ctx, urls[scheme], client.WithCredentials("alice", "wrong")); !errors.Is(err, client.ErrAuth) {
				t.Fatalf("wrong password: %v", err)
			}
		})
	}
}
