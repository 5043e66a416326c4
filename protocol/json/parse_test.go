package json

import (
	stdjson "encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// mustParse parses data or fails the test.
func mustParse(t *testing.T, data string) Frame {
	t.Helper()
	f, err := Parse([]byte(data))
	if err != nil {
		t.Fatalf("Parse(%q) error: %v", data, err)
	}
	return f
}

// equalFrames compares frames, payloads by their bytes.
func equalFrames(a, b Frame) bool {
	if string(a.Payload) != string(b.Payload) || (a.Payload == nil) != (b.Payload == nil) {
		return false
	}
	a.Payload, b.Payload = nil, nil
	return reflect.DeepEqual(a, b)
}

// TestParse_SeedExamples parses every client frame of PopSub's README,
// kept verbatim (whitespace included) in testdata/popsub/client.
func TestParse_SeedExamples(t *testing.T) {
	const jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZG1pbiIsImV4cCI6MTY3ODkwNTYwMH0.your_jwt_token_here"
	want := map[string]Frame{
		"01_auth.json":        {Type: TypeAuth, Token: "your_secret_token"},
		"02_auth.json":        {Type: TypeAuth, Token: "your_secret_token"},
		"03_subscribe.json":   {Type: TypeSubscribe, Topic: "chat"},
		"04_unsubscribe.json": {Type: TypeUnsubscribe, Topic: "chat"},
		"05_publish.json":     {Type: TypePublish, Topic: "chat", Payload: []byte(`"Hello world!"`)},
		"06_publish.json": {Type: TypePublish, Topic: "my_critical_topic", Payload: []byte(`"Important message!"`),
			MessageID: "some_unique_message_id_123", QoS: 1},
		"07_ack.json":     {Type: TypeAck, MessageID: "some_unique_message_id_123"},
		"08_login.json":   {Type: TypeLogin, Username: "admin", Password: "password"},
		"09_auth.json":    {Type: TypeAuth, Token: jwt},
		"10_login.json":   {Type: TypeLogin, Username: "admin", Password: "password"},
		"11_auth.json":    {Type: TypeAuth, Token: "your_jwt_token_here"},
		"12_publish.json": {Type: TypePublish, Topic: "chat", Payload: []byte("\"Hello from Tab\u201a\u00c4\u00d81!\"")},
		"13_ack.json":     {Type: TypeAck, MessageID: "your_message_id_here"},
	}
	files, err := filepath.Glob("testdata/popsub/client/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Errorf("%d example files, want %d", len(files), len(want))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if w := want[filepath.Base(file)]; !equalFrames(got, w) {
				t.Errorf("Parse =\n%v\nwant\n%v", got, w)
			}
		})
	}
}

