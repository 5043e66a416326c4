//go:build !unix

package ws

import "errors"

// rawReads tells newConn that readRaw does not work here.
const rawReads = false

// readRaw is not used where reading through the descriptor is not
// supported: connections without one fall back to net.Conn.Read.
func (rd *reader) readRaw() (int, error) { return 0, errors.New("whispeer: raw reads unsupported") }

func (rd *reader) rawRead(uintptr) bool { return true }
