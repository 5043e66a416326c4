package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// frameTimeout bounds the wait for one frame.
const frameTimeout = 20 * time.Second

// frameQueue is how many frames of one type a JSONConn keeps unread
// before its reader waits.
const frameQueue = 1 << 16

// Frame is a frame of the PopSub JSON protocol from the server, the
// fields the tests read.
type Frame struct {
	Type      string          `json:"type"`
	Topic     string          `json:"topic"`
	Payload   json.RawMessage `json:"payload"`
	MessageID string          `json:"message_id"`
	QoS       int             `json:"qos"`
	Offset    uint64          `json:"offset"`
	Epoch     string          `json:"epoch"`
	Recovered *bool           `json:"recovered"`
	Sealed    bool            `json:"sealed"`
	Encoding  string          `json:"encoding"`
	Token     string          `json:"token"`
	Message   string          `json:"message"`
	Code      string          `json:"code"`
}

// JSONConn is a PopSub JSON client on a WebSocket connection. A goroutine
// reads its frames into a queue per type. Send and Recv are safe for
// concurrent use.
type JSONConn struct {
	c      *websocket.Conn
	ctx    context.Context
	cancel context.CancelFunc
	wmu    sync.Mutex
	mu     sync.Mutex
	queues map[string]chan Frame
	done   chan struct{}
	err    error // why the reader stopped, once done is closed
}

// Login logs in as user on a node's WebSocket endpoint and returns the
// token, which authenticates on every node of a cluster (they share the
// secret that signs it).
func Login(t testing.TB, wsURL, user, password string) string {
	t.Helper()
	c, err := dialJSON(wsURL)
	if err != nil {
		t.Fatalf("clustertest: dial %s: %v", wsURL, err)
	}
	defer c.Close()
	c.Send(map[string]any{"type": "login", "username": user, "password": password})
	return c.Next(t, "login_response").Token
}

// DialJSON connects to a node's WebSocket endpoint as a PopSub JSON
// client authenticated with token; it closes the connection when the test
// ends.
func DialJSON(t testing.TB, wsURL, token string) *JSONConn {
	t.Helper()
	c, err := dialJSON(wsURL)
	if err != nil {
		t.Fatalf("clustertest: dial %s: %v", wsURL, err)
	}
	t.Cleanup(c.Close)
	c.Send(map[string]any{"type": "auth", "token": token})
	c.Next(t, "authenticated")
	return c
}

// dialJSON opens the connection and starts its reader.
func dialJSON(wsURL string) (*JSONConn, error) {
	ctx, cancel := context.WithCancel(context.Background())
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	defer dcancel()
	ws, _, err := websocket.Dial(dctx, wsURL, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	ws.SetReadLimit(16 << 20)
	c := &JSONConn{c: ws, ctx: ctx, cancel: cancel, queues: map[string]chan Frame{}, done: make(chan struct{})}
	go c.read()
	return c, nil
}

// read queues every frame by type until the connection ends.
func (c *JSONConn) read() {
	defer close(c.done)
	for {
		_, data, err := c.c.Read(c.ctx)
		if err != nil {
			c.err = err
			return
		}
		var f Frame
		if err := json.Unmarshal(data, &f); err != nil {
			c.err = fmt.Errorf("frame %.200q: %w", data, err)
			return
		}
		select {
		case c.queue(f.Type) <- f:
		case <-c.ctx.Done():
			return
		}
	}
}

// queue returns the queue of frames of type typ.
func (c *JSONConn) queue(typ string) chan Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	q, ok := c.queues[typ]
	if !ok {
		q = make(chan Frame, frameQueue)
		c.queues[typ] = q
	}
	return q
}

// Send writes v as one text message; an error ends the connection, which
// Recv then reports.
func (c *JSONConn) Send(v any) {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // a test's own frame
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	ctx, cancel := context.WithTimeout(c.ctx, frameTimeout)
	defer cancel()
	_ = c.c.Write(ctx, websocket.MessageText, data)
}

// Recv returns the next frame of type typ, or an error when the
// connection ended first or none came within 20 seconds.
func (c *JSONConn) Recv(typ string) (Frame, error) {
	q := c.queue(typ)
	select {
	case f := <-q:
		return f, nil
	default:
	}
	timer := time.NewTimer(frameTimeout)
	defer timer.Stop()
	select {
	case f := <-q:
		return f, nil
	case <-c.done:
		select {
		case f := <-q:
			return f, nil
		default:
		}
		if e := c.pending("error"); e != nil {
			return Frame{}, fmt.Errorf("connection ended waiting for %s after error %q", typ, e.Message)
		}
		return Frame{}, fmt.Errorf("connection ended waiting for %s: %w", typ, c.err)
	case <-timer.C:
		if e := c.pending("error"); e != nil {
			return Frame{}, fmt.Errorf("no %s frame within %v; error %q", typ, frameTimeout, e.Message)
		}
		return Frame{}, fmt.Errorf("no %s frame within %v", typ, frameTimeout)
	}
}

// RecvAny returns the next frame of one of types, whichever comes first,
// or an error when the connection ended first or none came within 20
// seconds.
func (c *JSONConn) RecvAny(types ...string) (Frame, error) {
	cases := []reflect.SelectCase{
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(time.After(frameTimeout))},
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c.done)},
	}
	for _, typ := range types {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c.queue(typ))})
	}
	i, v, _ := reflect.Select(cases)
	switch i {
	case 0:
		return Frame{}, fmt.Errorf("no frame of %v within %v", types, frameTimeout)
	case 1:
		for _, typ := range types {
			if f := c.pending(typ); f != nil {
				return *f, nil
			}
		}
		return Frame{}, fmt.Errorf("connection ended waiting for %v: %w", types, c.err)
	}
	return v.Interface().(Frame), nil
}

// pending takes a queued frame of type typ, if any.
func (c *JSONConn) pending(typ string) *Frame {
	select {
	case f := <-c.queue(typ):
		return &f
	default:
		return nil
	}
}

// Next is Recv that fails the test on an error.
func (c *JSONConn) Next(t testing.TB, typ string) Frame {
	t.Helper()
	f, err := c.Recv(typ)
	if err != nil {
		t.Fatalf("clustertest: %v", err)
	}
	return f
}

// Subscribe subscribes to pattern with the extra fields of the subscribe
// frame (last, offset, epoch, qos) and returns the subscribed frame.
func (c *JSONConn) Subscribe(t testing.TB, pattern string, fields map[string]any) Frame {
	t.Helper()
	m := map[string]any{"type": "subscribe", "topic": pattern}
	for k, v := range fields {
		m[k] = v
	}
	c.Send(m)
	return c.Next(t, "subscribed")
}

// Close closes the connection and waits for its reader.
func (c *JSONConn) Close() {
	c.c.Close(websocket.StatusNormalClosure, "")
	c.cancel()
	<-c.done
}
