package server

import (
	"bytes"
	"encoding/base64"
	stdjson "encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
)

// testPayload is a payload and whether its publisher declares it an
// envelope.
type testPayload struct {
	b      []byte
	sealed bool
}

// envelopeStart is how every envelope begins: the magic, format version
// 1, no compression, no AEAD (docs/envelope.md).
var envelopeStart = []byte{0xc1, 0x57, 0x01, 0x00, 0x00}

// testPayloads returns payloads of every form, each plaintext and, when it
// starts like an envelope, declared sealed too: random bytes, bytes that
// begin like an envelope (a compression id of 95 among them), JSON values
// with and without white space around them, text, and nothing.
func testPayloads(rng *rand.Rand) []testPayload {
	fixed := [][]byte{
		{}, []byte("null"), []byte(`"quoted"`), []byte(" 42\n"), []byte(`{"a":[1,2]}`), []byte("plain text"),
		[]byte("ctl\x00\x1f\u2028"), {0xc1}, {0xc1, 0x57}, {0xc1, 0x57, 0x01}, {0xc1, 0x57, 0x01, 0x5f, 0x00, 0xaa},
		append(bytes.Clone(envelopeStart), "not a real envelope"...), []byte(`{"base64":"AAAA"}`),
	}
	var out []testPayload
	for _, b := range fixed {
		out = append(out, testPayload{b: b})
	}
	for i := range 40 {
		b := make([]byte, rng.IntN(600))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		if i%2 == 0 {
			b = append(bytes.Clone(envelopeStart[:3+rng.IntN(3)]), b...)
		}
		out = append(out, testPayload{b: b})
	}
	for _, p := range out[:len(out):len(out)] {
		if bytes.HasPrefix(p.b, envelopeStart[:3]) && len(p.b) >= len(envelopeStart) {
			out = append(out, testPayload{b: p.b, sealed: true})
		}
	}
	return out
}

// TestPayload_RoundTrip publishes payloads of every form, declared sealed
// or not, from native and JSON publishers, and checks that every native
// subscriber, over TCP and WebSocket, and every JSON subscriber receives
// the same bytes with the same declaration, live and replayed from the
// history or the store. Nothing is inferred from a payload's bytes.
func TestPayload_RoundTrip(t *testing.T) {
	for _, kind := range []string{config.StoreNone, config.StoreMemory, config.StoreFile, config.StoreSQLite} {
		t.Run(kind, func(t *testing.T) {
			payloads := testPayloads(rand.New(rand.NewPCG(1, 2)))
			path := filepath.Join(t.TempDir(), "store")
			ts := newTestServer(t, func(c *config.Config) {
				c.Store.Kind, c.Store.Path, c.Store.Sync = kind, path, "never"
				c.Replay.Size = 2 * len(payloads)
			})
			nt, nw, js := ts.nativeAuthed(t, "tcp", "admin"), ts.nativeAuthed(t, "ws", "admin"), ts.authed(t, "admin")
			nt.subscribe(1, "bin/#", wire.AtMostOnce, wire.Resume{})
			nw.subscribe(1, "bin/#", wire.AtMostOnce, wire.Resume{})
			js.subscribe("bin/#")
			receive := func(p testPayload, what string) {
				t.Helper()
				for _, c := range []*nclient{nt, nw} {
					checkNative(t, c.expect(wire.TypeMessage), p, what)
				}
				checkJSON(t, js.readRaw(), p, what)
			}

			pub := ts.nativeAuthed(t, "tcp", "admin")
			for i, p := range payloads {
				pub.publish(wire.Publish{Envelope: p.sealed, Topic: []byte("bin/native"), Payload: p.b})
				receive(p, fmt.Sprintf("native publish %d", i))
			}
			jp := ts.authed(t, "admin")
			for i, p := range payloads {
				frame := fmt.Sprintf(`{"type":"publish","topic":"bin/json","payload":{"base64":%q},"encoding":"base64","sealed":%t}`,
					base64.StdEncoding.EncodeToString(p.b), p.sealed)
				jp.send(frame)
				receive(p, fmt.Sprintf("JSON publish %d", i))
			}
			jp.sync()
			pub.sync()

			n := len(payloads)
			late := ts.nativeAuthed(t, "ws", "admin")
			late.send(&wire.Frame{Type: wire.TypeSubscribe, Subscribe: wire.Subscribe{SID: 2, Resume: wire.Resume{Mode: wire.ResumeLast, Last: uint32(n)}, Topic: []byte("bin/#")}})
			late.expect(wire.TypeSubAck)
			lateJSON := ts.authed(t, "admin")
			lateJSON.send(fmt.Sprintf(`{"type":"subscribe","topic":"bin/#","last":%d}`, n))
			lateJSON.expect("subscribed")
			for _, topic := range []string{"bin/json", "bin/native"} { // replayed topic by topic, in name order
				for i, p := range payloads {
					what := fmt.Sprintf("replay of %s %d", topic, i)
					checkNative(t, late.expect(wire.TypeMessage), p, what)
					checkJSON(t, lateJSON.readRaw(), p, what)
				}
			}
		})
	}
}

// checkNative checks a MSG's payload and envelope flag against p.
func checkNative(t *testing.T, f *wire.Frame, p testPayload, what string) {
	t.Helper()
	m := &f.Message
	if !bytes.Equal(m.Payload, p.b) || m.Envelope != p.sealed {
		t.Fatalf("%s: MSG payload %x envelope %t, want %x envelope %t", what, m.Payload, m.Envelope, p.b, p.sealed)
	}
}

// checkJSON checks a message frame's payload, decoded as its "encoding"
// says, and its "sealed" against p.
func checkJSON(t *testing.T, data []byte, p testPayload, what string) {
	t.Helper()
	var f struct {
		Type     string
		Payload  stdjson.RawMessage
		Encoding string
		Sealed   bool
	}
	if err := stdjson.Unmarshal(data, &f); err != nil || f.Type != "message" {
		t.Fatalf("%s: frame %s: %v", what, data, err)
	}
	var got []byte
	switch f.Encoding {
	case "":
		got = f.Payload
	case "text":
		var s string
		if err := stdjson.Unmarshal(f.Payload, &s); err != nil {
			t.Fatalf("%s: text payload %s: %v", what, f.Payload, err)
		}
		got = []byte(s)
	case "base64":
		var v struct{ Base64 string }
		err := stdjson.Unmarshal(f.Payload, &v)
		if err == nil {
			got, err = base64.StdEncoding.DecodeString(v.Base64)
		}
		if err != nil {
			t.Fatalf("%s: base64 payload %s: %v", what, f.Payload, err)
		}
	default:
		t.Fatalf("%s: encoding %q", what, f.Encoding)
	}
	if !bytes.Equal(got, p.b) || f.Sealed != p.sealed {
		t.Fatalf("%s: frame %s carries %x sealed %t, want %x sealed %t", what, data, got, f.Sealed, p.b, p.sealed)
	}
}
