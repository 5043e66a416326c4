package sqlite_test

import (
	"bytes"
	"context"
	"strconv"
	"testing"

	"github.com/whispeer-io/whispeer"
)

// BenchmarkAppend measures the durable append path as the broker drives
// it under the batch sync policy: one topic, 128-byte payloads, at most
// 100 appends waiting for their commit; at QoS 2 each message also
// carries its publisher's id and is indexed for the de-duplication window.
func BenchmarkAppend(b *testing.B) {
	for _, qos := range []whispeer.QoS{whispeer.AtLeastOnce, whispeer.ExactlyOnce} {
		b.Run("qos"+strconv.Itoa(int(qos)), func(b *testing.B) {
			s, err := openSync(b.TempDir(), whispeer.SyncEvery(whispeer.DefaultSyncInterval))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			payload := bytes.Repeat([]byte("x"), 128)
			slots := make(chan struct{}, 100)
			done := func(err error) {
				if err != nil {
					b.Error(err)
				}
				<-slots
			}
			ctx := context.Background()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				slots <- struct{}{}
				m := &whispeer.Message{Topic: "bench", ID: strconv.Itoa(i), QoS: qos, Payload: payload}
				if qos == whispeer.ExactlyOnce {
					m.PublisherID = "publisher"
				}
				if err := s.Append(ctx, m, done); err != nil {
					b.Fatal(err)
				}
			}
			for range cap(slots) {
				slots <- struct{}{}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
