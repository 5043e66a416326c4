package redistest

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy is a TCP proxy on a free loopback port in front of a server, for
// cutting its clients off and healing them: point a client at Proxy.Addr
// instead of the server's. It is safe for concurrent use.
type Proxy struct {
	// Addr is the proxy's host:port.
	Addr string

	target string
	ln     net.Listener
	wg     sync.WaitGroup

	mu    sync.Mutex
	cut   bool
	pass  chan struct{} // closed while bytes pass; open while blackholed
	links map[*link]struct{}
	done  bool
}

// link is one client connection and its connection to the server.
type link struct {
	client, server net.Conn
	once           sync.Once
	closed         chan struct{}
}

// NewProxy starts a proxy to target (host:port) and closes it when the
// test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: proxy listen: %v", err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln,
		pass: make(chan struct{}), links: map[*link]struct{}{}}
	close(p.pass)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// URL returns the proxy's address as a redis:// URL.
func (p *Proxy) URL() string { return "redis://" + p.Addr }

// Cut resets every connection through the proxy and every new one until
// Heal, as a network that refuses the client: the client sees its
// connections fail at once.
func (p *Proxy) Cut() {
	p.mu.Lock()
	p.cut = true
	links := p.takeLinks()
	p.mu.Unlock()
	for _, l := range links {
		l.close(true)
	}
}

// Blackhole stops every byte through the proxy, both ways, until Heal,
// as a network that drops packets: connections stay open and new ones are
// accepted, but nothing arrives, so a client notices only by its own
// timeouts. Bytes held meanwhile pass after Heal, as TCP retransmits them,
// on the connections still open.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.pass:
		p.pass = make(chan struct{})
	default:
	}
}

// Heal ends a Cut or a Blackhole: new connections reach the server again
// and held bytes pass.
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
	select {
	case <-p.pass:
	default:
		close(p.pass)
	}
}

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.done = true
	links := p.takeLinks()
	p.mu.Unlock()
	p.ln.Close()
	for _, l := range links {
		l.close(false)
	}
	p.wg.Wait()
}

// takeLinks empties the set of links and returns them; p.mu is held.
func (p *Proxy) takeLinks() []*link {
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	clear(p.links)
	return links
}

// accept serves new connections until the listener closes.
func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cut, done := p.cut, p.done
		p.mu.Unlock()
		if cut || done {
			reset(c)
			continue
		}
		s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			reset(c) // the server is down: so is the connection to it
			continue
		}
		p.open(&link{client: c, server: s, closed: make(chan struct{})})
	}
}

// open registers l and starts copying both ways, unless the proxy was cut
// or closed since the connection arrived.
func (p *Proxy) open(l *link) {
	p.mu.Lock()
	if p.cut || p.done {
		p.mu.Unlock()
		l.close(true)
		return
	}
	p.links[l] = struct{}{}
	p.wg.Add(2)
	p.mu.Unlock()
	go p.copy(l, l.server, l.client)
	go p.copy(l, l.client, l.server)
}

// copy forwards from src to dst, holding bytes while blackholed, and closes
// the link when either side ends.
func (p *Proxy) copy(l *link, dst, src net.Conn) {
	defer p.wg.Done()
	defer p.drop(l)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.wait(l) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// wait blocks while the proxy is blackholed; it reports false once the link
// is closed.
func (p *Proxy) wait(l *link) bool {
	p.mu.Lock()
	pass := p.pass
	p.mu.Unlock()
	select {
	case <-pass:
		return true
	case <-l.closed:
		return false
	}
}

// drop closes l and forgets it.
func (p *Proxy) drop(l *link) {
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
	l.close(false)
}

// close closes both connections of l, with a reset when rst is set.
func (l *link) close(rst bool) {
	l.once.Do(func() {
		close(l.closed)
		if rst {
			reset(l.client)
			reset(l.server)
			return
		}
		l.client.Close()
		l.server.Close()
	})
}

// reset closes c with a TCP reset rather than an orderly end.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}
