package tcp

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/internal/testcert"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// testCert returns a self-signed certificate for 127.0.0.1 and a pool that
// trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	cert, pool, err := testcert.New()
	if err != nil {
		t.Fatal(err)
	}
	return cert, pool
}

func TestServer_TLS(t *testing.T) {
	cert, pool := testCert(t)
	hs := newHarness(t, Options{}, func(ln net.Listener) net.Listener {
		return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	})
	nc, err := tls.Dial("tcp", hs.addr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := newRawClient(t, nc)
	c.hello()
	e := hs.session(t)
	c.next()
	big := &wire.Frame{Type: wire.TypePublish, Publish: wire.Publish{Topic: []byte("big"), Payload: make([]byte, 100<<10)}}
	c.send(big) // several TLS records and read buffers
	if f := c.next(); len(f.Publish.Payload) != 100<<10 {
		t.Fatalf("echoed %d bytes", len(f.Publish.Payload))
	}
	e.c.Close(nil, nil)
	c.expectEOF() // close_notify, then the end of the stream
	nc.Close()
	if err := <-e.closed; err == nil {
		t.Fatal("Closed(nil)")
	}
}

func TestServer_PlainClientOnTLSPort(t *testing.T) {
	cert, _ := testCert(t)
	hs := newHarness(t, Options{HandshakeTimeout: time.Second}, func(ln net.Listener) net.Listener {
		return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	})
	c := hs.dial(t)
	c.hello() // not a TLS handshake: the TLS layer refuses it
	if _, err := c.r.Next(); err == nil {
		t.Fatal("a plain client got a frame from a TLS port")
	}
}
