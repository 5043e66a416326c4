package sqlite_test

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/sqlite"
)

// BenchmarkAppend appends 128-byte messages to one topic with 100 appends
// waiting for durability at a time, as a QoS 1 publisher does, and reports
// the appends made durable per second.
func BenchmarkAppend(b *testing.B) {
	for _, p := range []whispeer.SyncPolicy{whispeer.SyncAlways, whispeer.SyncEvery(whispeer.DefaultSyncInterval), whispeer.SyncNever} {
		b.Run(p.String(), func(b *testing.B) {
			s, err := sqlite.Open(filepath.Join(b.TempDir(), "whispeer.db"), sqlite.WithSync(p))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			payload := make([]byte, 128)
			slots := make(chan struct{}, 100)
			done := func(err error) {
				if err != nil {
					b.Error(err)
				}
				<-slots
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var ru0 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			for range b.N {
				slots <- struct{}{}
				m := &whispeer.Message{Topic: "bench", ID: "id", QoS: whispeer.AtLeastOnce, Time: start, Payload: payload}
				if err := s.Append(ctx, m, done); err != nil {
					b.Fatal(err)
				}
			}
			for range cap(slots) {
				slots <- struct{}{}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
			var ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
