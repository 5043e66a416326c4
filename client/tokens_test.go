package client_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/server"
	"github.com/whispeer-io/whispeer/server/config"
)

const (
	appIss    = "https://app.example"
	appSecret = "the application's secret, 32 bytes or more"
)

// pipeListener hands the server in-memory connections, so that it runs
// on a synctest bubble's clock.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error { l.once.Do(func() { close(l.done) }); return nil }

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4250} }

// dial is a client.WithDialer function reaching the listener.
func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	a, b := net.Pipe()
	select {
	case l.conns <- b:
		return a, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// bubbleAppServer runs whispeer's server, trusting the application's
// tokens, on an in-memory listener in the calling bubble.
func bubbleAppServer(t *testing.T) (*server.Server, *pipeListener) {
	cfg := config.Default()
	cfg.Store.Kind = config.StoreNone
	cfg.Auth.Issuers = []config.Issuer{{
		Name: appIss, Keys: []config.IssuerKey{{Algorithm: "HS256", Secret: appSecret}},
		Publish: []string{"users/{sub}/#"}, Subscribe: []string{"users/{sub}/#"},
	}}
	srv, err := server.New(cfg, server.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ln := newPipeListener()
	served := make(chan error, 1)
	go func() { served <- srv.ServeTCP(ln) }()
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		<-served
	})
	return srv, ln
}

// mint signs the application's token for sub, valid for ttl from now.
func mint(sub string, ttl time.Duration) (string, error) {
	now := time.Now()
	return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": appIss, "sub": sub, "iat": now.Unix(), "exp": now.Add(ttl).Unix(),
	}).SignedString([]byte(appSecret))
}

func TestTokenSource_RefreshesWithoutReconnecting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, ln := bubbleAppServer(t)
		var calls atomic.Int32
		disconnects := make(chan error, 4)
		c, err := client.Dial(t.Context(), "tcp://pipe", client.WithDialer(ln.dial),
			client.WithDisconnectHandler(func(err error) { disconnects <- err }),
			client.WithTokenSource(func(context.Context) (string, error) {
				calls.Add(1)
				return mint("zoe", time.Hour)
			}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Refreshed at 55 min, 1 h 50, 2 h 45: the connection outlives
		// three tokens.
		time.Sleep(3 * time.Hour)
		synctest.Wait()
		if n := calls.Load(); n != 4 {
			t.Fatalf("token source called %d times, want 4", n)
		}
		select {
		case err := <-disconnects:
			t.Fatalf("disconnected: %v", err)
		default:
		}
		if st := srv.Stats(); st.TokensExpired != 0 {
			t.Fatalf("TokensExpired = %d", st.TokensExpired)
		}
		got := make(chan string, 1)
		if _, err := c.Subscribe("users/zoe/#", func(_ context.Context, m *client.Message) error {
			got <- string(m.Payload)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := c.Publish(t.Context(), "users/zoe/x", []byte(`"still here"`), client.WithQoS(client.AtLeastOnce)); err != nil {
			t.Fatal(err)
		}
		if p := <-got; p != `"still here"` {
			t.Fatalf("got %s", p)
		}
	})
}

func TestTokenSource_FailedRefreshReconnectsWithFreshToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ln := bubbleAppServer(t)
		var calls atomic.Int32
		down := time.Now().Add(time.Hour) // the backend is down until the token expires
		errs := make(chan error, 16)
		connects := make(chan struct{}, 4)
		c, err := client.Dial(t.Context(), "tcp://pipe", client.WithDialer(ln.dial),
			client.WithErrorHandler(func(err error) { errs <- err }),
			client.WithConnectHandler(func() { connects <- struct{}{} }),
			client.WithTokenSource(func(context.Context) (string, error) {
				if calls.Add(1) > 1 && time.Now().Before(down) {
					return "", errors.New("backend down")
				}
				return mint("zoe", time.Hour)
			}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		<-connects
		time.Sleep(time.Hour + time.Minute) // past the first token's exp
		synctest.Wait()
		var sawRefresh, sawExpired bool
		for len(errs) > 0 {
			err := <-errs
			sawRefresh = sawRefresh || containsText(err, "backend down")
			sawExpired = sawExpired || containsText(err, "token expired")
		}
		if !sawRefresh || !sawExpired {
			t.Fatalf("refresh failure reported %v, expiry reported %v", sawRefresh, sawExpired)
		}
		select {
		case <-connects: // reconnected with a token from the source
		default:
			t.Fatal("no reconnection after the token expired")
		}
		if !c.Connected() {
			t.Fatal("not connected")
		}
	})
}

func TestTokenSource_ErrorFailsDial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ln := bubbleAppServer(t)
		_, err := client.Dial(t.Context(), "tcp://pipe", client.WithDialer(ln.dial),
			client.WithTokenSource(func(context.Context) (string, error) { return "", errors.New("no session") }))
		if !errors.Is(err, client.ErrAuth) {
			t.Fatalf("Dial: %v, want ErrAuth", err)
		}
	})
}

func containsText(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }
