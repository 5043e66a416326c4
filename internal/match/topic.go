package match

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Limits bounds topic names and patterns. A field that is zero or negative
// takes its value from [DefaultLimits], so the zero Limits is usable.
type Limits struct {
	MaxBytes  int // longest topic or pattern, in bytes; default 1024
	MaxLevels int // most '/'-separated levels; default 32
}

// DefaultLimits are the limits that zero fields of a [Limits] stand for.
var DefaultLimits = Limits{MaxBytes: 1024, MaxLevels: 32}

// Sentinel errors returned by [ValidateTopic] and [ValidatePattern]. Their
// messages carry no prefix: callers wrap them with the name that failed.
var (
	// ErrEmpty reports an empty topic or pattern.
	ErrEmpty = errors.New("empty")
	// ErrTooLong reports a topic or pattern over Limits.MaxBytes.
	ErrTooLong = errors.New("too long")
	// ErrTooManyLevels reports a topic or pattern over Limits.MaxLevels.
	ErrTooManyLevels = errors.New("too many levels")
	// ErrEmptyLevel reports an empty level: a leading, trailing or doubled '/'.
	ErrEmptyLevel = errors.New("empty level")
	// ErrWildcardInTopic reports a '+', '*' or '#' in a topic to publish to.
	ErrWildcardInTopic = errors.New("wildcard in topic")
	// ErrHashNotLast reports a '#' level that is not the last level.
	ErrHashNotLast = errors.New("'#' is not the last level")
	// ErrMixedWildcard reports a level that mixes a wildcard character with
	// other characters, such as "a+" or "#x".
	ErrMixedWildcard = errors.New("wildcard mixed with other characters in a level")
	// ErrInvalidUTF8 reports a topic or pattern that is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
	// ErrControlChar reports a control character: C0 (NUL through U+001F),
	// DEL (U+007F), C1 (U+0080 through U+009F), or the line and paragraph
	// separators U+2028 and U+2029, which break lines in logs as a newline
	// does.
	ErrControlChar = errors.New("control character")
	// ErrBidiControl reports a bidirectional formatting character (U+061C,
	// U+200E, U+200F, U+202A through U+202E, U+2066 through U+2069), which
	// can make a topic display as another one in logs and user interfaces.
	ErrBidiControl = errors.New("bidirectional control character")
)

// withDefaults returns l with its unset fields taken from DefaultLimits.
func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxLevels <= 0 {
		l.MaxLevels = DefaultLimits.MaxLevels
	}
	return l
}

// ValidateTopic reports whether topic is a valid concrete topic to publish
// to under l: a valid name with no wildcard character ('+', '*', '#')
// anywhere. When several rules are broken it returns the first of, in this
// order: ErrEmpty, ErrTooLong, ErrInvalidUTF8, ErrControlChar or
// ErrBidiControl (for the first such character from the left),
// ErrTooManyLevels, then the first bad level from the left.
func ValidateTopic(topic string, l Limits) error {
	return validate(topic, l, false)
}

// ValidatePattern reports whether pattern is a valid subscription pattern
// under l. Errors are chosen in the same order as by [ValidateTopic]; a
// concrete topic is always a valid pattern.
func ValidatePattern(pattern string, l Limits) error {
	return validate(pattern, l, true)
}

// validate checks s in one pass over its bytes after the UTF-8 check.
// Errors about the whole string win over errors about one level.
func validate(s string, l Limits, pattern bool) error {
	l = l.withDefaults()
	switch {
	case s == "":
		return ErrEmpty
	case len(s) > l.MaxBytes:
		return ErrTooLong
	case !utf8.ValidString(s):
		return ErrInvalidUTF8
	}
	var levelErr error
	levels, start, wild := 1, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c == 0x7f:
			return ErrControlChar
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if err := checkRune(r); err != nil {
				return err
			}
			i += size - 1
		case c == '+' || c == '*' || c == '#':
			wild = true
		case c == '/':
			if levelErr == nil {
				levelErr = checkLevel(s[start:i], wild, false, pattern)
			}
			levels++
			start, wild = i+1, false
		}
	}
	if levels > l.MaxLevels {
		return ErrTooManyLevels
	}
	if levelErr != nil {
		return levelErr
	}
	return checkLevel(s[start:], wild, true, pattern)
}

// checkRune checks a character outside ASCII: no C1 control, line or
// paragraph separator, or bidirectional formatting character.
func checkRune(r rune) error {
	switch {
	case r >= 0x80 && r <= 0x9f, r == '\u2028', r == '\u2029':
		return ErrControlChar
	case r == '\u061c', r == '\u200e', r == '\u200f',
		r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return ErrBidiControl
	}
	return nil
}

// checkLevel checks one level; wild tells whether it holds a wildcard
// character and last whether it is the final level.
func checkLevel(lvl string, wild, last, pattern bool) error {
	switch {
	case lvl == "":
		return ErrEmptyLevel
	case !wild:
		return nil
	case !pattern:
		return ErrWildcardInTopic
	case len(lvl) > 1:
		return ErrMixedWildcard
	case lvl == "#" && !last:
		return ErrHashNotLast
	}
	return nil
}

// IsPattern reports whether s has a wildcard level ("+", "*" or "#"). It
// does not validate s: "a+" is not a pattern by this test, merely invalid.
func IsPattern(s string) bool {
	for {
		lvl, rest, more := cutLevel(s)
		if isWildcard(lvl) {
			return true
		}
		if !more {
			return false
		}
		s = rest
	}
}

// Matches reports whether pattern matches topic. Both are assumed valid
// (see [ValidatePattern] and [ValidateTopic]). It does not allocate.
func Matches(pattern, topic string) bool {
	for {
		plvl, prest, pmore := cutLevel(pattern)
		if plvl == "#" && !pmore {
			return true
		}
		tlvl, trest, tmore := cutLevel(topic)
		if plvl != tlvl && plvl != "+" && plvl != "*" {
			return false
		}
		switch {
		case pmore && tmore:
			pattern, topic = prest, trest
		case pmore:
			// The topic ended: "chat/#" still matches "chat".
			return prest == "#"
		default:
			return !tmore
		}
	}
}

// cutLevel splits s at its first '/': the first level, the rest, and
// whether there was a '/'. It does not allocate.
func cutLevel(s string) (lvl, rest string, more bool) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

// isWildcard reports whether lvl is a whole-level wildcard.
func isWildcard(lvl string) bool {
	return lvl == "+" || lvl == "*" || lvl == "#"
}
