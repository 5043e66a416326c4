package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// centrifugoClient speaks Centrifugo's JSON protocol (version 2) over
// WebSocket: commands with ids, one JSON object a line; replies and pushes
// likewise, several to a message. Writes go through a batcher; one
// goroutine reads, hands publications to the handler of their channel and
// replies to the command waiting for them.
type centrifugoClient struct {
	conn     net.Conn
	br       *bufio.Reader
	out      *batcher
	ids      atomic.Uint64
	mu       sync.Mutex // guards handlers, waiting
	handlers map[string]Handler
	waiting  map[uint64]chan []byte
	failed   atomic.Int64 // error replies to commands no one waits for
	done     chan struct{}
}

// dialCentrifugo opens a WebSocket connection to url and starts reading.
func dialCentrifugo(ctx context.Context, url string) (*centrifugoClient, error) {
	conn, br, _, err := ws.Dialer{Timeout: controlTimeout}.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	if br == nil {
		br = bufio.NewReaderSize(conn, 32<<10)
	}
	c := &centrifugoClient{conn: conn, br: br, out: newBatcher(conn, 32<<10),
		handlers: map[string]Handler{}, waiting: map[uint64]chan []byte{}, done: make(chan struct{})}
	go c.read()
	return c, nil
}

// centrifugoChannel is the channel of a topic: in the namespace that
// allows clients to publish and subscribe.
func centrifugoChannel(topic string) string { return "bench:" + topic }

// connect authenticates the connection with token.
func (c *centrifugoClient) connect(ctx context.Context, token string) error {
	_, err := c.call(ctx, `"connect":{"token":"`+token+`","name":"bench"}`)
	return err
}

// call sends a command and waits for its reply.
func (c *centrifugoClient) call(ctx context.Context, body string) ([]byte, error) {
	id := c.ids.Add(1)
	ch := make(chan []byte, 1)
	c.mu.Lock()
	c.waiting[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
	}()
	if err := c.send(`{"id":` + strconv.FormatUint(id, 10) + `,` + body + `}`); err != nil {
		return nil, err
	}
	timer := time.NewTimer(controlTimeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		var rep struct {
			Error *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(r, &rep); err != nil {
			return nil, fmt.Errorf("reply %q: %w", r, err)
		}
		if rep.Error != nil {
			return nil, fmt.Errorf("centrifugo: %d %s", rep.Error.Code, rep.Error.Message)
		}
		return r, nil
	case <-c.done:
		return nil, errors.New("connection closed")
	case <-timer.C:
		return nil, fmt.Errorf("no reply after %v", controlTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Subscribe implements Client.
func (c *centrifugoClient) Subscribe(ctx context.Context, topic string, h Handler) error {
	ch := centrifugoChannel(topic)
	c.mu.Lock()
	c.handlers[ch] = h
	c.mu.Unlock()
	_, err := c.call(ctx, `"subscribe":{"channel":"`+ch+`"}`)
	return err
}

// Publish implements Client: the payload as a JSON string (the suite's
// payloads need no escaping); the reply is read and dropped, and once a
// command was refused every Publish fails.
func (c *centrifugoClient) Publish(ctx context.Context, topic string, p []byte) error {
	if n := c.failed.Load(); n > 0 {
		return fmt.Errorf("centrifugo refused %d commands", n)
	}
	var num [20]byte
	id := strconv.AppendUint(num[:0], c.ids.Add(1), 10)
	return c.out.write(func(w *bufio.Writer) error {
		n := len(`{"id":,"publish":{"channel":"bench:","data":""}}`) + len(id) + len(topic) + len(p)
		return writeMasked(w, n, func(b []byte) []byte {
			b = append(b, `{"id":`...)
			b = append(b, id...)
			b = append(b, `,"publish":{"channel":"bench:`...)
			b = append(b, topic...)
			b = append(b, `","data":"`...)
			b = append(b, p...)
			return append(b, `"}}`...)
		})
	})
}

// send writes one text message.
func (c *centrifugoClient) send(p string) error {
	return c.out.write(func(w *bufio.Writer) error {
		return writeMasked(w, len(p), func(b []byte) []byte { return append(b, p...) })
	})
}

// Flush implements Flusher.
func (c *centrifugoClient) Flush(ctx context.Context) error { return c.out.flush() }

// Close implements Client.
func (c *centrifugoClient) Close() error {
	c.out.close()
	err := c.conn.Close()
	<-c.done
	return err
}

// read handles messages until the connection ends.
func (c *centrifugoClient) read() {
	defer close(c.done)
	var msg []byte
	for {
		h, err := ws.ReadHeader(c.br)
		if err != nil {
			return
		}
		start := len(msg)
		msg = slices.Grow(msg, int(h.Length))[:start+int(h.Length)]
		if _, err := io.ReadFull(c.br, msg[start:]); err != nil {
			return
		}
		switch {
		case h.OpCode == ws.OpClose:
			return
		case h.OpCode == ws.OpPing || h.OpCode == ws.OpPong:
			msg = msg[:start] // Centrifugo pings in the protocol, not in WebSocket
		case !h.Fin:
		default:
			for line := range bytes.SplitSeq(msg, []byte{'\n'}) {
				c.dispatch(line)
			}
			msg = msg[:0]
		}
	}
}

// dispatch handles one reply or push: a publication goes to its
// channel's handler, a reply to its waiting command, an empty object (the
// server's ping) is answered.
func (c *centrifugoClient) dispatch(b []byte) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return
	case bytes.Equal(b, []byte("{}")):
		c.send("{}")
		return
	case bytes.HasPrefix(b, []byte(`{"push":`)):
		ch, _ := jsonString(b, "channel")
		data, ok := jsonString(b, "data")
		if !ok {
			return
		}
		c.mu.Lock()
		h := c.handlers[string(ch)]
		c.mu.Unlock()
		if h != nil {
			h(data)
		}
		return
	}
	id, ok := replyID(b)
	if !ok {
		return
	}
	c.mu.Lock()
	ch := c.waiting[id]
	c.mu.Unlock()
	switch {
	case ch != nil:
		ch <- slices.Clone(b)
	case bytes.Contains(b, []byte(`"error":`)):
		c.failed.Add(1)
	}
}

// replyID reads the id that starts a reply, {"id":N,…}.
func replyID(b []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(b, []byte(`{"id":`))
	if !ok {
		return 0, false
	}
	end := bytes.IndexAny(rest, ",}")
	if end < 0 {
		return 0, false
	}
	id, err := strconv.ParseUint(string(rest[:end]), 10, 64)
	return id, err == nil
}

var (
	_ Client  = (*centrifugoClient)(nil)
	_ Flusher = (*centrifugoClient)(nil)
)
