package envelope

import (
	"fmt"
	"strings"
)

// pattern is a parsed topic pattern: levels separated by '/', where "+"
// and "*" match exactly one level and a trailing "#" matches its parent
// level and every level below it ("chat/#" matches "chat", "chat/a" and
// "chat/a/b"; "#" alone matches every topic). A pattern without wildcards
// matches only the identical topic.
type pattern struct {
	text     string
	levels   []string
	literals int  // levels that are not wildcards
	exact    bool // no wildcard at all
}

// parsePattern validates and parses s.
func parsePattern(s string) (pattern, error) {
	if s == "" {
		return pattern{}, fmt.Errorf("%w: empty topic pattern", ErrInvalidKey)
	}
	p := pattern{text: s, levels: strings.Split(s, "/")}
	for i, l := range p.levels {
		switch {
		case l == "#":
			if i != len(p.levels)-1 {
				return pattern{}, fmt.Errorf("%w: %q: '#' must be the last level", ErrInvalidKey, s)
			}
		case l == "+" || l == "*":
		case strings.ContainsAny(l, "+*#"):
			return pattern{}, fmt.Errorf("%w: %q: a wildcard must be a whole level", ErrInvalidKey, s)
		default:
			p.literals++
		}
	}
	p.exact = p.literals == len(p.levels)
	return p, nil
}

// match reports whether topic matches p. It does not allocate.
func (p *pattern) match(topic string) bool {
	if p.exact {
		return topic == p.text
	}
	done := false // the whole topic has been consumed
	for _, l := range p.levels {
		if l == "#" {
			return true // the parent level (done) or any levels below it
		}
		if done {
			return false
		}
		level, rest, more := strings.Cut(topic, "/")
		if l != "+" && l != "*" && l != level {
			return false
		}
		topic, done = rest, !more
	}
	return done
}

// before reports whether p takes precedence over q when both match a
// topic: an exact topic first, then the pattern with more literal levels,
// then one without a trailing "#", then the one with more levels, then the
// lexically smaller.
func (p *pattern) before(q *pattern) bool {
	if p.exact != q.exact {
		return p.exact
	}
	if p.literals != q.literals {
		return p.literals > q.literals
	}
	if ph, qh := p.multi(), q.multi(); ph != qh {
		return qh
	}
	if len(p.levels) != len(q.levels) {
		return len(p.levels) > len(q.levels)
	}
	return p.text < q.text
}

// multi reports whether p ends with "#".
func (p *pattern) multi() bool { return p.levels[len(p.levels)-1] == "#" }
