package whispeer_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"

	"github.com/whispeer-io/whispeer"
	memstore "github.com/whispeer-io/whispeer/store/memory"
)

func TestBroker_PublishReceipt(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []whispeer.Option
	}{{"in-memory history", nil}, {"store", []whispeer.Option{whispeer.WithStore(memstore.New())}}} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := whispeer.New(tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			ctx := context.Background()
			info, _ := b.TopicInfo(ctx, "t")
			for i := uint64(1); i <= 2; i++ {
				var r whispeer.Receipt
				if err := b.Publish(ctx, "t", []byte("x"), whispeer.WithReceipt(&r)); err != nil {
					t.Fatal(err)
				}
				if r.Offset != i || r.Epoch != info.Epoch || r.Epoch == 0 {
					t.Errorf("receipt %+v, want offset %d epoch %d", r, i, info.Epoch)
				}
			}
			once := []whispeer.PublishOption{whispeer.WithQoS(whispeer.ExactlyOnce), whispeer.WithID("m"),
				whispeer.WithPublisher(whispeer.PublisherName("p"))}
			var first, retry whispeer.Receipt
			if err := b.Publish(ctx, "t", []byte("y"), append(once, whispeer.WithReceipt(&first))...); err != nil {
				t.Fatal(err)
			}
			if err := b.Publish(ctx, "t", []byte("y"), append(once, whispeer.WithReceipt(&retry))...); err != nil {
				t.Fatal(err)
			}
			if first.Offset != 3 || retry != (whispeer.Receipt{}) {
				t.Errorf("QoS 2 receipts %+v then %+v, want offset 3 then zero", first, retry)
			}
		})
	}
}

func TestBroker_History(t *testing.T) {
	b, err := whispeer.New(whispeer.WithStore(memstore.New()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	for _, p := range []string{"a", "b", "c", "d"} {
		if err := b.Publish(ctx, "t", []byte(p), whispeer.WithHeaders(map[string]string{"h": p})); err != nil {
			t.Fatal(err)
		}
	}
	var got string
	info, err := b.History(ctx, "t", 2, 2, func(m *whispeer.Message) error {
		got += string(m.Payload) + m.Headers.Map()["h"]
		return nil
	})
	if err != nil || got != "bbcc" || info.Last != 4 || info.First != 1 {
		t.Fatalf("history %q, %+v, %v", got, info, err)
	}
	stop := errors.New("stop")
	n := 0
	if _, err := b.History(ctx, "t", 0, 0, func(*whispeer.Message) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn's error: %v after %d", err, n)
	}
	if _, err := b.History(ctx, "t/#", 0, 0, func(*whispeer.Message) error { return nil }); !errors.Is(err, whispeer.ErrInvalidTopic) {
		t.Errorf("a pattern: %v", err)
	}
	if info, err := b.History(ctx, "never", 0, 10, func(*whispeer.Message) error { return nil }); err != nil || info.Last != 0 || info.Epoch == 0 {
		t.Errorf("a topic never published to: %+v %v", info, err)
	}
}

// historyOf returns the payloads History reads of topic "g" from offset 1.
func historyOf(t *testing.T, b *whispeer.Broker) []string {
	t.Helper()
	var got []string
	if _, err := b.History(context.Background(), "g", 1, 0, func(m *whispeer.Message) error {
		got = append(got, string(m.Payload))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestBroker_HistoryStopsAtTheGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newGateFixture(t)
		f.publish(t, "a0", whispeer.AtMostOnce)
		f.publish(t, "b2", whispeer.ExactlyOnce)
		f.publish(t, "c0", whispeer.AtMostOnce)
		f.want(t, "a0")
		if got := historyOf(t, f.b); !slices.Equal(got, []string{"a0"}) {
			t.Errorf("history %q while b2 awaits its sync, want what subscribers have: a0", got)
		}
		f.st.sync(t, nil)
		f.want(t, "a0", "b2", "c0")
		if got := historyOf(t, f.b); !slices.Equal(got, []string{"a0", "b2", "c0"}) {
			t.Errorf("history %q once b2 is durable", got)
		}
	})
}
