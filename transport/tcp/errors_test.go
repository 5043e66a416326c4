package tcp_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/whispeer-io/whispeer/transport/tcp"
	"github.com/whispeer-io/whispeer/transport/ws"
)

// TestErrorsSharedWithWS checks that a caller serving both transports can
// tell why a connection closed with one errors.Is, whichever transport
// reported it.
func TestErrorsSharedWithWS(t *testing.T) {
	for _, tt := range []struct {
		name    string
		tcp, ws error
	}{
		{"ErrIdle", tcp.ErrIdle, ws.ErrIdle},
		{"ErrShutdown", tcp.ErrShutdown, ws.ErrShutdown},
		{"ErrClosed", tcp.ErrClosed, ws.ErrClosed},
		{"ErrSlowConsumer", tcp.ErrSlowConsumer, ws.ErrSlowConsumer},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(fmt.Errorf("read: %w", tt.tcp), tt.ws) {
				t.Errorf("errors.Is(tcp.%s, ws.%[1]s) = false, want true", tt.name)
			}
			if !errors.Is(fmt.Errorf("read: %w", tt.ws), tt.tcp) {
				t.Errorf("errors.Is(ws.%s, tcp.%[1]s) = false, want true", tt.name)
			}
		})
	}
}
