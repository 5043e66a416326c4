package client_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/client/clienttest"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// authLog records the AUTH and LOGIN frames a server receives.
type authLog struct {
	mu     sync.Mutex
	frames []string
}

func (l *authLog) option() clienttest.Option {
	return clienttest.WithInspect(func(f *wire.Frame) {
		l.mu.Lock()
		defer l.mu.Unlock()
		switch f.Type {
		case wire.TypeAuth:
			l.frames = append(l.frames, "AUTH "+string(f.Auth.Token))
		case wire.TypeLogin:
			l.frames = append(l.frames, "LOGIN "+string(f.Login.User))
		}
	})
}

func (l *authLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.frames, ", ")
}

func TestClient_Credentials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log authLog
		srv, via := newPipeServer(t, clienttest.WithUser("alice", "s3cret", "tok-1"), log.option())
		opts, up, _ := events()
		c := dial(t, srv.URL("tcp"), append(opts, via, client.WithCredentials("alice", "s3cret"))...)
		recv(t, up)
		srv.Cut()
		recv(t, up)
		if err := c.Publish(ctxT(t), "t", []byte("x"), client.WithQoS(client.AtLeastOnce)); err != nil {
			t.Fatal(err)
		}
		if n := srv.Connections(); n != 2 {
			t.Fatalf("%d connections, want 2", n)
		}
		if got, want := log.String(), "LOGIN alice, AUTH tok-1"; got != want {
			t.Fatalf("server saw %q, want %q: the token LOGIN earned is used to reconnect", got, want)
		}
	})
}

func TestClient_CredentialsInURL(t *testing.T) {
	srv := newServer(t, clienttest.WithUser("alice", "s3cret", "tok-1"))
	url := "tcp://alice:s3cret@" + srv.URL("tcp")[len("tcp://"):]
	dial(t, url)
}

func TestClient_Token(t *testing.T) {
	srv := newServer(t, clienttest.WithToken("jwt"))
	dial(t, srv.URL("ws"), client.WithToken("jwt"))
}

func TestClient_AuthRefused(t *testing.T) {
	srv := newServer(t, clienttest.WithUser("alice", "s3cret", "tok-1"))
	for name, opt := range map[string]client.Option{
		"password": client.WithCredentials("alice", "wrong"),
		"token":    client.WithToken("forged"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := client.Dial(ctxT(t), srv.URL("tcp"), opt)
			if !errors.Is(err, client.ErrAuth) || whispeer.ErrorCode(err) != whispeer.CodeUnauthorized {
				t.Fatalf("Dial = %v, want ErrAuth", err)
			}
		})
	}
}
