package server

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	gws "github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/auth"
	"github.com/whispeer-io/whispeer/server/config"
)

// The tests below play hostile clients and assert the bound of each
// mechanism that stands against them: bytes logged, entries kept, hashes
// computed at once, connection slots held, logins let through, upgrades
// refused.

// hostileText is n bytes that a log must not repeat: terminal escapes, a
// bidirectional override, a newline that would forge a log line and an
// invalid UTF-8 byte.
func hostileText(n int) string {
	const unit = "A\x1b[2J\u202e\nlevel=ERROR msg=forged \xff"
	return strings.Repeat(unit, n/len(unit)+1)[:n]
}

// jsonString returns s as a JSON string literal.
func jsonString(t testing.TB, s string) string {
	return string(mustJSON(t, strings.ToValidUTF8(s, "\uFFFD")))
}

func TestHostile_LogAmplification(t *testing.T) {
	const frames = 40
	tooLong := fmt.Sprintf("user name longer than %d bytes", auth.MaxUsernameBytes)
	cases := []struct {
		name string
		send func(t *testing.T, ts *testServer)
		want []string // in the log
	}{
		{"JSON login with a 300 kB name", func(t *testing.T, ts *testServer) {
			c := ts.dial(t)
			login := `{"type":"login","username":` + jsonString(t, hostileText(300_000)) + `,"password":"x"}`
			for range frames {
				c.send(login)
				c.expectError(tooLong)
			}
		}, []string{"user name too long", "username_bytes="}},
		{"native ERROR with a 60 kB text", func(t *testing.T, ts *testServer) {
			n := ts.dialNative(t, "tcp", nil, 0)
			text := []byte(hostileText(60_000))
			for range frames {
				n.send(&wire.Frame{Type: wire.TypeError, Error: wire.Error{Code: wire.CodeInvalid, Text: text}})
			}
			n.sync()
		}, []string{"error from client", "text_bytes=60000"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, func(c *config.Config) { c.Server.AuthTimeout = time.Hour })
			stopped := time.Now() // the gate's clock stands still: no refill
			ts.peerGate.now = func() time.Time { return stopped }
			before := len(ts.logs.String())
			tc.send(t, ts)
			logs := ts.logs.String()[before:]
			// One address may cause peerLogBurst lines at once, each with
			// an excerpt of the peer's text.
			const maxLine = 512
			if lines := strings.Count(logs, "\n"); len(logs) > peerLogBurst*maxLine || lines > peerLogBurst {
				t.Fatalf("%d frames wrote %d lines, %d bytes of log, want at most %d lines of %d bytes", frames, lines, len(logs), peerLogBurst, maxLine)
			}
			for _, forged := range []string{"\x1b", "\u202e", "\nlevel=ERROR", "\xff"} {
				if strings.Contains(logs, forged) {
					t.Fatalf("the log repeats %q unescaped:\n%s", forged, logs)
				}
			}
			for _, want := range tc.want {
				if !strings.Contains(logs, want) {
					t.Errorf("the log lacks %q:\n%s", want, logs)
				}
			}
			if got := ts.Stats().LogSuppressed; got == 0 {
				t.Errorf("LogSuppressed = 0 after %d lines from one address", frames)
			}
			if got := ts.throttle.Len(); got != 0 {
				t.Errorf("the login limiter keeps %d keys for names it refused outright", got)
			}
		})
	}
}

// pipeClient is a native client over a pipe, in a bubble.
type pipeClient struct {
	t  *testing.T
	nc net.Conn
	r  *wire.Reader
}

// dialPipe connects to the server behind l and says HELLO.
func dialPipe(t *testing.T, l *pipeListener) *pipeClient {
	nc, _ := l.dial()
	c := &pipeClient{t: t, nc: nc}
	c.r = wire.NewReader(c.nc, wire.MaxFrameSize)
	c.send(&wire.Frame{Type: wire.TypeHello, Hello: wire.Hello{Version: wire.Version}})
	return c
}

func (c *pipeClient) send(f *wire.Frame) {
	c.t.Helper()
	b, err := wire.AppendFrame(nil, f)
	if err != nil {
		c.t.Fatal(err)
	}
	go c.nc.Write(b) // a pipe's write waits for the server's read
}

