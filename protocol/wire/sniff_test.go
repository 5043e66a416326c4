package wire_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

func TestSniff(t *testing.T) {
	hello := mustAppend(t, &wire.Frame{Type: wire.TypeHello, Hello: wire.Hello{Version: 1}})
	for _, tc := range []struct {
		name string
		in   string
		want wire.Preface
		err  error
	}{
		{"nothing", "", wire.PrefaceUnknown, wire.ErrShort},
		{"native", string(hello), wire.PrefaceNative, nil},
		{"native, first 9 bytes", string(hello[:wire.SniffLen]), wire.PrefaceNative, nil},
		{"native, 8 bytes", string(hello[:8]), wire.PrefaceUnknown, wire.ErrShort},
		{"native, 1 byte", "\x00", wire.PrefaceUnknown, wire.ErrShort},
		{"PING first", string(wire.AppendPing(nil)), wire.PrefaceUnknown, nil},
		{"bad magic", "\x00\x00\x00\x10\x01WSPX", wire.PrefaceUnknown, nil},
		{"HTTP GET", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", wire.PrefaceHTTP, nil},
		{"HTTP POST", "POST /api HTTP/1.1\r\n", wire.PrefaceHTTP, nil},
		{"HTTP/2", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", wire.PrefaceHTTP, nil},
		{"HTTP, short", "GE", wire.PrefaceUnknown, wire.ErrShort},
		{"HTTP OPTIONS, short", "OPTIO", wire.PrefaceUnknown, wire.ErrShort},
		{"capitals, not HTTP", "HELLO THERE", wire.PrefaceUnknown, nil},
		{"TLS", "\x16\x03\x01\x02\x00\x01", wire.PrefaceTLS, nil},
		{"TLS, short", "\x16", wire.PrefaceUnknown, wire.ErrShort},
		{"0x16, not TLS", "\x16\x00", wire.PrefaceUnknown, nil},
		{"JSON", `{"type":"login","username":"a"}`, wire.PrefaceJSON, nil},
		{"JSON array", `[1]`, wire.PrefaceJSON, nil},
		{"JSON after spaces", " \r\n\t{", wire.PrefaceJSON, nil},
		{"spaces only", "  ", wire.PrefaceUnknown, wire.ErrShort},
		{"spaces, too many", "          ", wire.PrefaceUnknown, nil},
		{"text", "hello", wire.PrefaceUnknown, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := wire.Sniff([]byte(tc.in))
			if got != tc.want || err != tc.err {
				t.Errorf("Sniff(%q) = %v, %v; want %v, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestRefusal(t *testing.T) {
	if wire.Refusal(wire.PrefaceNative) != nil || wire.Refusal(wire.PrefaceTLS) != nil {
		t.Error("Refusal for native or TLS is not nil")
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(wire.Refusal(wire.PrefaceHTTP))), nil)
	if err != nil {
		t.Fatalf("HTTP refusal: %v", err)
	}
	if resp.StatusCode != http.StatusBadRequest || resp.ContentLength <= 0 {
		t.Errorf("HTTP refusal: %d, %d bytes", resp.StatusCode, resp.ContentLength)
	}
	var obj map[string]string
	if err := json.Unmarshal(wire.Refusal(wire.PrefaceJSON), &obj); err != nil || obj["type"] != "error" {
		t.Errorf("JSON refusal: %v, %v", obj, err)
	}
	f, _, err := wire.Parse(wire.Refusal(wire.PrefaceUnknown))
	if err != nil || f.Type != wire.TypeError || !f.Error.Fatal || f.Error.Code != wire.CodeInvalid {
		t.Errorf("native refusal: %+v, %v", f.Error, err)
	}
}

func TestPreface_String(t *testing.T) {
	for p, want := range map[wire.Preface]string{wire.PrefaceNative: "native", wire.PrefaceJSON: "json", 99: "unknown"} {
		if got := p.String(); got != want {
			t.Errorf("Preface(%d).String() = %q, want %q", p, got, want)
		}
	}
}
