package bench

import (
	"testing"
	"time"
)

func TestPayload_Stamp(t *testing.T) {
	before := time.Since(epoch)
	p := payload(128)
	after := time.Since(epoch)
	if len(p) != 128 {
		t.Fatalf("len = %d, want 128", len(p))
	}
	got, ok := stamped(p)
	if !ok || got < before || got > after {
		t.Errorf("stamped = %v, %v; want within [%v, %v]", got, ok, before, after)
	}
	if isProbe(p) {
		t.Error("a data payload reads as a probe")
	}
	if !isProbe(probe(7)) {
		t.Error("a probe does not read as one")
	}
	if _, ok := stamped(probe(7)); ok {
		t.Error("a probe reads as stamped")
	}
}

func TestPayload_Printable(t *testing.T) {
	for _, c := range payload(300) {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			t.Fatalf("payload byte %q needs escaping in JSON", c)
		}
	}
}

func TestJSONString(t *testing.T) {
	tests := []struct {
		name, in, key, want string
		ok                  bool
	}{
		{"compact", `{"type":"message","topic":"a","payload":"xyz"}`, "payload", "xyz", true},
		{"spaces", `{"type" : "message", "payload" :  "xyz"}`, "payload", "xyz", true},
		{"key in value", `{"topic":"payload","payload":"p"}`, "payload", "p", true},
		{"missing", `{"type":"error"}`, "payload", "", false},
		{"not a string", `{"qos":0}`, "qos", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := jsonString([]byte(tt.in), tt.key)
			if string(got) != tt.want || ok != tt.ok {
				t.Errorf("jsonString(%s, %q) = %q, %v; want %q, %v", tt.in, tt.key, got, ok, tt.want, tt.ok)
			}
		})
	}
}
