package server

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("é", 40) // 80 bytes: the cut falls inside a character
	cases := []struct{ in, want string }{
		{"alice", "alice"},
		{"", ""},
		{"a\nb\x1bc", `a\u000ab\u001bc`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"rtl\u202eevil", `rtl\u202eevil`},
		{`back\slash`, `back\\slash`},
		{"emoji 😀 ok", "emoji 😀 ok"},
		{long, strings.Repeat("é", 32) + "…"},
		{strings.Repeat("x", 1<<20), strings.Repeat("x", excerptBytes) + "…"},
	}
	for _, tc := range cases {
		if got := excerpt(tc.in); got != tc.want {
			t.Errorf("excerpt(%.80q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPeerGate(t *testing.T) {
	now := time.Unix(0, 0)
	g := newPeerGate()
	g.now = func() time.Time { return now }
	allowed := func(addr string, n int) (ok, suppressed int) {
		for range n {
			if o, s := g.allow(addr); o {
				ok++
				suppressed += s
			}
		}
		return ok, suppressed
	}
	if ok, _ := allowed("a", 1000); ok != peerLogBurst {
		t.Fatalf("one address got %d lines at once, want %d", ok, peerLogBurst)
	}
	now = now.Add(time.Second)
	if ok, s := allowed("a", 1); ok != 1 || s != 1000-peerLogBurst {
		t.Fatalf("a second later: %d lines, %d reported suppressed; want 1 and %d", ok, s, 1000-peerLogBurst)
	}
	// Many addresses together are held to the global burst, and the
	// gate remembers a bounded number of them.
	total := 0
	for i := range 3 * peerLogAddrs {
		ok, _ := allowed("b"+strconv.Itoa(i), 1)
		total += ok
	}
	if total > globalLogBurst {
		t.Fatalf("%d addresses got %d lines at once, want at most %d", 3*peerLogAddrs, total, globalLogBurst)
	}
	if n := g.len(); n > peerLogAddrs {
		t.Fatalf("the gate tracks %d addresses, want at most %d", n, peerLogAddrs)
	}
}
