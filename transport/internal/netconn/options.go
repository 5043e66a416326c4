package netconn

import (
	"log/slog"
	"time"
)

// Options configure the connections of one listener, whatever carries
// them. Zero fields take the defaults below.
type Options struct {
	// MaxConnections bounds the connections open at once; a further one
	// is refused (with a fatal ERROR "limit" on TCP, 503 Service
	// Unavailable on WebSocket).
	MaxConnections int
	// MaxPendingBytes bounds the bytes queued for one connection; a client
	// that falls that far behind is disconnected as a slow consumer. One
	// frame is always accepted into an empty queue, however large.
	MaxPendingBytes int
	// WriteTimeout bounds one write; a client slower than that is
	// disconnected as a slow consumer.
	WriteTimeout time.Duration
	// MaxStall bounds how long the reader of a connection whose frames
	// filled other connections' queues past half of their
	// MaxPendingBytes waits, before it reads again, for them to drain to
	// a quarter: a publisher is slowed to the pace of its subscribers,
	// and one that does not drain in time is left to the slow-consumer
	// policy. Negative disables flow control.
	MaxStall time.Duration
	// PingInterval is how often connections that sent nothing since the
	// last tick are pinged; one that stays silent, not even answering the
	// ping, for another interval is closed. Negative disables keepalive.
	PingInterval time.Duration
	// CloseTimeout is how long a closing connection waits, once its last
	// frame is written, for the client to close its side (on WebSocket,
	// to answer the close frame).
	CloseTimeout time.Duration
	// Logger receives slow-consumer disconnects and other notable events;
	// the default is slog.Default().
	Logger *slog.Logger
}

// Defaults for Options.
const (
	DefaultMaxConnections  = 10000
	DefaultMaxPendingBytes = 4 << 20
	DefaultWriteTimeout    = 10 * time.Second
	DefaultMaxStall        = 2 * time.Second
	DefaultPingInterval    = 30 * time.Second
	DefaultCloseTimeout    = 5 * time.Second
)

// SetDefaults fills in the fields of o left zero.
func SetDefaults(o *Options) {
	SetDefault(&o.MaxConnections, DefaultMaxConnections)
	SetDefault(&o.MaxPendingBytes, DefaultMaxPendingBytes)
	SetDefault(&o.WriteTimeout, DefaultWriteTimeout)
	SetDefault(&o.MaxStall, DefaultMaxStall)
	SetDefault(&o.PingInterval, DefaultPingInterval)
	SetDefault(&o.CloseTimeout, DefaultCloseTimeout)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// SetDefault sets *v to def when it is zero: how the transports fill in
// the options a caller left unset.
func SetDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}
