package netconn

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// feedConn is a net.Conn whose reads return chunk, reads times, then
// io.EOF, and whose writes are discarded: a connection's reader and
// writer without a network.
type feedConn struct {
	net.Conn // nil: the methods below are the only ones used
	chunk    []byte
	reads    int
}

func (f *feedConn) Read(p []byte) (int, error) {
	if f.reads == 0 {
		return 0, io.EOF
	}
	f.reads--
	return copy(p, f.chunk), nil
}
func (f *feedConn) Write(p []byte) (int, error)      { return len(p), nil }
func (f *feedConn) Close() error                     { return nil }
func (f *feedConn) SetReadDeadline(time.Time) error  { return nil }
func (f *feedConn) SetWriteDeadline(time.Time) error { return nil }
func (f *feedConn) RemoteAddr() net.Addr             { return nil }

// echoFramer is a framing of 16-byte frames whose session sends each one
// back, as a session answers a frame.
type echoFramer struct{ c *Conn }

func (e echoFramer) Frame(p []byte) (int, int, error) {
	if len(p) < 16 {
		return 0, 16, nil
	}
	e.c.Send(p[:16])
	return 16, 0, nil
}
func (echoFramer) Rest()               {}
func (echoFramer) End(err error) error { return err }
func (echoFramer) Closed(error)        {}

// BenchmarkHub_Serve measures the connection core's reader loop per frame:
// reads of 64 frames, each handled and answered in the read's batch, whose
// answers leave in one write.
func BenchmarkHub_Serve(b *testing.B) {
	const perRead = 64
	h := NewHub(HubConfig{Name: "bench", Options: Options{PingInterval: -1, MaxStall: -1,
		Logger: slog.New(slog.DiscardHandler)}})
	chunk := make([]byte, 16*perRead)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c := new(Conn)
		h.Reserve()
		h.Init(c, &feedConn{chunk: chunk, reads: 100})
		h.Add(c)
		h.Serve(c, echoFramer{c})
	}
	b.StopTimer()
	h.wg.Wait()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100*perRead), "ns/frame")
}
