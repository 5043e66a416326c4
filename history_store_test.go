package whispeer_test

import (
	"testing"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/storetest"
)

// TestMemoryStore checks the in-memory store against the contract every
// Store meets: unbounded, as given to a broker, and bounded, as a broker
// without a store keeps it, with room enough that it drops nothing the
// suite appends.
func TestMemoryStore(t *testing.T) {
	t.Run("unbounded", func(t *testing.T) {
		storetest.Run(t, func(*testing.T) whispeer.Store { return whispeer.NewMemoryStore(0) })
	})
	t.Run("bounded", func(t *testing.T) {
		storetest.Run(t, func(*testing.T) whispeer.Store { return whispeer.NewMemoryStore(1 << 16) })
	})
}

// TestMemoryStore_Limit checks that a bounded store keeps the newest
// messages of a topic, and its offsets count every message appended.
func TestMemoryStore_Limit(t *testing.T) {
	st := whispeer.NewMemoryStore(2)
	defer st.Close()
	ctx := t.Context()
	for _, p := range []string{"a", "b", "c"} {
		if err := st.Append(ctx, &whispeer.Message{Topic: "t", Payload: []byte(p)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := st.Read(ctx, "t", 1, 0, func(m *whispeer.Message) error {
		got = append(got, string(m.Payload))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Topic(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "b" || got[1] != "c" || info.First != 2 || info.Last != 3 {
		t.Fatalf("kept %q, offsets %d..%d; want [b c], 2..3", got, info.First, info.Last)
	}
}
