package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	gws "github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/server/config"
)

func TestKeepalive_SilentClientsClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, _ := bubbleServer(t, func(c *config.Config) { c.Server.PingInterval = 20 * time.Millisecond })
		nc := dialBubbleWS(t, srv)
		// Read frames without ever answering: pings come, then the server
		// drops the connection, well within 50 intervals.
		start, pings := time.Now(), 0
		for {
			if d := time.Since(start); d > time.Second {
				t.Fatalf("still open after %v and %d pings", d, pings)
			}
			h, err := gws.ReadHeader(nc)
			if err != nil {
				break
			}
			if h.OpCode == gws.OpPing {
				pings++
			}
			if _, err := io.CopyN(io.Discard, nc, h.Length); err != nil {
				break
			}
		}
		if pings == 0 {
			t.Fatal("no ping before the close")
		}
		synctest.Wait()
		if n := srv.Stats().WebSocket.IdleClosed; n != 1 {
			t.Fatalf("IdleClosed = %d", n)
		}
	})
}

func TestKeepalive_AnsweringClientsStay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 20 * time.Millisecond
		srv, _ := bubbleServer(t, func(c *config.Config) { c.Server.PingInterval = interval })
		nc := dialBubbleWS(t, srv)
		// Answering five pings keeps the connection open for many times
		// the two silent intervals after which it would be dropped.
		rd := wsutil.NewReader(nc, gws.StateClientSide)
		start := time.Now()
		for pings := 0; pings < 5; {
			h, err := rd.NextFrame()
			if err != nil {
				t.Fatalf("closed after %v although answering pings: %v", time.Since(start), err)
			}
			if h.OpCode == gws.OpPing {
				pings++
				if err := wsutil.WriteClientMessage(nc, gws.OpPong, nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := rd.Discard(); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if d := time.Since(start); d <= 2*interval {
			t.Fatalf("open for %v only, not past the %v after which silence drops a connection", d, 2*interval)
		}
		if n := srv.Stats().WebSocket.IdleClosed; n != 0 {
			t.Fatalf("IdleClosed = %d", n)
		}
	})
}

func TestShutdown_FlushesQueuedThenCloses1001(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.Replay.Size = 0 })
	const subscribers, messages = 3, 500
	clients := make([]*client, subscribers)
	for i := range clients {
		clients[i] = ts.authed(t, "admin")
		clients[i].subscribe("s")
	}
	for i := range messages {
		if err := ts.Broker().Publish(context.Background(), "s", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- ts.Shutdown(ctx)
	}()
	for _, c := range clients {
		for i := range messages {
			c.expectMessage("s", strconv.Itoa(i))
		}
		if code := c.closeStatus(); code != websocket.StatusGoingAway {
			t.Fatalf("close status %v, want 1001", code)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := ts.Broker().Publish(context.Background(), "s", nil); !errors.Is(err, whispeer.ErrClosed) {
		t.Fatalf("the server's broker is still open: %v", err)
	}
	ctx, cancel := readCtx()
	defer cancel()
	if _, _, err := websocket.Dial(ctx, ts.url, nil); err == nil {
		t.Fatal("dial after shutdown succeeded")
	}
}

func TestShutdown_LeavesAnEmbeddedBrokerOpen(t *testing.T) {
	b, err := whispeer.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ts := newTestServer(t, nil, WithBroker(b))
	c := ts.authed(t, "admin")
	c.subscribe("x")
	if err := b.Publish(context.Background(), "x", []byte(`"from Go"`)); err != nil {
		t.Fatal(err)
	}
	c.expectMessage("x", `"from Go"`)
	done := make(chan error, 1)
	go func() { done <- ts.Shutdown(context.Background()) }()
	if code := c.closeStatus(); code != websocket.StatusGoingAway {
		t.Fatalf("close status %v", code)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), "x", []byte("1")); err != nil {
		t.Fatalf("embedded broker closed by the server: %v", err)
	}
	if n := b.Stats().Subscriptions; n != 0 {
		t.Fatalf("%d subscriptions left behind", n)
	}
}

func TestMaxConnections(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.Server.MaxConnections = 2 })
	ts.dial(t)
	ts.dial(t)
	ctx, cancel := readCtx()
	defer cancel()
	_, resp, err := websocket.Dial(ctx, ts.url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third connection: %v", err)
	}
}

func TestNonWebSocketRequests(t *testing.T) {
	ts := newTestServer(t, nil)
	base := "http" + strings.TrimPrefix(ts.url, "ws")
	for _, path := range []string{"/", "/ws", "/other"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
	}
}

func TestNonPayloadBytesFromGo(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.authed(t, "admin")
	c.subscribe("raw")
	for _, p := range [][]byte{[]byte("plain text"), {0xff, 0x00, 0x01}} {
		if err := ts.Broker().Publish(context.Background(), "raw", p); err != nil {
			t.Fatal(err)
		}
	}
	c.expectMessage("raw", `"plain text"`)
	c.expectMessage("raw", `{"base64":"/wAB"}`)
}
