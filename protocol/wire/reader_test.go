package wire_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// streamSamples returns the samples plus a PUB larger than a Reader's
// buffer, and all of them encoded one after another.
func streamSamples(tb testing.TB) ([]sample, []byte) {
	tb.Helper()
	all := samples(tb)
	big := wire.Frame{Type: wire.TypePublish, Publish: wire.Publish{Topic: []byte("big"),
		Payload: bytes.Repeat([]byte("0123456789"), 1000)}}
	all = append(all[:3:3], append([]sample{{"big publish", big}}, all[3:]...)...)
	var stream []byte
	for _, s := range all {
		var err error
		if stream, err = wire.AppendFrame(stream, &s.f); err != nil {
			tb.Fatal(err)
		}
	}
	return all, stream
}

// readAll reads frames from r until an error and checks them against want.
func readAll(t *testing.T, r *wire.Reader, want []sample) error {
	t.Helper()
	for i := 0; ; i++ {
		f, err := r.Next()
		if err != nil {
			if i != len(want) {
				t.Errorf("error %v after %d frames, want %d", err, i, len(want))
			}
			return err
		}
		if i >= len(want) {
			t.Fatalf("frame %d is one too many", i)
		}
		if !sameFrame(f, &want[i].f) {
			t.Fatalf("frame %d (%s): got other fields", i, want[i].name)
		}
	}
}

func TestReader_SplitAtEveryByte(t *testing.T) {
	want, stream := streamSamples(t)
	for k := range len(stream) + 1 {
		rd := io.MultiReader(bytes.NewReader(stream[:k]), bytes.NewReader(stream[k:]))
		if err := readAll(t, wire.NewReader(rd, 0), want); err != io.EOF {
			t.Fatalf("split at %d: %v, want io.EOF", k, err)
		}
		if t.Failed() {
			t.Fatalf("split at %d", k)
		}
	}
}

func TestReader_Readers(t *testing.T) {
	want, stream := streamSamples(t)
	for _, tc := range []struct {
		name string
		rd   func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"one byte at a time", iotest.OneByteReader},
		{"half reads", iotest.HalfReader},
		{"EOF with the data", iotest.DataErrReader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := wire.NewReader(tc.rd(bytes.NewReader(stream)), 0)
			if err := readAll(t, r, want); err != io.EOF {
				t.Errorf("got %v, want io.EOF", err)
			}
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("Next after the end: %v, want io.EOF", err)
			}
		})
	}
}

// prefixOnly yields a length prefix and fails the test if read again.
type prefixOnly struct {
	t    *testing.T
	done bool
}

func (p *prefixOnly) Read(b []byte) (int, error) {
	if p.done {
		p.t.Fatal("the Reader read past a length prefix over its limit")
	}
	p.done = true
	return copy(b, []byte{0, 0, 4, 1}), nil // 1025 bytes
}

func TestReader_TooLargeBeforeBody(t *testing.T) {
	r := wire.NewReader(&prefixOnly{t: t}, 1024)
	for range 2 { // the error sticks
		if _, err := r.Next(); !errors.Is(err, wire.ErrTooLarge) {
			t.Fatalf("Next = %v, want ErrTooLarge", err)
		}
	}
}

func TestReader_Limits(t *testing.T) {
	frame := mustAppend(t, &wire.Frame{Type: wire.TypePublish,
		Publish: wire.Publish{Topic: []byte("t"), Payload: make([]byte, 1016)}}) // 1024 after the prefix
	if _, err := wire.NewReader(bytes.NewReader(frame), 1024).Next(); err != nil {
		t.Errorf("a frame at the limit: %v", err)
	}
	if _, err := wire.NewReader(bytes.NewReader(frame), 1023).Next(); !errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("a frame over the limit: %v, want ErrTooLarge", err)
	}
	huge := []byte{0x01, 0x00, 0x00, 0x01} // MaxFrameSize + 1
	if _, err := wire.NewReader(bytes.NewReader(huge), 1<<30).Next(); !errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("a limit over MaxFrameSize is not clamped: %v", err)
	}
}

