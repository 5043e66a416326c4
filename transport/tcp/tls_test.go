package tcp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// testCert returns a self-signed certificate for 127.0.0.1 and a pool that
// trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "whispeer test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
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
	e.c.Close(nil)
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
