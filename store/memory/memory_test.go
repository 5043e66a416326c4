package memory_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/memory"
	"github.com/whispeer-io/whispeer/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) whispeer.Store { return memory.New() })
}

func TestStore_Limit(t *testing.T) {
	storetest.Run(t, func(*testing.T) whispeer.Store { return memory.New(memory.WithLimit(1 << 16)) })
}

// TestStore_LimitDrops checks that a bounded store keeps only the newest
// messages of a topic.
func TestStore_LimitDrops(t *testing.T) {
	st := memory.New(memory.WithLimit(1))
	defer st.Close()
	ctx := t.Context()
	for range 3 {
		if err := st.Append(ctx, &whispeer.Message{Topic: "t"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	info, err := st.Topic(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if info.Messages != 1 || info.First != 3 || info.Last != 3 {
		t.Fatalf("got %+v; want one message, offset 3", info)
	}
}
