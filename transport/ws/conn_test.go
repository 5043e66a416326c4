package ws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	gws "github.com/gobwas/ws"
	"github.com/whispeer-io/whispeer/transport"
)

func TestFrame(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, 70000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			payload := bytes.Repeat([]byte{'x'}, n)
			buf := append(make([]byte, HeaderRoom), payload...)
			for _, f := range [][]byte{Frame(Text, buf), AppendFrame(nil, Text, payload)} {
				got, err := gws.ReadFrame(bytes.NewReader(f))
				if err != nil {
					t.Fatal(err)
				}
				if !got.Header.Fin || got.Header.OpCode != gws.OpText || !bytes.Equal(got.Payload, payload) {
					t.Fatalf("frame of %d bytes read back as %+v", n, got.Header)
				}
			}
		})
	}
}

func TestConn_SlowConsumerPending(t *testing.T) {
	hs := newHarness(t, Options{Options: transport.Options{MaxPendingBytes: 64 << 10}})
	hs.dialRaw(t) // never reads
	e := hs.session(t)
	frame := AppendFrame(nil, Binary, make([]byte, 16<<10))
	var err error
	for i := 0; err == nil && i < 1<<16; i++ {
		err = e.c.Send(frame)
	}
	if !errors.Is(err, transport.ErrSlowConsumer) {
		t.Fatalf("Send: %v", err)
	}
	if err := <-e.closed; !errors.Is(err, transport.ErrSlowConsumer) {
		t.Fatalf("Closed(%v)", err)
	}
	if err := e.c.Send(frame); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Send after drop: %v", err)
	}
	if n := hs.h.Stats().SlowConsumers; n != 1 {
		t.Fatalf("SlowConsumers = %d", n)
	}
}

func TestConn_SlowConsumerWriteTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newPipeHarness(t, Options{Options: transport.Options{MaxPendingBytes: 1 << 40, WriteTimeout: 50 * time.Millisecond}})
		hs.dialRaw(t) // never reads, and a pipe holds nothing
		e := hs.session(t)
		if err := e.c.Send(AppendFrame(nil, Binary, make([]byte, 1<<10))); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if err := <-e.closed; !errors.Is(err, transport.ErrSlowConsumer) {
			t.Fatalf("Closed(%v)", err)
		}
	})
}

func TestHandler_IdleConnectionsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newPipeHarness(t, Options{Options: transport.Options{PingInterval: 10 * time.Millisecond}})
		hs.dialRaw(t) // never answers pings
		e := hs.session(t)
		if err := <-e.closed; !errors.Is(err, transport.ErrIdle) {
			t.Fatalf("Closed(%v)", err)
		}
		if n := hs.h.Stats().IdleClosed; n != 1 {
			t.Fatalf("IdleClosed = %d", n)
		}
	})
}

func TestHandler_PongsKeepConnectionsOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 10 * time.Millisecond
		hs := newPipeHarness(t, Options{Options: transport.Options{PingInterval: interval}})
		nc, br := hs.dialRaw(t)
		e := hs.session(t)
		// Each pong is the connection's only sign of life; answering five
		// pings keeps it open for many times the two silent intervals
		// after which it would be dropped.
		start := time.Now()
		for range 5 {
			f := readFrame(t, br)
			if f.Header.OpCode != gws.OpPing {
				t.Fatalf("got %v, want a ping", f.Header.OpCode)
			}
			if _, err := nc.Write(maskedFrame(gws.OpPong, true, f.Payload)); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		select {
		case err := <-e.closed:
			t.Fatalf("closed although it answered every ping: %v", err)
		default:
		}
		if d := time.Since(start); d <= 2*interval {
			t.Fatalf("open for %v only, not past the %v after which silence drops a connection", d, 2*interval)
		}
		if n := hs.h.Stats().IdleClosed; n != 0 {
			t.Fatalf("IdleClosed = %d", n)
		}
	})
}

func TestHandler_ShutdownFlushesThenCloses(t *testing.T) {
	hs := newHarness(t, Options{})
	c := hs.dial(t)
	e := hs.session(t)
	const n = 1000
	for i := range n {
		if err := e.c.Send(AppendFrame(nil, Text, fmt.Appendf(nil, "m%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- hs.h.Shutdown(context.Background()) }()
	ctx := testCtx(t)
	for i := range n {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if want := fmt.Sprintf("m%d", i); string(data) != want {
			t.Fatalf("got %q, want %q", data, want)
		}
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("want close 1001, got %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-e.closed; !errors.Is(err, transport.ErrShutdown) {
		t.Fatalf("Closed(%v)", err)
	}
	if _, resp, err := websocket.Dial(ctx, hs.url(), nil); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after shutdown: %v", err)
	}
}

func TestHandler_ShutdownContextDropsStragglers(t *testing.T) {
	hs := newHarness(t, Options{Options: transport.Options{CloseTimeout: time.Hour}})
	hs.dialRaw(t) // never answers the close
	e := hs.session(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := hs.h.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-e.closed; !errors.Is(err, transport.ErrShutdown) {
		t.Fatalf("Closed(%v)", err)
	}
}
