package redistest

import (
	"bufio"
	"bytes"
	"net"
	"sync"
	"testing"
	"time"
)

// maxMonitored bounds the bytes a Monitor keeps.
const maxMonitored = 64 << 20

// Monitor records every command a server runs, as MONITOR shows them
// (binary bytes escaped as \xNN, printable ones as they are), for tests
// that look for bytes that must never reach Redis, such as a plaintext.
// It keeps the first 64 MiB. Its methods are safe for concurrent use.
type Monitor struct {
	conn net.Conn
	done chan struct{}
	mu   sync.Mutex
	buf  bytes.Buffer
	full bool
}

// Monitor starts recording the server's commands and stops when the test
// ends; what runs before it returns is not recorded.
func (s *Server) Monitor(t testing.TB) *Monitor {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		t.Fatalf("redistest: monitor %s: %v", s.Addr, err)
	}
	m := &Monitor{conn: c, done: make(chan struct{})}
	r := bufio.NewReader(c)
	if _, err := c.Write([]byte("MONITOR\r\n")); err != nil {
		c.Close()
		t.Fatalf("redistest: monitor %s: %v", s.Addr, err)
	}
	if line, err := r.ReadString('\n'); err != nil || line != "+OK\r\n" {
		c.Close()
		t.Fatalf("redistest: monitor %s: %q, %v", s.Addr, line, err)
	}
	go m.read(r)
	t.Cleanup(m.Stop)
	return m
}

// read records lines until the connection ends.
func (m *Monitor) read(r *bufio.Reader) {
	defer close(m.done)
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			m.mu.Lock()
			if m.buf.Len()+len(line) <= maxMonitored {
				m.buf.Write(line)
			} else {
				m.full = true
			}
			m.mu.Unlock()
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// Contains reports whether a recorded command holds needle.
func (m *Monitor) Contains(needle []byte) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Contains(m.buf.Bytes(), needle)
}

// Wait waits up to ten seconds for a recorded command to hold needle,
// such as the name of a command run after the ones a test looks at, and
// reports whether one did.
func (m *Monitor) Wait(needle []byte) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if m.Contains(needle) {
			return true
		}
		select {
		case <-m.done:
			return m.Contains(needle)
		case <-time.After(5 * time.Millisecond):
		}
	}
	return false
}

// Commands returns how many commands were recorded, and whether the
// record was cut at 64 MiB.
func (m *Monitor) Commands() (n int, full bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Count(m.buf.Bytes(), []byte{'\n'}), m.full
}

// Stop ends the recording; what was recorded stays readable.
func (m *Monitor) Stop() {
	m.conn.Close()
	<-m.done
}
