package bench

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestForwarder_CopiesToEverySubscriber(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l := &Limit{}
	if _, _, err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer l.Stop()
	const subs, msgs = 3, 5000
	var got [subs]atomic.Int64
	var all [subs]chan struct{} // closed once the subscriber has every message
	for i := range subs {
		all[i] = make(chan struct{})
		c, err := l.Connect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		err = c.Subscribe(ctx, "any", func(p []byte) {
			if len(p) == 128 && !isProbe(p) && got[i].Add(1) == msgs {
				close(all[i])
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	pub, err := l.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	p := payload(128)
	for range msgs {
		if err := pub.Publish(ctx, "any", p); err != nil {
			t.Fatal(err)
		}
	}
	flushClient(ctx, pub)
	for i := range subs {
		select {
		case <-all[i]:
		case <-ctx.Done():
		}
		if n := got[i].Load(); n != msgs {
			t.Errorf("subscriber %d got %d messages, want %d", i, n, msgs)
		}
	}
}

func TestForwarder_Workloads(t *testing.T) {
	cfg := DefaultConfig(200 * time.Millisecond)
	cfg.Warmup, cfg.Subs, cfg.Rate = 50*time.Millisecond, 5, 2000
	for _, w := range []Workload{Throughput{}, Fanout{}, Latency{}} {
		t.Run(w.Name(), func(t *testing.T) {
			out, err := w.Run(context.Background(), &Limit{}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			key := w.Metrics()[0].Key
			if out.Metrics[key] <= 0 || out.Metrics["loss_pct"] != 0 {
				t.Errorf("metrics %v: want %s > 0 and no loss", out.Metrics, key)
			}
		})
	}
}

func TestForwarder_SkipsWhatItCannotDo(t *testing.T) {
	for _, w := range []Workload{Topics{}, Durability{}, Idle{}} {
		if _, err := w.Run(context.Background(), &Limit{}, DefaultConfig(time.Millisecond)); err == nil {
			t.Errorf("%s ran on the in-process forwarder", w.Name())
		}
	}
}