func TestParse_Frames(t *testing.T) {
	tests := []struct {
		name, data string
		want       Frame
	}{
		{"ping", `{"type":"ping"}`, Frame{Type: TypePing}},
		{"type last", `{"topic":"a","type":"subscribe"}`, Frame{Type: TypeSubscribe, Topic: "a"}},
		{"whitespace everywhere", " \t\r\n{ \"type\" :\n\"ack\" , \"message_id\" : \"m\" } \n",
			Frame{Type: TypeAck, MessageID: "m"}},
		{"subscribe last", `{"type":"subscribe","topic":"chat/#","last":10}`,
			Frame{Type: TypeSubscribe, Topic: "chat/#", Last: 10, HasLast: true}},
		{"subscribe last zero", `{"type":"subscribe","topic":"t","last":0}`,
			Frame{Type: TypeSubscribe, Topic: "t", HasLast: true}},
		{"subscribe resume", `{"type":"subscribe","topic":"t","offset":18446744073709551615,"epoch":"e1"}`,
			Frame{Type: TypeSubscribe, Topic: "t", Offset: 1<<64 - 1, HasOffset: true, Epoch: "e1"}},
		{"publish qos 0 with id", `{"type":"publish","topic":"t","payload":1,"message_id":"m","qos":0}`,
			Frame{Type: TypePublish, Topic: "t", Payload: []byte("1"), MessageID: "m"}},
		{"publish qos 2", `{"type":"publish","topic":"t","payload":{},"message_id":"m","qos":2}`,
			Frame{Type: TypePublish, Topic: "t", Payload: []byte("{}"), MessageID: "m", QoS: 2}},
		{"null payload", `{"type":"publish","topic":"t","payload":null}`,
			Frame{Type: TypePublish, Topic: "t", Payload: []byte("null")}},
		{"null optional fields", `{"type":"publish","topic":"t","payload":0,"qos":null,"message_id":null,"last":null}`,
			Frame{Type: TypePublish, Topic: "t", Payload: []byte("0")}},
		{"empty password", `{"type":"login","username":"u","password":""}`, Frame{Type: TypeLogin, Username: "u"}},
		{"unknown fields ignored", `{"type":"ping","x":[1,{"y":null}],"TYPE":"login","z":"\u00e9"}`, Frame{Type: TypePing}},
		{"unused known fields", `{"type":"ack","message_id":"m","topic":"t","token":"k"}`,
			Frame{Type: TypeAck, MessageID: "m", Topic: "t", Token: "k"}},
		{"escaped key", `{"typ\u0065":"ping"}`, Frame{Type: TypePing}},
		{"escaped type", `{"type":"p\u0069ng"}`, Frame{Type: TypePing}},
		{"escapes in strings", `{"type":"subscribe","topic":"a\/b\"c\\d\n\t\u00e9\ud83d\ude00"}`,
			Frame{Type: TypeSubscribe, Topic: "a/b\"c\\d\n\té😀"}},
		{"surrogate pair", `{"type":"subscribe","topic":"x\ud83d\ude00y"}`, Frame{Type: TypeSubscribe, Topic: "x😀y"}},
		{"escaped backslash before u", `{"type":"subscribe","topic":"x\\ud800"}`, Frame{Type: TypeSubscribe, Topic: `x\ud800`}},
		{"lone surrogate in payload", `{"type":"publish","topic":"t","payload":"\ud800"}`,
			Frame{Type: TypePublish, Topic: "t", Payload: []byte(`"\ud800"`)}},
		{"unicode topic", `{"type":"subscribe","topic":"Zürich/温度"}`, Frame{Type: TypeSubscribe, Topic: "Zürich/温度"}},
		{"long escaped strings", `{"type":"login","username":"` + strings.Repeat(`\u0041`, 100) + `","password":"` + strings.Repeat(`\n`, 70) + `"}`,
			Frame{Type: TypeLogin, Username: strings.Repeat("A", 100), Password: strings.Repeat("\n", 70)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, tt.data)
			if !equalFrames(got, tt.want) {
				t.Errorf("Parse =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func TestParse_Errors(t *testing.T) {
	tests := []struct {
		name, data string
		kind       error
		field      string
		msg        string // substring of the message
	}{
		{"empty", ``, ErrSyntax, "", "empty frame"},
		{"whitespace", " \n", ErrSyntax, "", "empty frame"},
		{"not JSON", `hello`, ErrSyntax, "", "at byte 0"},
		{"truncated", `{"type":"ping"`, ErrSyntax, "", "unexpected end of frame"},
		{"trailing comma", `{"type":"ping",}`, ErrSyntax, "", "want a string key"},
		{"trailing data", `{"type":"ping"} x`, ErrSyntax, "", "unexpected data after the frame"},
		{"two frames", `{"type":"ping"}{"type":"ping"}`, ErrSyntax, "", "after the frame"},
		{"single quotes", `{'type':'ping'}`, ErrSyntax, "", "want a string key"},
		{"missing colon", `{"type" "ping"}`, ErrSyntax, "", "want ':'"},
		{"bad literal", `{"type":"ping","x":tru}`, ErrSyntax, "", "want true"},
		{"leading zero", `{"type":"ping","x":01}`, ErrSyntax, "", "leading zero"},
		{"bad fraction", `{"type":"ping","x":1.}`, ErrSyntax, "", "no digit after '.'"},
		{"bad exponent", `{"type":"ping","x":1e}`, ErrSyntax, "", "exponent"},
		{"plus sign", `{"type":"ping","x":+1}`, ErrSyntax, "", "want a JSON value"},
		{"bad escape", `{"type":"ping","x":"\q"}`, ErrSyntax, "", "invalid escape"},
		{"short unicode escape", `{"type":"ping","x":"\u12"}`, ErrSyntax, "", "invalid escape"},
		{"raw newline in string", "{\"type\":\"ping\",\"x\":\"a\nb\"}", ErrSyntax, "", "control character byte 0x0a"},
		{"invalid UTF-8", "{\"type\":\"ping\",\"x\":\"\xff\"}", ErrSyntax, "", "invalid UTF-8"},
		{"invalid UTF-8 in payload", "{\"type\":\"publish\",\"topic\":\"t\",\"payload\":\"\xc3\x28\"}", ErrSyntax, "", "invalid UTF-8"},
		{"unterminated string", `{"type":"pi`, ErrSyntax, "", "unterminated string"},
		{"syntax beats field type", `{"qos":"x",`, ErrSyntax, "", ""},
		{"too deep", `{"type":"publish","topic":"t","payload":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`,
			ErrSyntax, "", "nested deeper than 1000"},
		{"array", `[1,2]`, ErrNotObject, "", "frame must be a JSON object, got an array"},
		{"string", `"ping"`, ErrNotObject, "", "got a string"},
		{"number", ` 42 `, ErrNotObject, "", "got a number"},
		{"null", `null`, ErrNotObject, "", "got null"},
		{"broken array", `[1,`, ErrSyntax, "", ""},
		{"no type", `{"topic":"t"}`, ErrMissingField, "type", `missing field "type"`},
		{"null type", `{"type":null}`, ErrMissingField, "type", `missing field "type"`},
		{"empty object", `{}`, ErrMissingField, "type", `missing field "type"`},
		{"unknown type", `{"type":"publsh"}`, ErrUnknownType, "type", `unknown frame type "publsh"`},
		{"type is case-sensitive", `{"type":"Publish"}`, ErrUnknownType, "type", `"Publish"`},
		{"long unknown type", `{"type":"` + strings.Repeat("x", 100) + `"}`, ErrUnknownType, "type", strings.Repeat("x", 32) + "…"},
		{"type not a string", `{"type":1}`, ErrFieldType, "type", `field "type" must be a string, got a number`},
		{"login without username", `{"type":"login","password":"p"}`, ErrMissingField, "username", `missing field "username" (required by "login")`},
		{"login with empty username", `{"type":"login","username":"","password":"p"}`, ErrMissingField, "username", ""},
		{"login without password", `{"type":"login","username":"u"}`, ErrMissingField, "password", `missing field "password"`},
		{"auth without token", `{"type":"auth"}`, ErrMissingField, "token", `missing field "token" (required by "auth")`},
		{"auth with empty token", `{"type":"auth","token":""}`, ErrMissingField, "token", ""},
		{"subscribe without topic", `{"type":"subscribe"}`, ErrMissingField, "topic", `missing field "topic" (required by "subscribe")`},
		{"unsubscribe with null topic", `{"type":"unsubscribe","topic":null}`, ErrMissingField, "topic", ""},
		{"publish without topic", `{"type":"publish","payload":1}`, ErrMissingField, "topic", ""},
		{"publish without payload", `{"type":"publish","topic":"t"}`, ErrMissingField, "payload", `missing field "payload" (required by "publish")`},
		{"ack without id", `{"type":"ack"}`, ErrMissingField, "message_id", `missing field "message_id" (required by "ack")`},
		{"topic a number", `{"type":"subscribe","topic":5}`, ErrFieldType, "topic", `field "topic" must be a string, got a number`},
		{"topic an object", `{"type":"subscribe","topic":{"a":1}}`, ErrFieldType, "topic", "got an object"},
		{"topic an array", `{"type":"subscribe","topic":["a"]}`, ErrFieldType, "topic", "got an array"},
		{"password a boolean", `{"type":"login","username":"u","password":true}`, ErrFieldType, "password", "got a boolean"},
		{"message id a number", `{"type":"ack","message_id":7}`, ErrFieldType, "message_id", ""},
		{"qos a string", `{"type":"publish","topic":"t","payload":1,"qos":"1"}`, ErrFieldType, "qos", `field "qos" must be a non-negative integer, got a string`},
		{"qos fractional", `{"type":"publish","topic":"t","payload":1,"qos":1.5}`, ErrFieldType, "qos", "must be the integer 0, 1 or 2"},
		{"qos exponent", `{"type":"publish","topic":"t","payload":1,"qos":1e0}`, ErrFieldType, "qos", ""},
		{"qos 3", `{"type":"publish","topic":"t","payload":1,"qos":3,"message_id":"m"}`, ErrQoS, "qos", `field "qos" must be 0, 1 or 2, got 3`},
		{"qos negative", `{"type":"publish","topic":"t","payload":1,"qos":-1}`, ErrQoS, "qos", "got -1"},
		{"qos huge", `{"type":"publish","topic":"t","payload":1,"qos":123456789012345678901234567890}`, ErrQoS, "qos", ""},
		{"qos 1 without id", `{"type":"publish","topic":"t","payload":1,"qos":1}`, ErrMessageIDRequired, "message_id", "message_id required for qos 1"},
		{"qos 1 with empty id", `{"type":"publish","topic":"t","payload":1,"qos":1,"message_id":""}`, ErrMessageIDRequired, "message_id", ""},
		{"qos 2 without id", `{"type":"publish","topic":"t","payload":1,"qos":2}`, ErrMessageIDRequired, "message_id", "message_id required for qos 2"},
		{"last negative", `{"type":"subscribe","topic":"t","last":-1}`, ErrFieldType, "last", `field "last" must be an integer from 0`},
		{"last too big", `{"type":"subscribe","topic":"t","last":4294967296}`, ErrFieldType, "last", ""},
		{"offset fractional", `{"type":"subscribe","topic":"t","offset":1.5}`, ErrFieldType, "offset", ""},
		{"offset overflow", `{"type":"subscribe","topic":"t","offset":18446744073709551616}`, ErrFieldType, "offset", ""},
		{"epoch a number", `{"type":"subscribe","topic":"t","epoch":1}`, ErrFieldType, "epoch", ""},
		{"lone high surrogate", `{"type":"subscribe","topic":"x\ud800y"}`, ErrSurrogate, "topic", `field "topic" holds a lone UTF-16 surrogate \ud800`},
		{"lone low surrogate", `{"type":"publish","topic":"a/\udc00","payload":1}`, ErrSurrogate, "topic", `\udc00`},
		{"high surrogate at the end", `{"type":"subscribe","topic":"x\uD83D"}`, ErrSurrogate, "topic", `\ud83d`},
		{"two high surrogates", `{"type":"subscribe","topic":"\ud800\ud800"}`, ErrSurrogate, "topic", ""},
		{"swapped pair", `{"type":"subscribe","topic":"\udc00\ud800"}`, ErrSurrogate, "topic", `\udc00`},
		{"lone surrogate in a message id", `{"type":"ack","message_id":"\ud800"}`, ErrSurrogate, "message_id", ""},
		{"duplicate type", `{"type":"ping","type":"auth"}`, ErrDuplicateField, "type", `duplicate field "type"`},
		{"duplicate payload", `{"type":"publish","topic":"t","payload":1,"payload":2}`, ErrDuplicateField, "payload", ""},
		{"field error beats missing type", `{"qos":7}`, ErrQoS, "qos", ""},
		{"first field error wins", `{"type":"publish","topic":1,"qos":"x","payload":1}`, ErrFieldType, "topic", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.data))
			if !errors.Is(err, tt.kind) {
				t.Fatalf("Parse = %v, %v; want an error of kind %v", f, err, tt.kind)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error", err)
			}
			if e.Field != tt.field {
				t.Errorf("Field = %q, want %q", e.Field, tt.field)
			}
			if !strings.Contains(e.Error(), tt.msg) {
				t.Errorf("message %q does not contain %q", e.Error(), tt.msg)
			}
			if (tt.kind == ErrSyntax) != (e.Offset >= 0) {
				t.Errorf("Offset = %d for kind %v", e.Offset, tt.kind)
			}
			if !equalFrames(f, Frame{}) {
				t.Errorf("frame %v returned with an error", f)
			}
		})
	}
}

// TestParse_PayloadKinds checks that every kind of JSON value comes back
// byte for byte, whitespace and number spelling inside it included.
func TestParse_PayloadKinds(t *testing.T) {
	payloads := []string{
		`"Hello world!"`, `""`, `"\u00e9\n\"quoted\" \/ \ud83d\ude00"`, `"<b>&amp;</b>"`, `"Zürich"`,
		`0`, `-0`, `42`, `-1.5e+10`, `1E-7`, `123456789012345678901234567890`, `3.14159265358979323846264338327950288`,
		`true`, `false`, `null`,
		`{}`, `[]`, `{"a":1,"b":[true,null,{"c":"d"}]}`, `{ "spaced" : [ 1 , 2 ] }`, `[1,"two",3.0,{"four":[4]}]`,
		`{"dup":1,"dup":2}`, "[\n\t1\n]",
	}
	for _, payload := range payloads {
		t.Run(payload, func(t *testing.T) {
			for _, frame := range []string{
				`{"type":"publish","topic":"t","payload":` + payload + `}`,
				`{"payload":` + payload + `,"topic":"t","type":"publish"}`,
				`{"type":"publish","topic":"t","payload":  ` + payload + "  \n,\"qos\":0}",
			} {
				f := mustParse(t, frame)
				if string(f.Payload) != payload {
					t.Errorf("Payload = %s, want %s (frame %s)", f.Payload, payload, frame)
				}
				if !stdjson.Valid(f.Payload) {
					t.Errorf("Payload %s is not valid JSON", f.Payload)
				}
			}
		})
	}
}

// TestParse_PayloadAliasesInput documents that Payload is a view of the
// input, capped so that appending to it cannot overwrite the input.
func TestParse_PayloadAliasesInput(t *testing.T) {
	data := []byte(`{"type":"publish","topic":"t","payload":[1],"qos":0}`)
	f := mustParse(t, string(data))
	f2, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if string(f.Payload) != "[1]" || cap(f2.Payload) != len(f2.Payload) {
		t.Errorf("Payload %q has cap %d", f2.Payload, cap(f2.Payload))
	}
	copy(data[strings.Index(string(data), "[1]"):], "[2]")
	if string(f2.Payload) != "[2]" {
		t.Errorf("Payload = %s after changing the input, want a view of it", f2.Payload)
	}
}

// TestParse_StringsMatchEncodingJSON decodes string fields with escapes
// and checks them against encoding/json.
func TestParse_StringsMatchEncodingJSON(t *testing.T) {
	topics := []string{
		`plain`, `\"`, `\\`, `\/`, `\b\f\n\r\t`, `\u0000`, `\u001f`, `\u00e9`, `\u20ac`, `\uffff`,
		`\ud83d\ude00`, `\uD83D\uDE00`, `é€😀`, `\u0041\u0042`, `x\\u0041`, `\\\ud83d\ude00`,
	}
	for _, topic := range topics {
		t.Run(topic, func(t *testing.T) {
			frame := `{"type":"subscribe","topic":"` + topic + `"}`
			var want struct{ Topic string }
			if err := stdjson.Unmarshal([]byte(frame), &want); err != nil {
				t.Fatal(err)
			}
			if got := mustParse(t, frame).Topic; got != want.Topic {
				t.Errorf("Topic = %q, encoding/json gives %q", got, want.Topic)
			}
		})
	}
}

func TestType_String(t *testing.T) {
	for typ := TypeLogin; typ <= TypePing; typ++ {
		if got := parseType([]byte(typ.String())); got != typ {
			t.Errorf("parseType(%q) = %v, want %v", typ.String(), got, typ)
		}
	}
	if got := Type(200).String(); got != "Type(200)" {
		t.Errorf("Type(200).String() = %q", got)
	}
}

func TestFrame_HidesSecrets(t *testing.T) {
	login := mustParse(t, `{"type":"login","username":"admin","password":"hunter2-secret"}`)
	auth := mustParse(t, `{"type":"auth","token":"tok-secret-value"}`)
	for _, f := range []Frame{login, auth} {
		for _, out := range []string{f.String(), f.LogValue().String()} {
			if strings.Contains(out, "hunter2-secret") || strings.Contains(out, "tok-secret-value") {
				t.Errorf("output reveals a secret: %s", out)
			}
			if !strings.Contains(out, "[REDACTED]") {
				t.Errorf("output lacks the mask: %s", out)
			}
		}
	}
	if !strings.Contains(login.String(), "admin") {
		t.Errorf("String() lacks the username: %s", login.String())
	}
}

// TestParse_ErrorsNameTheFrame checks that an error other than a syntax
// error carries the frame's topic and message_id, but not the one at
// fault.
func TestParse_ErrorsNameTheFrame(t *testing.T) {
	tests := []struct {
		data, topic, id string
	}{
		{`{"type":"publish","topic":"a/b","payload":1,"qos":7,"message_id":"m\u0031"}`, "a/b", "m1"},
		{`{"type":"publsh","topic":"a/b","message_id":"m1"}`, "a/b", "m1"},
		{`{"type":"publish","topic":"a/b","qos":1,"message_id":"m1"}`, "a/b", "m1"},
		{`{"type":"publish","topic":"a/\ud800","payload":1,"message_id":"m1"}`, "", "m1"},
		{`{"type":"publish","topic":7,"payload":1,"message_id":"m1"}`, "", "m1"},
		{`{"type":"publish","topic":"a/b","payload":1,"qos":1,"message_id":""}`, "a/b", ""},
		{`{"type":"subscribe","topic":"a/b","last":-1}`, "a/b", ""},
		{`{"type":"publish","topic":"a/b","payload":1,"message_id":"m1"`, "", ""},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.data))
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: %v", tt.data, err)
		}
		if e.Topic != tt.topic || e.MessageID != tt.id {
			t.Errorf("%s: topic %q message_id %q, want %q %q", tt.data, e.Topic, e.MessageID, tt.topic, tt.id)
		}
	}
}
