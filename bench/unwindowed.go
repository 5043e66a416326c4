package bench

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Unwindowed is a publisher with no window of its own, as a naive user's
// loop is: it publishes QoS 0 as fast as its client lets it, with no flow
// control in the harness, to one subscriber or to cfg.Subs. Whatever keeps
// the subscribers fed is the server's and the clients' own flow control;
// what it cannot keep is counted as lost, and the subscribers whose
// connections ended as disconnected. With Stuck one more subscriber
// subscribes and then never reads its socket: the server must drop it, and
// the others must lose nothing.
type Unwindowed struct {
	Fanout bool // cfg.Subs subscribers rather than one
	Stuck  bool // one more subscriber that never reads (needs Staller)
}

// Name implements Workload.
func (w Unwindowed) Name() string {
	switch {
	case w.Stuck:
		return "stuck-fanout"
	case w.Fanout:
		return "unwindowed-fanout"
	}
	return "unwindowed"
}

// Title implements Workload.
func (w Unwindowed) Title(cfg Config) string {
	switch {
	case w.Stuck:
		return fmt.Sprintf("1 → %d unwindowed, one more subscriber that never reads, %d B", cfg.Subs, cfg.Size)
	case w.Fanout:
		return fmt.Sprintf("1 → %d unwindowed (no harness flow control), %d B", cfg.Subs, cfg.Size)
	}
	return fmt.Sprintf("1 → 1 unwindowed (no harness flow control), %d B", cfg.Size)
}

// unwindowedMetrics are flowMetrics without stalls, which a publisher
// without a window has none of, and with the disconnected subscribers.
var unwindowedMetrics = []Metric{
	{Key: "msgs_per_sec", Label: "msgs/s delivered", HigherBetter: true},
	{Key: "loss_pct", Label: "loss %"},
	{Key: "disconnected", Label: "subscribers disconnected"},
	{Key: "pub_per_sec", Label: "publishes/s", HigherBetter: true},
	{Key: "server_cores", Label: "server cores"},
	{Key: "client_cores", Label: "harness cores"},
}

// Metrics implements Workload.
func (w Unwindowed) Metrics() []Metric {
	if w.Stuck {
		return append(unwindowedMetrics[:3:3], Metric{Key: "stuck_dropped", Label: "stuck subscriber dropped"})
	}
	return unwindowedMetrics
}

// Run implements Workload.
func (w Unwindowed) Run(ctx context.Context, t Target, cfg Config) (Outcome, error) {
	st, stuckOK := t.(Staller)
	if w.Stuck && !stuckOK {
		return Outcome{}, fmt.Errorf("%w: the target cannot open a subscriber that never reads", ErrNotApplicable)
	}
	s, err := open(ctx, t, w.Name())
	if err != nil {
		return Outcome{}, err
	}
	defer s.close()
	n := 1
	if w.Fanout || w.Stuck {
		n = cfg.Subs
	}
	topics := make([]string, n)
	for i := range topics {
		topics[i] = "free"
	}
	f := newFlock(topics, true)
	subs := make([]Client, n)
	err = s.connectMany(ctx, n, 16, func(i int, c Client) error {
		subs[i] = c
		if q, ok := c.(Queuer); ok {
			q.SetQueue(unwindowedQueue)
		}
		return c.Subscribe(ctx, topics[i], f.handler(i))
	})
	if err != nil {
		return s.outcome(nil, err)
	}
	var stuck io.Closer
	if w.Stuck {
		if stuck, err = st.ConnectStuck(ctx, topics[0]); err != nil {
			return s.outcome(nil, fmt.Errorf("stuck subscriber: %w", err))
		}
		defer stuck.Close()
	}
	pub, err := s.connectPublisher(ctx)
	if err != nil {
		return s.outcome(nil, err)
	}
	if w.Stuck {
		cfg.Duration = max(cfg.Duration, stuckWindow)
	}
	m, err := measureUnwindowed(ctx, f, pub, topics[:1], cfg, serverPIDs(t))
	if err == nil {
		m["disconnected"] = float64(disconnected(subs))
		if stuck != nil {
			m["stuck_dropped"] = 0
			if d, ok := stuck.(Disconnecter); ok && d.Disconnected() {
				m["stuck_dropped"] = 1
			}
		}
	}
	return s.outcome(m, err)
}

// measureUnwindowed publishes on f with no window through the warm-up and
// the measured window, then drains and counts losses (see measure).
func measureUnwindowed(ctx context.Context, f *flock, pub Client, topics []string, cfg Config, pids []int) (Metrics, error) {
	p := payload(cfg.Size)
	return measure(ctx, f, pub, cfg, pids, func(stop <-chan struct{}) error {
		return f.publishFree(ctx, pub, topics, p, stop)
	})
}

// publishFree publishes p round-robin over topics until stop closes, as
// fast as pub takes it.
func (f *flock) publishFree(ctx context.Context, pub Client, topics []string, p []byte, stop <-chan struct{}) error {
	for k := 0; ; {
		select {
		case <-stop:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		for range publishBatch {
			if err := pub.Publish(ctx, topics[k%len(topics)], p); err != nil {
				return err
			}
			k++
		}
		f.published.Add(publishBatch)
	}
}

// stuckWindow is the shortest measured window of stuck-fanout: longer than
// the shipped write timeouts (10 s for whispeer and nats-server), after
// which a server drops a subscriber whose socket is full, so that the
// stuck subscriber has been dropped, or has not, when the window ends.
const stuckWindow = 15 * time.Second

// Disconnecter is implemented by clients that know whether their
// connection ended.
type Disconnecter interface {
	Disconnected() bool
}

// Queuer is implemented by clients that queue each subscription's
// deliveries for its handler in a queue of a set size, which drops what
// does not fit.
type Queuer interface {
	SetQueue(messages int)
}

// unwindowedQueue is the subscription queue, in messages, of the clients
// that have one (Queuer) in the unwindowed workloads: with no window in
// the harness, a subscription's queue must absorb what the connection's
// reader hands over while the handler's goroutine waits for a core, as
// nats.go's does (512k messages and 64 MiB by default). 65,536 messages
// take 512 KiB per subscription in the whispeer client.
const unwindowedQueue = 1 << 16

// Staller is implemented by targets that can open a subscriber that
// subscribes to topic and then never reads its socket.
type Staller interface {
	ConnectStuck(ctx context.Context, topic string) (io.Closer, error)
}

// disconnected counts the clients whose connection ended.
func disconnected(cs []Client) int {
	n := 0
	for _, c := range cs {
		if d, ok := c.(Disconnecter); ok && d.Disconnected() {
			n++
		}
	}
	return n
}

var _ Workload = Unwindowed{}
