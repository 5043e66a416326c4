package tcp

import (
	"net"
	"testing"

	"github.com/whispeer-io/whispeer/internal/pipetest"
)

// newPipeHarness is newHarness on net.Pipe connections; run it inside
// synctest.Test.
func newPipeHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	pl := pipetest.NewListener()
	hs := newHarness(t, opts, func(net.Listener) net.Listener { return pl })
	hs.pipe = pl
	return hs
}