func TestReader_EOF(t *testing.T) {
	ping := wire.AppendPing(nil)
	pub := mustAppend(t, &wire.Frame{Type: wire.TypePublish, Publish: wire.Publish{Topic: []byte("t")}})
	for _, tc := range []struct {
		name   string
		stream []byte
		frames int
		want   error
	}{
		{"empty", nil, 0, io.EOF},
		{"clean end", ping, 1, io.EOF},
		{"in the prefix", append(ping, 0, 0), 1, io.ErrUnexpectedEOF},
		{"in the body", append(ping, pub[:len(pub)-1]...), 1, io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, rd := range []io.Reader{bytes.NewReader(tc.stream), iotest.DataErrReader(bytes.NewReader(tc.stream))} {
				r := wire.NewReader(rd, 0)
				n, err := countFrames(r)
				if n != tc.frames || err != tc.want {
					t.Errorf("%d frames, %v; want %d, %v", n, err, tc.frames, tc.want)
				}
			}
		})
	}
}

// countFrames reads frames until an error.
func countFrames(r *wire.Reader) (int, error) {
	for n := 0; ; n++ {
		if _, err := r.Next(); err != nil {
			return n, err
		}
	}
}

func TestReader_ErrorsAfterFrames(t *testing.T) {
	boom := errors.New("boom")
	stream := wire.AppendPong(wire.AppendPing(nil))
	r := wire.NewReader(iotest.TimeoutReader(bytes.NewReader(stream)), 0)
	if n, err := countFrames(r); n != 2 || err != iotest.ErrTimeout {
		t.Errorf("TimeoutReader: %d frames, %v", n, err)
	}
	r = wire.NewReader(io.MultiReader(bytes.NewReader(stream), iotest.ErrReader(boom)), 0)
	if n, err := countFrames(r); n != 2 || err != boom {
		t.Errorf("ErrReader: %d frames, %v", n, err)
	}
	if _, err := r.Next(); err != boom {
		t.Errorf("the error did not stick: %v", err)
	}
}

func TestReader_BadFrame(t *testing.T) {
	stream := append(wire.AppendPing(nil), raw(0x7F)...)
	stream = wire.AppendPing(stream)
	r := wire.NewReader(bytes.NewReader(stream), 0)
	if n, err := countFrames(r); n != 1 || !errors.Is(err, wire.ErrUnknownType) {
		t.Errorf("%d frames, %v; want 1, ErrUnknownType", n, err)
	}
	if _, err := r.Next(); !errors.Is(err, wire.ErrUnknownType) {
		t.Errorf("the error did not stick: %v", err)
	}
}

// emptyReader returns no bytes and no error.
type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

// liar claims to have read more than it was given room for.
type liar struct{}

func (liar) Read(b []byte) (int, error) { return len(b) + 1, nil }

func TestReader_BadReaders(t *testing.T) {
	if _, err := wire.NewReader(emptyReader{}, 0).Next(); err != io.ErrNoProgress {
		t.Errorf("empty reads: %v, want io.ErrNoProgress", err)
	}
	if _, err := wire.NewReader(liar{}, 0).Next(); !errors.Is(err, io.ErrShortBuffer) {
		t.Errorf("a reader that lies: %v, want io.ErrShortBuffer", err)
	}
}

func TestReader_Ready(t *testing.T) {
	stream := wire.AppendPong(wire.AppendPing(nil))
	stream = append(stream, 0, 0, 0, 1) // half a frame
	r := wire.NewReader(bytes.NewReader(stream), 0)
	if r.Ready() {
		t.Error("Ready before reading")
	}
	for i, want := range []bool{true, false} {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		if got := r.Ready(); got != want {
			t.Errorf("after frame %d: Ready = %v, want %v", i, got, want)
		}
	}
}

func TestReader_Reset(t *testing.T) {
	r := wire.NewReader(bytes.NewReader([]byte{0, 0}), 0)
	if _, err := r.Next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("Next = %v", err)
	}
	r.Reset(bytes.NewReader(wire.AppendPing(nil)))
	if f, err := r.Next(); err != nil || f.Type != wire.TypePing {
		t.Errorf("after Reset: %v, %v", f, err)
	}
}

// TestReader_Allocs reads a stream of small frames without allocating.
func TestReader_Allocs(t *testing.T) {
	frame := mustAppend(t, &wire.Frame{Type: wire.TypePublish, Publish: *benchPublish()})
	r := wire.NewReader(&loopReader{data: bytes.Repeat(frame, 100)}, 0)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Next allocates %v times per frame", allocs)
	}
}
