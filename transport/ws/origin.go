package ws

import (
	"net/http"
	"net/url"
	"strings"
)

// AllowOrigins returns a check for [Options.CheckOrigin] modelled on
// Centrifugo's allowed_origins. It accepts a request without an Origin
// header (a program rather than a browser, which always sends one on a
// cross-site WebSocket), one whose Origin's host and port equal the
// request's Host (a page served from the same address), and one whose
// Origin matches one of patterns. A pattern is "*", which accepts every
// origin, or scheme://host[:port] in which "*" stands for any run of
// characters, such as "https://*.example.com"; patterns and origins are
// compared without regard to case. Any other request, an Origin of "null"
// among them, is refused.
func AllowOrigins(patterns []string) func(r *http.Request) bool {
	lower := make([]string, len(patterns))
	for i, p := range patterns {
		lower[i] = strings.ToLower(p)
	}
	return func(r *http.Request) bool {
		origin := r.Header.Get("Origin")
		if origin == "" {
			return true
		}
		if u, err := url.Parse(origin); err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host) {
			return true
		}
		origin = strings.ToLower(origin)
		for _, p := range lower {
			if p == "*" || matchWildcard(p, origin) {
				return true
			}
		}
		return false
	}
}

// matchWildcard reports whether s matches pattern, in which each "*"
// stands for any run of characters, the empty one included.
func matchWildcard(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	first, last := parts[0], parts[len(parts)-1]
	if !strings.HasPrefix(s, first) || !strings.HasSuffix(s[len(first):], last) {
		return false
	}
	rest := s[len(first) : len(s)-len(last)]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return true
}
