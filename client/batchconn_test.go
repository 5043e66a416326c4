package client

import (
	"bytes"
	"net"
	"testing"
)

// writesConn is a net.Conn that records each write.
type writesConn struct {
	net.Conn
	writes [][]byte
}

func (c *writesConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

// TestBatchConn checks what WebSocket links rely on: writes between hold
// and release reach the connection as one write, in order, and writes
// outside a batch go through at once.
func TestBatchConn(t *testing.T) {
	under := &writesConn{}
	c := &batchConn{Conn: under}
	c.Write([]byte("pong"))
	c.hold()
	for _, chunk := range []string{"a", "bb", "ccc"} {
		c.Write([]byte(chunk))
	}
	if len(under.writes) != 1 {
		t.Fatalf("%d writes before release, want only the one outside the batch", len(under.writes))
	}
	if err := c.release(); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("close"))
	want := []string{"pong", "abbccc", "close"}
	if len(under.writes) != len(want) {
		t.Fatalf("writes %q, want %q", under.writes, want)
	}
	for i, w := range want {
		if string(under.writes[i]) != w {
			t.Fatalf("write %d: %q, want %q", i, under.writes[i], w)
		}
	}
}
