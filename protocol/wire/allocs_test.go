package wire_test

import (
	"testing"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// TestParse_Allocs checks that parsing a PUB and a MSG allocates nothing.
func TestParse_Allocs(t *testing.T) {
	for _, s := range samples(t) {
		if s.f.Type != wire.TypePublish && s.f.Type != wire.TypeMessage {
			continue
		}
		b := mustAppend(t, &s.f)
		var f wire.Frame
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := f.Parse(b); err != nil {
				t.Fatal(err)
			}
			if _, _, err := wire.Parse(b); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: parsing allocates %v times", s.name, allocs)
		}
	}
}

// TestAppend_Allocs checks that appending every sample into a buffer with
// room allocates nothing.
func TestAppend_Allocs(t *testing.T) {
	buf := make([]byte, 0, 1024)
	for _, s := range samples(t) {
		f := s.f
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := wire.AppendFrame(buf[:0], &f); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: appending allocates %v times", s.name, allocs)
		}
	}
	m := benchMessage()
	allocs := testing.AllocsPerRun(100, func() {
		body, err := wire.AppendMessageBody(buf[:0], m)
		if err != nil {
			t.Fatal(err)
		}
		var head [wire.MessageHeadLen]byte
		if _, err := wire.AppendMessageHead(head[:0], m, len(body)); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("head and body: appending allocates %v times", allocs)
	}
}
