//go:build !linux

package netconn

import "errors"

// inlineWrites tells Init that tryWrite does not work here: queues always
// write through their writer goroutine.
const inlineWrites = false

type inlineState struct{}

func (q *Queue) tryWrite([][]byte) (int, error) {
	return 0, errors.New("whispeer: inline writes unsupported")
}
