package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// stuckConn is a subscriber that never reads its socket once subscribed.
type stuckConn struct{ nc net.Conn }

// Close implements io.Closer.
func (s *stuckConn) Close() error { return s.nc.Close() }

// Disconnected implements Disconnecter: it reads what the server sent,
// at last, and reports whether the stream ended (the server closed the
// connection) rather than going quiet while open.
func (s *stuckConn) Disconnected() bool {
	s.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := io.Copy(io.Discard, s.nc)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// dialStuck connects to addr and writes hello, then reads until ready
// reports the subscription in place; after that nothing is read.
func dialStuck(ctx context.Context, addr string, hello []byte, ready func(*bufio.Reader) error) (*stuckConn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(controlTimeout))
	if _, err := nc.Write(hello); err == nil {
		err = ready(bufio.NewReaderSize(nc, 512))
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return &stuckConn{nc: nc}, nil
}

// ConnectStuck implements Staller: a native TCP connection, whatever the
// target's transport, that subscribes to topic and then never reads.
func (w *WhispeerNative) ConnectStuck(ctx context.Context, topic string) (io.Closer, error) {
	var b []byte
	b, _ = wire.AppendHello(b, &wire.Hello{Version: wire.Version, Name: []byte("stuck")})
	b, _ = wire.AppendAuth(b, &wire.Auth{Token: []byte(w.token)})
	b, err := wire.AppendSubscribe(b, &wire.Subscribe{SID: 1, Topic: []byte(topic)})
	if err != nil {
		return nil, err
	}
	return dialStuck(ctx, w.tcpAddr, b, func(br *bufio.Reader) error {
		r := wire.NewReader(br, 1<<20)
		for {
			f, err := r.Next()
			if err != nil {
				return err
			}
			switch f.Type {
			case wire.TypeSubAck:
				if f.SubAck.Code != wire.CodeOK {
					return fmt.Errorf("SUBACK %v", f.SubAck.Code)
				}
				return nil
			case wire.TypeError:
				return fmt.Errorf("ERROR %s", f.Error.Text)
			}
		}
	})
}

// ConnectStuck implements Staller: a NATS connection over TCP that
// subscribes to topic and then never reads.
func (n *NATS) ConnectStuck(ctx context.Context, topic string) (io.Closer, error) {
	hello := []byte("CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB " + topic + " 1\r\nPING\r\n")
	return dialStuck(ctx, n.tcpAddr, hello, func(br *bufio.Reader) error {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return err
			}
			if strings.HasPrefix(line, "PONG") {
				return nil
			}
			if strings.HasPrefix(line, "-ERR") {
				return errors.New(strings.TrimSpace(line))
			}
		}
	})
}

// ConnectStuck implements Staller: a PopSub JSON connection over
// WebSocket that subscribes to topic and then never reads.
func (w *WhispeerJSON) ConnectStuck(ctx context.Context, topic string) (io.Closer, error) {
	nc, br, _, err := ws.Dialer{Timeout: controlTimeout}.Dial(ctx, w.url)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(controlTimeout))
	err = wsutil.WriteClientText(nc, []byte(`{"type":"auth","token":"`+w.token+`"}`))
	if err == nil {
		err = wsutil.WriteClientText(nc, []byte(`{"type":"subscribe","topic":"`+topic+`"}`))
	}
	var r io.Reader = nc
	if br != nil {
		r = io.MultiReader(br, nc)
	}
	for err == nil {
		var msg []byte
		if msg, err = wsutil.ReadServerText(struct {
			io.Reader
			io.Writer
		}{r, nc}); err == nil && strings.Contains(string(msg), `"subscribed"`) {
			break
		}
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return &stuckConn{nc: nc}, nil
}

var (
	_ Staller      = (*WhispeerNative)(nil)
	_ Staller      = (*NATS)(nil)
	_ Staller      = (*WhispeerJSON)(nil)
	_ Disconnecter = (*stuckConn)(nil)
)