// expect reads the next frame and checks its type.
func (c *pipeClient) expect(typ wire.Type) *wire.Frame {
	c.t.Helper()
	f, err := c.r.Next()
	if err != nil {
		c.t.Fatalf("read, want %v: %v", typ, err)
	}
	if f.Type != typ {
		c.t.Fatalf("got %v %v, want %v", f.Type, describe(f), typ)
	}
	return f
}

// expectEnd reads until the end of the stream, failing on a frame.
func (c *pipeClient) expectEnd() {
	c.t.Helper()
	if f, err := c.r.Next(); err == nil {
		c.t.Fatalf("got %v %v, want the end of the connection", f.Type, describe(f))
	}
}

// bubbleServer starts a server with cfg serving native TCP clients on a
// pipe listener, in the calling synctest bubble, and shuts it down when
// the test ends.
func bubbleServer(t *testing.T, edit func(*config.Config)) (*Server, *pipeListener) {
	cfg := testConfig()
	cfg.Auth.Users = testUsers
	if edit != nil {
		edit(cfg)
	}
	srv, err := New(cfg, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ln := newPipeListener()
	served := make(chan error, 1)
	go func() { served <- srv.ServeTCP(ln) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("ServeTCP: %v", err)
		}
	})
	return srv, ln
}

func TestHostile_AuthDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, ln := bubbleServer(t, func(c *config.Config) { c.Server.MaxConnections = 1 })
		idle := dialPipe(t, ln)
		idle.expect(wire.TypeWelcome)

		// The connection that never authenticates holds the only slot
		// while it answers pings...
		refused := dialPipe(t, ln)
		if f := refused.expect(wire.TypeError); f.Error.Code != wire.CodeLimit {
			t.Fatalf("second connection: ERROR %v %q, want limit", f.Error.Code, f.Error.Text)
		}
		for range 3 {
			time.Sleep(3 * time.Second)
			idle.send(&wire.Frame{Type: wire.TypePing})
			idle.expect(wire.TypePong)
		}
		// ...until server.auth_timeout after it connected.
		time.Sleep(time.Second)
		f := idle.expect(wire.TypeError)
		if f.Error.Code != wire.CodeUnauthorized || !f.Error.Fatal || !strings.Contains(string(f.Error.Text), "authentication timeout") {
			t.Fatalf("ERROR %v fatal=%v %q, want a fatal unauthorized authentication timeout", f.Error.Code, f.Error.Fatal, f.Error.Text)
		}
		idle.expectEnd()
		synctest.Wait()
		if st := srv.Stats(); st.TCP.Open != 0 || st.AuthTimeouts != 1 {
			t.Fatalf("after the deadline: %d open, %d auth timeouts; want 0 and 1", st.TCP.Open, st.AuthTimeouts)
		}

		// The slot is free, and a client that authenticates in time keeps
		// its connection past the deadline.
		good := dialPipe(t, ln)
		good.expect(wire.TypeWelcome)
		token, _ := srv.issuer.Issue("alice")
		good.send(&wire.Frame{Type: wire.TypeAuth, Auth: wire.Auth{Token: []byte(token)}})
		good.expect(wire.TypeAuthOK)
		time.Sleep(2 * srv.cfg.Server.AuthTimeout)
		good.send(&wire.Frame{Type: wire.TypePing})
		good.expect(wire.TypePong)
		good.nc.Close()
	})
}

