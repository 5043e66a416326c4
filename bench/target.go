package bench

import (
	"context"
	"errors"
)

// ErrUnavailable reports a target or workload that cannot be measured on
// this machine or in this version of whispeer; the error says why.
var ErrUnavailable = errors.New("not available")

// ErrNotApplicable reports a workload that makes no sense for a target.
var ErrNotApplicable = errors.New("not applicable")

// Handler receives one delivered payload. It must not keep payload after it
// returns, and may be called concurrently for different subscriptions.
type Handler func(payload []byte)

// Target is one system under test: a server and its client.
type Target interface {
	// Name identifies the target in tables and JSON lines, e.g. "nats-tcp".
	Name() string
	// Start launches a fresh server on a free loopback port and returns its
	// address and the version measured (server and client library).
	Start(ctx context.Context) (addr, version string, err error)
	// Stop ends the server started by Start and removes its files.
	Stop() error
	// Connect opens one client connection to the running server.
	Connect(ctx context.Context) (Client, error)
}

// Client is one connection to a target's server.
type Client interface {
	// Subscribe starts delivering the topic's messages to h. The
	// subscription may become active at the server a little later; the
	// workloads probe until it is.
	Subscribe(ctx context.Context, topic string, h Handler) error
	// Publish sends payload to topic at the target's delivery guarantee.
	// The client may keep payload until it is written: don't modify it.
	Publish(ctx context.Context, topic string, payload []byte) error
	// Close ends the connection.
	Close() error
}

// Process is implemented by targets whose server runs as a separate
// process, so that its memory can be read.
type Process interface {
	// PID is the server's process id, or 0 when none runs.
	PID() int
}

// Processes is implemented by targets whose server runs as several
// processes, such as the nodes of a cluster and their Redis, so that the
// cores they use together can be measured.
type Processes interface {
	// PIDs are the servers' process ids; none when none runs.
	PIDs() []int
}

// Placer is implemented by targets of several nodes, which place the
// publisher on a node of its own choosing (the workloads connect the
// publisher with ConnectPublisher) and the subscribers that Connect opens
// on the others, or on every node.
type Placer interface {
	// ConnectPublisher opens the publisher's connection.
	ConnectPublisher(ctx context.Context) (Client, error)
}

// Durable is implemented by targets that can store messages and
// acknowledge them once stored.
type Durable interface {
	// StartDurable is Start with the server's persistence turned on.
	StartDurable(ctx context.Context) (addr, version string, err error)
	// ConnectDurable opens a publisher for acknowledged publishes.
	ConnectDurable(ctx context.Context) (AckPublisher, error)
}

// AckPublisher publishes messages that the server acknowledges as stored.
type AckPublisher interface {
	// PublishAck returns once the server acknowledged the message. It is
	// safe for concurrent use; concurrent callers are the in-flight window.
	PublishAck(ctx context.Context, topic string, payload []byte) error
	// Close ends the connection.
	Close() error
}

// Limiter is implemented by targets that cannot run some workloads. Skip
// returns nil when the workload can run, or an error wrapping
// ErrUnavailable or ErrNotApplicable.
type Limiter interface {
	Skip(workload string) error
}
