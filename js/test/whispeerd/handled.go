package main

import (
	"bytes"
	"context"
	"sync"

	"github.com/whispeer-io/whispeer"
)

// Bounds of what the recorder keeps: past either, the oldest payloads go,
// and the count of those dropped says the record is no longer complete.
const (
	maxHandled      = 100_000
	maxHandledBytes = 64 << 20
)

// recorder is a broker plugin that keeps a copy of the payload of every
// message published to the server, as the server received it, so that the
// tests can search everything the server handled (the publish hook sees
// every publish, whatever the client or protocol).
type recorder struct {
	mu       sync.Mutex
	payloads [][]byte
	bytes    int
	dropped  int
}

func (r *recorder) Name() string { return "whispeerd-recorder" }

func (r *recorder) OnPublish(_ context.Context, m *whispeer.Message) (*whispeer.Message, error) {
	p := bytes.Clone(m.Payload) // m may be lent: keep a copy
	r.mu.Lock()
	defer r.mu.Unlock()
	r.payloads = append(r.payloads, p)
	r.bytes += len(p)
	for len(r.payloads) > maxHandled || r.bytes > maxHandledBytes {
		r.bytes -= len(r.payloads[0])
		r.payloads[0] = nil
		r.payloads = r.payloads[1:]
		r.dropped++
	}
	return m, nil
}

// search reports how many recorded payloads contain needle, how many are
// recorded, and how many were dropped for the bounds.
func (r *recorder) search(needle []byte) map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	matches := 0
	for _, p := range r.payloads {
		if bytes.Contains(p, needle) {
			matches++
		}
	}
	return map[string]any{"matches": matches, "payloads": len(r.payloads), "dropped": r.dropped}
}

var _ whispeer.PublishHook = (*recorder)(nil)
