package ws

import (
	"net/http/httptest"
	"testing"
)

func TestAllowOrigins(t *testing.T) {
	cases := []struct {
		patterns []string
		host     string
		origin   string
		want     bool
	}{
		{nil, "broker:8080", "", true},
		{nil, "broker:8080", "http://broker:8080", true},
		{nil, "broker:8080", "https://BROKER:8080", true},
		{nil, "broker:8080", "http://broker:9090", false},
		{nil, "broker:8080", "https://evil.example", false},
		{nil, "broker:8080", "null", false},
		{[]string{"*"}, "broker:8080", "https://evil.example", true},
		{[]string{"*"}, "broker:8080", "null", true},
		{[]string{"https://*.example.com"}, "b", "https://app.example.com", true},
		{[]string{"https://*.example.com"}, "b", "https://a.b.Example.com", true},
		{[]string{"https://*.example.com"}, "b", "http://app.example.com", false},
		{[]string{"https://*.example.com"}, "b", "https://example.com", false},
		{[]string{"https://*.example.com"}, "b", "https://app.example.com.evil.org", false},
		{[]string{"https://app.example.com:8443"}, "b", "https://app.example.com:8443", true},
		{[]string{"https://app.example.com:8443"}, "b", "https://app.example.com", false},
		{[]string{"http://localhost:*"}, "b", "http://localhost:3000", true},
		{[]string{"http://*:*"}, "b", "http://x:1", true},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = tc.host
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if got := AllowOrigins(tc.patterns)(r); got != tc.want {
			t.Errorf("AllowOrigins(%q) with Host %q, Origin %q = %v, want %v", tc.patterns, tc.host, tc.origin, got, tc.want)
		}
	}
}
