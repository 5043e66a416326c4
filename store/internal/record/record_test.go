package record

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
)

func TestMessage_RoundTrip(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		for _, qos := range []whispeer.QoS{whispeer.AtMostOnce, whispeer.AtLeastOnce, whispeer.ExactlyOnce} {
			m := &whispeer.Message{Topic: "a/b", ID: "id", Payload: []byte{0xC1, 0x57, 1, 0, 0}, QoS: qos,
				Sealed: sealed, Headers: headers(t, "k", "v"), Time: time.Unix(0, 1234)}
			if qos == whispeer.ExactlyOnce && sealed {
				m.PublisherID = "alice\x00app-1"
			}
			got, err := DecodeMessage(AppendMessage(nil, 7, 9, m), "")
			if err != nil {
				t.Fatal(err)
			}
			if got.Epoch != 7 || got.Seq != 9 || got.Topic != m.Topic || got.ID != m.ID || got.QoS != qos ||
				got.PublisherID != m.PublisherID || got.Sealed != sealed || !bytes.Equal(got.Payload, m.Payload) ||
				got.Headers.Map()["k"] != "v" || !got.Time.Equal(m.Time) {
				t.Fatalf("decoded %+v, want %+v", got.Message, m)
			}
		}
	}
}

// TestMessage_WrittenBeforeFlags decodes message records as written
// before the QoS byte held flags, when whether a payload was an envelope
// was read from its first bytes: such a record reads as sealed if its
// payload begins like an envelope, as the broker then delivered it, so
// that history stored then still opens.
func TestMessage_WrittenBeforeFlags(t *testing.T) {
	for _, tt := range []struct {
		payload []byte
		sealed  bool
	}{
		{[]byte{0xC1, 0x57, 1, 0, 0}, true},
		{[]byte{0xC1, 0x57, 2, 0, 0}, false},
		{[]byte("plain"), false},
	} {
		b := []byte{KindMessage}
		b = binary.LittleEndian.AppendUint64(b, 7)
		b = binary.LittleEndian.AppendUint64(b, 9)
		b = binary.LittleEndian.AppendUint64(b, 1234)
		b = append(b, byte(whispeer.AtLeastOnce))
		b = AppendString(b, "t")
		b = AppendString(b, "id")
		b = AppendHeaders(b, whispeer.Headers{})
		b = append(b, tt.payload...)
		got, err := DecodeMessage(b, "")
		if err != nil {
			t.Fatal(err)
		}
		if got.Sealed != tt.sealed || got.QoS != whispeer.AtLeastOnce || got.Seq != 9 || !bytes.Equal(got.Payload, tt.payload) {
			t.Fatalf("decoded %+v, want a QoS 1 message at 9, sealed %t", got.Message, tt.sealed)
		}
		b[25] = 0x21 // a flag this version does not know
		if _, err := DecodeMessage(b, ""); err != ErrFormat {
			t.Fatalf("a record with an unknown flag: %v, want ErrFormat", err)
		}
	}
}

func TestFind(t *testing.T) {
	var log []byte
	var starts []int
	for i := range 5 {
		starts = append(starts, len(log))
		var at int
		log, at = Begin(log)
		m := &whispeer.Message{Topic: "t", ID: "x", Payload: bytes.Repeat([]byte{byte(i)}, 10*i)}
		log = End(AppendMessage(log, 1, uint64(i+1), m), at)
	}
	if p := Find(log); p != 0 {
		t.Fatalf("Find in an intact log: %d, want 0", p)
	}
	for i, at := range starts {
		if p := Find(log[at+1:]); i < len(starts)-1 && p != starts[i+1]-at-1 || i == len(starts)-1 && p != -1 {
			t.Fatalf("Find from inside frame %d: %d", i, p)
		}
	}
	damaged := bytes.Clone(log)
	damaged[starts[2]+1] ^= 0xff // frame 2's length
	if _, _, err := Next(damaged[starts[2]:]); err == nil {
		t.Fatal("a damaged frame checks out")
	}
	if p := Find(damaged[starts[2]:]); p != starts[3]-starts[2] {
		t.Fatalf("Find past a damaged length: %d, want %d", p, starts[3]-starts[2])
	}
	if p := Find(make([]byte, 100)); p != -1 {
		t.Fatalf("Find in zeros: %d", p)
	}
}

func TestMinMessageLen(t *testing.T) {
	b, at := Begin(nil)
	b = End(AppendMessage(b, 1, 1, &whispeer.Message{}), at)
	if len(b) != MinMessageLen {
		t.Fatalf("the shortest message record is %d bytes, MinMessageLen %d", len(b), MinMessageLen)
	}
}

// TestResync damages a frame whose payload holds a frame of its own, in
// its checksum or body: reading resumes past it, not at the frame in its
// payload. It then damages a frame's length so that it leads to the frame
// after the next, which checks out: reading resumes at the next frame,
// which the damaged frame's checksum confirms.
func TestResync(t *testing.T) {
	inner, at := Begin(nil)
	inner = End(AppendMessage(inner, 1, 99, &whispeer.Message{Topic: "t"}), at)
	var log []byte
	var starts []int
	for i := range 5 {
		starts = append(starts, len(log))
		m := &whispeer.Message{Topic: "t", Payload: bytes.Repeat([]byte{byte(i)}, 20)}
		if i == 1 {
			m.Payload = append(m.Payload, inner...)
		}
		log, at = Begin(log)
		log = End(AppendMessage(log, 1, uint64(i+1), m), at)
	}
	b := log[starts[1]:]
	want := starts[2] - starts[1]
	for _, tt := range []struct {
		name string
		at   int
	}{{"checksum", 5}, {"body", 40}} {
		damaged := bytes.Clone(b)
		damaged[tt.at] ^= 0x01
		if got := Resync(damaged); got != want {
			t.Errorf("%s damaged: Resync = %d, want %d", tt.name, got, want)
		}
	}
	b = bytes.Clone(log[starts[2]:])
	size := binary.LittleEndian.Uint32(b)
	binary.LittleEndian.PutUint32(b, size+uint32(starts[3]-starts[2]))
	if got, want := Resync(b), starts[3]-starts[2]; got != want {
		t.Errorf("length damaged: Resync = %d, want %d", got, want)
	}
}

// headers returns the headers of alternating keys and values kv.
func headers(t *testing.T, kv ...string) whispeer.Headers {
	t.Helper()
	h, err := whispeer.NewHeaders(kv...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestHeaders_WrittenAsMap decodes headers as records have always held
// them, a count and then keys and values in any order, as a broker that
// kept headers in a map wrote them: they read back with the same entries,
// in the order written, and encode again to the same bytes.
func TestHeaders_WrittenAsMap(t *testing.T) {
	b := binary.AppendUvarint(nil, 3)
	for _, s := range []string{"trace", "t-1", "content-type", "text/plain", "", "empty key"} {
		b = AppendString(b, s)
	}
	h, err := DecodeHeaders(b)
	if err != nil {
		t.Fatal(err)
	}
	if want := headers(t, "trace", "t-1", "content-type", "text/plain", "", "empty key"); !bytes.Equal(h.Encoded(), want.Encoded()) {
		t.Errorf("decoded %v, want %v", h.Map(), want.Map())
	}
	if again := AppendHeaders(nil, h); !bytes.Equal(again, b) {
		t.Errorf("encoded again as %x, want %x", again, b)
	}
	if _, err := DecodeHeaders(b[:len(b)-1]); err == nil {
		t.Error("a truncated header decoded")
	}
}
