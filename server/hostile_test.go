package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/auth"
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
		{"JSON login with a 750 kB name", func(t *testing.T, ts *testServer) {
			c := ts.dial(t)
			login := `{"type":"login","username":` + jsonString(t, hostileText(750_000)) + `,"password":"x"}`
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
			ts := newTestServer(t, nil)
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
			if got := ts.limiter.Len(); got != 0 {
				t.Errorf("the login limiter keeps %d keys for names it refused outright", got)
			}
		})
	}
}
