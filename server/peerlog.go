package server

import (
	"container/list"
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Peers choose what some log lines say and how often they are written: a
// login's user name, a client's ERROR text, a refused token. Such text is
// logged as an excerpt, and such lines pass a gate that bounds how many
// each address, and all addresses together, can cause.

// excerptBytes is how much of a peer's string a log line shows.
const excerptBytes = 64

// excerpt returns at most excerptBytes of s, cut at a character boundary,
// with control characters, invalid UTF-8, backslashes and other characters
// that are not printable (bidirectional overrides among them) escaped, and
// with the full length noted when s was cut: safe to log whatever a peer
// sent.
func excerpt(s string) string {
	cut := len(s) > excerptBytes
	if cut {
		s = s[:excerptBytes]
	}
	b := make([]byte, 0, len(s)+16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			if cut && !utf8.FullRuneInString(s[i:]) {
				i = len(s) // a character that the cut split
				continue
			}
			b = append(b, `\x`...)
			b = appendHex(b, uint64(s[i]), 2)
		case r == '\\':
			b = append(b, `\\`...)
		case unicode.IsPrint(r):
			b = append(b, s[i:i+size]...)
		case r < 0x10000:
			b = append(b, `\u`...)
			b = appendHex(b, uint64(r), 4)
		default:
			b = append(b, `\U`...)
			b = appendHex(b, uint64(r), 8)
		}
		i += size
	}
	if cut {
		b = append(b, "…"...)
	}
	return string(b)
}

// excerptAttrs returns the attributes that log a peer's string s under
// key: its excerpt and, when the excerpt is cut, its length in bytes.
func excerptAttrs(key, s string) []any {
	if len(s) <= excerptBytes {
		return []any{key, excerpt(s)}
	}
	return []any{key, excerpt(s), key + "_bytes", len(s)}
}

// appendHex appends v as digits lowercase hexadecimal digits.
func appendHex(b []byte, v uint64, digits int) []byte {
	h := strconv.FormatUint(v, 16)
	for range digits - len(h) {
		b = append(b, '0')
	}
	return append(b, h...)
}

// Bounds of the peer log gate: each address may cause peerLogBurst lines
// at once and peerLogRate a second after that; all addresses together
// globalLogBurst and globalLogRate. peerLogAddrs addresses are tracked, the
// least recently logged forgotten first.
const (
	peerLogBurst   = 10
	peerLogRate    = 1.0
	globalLogBurst = 100
	globalLogRate  = 20.0
	peerLogAddrs   = 4096
)

// peerGate rate-limits the log lines that peers cause, per address and in
// total. A line that the gate suppresses is counted, and the next line
// let through for its address says how many were. It is safe for
// concurrent use.
type peerGate struct {
	now func() time.Time

	mu     sync.Mutex
	global tokens
	addrs  map[string]*list.Element // of *peerTokens
	order  *list.List               // least recently used at the back
}

// tokens is a token bucket.
type tokens struct {
	n    float64
	last time.Time
}

// take refills t at rate a second, up to burst, and takes a token if there
// is one.
func (t *tokens) take(now time.Time, rate, burst float64) bool {
	if t.last.IsZero() {
		t.n = burst
	} else {
		t.n = min(burst, t.n+now.Sub(t.last).Seconds()*rate)
	}
	t.last = now
	if t.n < 1 {
		return false
	}
	t.n--
	return true
}

// peerTokens is one address's bucket and its count of suppressed lines.
type peerTokens struct {
	addr       string
	tokens     tokens
	suppressed int
}

func newPeerGate() *peerGate {
	return &peerGate{now: time.Now, addrs: make(map[string]*list.Element), order: list.New()}
}

// allow reports whether a line that addr causes may be logged, and if so
// how many of addr's lines were suppressed since its last one.
func (g *peerGate) allow(addr string) (ok bool, suppressed int) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	p := g.peer(addr)
	if !p.tokens.take(now, peerLogRate, peerLogBurst) || !g.global.take(now, globalLogRate, globalLogBurst) {
		p.suppressed++
		return false, 0
	}
	suppressed, p.suppressed = p.suppressed, 0
	return true, suppressed
}

// peer returns addr's state, making it and forgetting the least recently
// used address if there are too many. g.mu must be held.
func (g *peerGate) peer(addr string) *peerTokens {
	if e := g.addrs[addr]; e != nil {
		g.order.MoveToFront(e)
		return e.Value.(*peerTokens)
	}
	if len(g.addrs) >= peerLogAddrs {
		oldest := g.order.Back()
		g.order.Remove(oldest)
		delete(g.addrs, oldest.Value.(*peerTokens).addr)
	}
	p := &peerTokens{addr: addr}
	g.addrs[addr] = g.order.PushFront(p)
	return p
}

// len returns the number of addresses tracked.
func (g *peerGate) len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.addrs)
}

// peerLog logs a line that the peer's input caused, if the server's gate
// lets it through; args holding the peer's strings must come from
// excerptAttrs. A line let through after suppressed ones says how many.
func (s *session) peerLog(level slog.Level, msg string, args ...any) {
	s.srv.peerLog(s.log(), s.remoteIP(), level, msg, args...)
}

// peerLog logs a line to l that the peer at addr caused, if the gate lets
// it through.
func (srv *Server) peerLog(l *slog.Logger, addr string, level slog.Level, msg string, args ...any) {
	if !l.Enabled(context.Background(), level) {
		return
	}
	ok, n := srv.peerGate.allow(addr)
	if !ok {
		srv.stats.logSuppressed.Add(1)
		return
	}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	l.Log(context.Background(), level, msg, args...)
}
