package json

import (
	"bytes"
	stdjson "encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppend_Frames(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"login_response", AppendLoginResponse(nil, "abc.def.ghi"), `{"type":"login_response","token":"abc.def.ghi"}`},
		{"authenticated", AppendAuthenticated(nil), `{"type":"authenticated","status":"authenticated"}`},
		{"error", AppendError(nil, "authentication failed"),
			`{"type":"error","error":"authentication failed","message":"authentication failed"}`},
		{"error escaped", AppendError(nil, `field "qos" must be 0, 1 or 2`),
			`{"type":"error","error":"field \"qos\" must be 0, 1 or 2","message":"field \"qos\" must be 0, 1 or 2"}`},
		{"message", AppendMessage(nil, "chat", []byte(`"Hello world!"`), 1689475200, "generated_or_provided_id", 0),
			`{"type":"message","topic":"chat","payload":"Hello world!","timestamp":1689475200,"message_id":"generated_or_provided_id","qos":0}`},
		{"message qos 1 object", AppendMessage(nil, "a/b", []byte(`{"t":21.5}`), 0, "m-7", 1),
			`{"type":"message","topic":"a/b","payload":{"t":21.5},"timestamp":0,"message_id":"m-7","qos":1}`},
		{"message empty payload", AppendMessage(nil, "t", nil, -1, "", 2),
			`{"type":"message","topic":"t","payload":null,"timestamp":-1,"message_id":"","qos":2}`},
		{"message offset", AppendMessageOffset(nil, "chat", []byte(`[1]`), 1689475200, "m", 1, 42),
			`{"type":"message","topic":"chat","payload":[1],"timestamp":1689475200,"message_id":"m","qos":1,"offset":42}`},
		{"message offset zero", AppendMessageOffset(nil, "chat", []byte(`1`), 5, "m", 0, 0),
			`{"type":"message","topic":"chat","payload":1,"timestamp":5,"message_id":"m","qos":0}`},
		{"message max offset", AppendMessageOffset(nil, "t", []byte(`1`), math.MaxInt64, "m", 0, math.MaxUint64),
			`{"type":"message","topic":"t","payload":1,"timestamp":9223372036854775807,"message_id":"m","qos":0,"offset":18446744073709551615}`},
		{"puback", AppendPubAck(nil, "some_unique_message_id_123"), `{"type":"puback","message_id":"some_unique_message_id_123"}`},
		{"subscribed", AppendSubscribed(nil, "chat/#"), `{"type":"subscribed","topic":"chat/#"}`},
		{"unsubscribed", AppendUnsubscribed(nil, "chat/#"), `{"type":"unsubscribed","topic":"chat/#"}`},
		{"pong", AppendPong(nil), `{"type":"pong"}`},
		{"appends", AppendPong([]byte("x")), `x{"type":"pong"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Errorf("got  %s\nwant %s", tt.got, tt.want)
			}
			if js := strings.TrimPrefix(string(tt.got), "x"); !stdjson.Valid([]byte(js)) {
				t.Errorf("%s is not valid JSON", js)
			}
		})
	}
}

// TestAppend_SeedServerFrames checks the frames of PopSub's README that
// the server sends, in testdata/popsub/server: whispeer's frames carry the
// same fields with the same values (plus "type").
func TestAppend_SeedServerFrames(t *testing.T) {
	const jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZG1pbiIsImV4cCI6MTY3ODkwNTYwMH0.your_jwt_token_here"
	tests := []struct {
		file string
		got  []byte
	}{
		{"01_login_response.json", AppendLoginResponse(nil, jwt)},
		{"02_message.json", AppendMessage(nil, "my_critical_topic", []byte(`"Important message!"`), 1689475200, "some_unique_message_id_123", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			seed, err := os.ReadFile("testdata/popsub/server/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var want, got map[string]any
			if err := stdjson.Unmarshal(seed, &want); err != nil {
				t.Fatal(err)
			}
			if err := stdjson.Unmarshal(tt.got, &got); err != nil {
				t.Fatal(err)
			}
			for k, v := range want {
				if !reflect.DeepEqual(got[k], v) {
					t.Errorf("%s = %v, seed has %v", k, got[k], v)
				}
			}
		})
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", `""`},
		{"plain", `"plain"`},
		{`"quoted"`, `"\"quoted\""`},
		{`back\slash`, `"back\\slash"`},
		{"\n\r\t\b\f", `"\n\r\t\b\f"`},
		{"\x00\x01\x1f", `"\u0000\u0001\u001f"`},
		{"\x7f", "\"\x7f\""},
		{"<a href='x'>&amp;</a>", `"<a href='x'>&amp;</a>"`},
		{"/", `"/"`},
		{"é€😀", `"é€😀"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"a\xffb", `"a\ufffdb"`},
		{"\xc3\x28", `"\ufffd("`},
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`}, // an encoded surrogate is invalid UTF-8
		{"\xf0\x9f\x98", `"\ufffd\ufffd\ufffd"`}, // truncated 4-byte sequence
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := string(AppendString(nil, tt.in)); got != tt.want {
				t.Errorf("AppendString(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// randomString returns a string mixing ASCII, characters that need
// escaping, multi-byte UTF-8 and invalid bytes.
func randomString(r *rand.Rand) string {
	pieces := []string{"a", "Z", " ", `"`, `\`, "/", "\n", "\x00", "\x1f", "\x7f", "<", "&", "é", "€", "😀",
		"\u2028", "\u2029", "\ufffd", "\xff", "\xc3", "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80"}
	var b strings.Builder
	for range r.IntN(20) {
		if r.IntN(4) == 0 {
			b.WriteByte(byte(r.IntN(256)))
		} else {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
	}
	return b.String()
}

