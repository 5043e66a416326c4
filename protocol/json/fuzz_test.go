package json

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks Parse against encoding/json. Its seed corpus is in
// testdata/fuzz/FuzzParse: the frames of PopSub's README and the error
// cases of the tests.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"type":"publish","topic":"t","payload":{"a":[1,"x",null]},"message_id":"m","qos":1}`))
	f.Add([]byte(`{"type":"subscribe","topic":"a/\u00e9","last":3,"offset":9,"epoch":"e"}`))
	f.Add([]byte(`{"type":"publish","topic":"t","payload":{"base64":"wVcBAAA="},"encoding":"base64","sealed":true}`))
	f.Add([]byte(`{"type":"publish","topic":"t","payload":"a\nb","encoding":"text","sealed":false}`))
	f.Add([]byte(`{"type":"ack","message_id":"m","offset":4,"topic":"x\ud800"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		frame, err := Parse(data)
		if err != nil {
			checkParseError(t, data, err)
			return
		}
		if !stdjson.Valid(data) || !utf8.Valid(data) {
			t.Fatalf("Parse accepted invalid JSON %q", data)
		}
		if frame.Type == TypeUnknown {
			t.Fatalf("Parse returned TypeUnknown without an error")
		}
		var m map[string]stdjson.RawMessage
		if err := stdjson.Unmarshal(data, &m); err != nil {
			t.Fatalf("encoding/json cannot read %q as an object: %v", data, err)
		}
		checkStringField(t, m, "topic", frame.Topic)
		checkStringField(t, m, "username", frame.Username)
		checkStringField(t, m, "password", frame.Password)
		checkStringField(t, m, "token", frame.Token)
		checkStringField(t, m, "message_id", frame.MessageID)
		checkStringField(t, m, "epoch", frame.Epoch)
		if raw, ok := m["payload"]; ok && !bytes.Equal(frame.Payload, raw) {
			t.Fatalf("Payload = %s, encoding/json finds %s", frame.Payload, raw)
		}
		if b, err := frame.PayloadBytes(nil); err == nil && frame.Encoding == EncodingJSON && !bytes.Equal(b, frame.Payload) {
			t.Fatalf("PayloadBytes = %q, want the payload %q", b, frame.Payload)
		}
		out := AppendMessage(nil, frame.Topic, frame.Payload, 0, frame.MessageID, frame.QoS)
		if !stdjson.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("AppendMessage wrote invalid JSON %q", out)
		}
	})
}

// checkStringField compares a string field that Parse returned with what
// encoding/json reads under the same key.
func checkStringField(t *testing.T, m map[string]stdjson.RawMessage, key, got string) {
	t.Helper()
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		if got != "" {
			t.Fatalf("%s = %q, but the frame has no %s", key, got, key)
		}
		return
	}
	var want string
	if err := stdjson.Unmarshal(raw, &want); err != nil {
		t.Fatalf("%s: encoding/json: %v", key, err)
	}
	if got != want {
		t.Fatalf("%s = %q, encoding/json reads %q", key, got, want)
	}
}

// checkParseError checks that Parse's error agrees with encoding/json about
// whether data is JSON at all.
func checkParseError(t *testing.T, data []byte, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Kind == nil || e.Error() == "" {
		t.Fatalf("error %#v is not a complete *Error", err)
	}
	valid := stdjson.Valid(data) && utf8.Valid(data)
	switch {
	case errors.Is(err, ErrSyntax):
		deep := bytes.Count(data, []byte("["))+bytes.Count(data, []byte("{")) >= MaxDepth
		if valid && !deep {
			t.Fatalf("Parse(%q) reports a syntax error in valid JSON: %v", data, err)
		}
	case errors.Is(err, ErrNotObject):
		if !valid || bytes.TrimLeft(data, " \t\r\n")[0] == '{' {
			t.Fatalf("Parse(%q) = %v", data, err)
		}
	default:
		if !valid {
			t.Fatalf("Parse(%q) = %v, but the input is not valid JSON", data, err)
		}
	}
}

// FuzzAppend checks that AppendString and AppendPayload always write
// valid JSON, and that AppendString reads back as its input.
func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\\n\x00", "\xff\xfe", "é€😀\u2028", `{"a":1}`, " 42 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		var back string
		if err := stdjson.Unmarshal(out, &back); err != nil || !utf8.Valid(out) {
			t.Fatalf("AppendString(%q) = %q: %v", s, out, err)
		}
		if back != strings.ToValidUTF8(s, "\ufffd") && back != wantDecoded(s) {
			t.Fatalf("AppendString(%q) reads back as %q", s, back)
		}
		payload := AppendPayload(nil, []byte(s))
		if !stdjson.Valid(payload) || !utf8.Valid(payload) {
			t.Fatalf("AppendPayload(%q) = %q, not valid JSON", s, payload)
		}
	})
}
