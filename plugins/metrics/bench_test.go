package metrics_test

import (
	"context"
	"testing"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/plugins/metrics"
)

// benchPublish publishes to one sync subscription, with or without the
// metrics plugin; compare with the root's BenchmarkPublish_NoPlugins.
func benchPublish(b *testing.B, opts ...whispeer.Option) {
	br, err := whispeer.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	if _, err := br.Subscribe("bench/topic", func(context.Context, *whispeer.Message) error { return nil }, whispeer.WithInline()); err != nil {
		b.Fatal(err)
	}
	ctx, payload := context.Background(), make([]byte, 128)
	b.ReportAllocs()
	for b.Loop() {
		br.Publish(ctx, "bench/topic", payload)
	}
}

func BenchmarkPublish_NoPlugins(b *testing.B) { benchPublish(b) }

func BenchmarkPublish_Metrics(b *testing.B) {
	benchPublish(b, whispeer.WithPlugin(metrics.New(metrics.Options{})))
}

func BenchmarkPublish_MetricsEveryLatency(b *testing.B) {
	benchPublish(b, whispeer.WithPlugin(metrics.New(metrics.Options{LatencySample: 1})))
}
