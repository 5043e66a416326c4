//go:build !unix

package netconn

import "errors"

// rawReads tells Init that readRaw does not work here.
const rawReads = false

// readRaw is not used where reading through the descriptor is not
// supported: connections fall back to net.Conn.Read.
func (b *ReadBuffer) readRaw() (int, error) { return 0, errors.New("whispeer: raw reads unsupported") }

func (b *ReadBuffer) rawRead(uintptr) bool { return true }