// TestHostile_AuthDeadlineDuringCheck: a login whose password check is
// still under way (waiting its turn among many) when the deadline passes
// is not cut off; once the check ends the connection has authGrace more.
func TestHostile_AuthDeadlineDuringCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, ln := bubbleServer(t, nil)
		sessions := make(chan *session, 1)
		srv.hooks.session = func(s *session) { sessions <- s }
		c := dialPipe(t, ln)
		c.expect(wire.TypeWelcome)
		sess := <-sessions
		sess.checking.Store(true) // as login does around Authenticate
		time.Sleep(srv.cfg.Server.AuthTimeout)
		synctest.Wait() // the deadline, due now too, has found the check under way
		c.send(&wire.Frame{Type: wire.TypePing})
		c.expect(wire.TypePong)
		sess.checked()
		checked := time.Now()
		time.Sleep(authGrace - time.Millisecond)
		c.send(&wire.Frame{Type: wire.TypePing})
		c.expect(wire.TypePong)
		if f := c.expect(wire.TypeError); !strings.Contains(string(f.Error.Text), "authentication timeout") {
			t.Fatalf("ERROR %q, want an authentication timeout", f.Error.Text)
		}
		if d := time.Since(checked); d != authGrace {
			t.Fatalf("closed %v after the check ended, want authGrace, %v", d, authGrace)
		}
		c.expectEnd()
	})
}

// TestHostile_AuthDeadlineWebSocket checks the deadline on WebSocket, for
// a connection that sends nothing, one that only logs in (a JSON login
// answers a token but does not authenticate) and a native one: each is
// closed with 1008 server.auth_timeout after it connected.
func TestHostile_AuthDeadlineWebSocket(t *testing.T) {
	cheap, err := auth.HashPasswordWith("password", auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		start func(t *testing.T, nc net.Conn)
	}{
		{"silent", func(*testing.T, net.Conn) {}},
		{"JSON login only", func(t *testing.T, nc net.Conn) {
			writeWS(t, nc, gws.OpText, []byte(readmeLogin))
			if data, _, err := wsutil.ReadServerData(nc); err != nil || !strings.Contains(string(data), `"login_response"`) {
				t.Fatalf("got %s, %v; want a login_response", data, err)
			}
		}},
		{"native HELLO only", func(t *testing.T, nc net.Conn) {
			b, _ := wire.AppendFrame(nil, &wire.Frame{Type: wire.TypeHello, Hello: wire.Hello{Version: wire.Version}})
			writeWS(t, nc, gws.OpBinary, b)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, _ := bubbleServer(t, func(c *config.Config) {
					c.Auth.Users = []config.User{{Username: "admin", Password: config.Secret(cheap), Publish: []string{"#"}}}
				})
				nc := dialBubbleWS(t, srv)
				start := time.Now()
				tc.start(t, nc)
				var err error
				for err == nil {
					_, _, err = wsutil.ReadServerData(nc)
				}
				var ce wsutil.ClosedError
				if !errors.As(err, &ce) || ce.Code != gws.StatusPolicyViolation || !strings.Contains(ce.Reason, "authentication timeout") {
					t.Fatalf("connection ended with %v, want close 1008 authentication timeout", err)
				}
				if d, want := time.Since(start), srv.cfg.Server.AuthTimeout; d != want {
					t.Fatalf("closed %v after it connected, want server.auth_timeout = %v", d, want)
				}
				if got := srv.Stats().AuthTimeouts; got != 1 {
					t.Fatalf("AuthTimeouts = %d, want 1", got)
				}
			})
		})
	}
}

// writeWS writes one masked client frame, from a goroutine since a pipe's
// write waits for the server's read.
func writeWS(t *testing.T, nc net.Conn, op gws.OpCode, payload []byte) {
	go func() {
		if err := wsutil.WriteClientMessage(nc, op, payload); err != nil {
			t.Errorf("write: %v", err)
		}
	}()
}

