package whispeer_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/whispeer-io/whispeer"
)

// nopPlugin implements the per-message hooks and does the least a real
// plugin would: count.
type nopPlugin struct{ published, delivered atomic.Uint64 }

func (*nopPlugin) Name() string { return "nop" }

func (p *nopPlugin) OnPublish(_ context.Context, m *whispeer.Message) (*whispeer.Message, error) {
	p.published.Add(1)
	return m, nil
}

func (p *nopPlugin) OnDeliver(*whispeer.Subscription, *whispeer.Message) { p.delivered.Add(1) }

var (
	_ whispeer.PublishHook = (*nopPlugin)(nil)
	_ whispeer.DeliverHook = (*nopPlugin)(nil)
)

// benchPublishPlugins publishes to one sync subscription on a broker made
// with opts. Compare BenchmarkPublish_NoPlugins with BenchmarkPublish_1Sync
// (the same work without the mechanism ever having been touched) and with
// BenchmarkPublish_WithPlugins: the mechanism costs nothing when absent.
func benchPublishPlugins(b *testing.B, opts ...whispeer.Option) {
	br := newBroker(b, opts...)
	c := newCounter(-1)
	if _, err := br.Subscribe("bench/topic", c.handle, whispeer.WithInline()); err != nil {
		b.Fatal(err)
	}
	ctx, payload := context.Background(), make([]byte, 128)
	b.ReportAllocs()
	for b.Loop() {
		br.Publish(ctx, "bench/topic", payload)
	}
}

func BenchmarkPublish_NoPlugins(b *testing.B) { benchPublishPlugins(b) }

// BenchmarkPublish_ConnPluginOnly registers a plugin with only hooks the
// per-message path does not call (provisioning, drops, rejections, and in a
// server its connections): it must cost what it costs with no plugin.
func BenchmarkPublish_ConnPluginOnly(b *testing.B) {
	benchPublishPlugins(b, whispeer.WithPlugin(&hookRecorder{name: "conn"}))
}

func BenchmarkPublish_WithPlugins(b *testing.B) {
	benchPublishPlugins(b, whispeer.WithPlugin(&nopPlugin{}))
}