// wantDecoded is what a JSON decoder must read back from AppendString(s):
// s with each byte of invalid UTF-8 replaced by U+FFFD.
func wantDecoded(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r)
		i += size
	}
	return b.String()
}

// TestAppendString_Property checks on random strings that the output is
// valid JSON, reads back as the input (invalid bytes replaced), and is
// byte for byte what encoding/json writes without HTML escaping.
func TestAppendString_Property(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		s := randomString(r)
		out := AppendString(nil, s)
		if !stdjson.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("AppendString(%q) = %s, not valid JSON in UTF-8", s, out)
		}
		var back string
		if err := stdjson.Unmarshal(out, &back); err != nil || back != wantDecoded(s) {
			t.Fatalf("AppendString(%q) = %s reads back as %q, %v", s, out, back, err)
		}
		var std bytes.Buffer
		enc := stdjson.NewEncoder(&std)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		if want := bytes.TrimSuffix(std.Bytes(), []byte("\n")); !bytes.Equal(out, want) {
			t.Fatalf("AppendString(%q) = %s, encoding/json writes %s", s, out, want)
		}
	}
}

func TestAppendPayload(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"string", `"hi"`, `"hi"`},
		{"number", `42`, `42`},
		{"object", `{"a":[1,2]}`, `{"a":[1,2]}`},
		{"array", `[true,false,null]`, `[true,false,null]`},
		{"null", `null`, `null`},
		{"whitespace trimmed", " \n{ \"a\" : 1 }\t", `{ "a" : 1 }`},
		{"text", `hello world`, `"hello world"`},
		{"text with quotes", `say "hi"`, `"say \"hi\""`},
		{"broken JSON", `{"a":`, `"{\"a\":"`},
		{"two values", `1 2`, `"1 2"`},
		{"empty", ``, `""`},
		{"only whitespace", "  ", `"  "`},
		{"unicode text", `Zürich`, `"Zürich"`},
		{"binary", "\xff\xfe\x00\x01", `{"base64":"//4AAQ=="}`},
		{"JSON with invalid UTF-8", "\"\xff\"", `{"base64":"Iv8i"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendPayload(nil, []byte(tt.in)))
			if got != tt.want {
				t.Errorf("AppendPayload(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// TestAppendPayload_AlwaysValid checks on random bytes that a message
// frame built from AppendPayload is valid JSON and parses back.
func TestAppendPayload_AlwaysValid(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var in []byte
		if r.IntN(2) == 0 {
			in = []byte(randomString(r))
		} else {
			const alphabet = "{}[]\":,0123456789-.eE truefalsnul\\\xff"
			in = make([]byte, r.IntN(16))
			for i := range in {
				in[i] = alphabet[r.IntN(len(alphabet))]
			}
		}
		payload := AppendPayload(nil, in)
		frame := AppendMessage(nil, "t", payload, 1, "m", 0)
		if !stdjson.Valid(frame) || !utf8.Valid(frame) {
			t.Fatalf("AppendPayload(%q) gives the invalid frame %s", in, frame)
		}
		if Valid(in) && !bytes.Equal(payload, bytes.Trim(in, " \t\r\n")) {
			t.Fatalf("valid JSON %q was rewritten as %s", in, payload)
		}
	}
}

// TestAppendMessage_RoundTrip sends every kind of payload through Parse
// and AppendMessage and reads the delivery back with encoding/json.
func TestAppendMessage_RoundTrip(t *testing.T) {
	payloads := []string{`"Hello world!"`, `"é\n\u2028"`, `-12.5e3`, `0`, `true`, `false`, `null`,
		`{"nested":{"deep":[1,[2,[3]]]}}`, `[]`, `{ "spaced" : 1 }`}
	for _, payload := range payloads {
		t.Run(payload, func(t *testing.T) {
			in := mustParse(t, `{"type":"publish","topic":"chat/\"x\"","payload":`+payload+`,"message_id":"m\\1","qos":1}`)
			out := AppendMessageOffset(nil, in.Topic, in.Payload, 1689475200, in.MessageID, in.QoS, 7)
			var got struct {
				Type      string
				Topic     string
				Payload   stdjson.RawMessage
				Timestamp int64
				MessageID string `json:"message_id"`
				QoS       uint8
				Offset    uint64
			}
			if err := stdjson.Unmarshal(out, &got); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			if got.Type != "message" || got.Topic != `chat/"x"` || string(got.Payload) != payload ||
				got.Timestamp != 1689475200 || got.MessageID != `m\1` || got.QoS != 1 || got.Offset != 7 {
				t.Errorf("read back %+v from %s", got, out)
			}
		})
	}
}

// TestValid_MatchesEncodingJSON compares Valid with encoding/json's on
// inputs that are valid UTF-8.
func TestValid_MatchesEncodingJSON(t *testing.T) {
	inputs := []string{``, ` `, `1`, `-`, `-0`, `01`, `1.`, `.1`, `1e5`, `1E+5`, `1e`, `"`, `"\u"`, `"\uzzzz"`,
		`"\ud800"`, `[`, `[]`, `[1,]`, `{"a"}`, `{"a":1,}`, `{1:1}`, `nul`, `null `, `true false`, `[1] `,
		`"a\tb"`, "\"a\tb\"", `{"a":{"b":[{"c":null}]}}`, `"\/"`, `"\a"`, `[-]`, `[--1]`, `[1e+]`, `-1.0e-0`,
		strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1)}
	for _, in := range inputs {
		t.Run(in, func(t *testing.T) {
			if got, want := Valid([]byte(in)), stdjson.Valid([]byte(in)); got != want {
				t.Errorf("Valid(%q) = %v, encoding/json says %v", in, got, want)
			}
		})
	}
	if Valid([]byte("\"\xff\"")) {
		t.Error(`Valid accepts a string of invalid UTF-8`)
	}
	if Valid([]byte(strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1))) {
		t.Error("Valid accepts nesting deeper than MaxDepth")
	}
}
