package stamp

import (
	"context"
	"fmt"
	"time"

	"github.com/whispeer-io/whispeer"
)

// Name is the plugin's name, as the server configuration selects it.
const Name = "stamp"

// The default header names.
const (
	DefaultNodeHeader = "x-whispeer-node"
	DefaultTimeHeader = "x-whispeer-received-at"
)

// Options configures a Plugin.
type Options struct {
	// Node is the value of the node header; empty leaves that header out.
	Node string
	// NodeHeader and TimeHeader name the headers; empty means the defaults.
	NodeHeader, TimeHeader string
	// Now returns the time to stamp; nil means time.Now.
	Now func() time.Time
}

// Plugin stamps every published message. Make one with New.
type Plugin struct {
	node, nodeHeader, timeHeader string
	now                          func() time.Time
}

// New returns a stamping plugin.
func New(opts Options) *Plugin {
	p := &Plugin{node: opts.Node, nodeHeader: opts.NodeHeader, timeHeader: opts.TimeHeader, now: opts.Now}
	if p.nodeHeader == "" {
		p.nodeHeader = DefaultNodeHeader
	}
	if p.timeHeader == "" {
		p.timeHeader = DefaultTimeHeader
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p
}

// Name returns "stamp".
func (p *Plugin) Name() string { return Name }

// OnPublish returns a copy of m with the node and time headers added to
// its own; a header of the same name that the publisher set is replaced.
// The time is UTC in RFC 3339 with nanoseconds.
func (p *Plugin) OnPublish(_ context.Context, m *whispeer.Message) (*whispeer.Message, error) {
	kv := []string{p.timeHeader, p.now().UTC().Format(time.RFC3339Nano)}
	if p.node != "" {
		kv = append(kv, p.nodeHeader, p.node)
	}
	h, err := m.Headers.With(kv...)
	if err != nil {
		return nil, fmt.Errorf("stamp: %w", err)
	}
	c := m.Clone()
	c.Headers = h
	return c, nil
}

var (
	_ whispeer.Plugin      = (*Plugin)(nil)
	_ whispeer.PublishHook = (*Plugin)(nil)
)
