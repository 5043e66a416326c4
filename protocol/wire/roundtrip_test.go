package wire_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

func TestAppend_RoundTrip(t *testing.T) {
	for _, s := range samples(t) {
		t.Run(s.name, func(t *testing.T) {
			b := mustAppend(t, &s.f)
			got, n, err := wire.Parse(b)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if n != len(b) {
				t.Errorf("Parse took %d bytes of %d", n, len(b))
			}
			if !sameFrame(&got, &s.f) {
				t.Errorf("Parse = %+v\nwant %+v", member(&got), member(&s.f))
			}
			if again := mustAppend(t, &got); !bytes.Equal(again, b) {
				t.Errorf("re-encoded %x\nwant %x", again, b)
			}
		})
	}
}

// TestFrame_ParseStream parses every sample from one buffer, each frame
// followed by the next, into one reused Frame.
func TestFrame_ParseStream(t *testing.T) {
	var stream []byte
	all := samples(t)
	for _, s := range all {
		var err error
		if stream, err = wire.AppendFrame(stream, &s.f); err != nil {
			t.Fatal(err)
		}
	}
	var f wire.Frame
	for i, s := range all {
		n, err := f.Parse(stream)
		if err != nil {
			t.Fatalf("frame %d (%s): %v", i, s.name, err)
		}
		if !sameFrame(&f, &s.f) {
			t.Fatalf("frame %d (%s) = %+v\nwant %+v", i, s.name, member(&f), member(&s.f))
		}
		stream = stream[n:]
	}
	if len(stream) != 0 {
		t.Errorf("%d bytes left", len(stream))
	}
}

// TestAppend_RandomRoundTrip encodes random valid frames, parses them back
// and encodes them again.
func TestAppend_RandomRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := []byte("prefix")
	for i := range 5000 {
		want := randomFrame(r)
		b, err := wire.AppendFrame(buf, &want)
		if err != nil {
			t.Fatalf("%d: AppendFrame(%v): %v", i, want.Type, err)
		}
		if !bytes.HasPrefix(b, buf) {
			t.Fatalf("%d: AppendFrame changed dst's bytes", i)
		}
		got, n, err := wire.Parse(b[len(buf):])
		if err != nil {
			t.Fatalf("%d: Parse(%v): %v", i, want.Type, err)
		}
		if n != len(b)-len(buf) || !sameFrame(&got, &want) {
			t.Fatalf("%d: Parse(%.64x...) took %d bytes of %d and gave other fields", i,
				b[len(buf):], n, len(b)-len(buf))
		}
		if again := mustAppend(t, &got); !bytes.Equal(again, b[len(buf):]) {
			t.Fatalf("%d: re-encoded %.64x...\nwant %.64x...", i, again, b[len(buf):])
		}
	}
}

// TestParse_ViewsAreCapped checks that appending to a parsed field cannot
// overwrite the bytes after it.
func TestParse_ViewsAreCapped(t *testing.T) {
	p := wire.Publish{Topic: []byte("a"), ID: []byte("b"), Payload: []byte("c")}
	b, err := wire.AppendPublish(nil, &p)
	if err != nil {
		t.Fatal(err)
	}
	b = wire.AppendPing(b)
	orig := bytes.Clone(b)
	f, _, err := wire.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(f.Publish.Topic, 'X')
	_ = append(f.Publish.ID, 'X')
	_ = append(f.Publish.Payload, 'X')
	if !bytes.Equal(b, orig) {
		t.Errorf("appending to parsed fields changed the buffer:\n%x\nwant %x", b, orig)
	}
}

// TestAppendMessage_HeadAndBody checks that a head and a shared body make
// the same bytes as AppendMessage.
func TestAppendMessage_HeadAndBody(t *testing.T) {
	m := wire.Message{QoS: wire.AtLeastOnce, Topic: []byte("chat/room1"), ID: []byte("m1"),
		Offset: 5, Time: 6, Headers: mustHeaders(t, "k", "v"), Payload: []byte("hello")}
	body, err := wire.AppendMessageBody(nil, &m)
	if err != nil {
		t.Fatal(err)
	}
	for _, sid := range []uint32{1, 2, 0xFFFFFFFF} {
		m.SID, m.Replay = sid, sid == 2
		head, err := wire.AppendMessageHead(nil, &m, len(body))
		if err != nil {
			t.Fatal(err)
		}
		if len(head) != wire.MessageHeadLen {
			t.Errorf("head is %d bytes, want %d", len(head), wire.MessageHeadLen)
		}
		want, err := wire.AppendMessage(nil, &m)
		if err != nil {
			t.Fatal(err)
		}
		if got := append(head, body...); !bytes.Equal(got, want) {
			t.Errorf("sid %d: head+body = %x\nwant %x", sid, got, want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		client, want uint8
		err          error
	}{{0, 0, wire.ErrVersion}, {1, 1, nil}, {2, 1, nil}, {255, 1, nil}} {
		got, err := wire.Negotiate(tc.client)
		if got != tc.want || err != tc.err {
			t.Errorf("Negotiate(%d) = %d, %v; want %d, %v", tc.client, got, err, tc.want, tc.err)
		}
	}
}

func TestType_String(t *testing.T) {
	for typ, want := range map[wire.Type]string{wire.TypePublish: "PUB", wire.TypeMessage: "MSG",
		wire.TypePubComp: "PUBCOMP", 0: "Type(0)", 0x09: "Type(9)", 0xFF: "Type(255)"} {
		if got := typ.String(); got != want {
			t.Errorf("Type(%d).String() = %q, want %q", typ, got, want)
		}
	}
}

func TestCode_String(t *testing.T) {
	for c, want := range map[wire.Code]string{wire.CodeOK: "ok", wire.CodeNotFound: "not_found",
		wire.CodeInternal: "internal", 10: "Code(10)"} {
		if got := c.String(); got != want {
			t.Errorf("Code(%d).String() = %q, want %q", c, got, want)
		}
	}
}

func TestCaps_Has(t *testing.T) {
	c := wire.CapE2E | wire.CapResume
	if !c.Has(wire.CapE2E) || !c.Has(wire.CapE2E|wire.CapResume) || c.Has(wire.CapQoS2) {
		t.Errorf("%b.Has gives wrong answers", c)
	}
}
