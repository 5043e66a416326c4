package server

import (
	"context"
	"net"
	"net/http"
	"testing"

	gws "github.com/gobwas/ws"
	"github.com/whispeer-io/whispeer/server/config"
)

// newBubbleTestServer is newTestServer for a test running in a synctest
// bubble: the server serves WebSocket and native TCP clients on pipe
// listeners, so that its timers (ack timeouts, deadlines, keepalive)
// follow the bubble's clock. Its logs are discarded.
func newBubbleTestServer(t *testing.T, edit func(*config.Config)) *testServer {
	t.Helper()
	srv, tln := bubbleServer(t, edit)
	sessions := make(chan *session, 1)
	srv.hooks.session = func(s *session) { sessions <- s }
	ln := serveBubbleWS(t, srv)
	dial := func(context.Context, string, string) (net.Conn, error) {
		nc, _ := ln.dial()
		return nc, nil
	}
	dialTCP := func() (net.Conn, error) {
		nc, _ := tln.dial()
		return nc, nil
	}
	return &testServer{Server: srv, url: "ws://pipe", tcpAddr: "pipe", sessions: sessions,
		http: &http.Client{Transport: &http.Transport{DialContext: dial}}, dialTCP: dialTCP}
}

// serveBubbleWS serves srv's WebSocket port on a pipe listener in the
// calling synctest bubble; the server's Shutdown closes it and ends Serve.
func serveBubbleWS(t *testing.T, srv *Server) *pipeListener {
	ln := newPipeListener()
	go func() {
		if err := srv.Serve(ln); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	return ln
}

// dialBubbleWS serves srv's WebSocket port on a pipe listener in the
// calling synctest bubble and returns a client connection to it, upgraded
// and closed when the test ends.
func dialBubbleWS(t *testing.T, srv *Server) net.Conn {
	t.Helper()
	ln := serveBubbleWS(t, srv)
	d := gws.Dialer{NetDial: func(context.Context, string, string) (net.Conn, error) {
		nc, _ := ln.dial()
		return nc, nil
	}}
	nc, _, _, err := d.Dial(context.Background(), "ws://pipe/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}
