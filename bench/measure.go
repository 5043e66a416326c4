package bench

import (
	"context"
	"fmt"
	"time"
)

// flowMetrics are the figures of the throughput-style workloads.
var flowMetrics = []Metric{
	{Key: "msgs_per_sec", Label: "msgs/s delivered", HigherBetter: true},
	{Key: "loss_pct", Label: "loss %"},
	{Key: "pub_per_sec", Label: "publishes/s", HigherBetter: true},
	{Key: "stalls", Label: "stalls"},
	{Key: "server_cores", Label: "server cores"},
	{Key: "client_cores", Label: "harness cores"},
}

// measureFlow drives f with pub, a window of cfg.Window publishes ahead of
// the slowest subscriber, for the warm-up and the measured window; see
// measure.
func measureFlow(ctx context.Context, f *flock, pub Client, topics []string, cfg Config, pids []int) (Metrics, error) {
	p := payload(cfg.Size)
	stalls := 0
	m, err := measure(ctx, f, pub, cfg, pids, func(stop <-chan struct{}) error {
		var err error
		stalls, err = f.publishLoop(ctx, pub, topics, p, int64(cfg.Window), stop)
		return err
	})
	if err != nil {
		return nil, err
	}
	m["stalls"] = float64(stalls)
	return m, nil
}

// measure runs publish, which publishes on f until stop closes, through the
// warm-up and the measured window, then drains and counts losses. msgs/s
// counts deliveries at the subscribers during the window; the cores used
// by the server processes (pids) and by this process are measured over
// the same window.
func measure(ctx context.Context, f *flock, pub Client, cfg Config, pids []int, publish func(stop <-chan struct{}) error) (Metrics, error) {
	if err := f.await(ctx, pub, 20*time.Second); err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- publish(stop) }()
	if err := sleep(ctx, cfg.Warmup); err != nil {
		return nil, err
	}
	cpu := startCPU(pids)
	t0, r0, p0 := time.Now(), f.received(), f.published.Load()
	sleep(ctx, cfg.Duration)
	t1, r1, p1 := time.Now(), f.received(), f.published.Load()
	m := Metrics{}
	cpu.record(m)
	close(stop)
	if err := <-done; err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	flushClient(ctx, pub)
	got, want := f.drain(ctx)
	dt := t1.Sub(t0).Seconds()
	m["msgs_per_sec"] = float64(r1-r0) / dt
	m["pub_per_sec"] = float64(p1-p0) / dt
	m["loss_pct"] = lossPct(got, want)
	if got > want {
		m["dup_pct"] = 100 * float64(got-want) / float64(want)
	}
	return m, nil
}

// drain waits until every expected delivery arrived, or until none arrived
// for half a second (at most five seconds), and returns received and
// expected counts.
func (f *flock) drain(ctx context.Context) (got, want int64) {
	want = f.expected()
	last, lastChange := f.received(), time.Now()
	end := time.Now().Add(5 * time.Second)
	for time.Now().Before(end) && ctx.Err() == nil {
		got = f.received()
		if got >= want {
			return got, want
		}
		if got != last {
			last, lastChange = got, time.Now()
		} else if time.Since(lastChange) > 500*time.Millisecond {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return f.received(), want
}

// lossPct returns the share of want that did not arrive, in percent.
func lossPct(got, want int64) float64 {
	if want == 0 || got >= want {
		return 0
	}
	return 100 * float64(want-got) / float64(want)
}

// Flusher is implemented by clients that buffer publishes; Flush returns
// once everything published so far is written.
type Flusher interface {
	Flush(ctx context.Context) error
}

// flushClient flushes c when it buffers.
func flushClient(ctx context.Context, c Client) {
	if fl, ok := c.(Flusher); ok {
		fl.Flush(ctx)
	}
}