// TestHostile_HTTPConnections holds keep-alive connections open on the
// WebSocket port: they count toward max_connections, and are closed once
// idle for server.http_idle_timeout.
func TestHostile_HTTPConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Server.MaxConnections = 2
		srv, err := New(cfg, WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		ln := newPipeListener()
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		defer func() {
			if err := srv.Shutdown(context.Background()); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			if err := <-served; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}()
		// get sends a keep-alive request for /healthz and reads the answer,
		// or reports that the connection was closed instead.
		get := func(nc net.Conn, r *bufio.Reader) bool {
			go nc.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
			resp, err := http.ReadResponse(r, nil)
			if err != nil {
				return false
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}
		var held []*bufio.Reader
		var conns []net.Conn
		for range 2 {
			nc, _ := ln.dial()
			r := bufio.NewReader(nc)
			if !get(nc, r) {
				t.Fatal("a keep-alive request within max_connections failed")
			}
			held, conns = append(held, r), append(conns, nc)
		}
		synctest.Wait()
		if st := srv.Stats(); st.HTTPOpen != 2 {
			t.Fatalf("HTTPOpen = %d with two keep-alive connections, want 2", st.HTTPOpen)
		}
		extra, _ := ln.dial()
		if get(extra, bufio.NewReader(extra)) {
			t.Fatal("a third connection was served past max_connections = 2")
		}
		// Idle for server.http_idle_timeout, the held connections are
		// closed and their slots free.
		time.Sleep(cfg.Server.HTTPIdleTimeout)
		synctest.Wait()
		for i, r := range held {
			if _, err := r.ReadByte(); err == nil {
				t.Fatalf("keep-alive connection %d still open after the idle timeout", i)
			}
			conns[i].Close()
		}
		if st := srv.Stats(); st.HTTPOpen != 0 || st.HTTPRefused != 1 {
			t.Fatalf("HTTPOpen = %d, HTTPRefused = %d; want 0 and 1", st.HTTPOpen, st.HTTPRefused)
		}
		again, _ := ln.dial()
		if !get(again, bufio.NewReader(again)) {
			t.Fatal("a connection after the idle ones were closed was refused")
		}
		again.Close()
		extra.Close()
	})
}

// TestHostile_LockOut: an attacker who has failed hundreds of times for a
// user name from 60 addresses cannot keep the user from logging in from
// the address they use, while the attacker's addresses are held back.
func TestHostile_LockOut(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial(t)
	c.send(readmeLogin) // the user's address becomes a known one
	c.expect("login_response")
	for i := range 300 {
		ts.throttle.Fail("admin", fmt.Sprintf("198.51.100.%d", i%60))
	}
	for range 3 {
		c.send(readmeLogin)
		c.expect("login_response")
	}
	for _, addr := range []string{"198.51.100.7", "203.0.113.1"} {
		if ts.throttle.Allow("admin", addr) == 0 {
			t.Fatalf("%s may guess at the attacked name at once", addr)
		}
	}
}

// TestHostile_TokenExpiry: a session lasts no longer than the token it
// authenticated with, whether the token came from a login or was
// presented.
func TestHostile_TokenExpiry(t *testing.T) {
	for _, how := range []string{"login", "token"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, ln := bubbleServer(t, func(c *config.Config) {
					c.Auth.TokenTTL = time.Hour
					c.Server.PingInterval = 2 * time.Hour // the client does not answer pings
				})
				c := dialPipe(t, ln)
				c.expect(wire.TypeWelcome)
				if how == "login" {
					c.send(&wire.Frame{Type: wire.TypeLogin, Login: wire.Login{User: []byte("alice"), Password: []byte("alice-pw")}})
				} else {
					token, _ := srv.issuer.Issue("alice")
					c.send(&wire.Frame{Type: wire.TypeAuth, Auth: wire.Auth{Token: []byte(token)}})
				}
				c.expect(wire.TypeAuthOK)
				time.Sleep(time.Hour - time.Second)
				c.send(&wire.Frame{Type: wire.TypePing})
				c.expect(wire.TypePong)
				time.Sleep(time.Second)
				f := c.expect(wire.TypeError)
				if f.Error.Code != wire.CodeUnauthorized || !f.Error.Fatal || !strings.Contains(string(f.Error.Text), "token expired") {
					t.Fatalf("ERROR %v fatal=%v %q, want a fatal unauthorized token expired", f.Error.Code, f.Error.Fatal, f.Error.Text)
				}
				c.expectEnd()
				synctest.Wait()
				if st := srv.Stats(); st.TokensExpired != 1 || st.TCP.Open != 0 {
					t.Fatalf("TokensExpired = %d, open = %d; want 1 and 0", st.TokensExpired, st.TCP.Open)
				}
			})
		})
	}
}

