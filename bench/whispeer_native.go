package bench

import (
	"context"
	"fmt"
)

// WhispeerNative is whispeer's native binary protocol, over TCP or
// WebSocket, optionally with end-to-end encrypted payloads (sealed by the
// publishing client, opened by the subscribing one). It is registered so
// that the table keeps its row, and reports ErrUnavailable until the native
// protocol and the Go client package exist.
type WhispeerNative struct {
	Transport string // "tcp" or "ws"
	E2E       bool
}

// Name implements Target.
func (w *WhispeerNative) Name() string {
	if w.E2E {
		return "whispeer-e2e-" + w.Transport
	}
	return "whispeer-" + w.Transport
}

// Start implements Target.
func (w *WhispeerNative) Start(ctx context.Context) (string, string, error) {
	return "", "", w.Skip("")
}

// Skip implements Limiter: every workload is unavailable for now.
func (w *WhispeerNative) Skip(workload string) error {
	need := "the native binary protocol and the Go client package"
	if w.E2E {
		need += " with end-to-end sealing"
	}
	return fmt.Errorf("%w yet: needs %s", ErrUnavailable, need)
}

// Stop implements Target.
func (w *WhispeerNative) Stop() error { return nil }

// Connect implements Target.
func (w *WhispeerNative) Connect(ctx context.Context) (Client, error) {
	return nil, fmt.Errorf("%w yet", ErrUnavailable)
}

var (
	_ Target  = (*WhispeerNative)(nil)
	_ Limiter = (*WhispeerNative)(nil)
)
