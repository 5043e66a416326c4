package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// jsonClient speaks the PopSub JSON protocol over a WebSocket connection.
// Writes go through a batcher; one goroutine reads frames, hands messages
// to the handler of their topic and control frames to ctrl.
type jsonClient struct {
	conn     net.Conn
	br       *bufio.Reader
	out      *batcher
	ctrl     chan []byte
	mu       sync.RWMutex // guards handlers
	handlers map[string]Handler
	done     chan struct{}
}

// Disconnected implements Disconnecter: the reader has seen the
// connection end.
func (c *jsonClient) Disconnected() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// dialJSON opens a WebSocket connection to url and starts reading.
func dialJSON(ctx context.Context, url string) (*jsonClient, error) {
	conn, br, _, err := ws.Dialer{Timeout: controlTimeout}.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	if br == nil {
		br = bufio.NewReaderSize(conn, 32<<10)
	}
	c := &jsonClient{conn: conn, br: br, out: newBatcher(conn, 32<<10),
		ctrl: make(chan []byte, 16), handlers: map[string]Handler{}, done: make(chan struct{})}
	go c.read()
	return c, nil
}

// wsLogin logs in on a connection of its own and returns the token.
func wsLogin(ctx context.Context, url, user, password string) (string, error) {
	c, err := dialJSON(ctx, url)
	if err != nil {
		return "", err
	}
	defer c.Close()
	req, _ := json.Marshal(map[string]string{"type": "login", "username": user, "password": password})
	ans, err := c.call(ctx, req, "login_response")
	if err != nil {
		return "", err
	}
	if ans.Token == "" {
		return "", errors.New("login_response without a token")
	}
	return ans.Token, nil
}

// auth authenticates the connection with token.
func (c *jsonClient) auth(ctx context.Context, token string) error {
	req, _ := json.Marshal(map[string]string{"type": "auth", "token": token})
	_, err := c.call(ctx, req, "authenticated")
	return err
}

// control is the part of a control frame the client reads.
type control struct {
	Type    string `json:"type"`
	Token   string `json:"token"`
	Error   string `json:"error"`
	Message string `json:"message"`
}

// call sends req and waits for a control frame of type want, or an error.
func (c *jsonClient) call(ctx context.Context, req []byte, want string) (control, error) {
	if err := c.send(req); err != nil {
		return control{}, err
	}
	timer := time.NewTimer(controlTimeout)
	defer timer.Stop()
	for {
		select {
		case b := <-c.ctrl:
			var ans control
			if err := json.Unmarshal(b, &ans); err != nil {
				return control{}, fmt.Errorf("answer %q: %w", b, err)
			}
			switch ans.Type {
			case want:
				return ans, nil
			case "error":
				return control{}, fmt.Errorf("server: %s", ans.Error+" "+ans.Message)
			}
		case <-c.done:
			return control{}, errors.New("connection closed")
		case <-timer.C:
			return control{}, fmt.Errorf("no %s after %v", want, controlTimeout)
		case <-ctx.Done():
			return control{}, ctx.Err()
		}
	}
}

// Subscribe implements Client.
func (c *jsonClient) Subscribe(ctx context.Context, topic string, h Handler) error {
	c.mu.Lock()
	c.handlers[topic] = h
	c.mu.Unlock()
	return c.send([]byte(`{"type":"subscribe","topic":"` + topic + `"}`))
}

// Publish implements Client. Topics and payloads of this suite need no
// JSON escaping, so the frame is assembled directly.
func (c *jsonClient) Publish(ctx context.Context, topic string, p []byte) error {
	return c.out.write(func(w *bufio.Writer) error {
		n := len(`{"type":"publish","topic":"","payload":""}`) + len(topic) + len(p)
		return writeMasked(w, n, func(b []byte) []byte {
			b = append(b, `{"type":"publish","topic":"`...)
			b = append(b, topic...)
			b = append(b, `","payload":"`...)
			b = append(b, p...)
			return append(b, `"}`...)
		})
	})
}

// send writes one text frame.
func (c *jsonClient) send(p []byte) error {
	return c.out.write(func(w *bufio.Writer) error {
		return writeMasked(w, len(p), func(b []byte) []byte { return append(b, p...) })
	})
}

// Flush implements Flusher.
func (c *jsonClient) Flush(ctx context.Context) error { return c.out.flush() }

// Close implements Client.
func (c *jsonClient) Close() error {
	c.out.close()
	return c.conn.Close()
}

// writeMasked writes a masked client text frame of n payload bytes, which
// fill appends to the slice it is given.
func writeMasked(w *bufio.Writer, n int, fill func([]byte) []byte) error {
	h := ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: ws.NewMask(), Length: int64(n)}
	if err := ws.WriteHeader(w, h); err != nil {
		return err
	}
	b := fill(w.AvailableBuffer())
	ws.Cipher(b, h.Mask, 0)
	_, err := w.Write(b)
	return err
}

var (
	_ Client  = (*jsonClient)(nil)
	_ Flusher = (*jsonClient)(nil)
)