// TestHostile_PasswordChangeRevokesTokens: a token issued before a user's
// password changed is refused by the server running with the new one.
func TestHostile_PasswordChangeRevokesTokens(t *testing.T) {
	withPassword := func(pw string) func(*config.Config) {
		return func(c *config.Config) {
			c.Auth.Users = []config.User{{Username: "admin", Password: config.Secret(pw), Publish: []string{"#"}, Subscribe: []string{"#"}}}
		}
	}
	before := newTestServer(t, withPassword("old-password"))
	token, err := before.issuer.Issue("admin")
	if err != nil {
		t.Fatal(err)
	}
	auth := `{"type":"auth","token":"` + token + `"}`
	for _, tc := range []struct {
		password string
		ok       bool
	}{{"old-password", true}, {"new-password", false}} {
		ts := newTestServer(t, withPassword(tc.password))
		c := ts.dial(t)
		c.send(auth)
		if tc.ok {
			c.expect("authenticated")
		} else {
			c.expectRaw(authFailed)
		}
	}
}

// TestHostile_Origin: a browser page from another site cannot open a
// WebSocket connection unless server.allowed_origins names it.
func TestHostile_Origin(t *testing.T) {
	ts := newTestServer(t, nil)
	allowing := newTestServer(t, func(c *config.Config) { c.Server.AllowedOrigins = []string{"https://*.example.com"} })
	self := "http://" + strings.TrimPrefix(ts.url, "ws://")
	cases := []struct {
		ts     *testServer
		origin string
		want   int
	}{
		{ts, "", http.StatusSwitchingProtocols},
		{ts, self, http.StatusSwitchingProtocols},
		{ts, "https://evil.example", http.StatusForbidden},
		{ts, "null", http.StatusForbidden},
		{allowing, "https://app.example.com", http.StatusSwitchingProtocols},
		{allowing, "https://evil.example", http.StatusForbidden},
	}
	for _, tc := range cases {
		ctx, cancel := readCtx()
		opts := &websocket.DialOptions{HTTPHeader: http.Header{}}
		if tc.origin != "" {
			opts.HTTPHeader.Set("Origin", tc.origin)
		}
		c, resp, err := websocket.Dial(ctx, tc.ts.url, opts)
		cancel()
		if resp == nil || resp.StatusCode != tc.want {
			t.Errorf("Origin %q: %v %v, want status %d", tc.origin, resp, err, tc.want)
		}
		if c != nil {
			c.CloseNow()
			<-tc.ts.sessions
		}
	}
	if got := ts.Stats().WebSocket.Refused; got != 2 {
		t.Errorf("Refused = %d, want 2", got)
	}
}

// TestHostile_NativeWebSocketFrameLimit: a native frame in a WebSocket
// message is held to server.max_message_bytes, as on TCP.
func TestHostile_NativeWebSocketFrameLimit(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, prefix := range []uint32{0xffffffff, 2 << 20} {
		c := ts.dialNative(t, "ws", nil, 0)
		c.write(binary.BigEndian.AppendUint32(nil, prefix))
		text := c.expectError(wire.CodeTooLarge, true, 0)
		if want := fmt.Sprintf("limit %d", ts.cfg.Server.MaxMessageBytes); !strings.Contains(text, want) {
			t.Errorf("ERROR %q, want one naming %q", text, want)
		}
		c.expectEnd()
	}
}

// TestHostile_SpoofedTopics: topics that would read differently in a log
// or a UI than they are (a bidirectional override, a lone surrogate that
// would become U+FFFD) are refused with a clear error, and the server
// stays up.
func TestHostile_SpoofedTopics(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.authed(t, "admin")
	for _, tc := range []struct{ frame, want string }{
		{`{"type":"publish","topic":"chat/\u202eevil","payload":1}`, "bidirectional control character"},
		{`{"type":"subscribe","topic":"chat/\u2067x"}`, "bidirectional control character"},
		{`{"type":"publish","topic":"chat/\ud800","payload":1}`, "lone UTF-16 surrogate"},
		{`{"type":"publish","topic":"chat/\u0085","payload":1}`, "control character"},
	} {
		c.send(tc.frame)
		c.expectError(tc.want)
	}
	c.sync()
}
