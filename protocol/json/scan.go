package json

import (
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is how deeply arrays and objects may nest in a frame or a
// payload, the outermost one counting as one level. Deeper input is an
// ErrSyntax error.
const MaxDepth = 1000

// parser scans JSON in data from offset i. It checks the grammar of RFC
// 8259 strictly, and that strings are valid UTF-8.
type parser struct {
	data  []byte
	i     int
	first *Error // first error about a field's value; reported if the syntax is sound
	out   scanned
	quiet bool // only check: return errQuiet instead of building errors
}

// end checks that only whitespace follows the value just scanned.
func (p *parser) end() error {
	p.ws()
	if p.i != len(p.data) {
		return p.syntax(p.i, "unexpected data after the frame")
	}
	return nil
}

// unexpected returns a syntax error at p.i saying what was expected.
func (p *parser) unexpected(want string) error {
	switch {
	case p.quiet:
		return errQuiet
	case p.i >= len(p.data):
		return syntaxError(p.i, "unexpected end of frame, want %s", want)
	}
	return syntaxError(p.i, "unexpected %s, want %s", char(p.data[p.i]), want)
}

// errQuiet is the error of a parser in quiet mode, which only checks.
var errQuiet = &Error{Kind: ErrSyntax, Offset: -1, msg: "invalid JSON"}

// syntax returns an ErrSyntax error at offset, or errQuiet in quiet mode,
// where the message is never built. Callers pass only constants and small
// values, so that a quiet failure does not allocate.
func (p *parser) syntax(offset int, format string, args ...any) error {
	if p.quiet {
		return errQuiet
	}
	return syntaxError(offset, format, args...)
}

// char formats a byte for an error message: 'x' if printable, else its
// hex value.
type char byte

// String returns the quoted character or "byte 0x…".
func (c char) String() string {
	if c >= 0x20 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	const hex = "0123456789abcdef"
	return "byte 0x" + string([]byte{hex[c>>4], hex[c&15]})
}

// kind names the kind of the value starting at p.i.
func (p *parser) kind() string {
	switch p.peek() {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// peek returns the byte at p.i, or 0 at the end.
func (p *parser) peek() byte {
	if p.i < len(p.data) {
		return p.data[p.i]
	}
	return 0
}

// ws skips JSON whitespace.
func (p *parser) ws() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// value scans one JSON value whose enclosing containers number depth.
func (p *parser) value(depth int) error {
	switch c := p.peek(); {
	case c == '"':
		_, err := p.string()
		return err
	case c == '{':
		return p.container(depth, '}')
	case c == '[':
		return p.container(depth, ']')
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case p.isNumberStart():
		return p.number()
	}
	return p.unexpected("a JSON value")
}

// container scans an object (closing '}') or an array (closing ']').
func (p *parser) container(depth int, closing byte) error {
	if depth+1 > MaxDepth {
		return p.syntax(p.i, "nested deeper than %d levels", MaxDepth)
	}
	p.i++
	p.ws()
	if p.peek() == closing {
		p.i++
		return nil
	}
	for {
		p.ws()
		if closing == '}' {
			if p.peek() != '"' {
				return p.unexpected("a string key")
			}
			if _, err := p.string(); err != nil {
				return err
			}
			p.ws()
			if p.peek() != ':' {
				return p.unexpected("':' after an object key")
			}
			p.i++
			p.ws()
		}
		if err := p.value(depth + 1); err != nil {
			return err
		}
		p.ws()
		switch p.peek() {
		case ',':
			p.i++
		case closing:
			p.i++
			return nil
		default:
			if closing == '}' {
				return p.unexpected("',' or '}'")
			}
			return p.unexpected("',' or ']'")
		}
	}
}

// literal scans the literal word.
func (p *parser) literal(word string) error {
	if len(p.data)-p.i < len(word) || string(p.data[p.i:p.i+len(word)]) != word {
		if p.quiet {
			return errQuiet
		}
		return syntaxError(p.i, "invalid literal, want %s", word)
	}
	p.i += len(word)
	return nil
}

// isNumberStart reports whether a number starts at p.i.
func (p *parser) isNumberStart() bool {
	c := p.peek()
	return c == '-' || c >= '0' && c <= '9'
}

// number scans a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number() error {
	start := p.i
	if p.peek() == '-' {
		p.i++
	}
	switch c := p.peek(); {
	case c == '0':
		p.i++
		if c := p.peek(); c >= '0' && c <= '9' {
			return p.syntax(start, "invalid number: leading zero")
		}
	case c >= '1' && c <= '9':
		p.digits()
	default:
		return p.syntax(p.i, "invalid number")
	}
	if p.peek() == '.' {
		p.i++
		if !p.digits() {
			return p.syntax(p.i, "invalid number: no digit after '.'")
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.i++
		if c := p.peek(); c == '+' || c == '-' {
			p.i++
		}
		if !p.digits() {
			return p.syntax(p.i, "invalid number: no digit in exponent")
		}
	}
	return nil
}

// digits skips decimal digits and reports whether there was one.
func (p *parser) digits() bool {
	start := p.i
	for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// plain marks the bytes that stand for themselves inside a JSON string and
// need no check: printable ASCII and DEL, except '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// string scans the JSON string starting with the '"' at p.i and returns
// where its contents lie. Invalid UTF-8 and bad escapes are syntax errors.
func (p *parser) string() (rawString, error) {
	p.i++
	s := rawString{start: p.i}
	for {
		for p.i < len(p.data) && plain[p.data[p.i]] {
			p.i++
		}
		if p.i >= len(p.data) {
			return s, p.syntax(p.i, "unterminated string")
		}
		switch c := p.data[p.i]; {
		case c == '"':
			s.end = p.i
			p.i++
			return s, nil
		case c == '\\':
			s.escaped = true
			n := escapeLen(p.data[p.i:])
			if n == 0 {
				return s, p.syntax(p.i, "invalid escape in string")
			}
			p.i += n
		case c < 0x20:
			return s, p.syntax(p.i, "control character %s in string", char(c))
		default:
			r, size := utf8.DecodeRune(p.data[p.i:])
			if r == utf8.RuneError && size == 1 {
				return s, p.syntax(p.i, "invalid UTF-8")
			}
			p.i += size
		}
	}
}

// escapeLen returns the length of the escape sequence at the start of b
// (at its '\\'), or 0 if it is invalid.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if _, ok := hex4(b[2:]); ok {
			return 6
		}
	}
	return 0
}

// hex4 decodes four hex digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// loneSurrogate returns the first \u escape in raw, the contents of a JSON
// string that p.string accepted, of a UTF-16 surrogate that is not half of
// a pair, and whether there is one.
func loneSurrogate(raw []byte) (rune, bool) {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // the escaped character: it may be a backslash
			continue
		}
		r, _ := hex4(raw[i+2:])
		i += 5
		if !utf16.IsSurrogate(r) {
			continue
		}
		if r < 0xdc00 && i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
			if r2, _ := hex4(raw[i+3:]); r2 >= 0xdc00 && r2 <= 0xdfff {
				i += 6
				continue
			}
		}
		return r, true
	}
	return 0, false
}

// decodeString appends to dst the value of raw, the contents of a JSON
// string that p.string accepted. A UTF-16 surrogate that is not half of a
// pair decodes to U+FFFD, as in encoding/json; Parse refuses one in a
// known field's value (loneSurrogate) and meets it here only in keys.
func decodeString(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			j := i + 1
			for j < len(raw) && raw[j] != '\\' {
				j++
			}
			dst = append(dst, raw[i:j]...)
			i = j
			continue
		}
		switch c := raw[i+1]; c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(raw[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				r2, ok := rune(0), false
				if i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					r2, ok = hex4(raw[i+2:])
				}
				if pair := utf16.DecodeRune(r, r2); ok && pair != utf8.RuneError {
					r = pair
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, c)
		}
		i += 2
	}
	return dst
}
