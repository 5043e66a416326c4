package wire

import (
	"bytes"
	"testing"
)

// TestReader_GrowAndShrink checks that a large frame gets a buffer of its
// own and that the Reader returns to its first buffer after it.
func TestReader_GrowAndShrink(t *testing.T) {
	small, err := AppendPublish(nil, &Publish{Topic: []byte("t"), Payload: []byte("small")})
	if err != nil {
		t.Fatal(err)
	}
	big, err := AppendPublish(nil, &Publish{Topic: []byte("t"), Payload: make([]byte, 100<<10)})
	if err != nil {
		t.Fatal(err)
	}
	stream := bytes.Join([][]byte{small, big, small, big, big, small, small}, nil)
	r := NewReader(bytes.NewReader(stream), 0)
	first := &r.small[0]
	for i, want := range []int{ReaderSize, len(big), ReaderSize, len(big), len(big), ReaderSize, ReaderSize} {
		f, err := r.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if got := len(r.buf); got != want {
			t.Errorf("frame %d: buffer of %d bytes, want %d", i, got, want)
		}
		if want == len(big) && len(f.Publish.Payload) != 100<<10 {
			t.Errorf("frame %d: payload of %d bytes", i, len(f.Publish.Payload))
		}
	}
	if &r.small[0] != first || &r.buf[0] != first {
		t.Error("the Reader did not return to its first buffer")
	}
}
