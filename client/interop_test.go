package client_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/server"
	"github.com/whispeer-io/whispeer/server/config"
	"github.com/whispeer-io/whispeer/store/memory"
)

// realServer is whispeer's own server on loopback ports.
type realServer struct {
	t      *testing.T
	srv    *server.Server
	served chan error
	urls   map[string]string // tcp:// and ws://
	once   sync.Once
}

// startReal starts whispeer's server on addresses tcp and ws ("" for any
// free port), serving b when it is not nil, with the default configuration
// changed by edits. It is stopped when the test ends, if not before.
func startReal(t *testing.T, b *whispeer.Broker, tcp, ws string, edits ...func(*config.Config)) *realServer {
	t.Helper()
	cfg := config.Default()
	cfg.Store.Kind = config.StoreNone // no database in the package directory
	cfg.Auth.Users = []config.User{
		{Username: "admin", Password: "password", Publish: []string{"#"}, Subscribe: []string{"#"}},
		{Username: "alice", Password: "alice-pw", Publish: []string{"chat/alice"}, Subscribe: []string{"chat/#"}},
	}
	for _, edit := range edits {
		edit(cfg)
	}
	opts := []server.Option{server.WithLogger(slog.New(slog.DiscardHandler))}
	if b != nil {
		opts = append(opts, server.WithBroker(b))
	}
	srv, err := server.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	listen := func(addr string) net.Listener {
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		return ln
	}
	wsLn, tcpLn := listen(ws), listen(tcp)
	r := &realServer{t: t, srv: srv, served: make(chan error, 2), urls: map[string]string{
		"tcp": "tcp://" + tcpLn.Addr().String(), "ws": "ws://" + wsLn.Addr().String(),
	}}
	go func() { r.served <- srv.Serve(wsLn) }()
	go func() { r.served <- srv.ServeTCP(tcpLn) }()
	t.Cleanup(r.stop)
	return r
}

func (r *realServer) addr(scheme string) string { return r.urls[scheme][len(scheme)+3:] }

// stop shuts the server down, closing every connection.
func (r *realServer) stop() {
	r.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.srv.Shutdown(ctx); err != nil {
			r.t.Errorf("Shutdown: %v", err)
		}
		for range 2 {
			if err := <-r.served; err != nil {
				r.t.Errorf("Serve: %v", err)
			}
		}
	})
}

// TestServer_Interop runs the client against whispeer's own server.
func TestServer_Interop(t *testing.T) {
	urls := startReal(t, nil, "", "").urls
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

// TestServer_InteropRestart restarts whispeer's server under a stream of
// QoS 1 publishes: every one is acknowledged, and the subscription is
// renewed on the new server.
func TestServer_InteropRestart(t *testing.T) {
	// With a store, the renewed subscription resumes after the last
	// message it received, so nothing published around the restart is
	// missed, whenever the renewal lands.
	b, err := whispeer.New(whispeer.WithStore(memory.New()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	first := startReal(t, b, "", "")
	for _, scheme := range []string{"tcp", "ws"} {
		t.Run(scheme, func(t *testing.T) {
			srv := first
			if scheme == "ws" { // the first subtest stopped it
				srv = startReal(t, b, first.addr("tcp"), first.addr("ws"))
			}
			creds := client.WithCredentials("admin", "password")
			opts, up, _ := events()
			sub := dial(t, srv.urls[scheme], append(opts, creds)...)
			recv(t, up)
			h, got := collect(1024)
			if _, err := sub.Subscribe("orders", h); err != nil {
				t.Fatal(err)
			}
			popts, pup, _ := events()
			pub := dial(t, srv.urls[scheme], append(popts, creds)...)
			recv(t, pup)

			const n = 200
			ctx := ctxT(t)
			for i := range n {
				if i == n/2 {
					srv.stop()
					srv = startReal(t, b, first.addr("tcp"), first.addr("ws"))
				}
				if err := pub.Publish(ctx, "orders", fmt.Appendf(nil, "m%d", i), client.WithQoS(client.AtLeastOnce)); err != nil {
					t.Fatalf("publish %d: %v", i, err)
				}
			}
			recv(t, up) // the subscriber is back
			if err := pub.Publish(ctx, "orders", []byte("after"), client.WithQoS(client.AtLeastOnce)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, got, func(m *client.Message) bool { return string(m.Payload) == "after" })
			if s := pub.Stats(); s.Published != n+1 || s.Reconnects != 1 {
				t.Fatalf("publisher stats %+v", s)
			}
			srv.stop()
		})
	}
}
