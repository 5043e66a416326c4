package json

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParse_EncodingAndSealed(t *testing.T) {
	tests := []struct {
		data string
		enc  Encoding
		seal bool
	}{
		{`{"type":"publish","topic":"t","payload":1}`, EncodingJSON, false},
		{`{"type":"publish","topic":"t","payload":"x","encoding":"text"}`, EncodingText, false},
		{`{"type":"publish","topic":"t","payload":{"base64":""},"encoding":"base64","sealed":true}`, EncodingBase64, true},
		{`{"type":"publish","topic":"t","payload":1,"encoding":"json","sealed":false}`, EncodingJSON, false},
		{`{"type":"publish","topic":"t","payload":1,"encoding":null,"sealed":null}`, EncodingJSON, false},
		{`{"type":"publish","topic":"t","payload":1,"encoding":"b\u0061se64"}`, EncodingBase64, false},
	}
	for _, tt := range tests {
		f := mustParse(t, tt.data)
		if f.Encoding != tt.enc || f.Sealed != tt.seal {
			t.Errorf("%s: encoding %v sealed %t, want %v %t", tt.data, f.Encoding, f.Sealed, tt.enc, tt.seal)
		}
	}
	for _, data := range []string{
		`{"type":"publish","topic":"t","payload":1,"encoding":"hex"}`,
		`{"type":"publish","topic":"t","payload":1,"encoding":1}`,
		`{"type":"publish","topic":"t","payload":1,"sealed":1}`,
		`{"type":"publish","topic":"t","payload":1,"sealed":"true"}`,
	} {
		if _, err := Parse([]byte(data)); !errors.Is(err, ErrFieldType) {
			t.Errorf("%s: %v, want ErrFieldType", data, err)
		}
	}
}

func TestFrame_PayloadBytes(t *testing.T) {
	tests := []struct {
		payload, encoding string
		want              string
		err               error
	}{
		{`{"a": 1}`, "", `{"a": 1}`, nil},
		{`"a\n\u00e9\ud83d\ude00"`, "text", "a\né😀", nil},
		{`"plain"`, "text", "plain", nil},
		{`""`, "text", "", nil},
		{`{"base64":"wVcBAAA="}`, "base64", "\xc1\x57\x01\x00\x00", nil},
		{` { "base64" : "aGk\/" } `, "base64", "hi?", nil},
		{`{"base64":""}`, "base64", "", nil},
		{`42`, "text", "", ErrFieldType},
		{`"\ud800"`, "text", "", ErrSurrogate},
		{`"aGk="`, "base64", "", ErrFieldType},
		{`{"base64":"aGk"}`, "base64", "", ErrFieldType},
		{`{"base64":"aGk=","x":1}`, "base64", "", ErrFieldType},
		{`{"Base64":"aGk="}`, "base64", "", ErrFieldType},
		{`{"base64":1}`, "base64", "", ErrFieldType},
	}
	for _, tt := range tests {
		data := `{"type":"publish","topic":"t","payload":` + tt.payload
		if tt.encoding != "" {
			data += `,"encoding":"` + tt.encoding + `"`
		}
		f := mustParse(t, data+"}")
		got, err := f.PayloadBytes(nil)
		if !errors.Is(err, tt.err) || (err == nil && string(got) != tt.want) {
			t.Errorf("%s: %q, %v; want %q, %v", tt.payload, got, err, tt.want, tt.err)
		}
	}
}

// FuzzDelivery checks that whatever bytes a message frame carries, a
// client reads them back exactly: the frame is valid JSON, its payload
// decoded as its "encoding" says is the bytes, in a publish too, and
// "sealed" is as given.
func FuzzDelivery(f *testing.F) {
	for _, s := range []string{"", "null", " 42\n", `"x"`, "text", "\xc1\x57\x01\x5f\x00", "\xff", "\u2028\x00", `{"base64":"AAAA"}`} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, b []byte, sealed bool) {
		out := AppendDelivery(nil, &Delivery{Topic: "t", Payload: b, MessageID: "m", QoS: 1, Offset: 3, Sealed: sealed})
		var m struct {
			Type     string
			Payload  stdjson.RawMessage
			Encoding string
			Sealed   bool
		}
		if err := stdjson.Unmarshal(out, &m); err != nil || m.Type != "message" || m.Sealed != sealed {
			t.Fatalf("AppendDelivery(%q) = %s: %v", b, out, err)
		}
		pub := `{"type":"publish","topic":"t","payload":` + string(m.Payload)
		if m.Encoding != "" {
			pub += `,"encoding":"` + m.Encoding + `"`
		}
		frame, err := Parse([]byte(pub + "}"))
		if err != nil {
			t.Fatalf("%s: %v", pub, err)
		}
		got, err := frame.PayloadBytes(nil)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("AppendDelivery(%q) = %s, which reads back as %q, %v", b, out, got, err)
		}
		if m.Encoding == "" && strings.TrimSpace(string(m.Payload)) != string(b) {
			t.Fatalf("payload %q written as it is, but %s", b, m.Payload)
		}
	})
}
