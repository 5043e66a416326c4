package match

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestValidate(t *testing.T) {
	small := Limits{MaxBytes: 5, MaxLevels: 2}
	tests := []struct {
		name     string
		s        string
		l        Limits
		topicErr error // from ValidateTopic
		patErr   error // from ValidatePattern
	}{
		{"one level", "a", Limits{}, nil, nil},
		{"levels", "sensor/kitchen/temperature", Limits{}, nil, nil},
		{"spaces and dollar", "$SYS/a b/c", Limits{}, nil, nil},
		{"unicode", "日本/語/ü", Limits{}, nil, nil},
		{"max bytes", strings.Repeat("a", 1024), Limits{}, nil, nil},
		{"max levels", levels(32), Limits{}, nil, nil},
		{"custom max bytes", "abcde", small, nil, nil},
		{"custom max levels", "a/b", small, nil, nil},
		{"negative limits use defaults", levels(32), Limits{MaxBytes: -1, MaxLevels: -1}, nil, nil},

		{"empty", "", Limits{}, ErrEmpty, ErrEmpty},
		{"too long", strings.Repeat("a", 1025), Limits{}, ErrTooLong, ErrTooLong},
		{"too long in multibyte runes", strings.Repeat("é", 513), Limits{}, ErrTooLong, ErrTooLong},
		{"custom too long", "abcdef", small, ErrTooLong, ErrTooLong},
		{"too many levels", levels(33), Limits{}, ErrTooManyLevels, ErrTooManyLevels},
		{"custom too many levels", "a/b/c", small, ErrTooManyLevels, ErrTooManyLevels},

		{"leading slash", "/a", Limits{}, ErrEmptyLevel, ErrEmptyLevel},
		{"trailing slash", "a/", Limits{}, ErrEmptyLevel, ErrEmptyLevel},
		{"double slash", "a//b", Limits{}, ErrEmptyLevel, ErrEmptyLevel},
		{"slash alone", "/", Limits{}, ErrEmptyLevel, ErrEmptyLevel},

		{"plus", "a/+/c", Limits{}, ErrWildcardInTopic, nil},
		{"star", "chat/*", Limits{}, ErrWildcardInTopic, nil},
		{"hash", "chat/#", Limits{}, ErrWildcardInTopic, nil},
		{"hash alone", "#", Limits{}, ErrWildcardInTopic, nil},
		{"plus alone", "+", Limits{}, ErrWildcardInTopic, nil},
		{"wildcards everywhere", "+/*/+/#", Limits{}, ErrWildcardInTopic, nil},
		{"plus inside a level", "a+b", Limits{}, ErrWildcardInTopic, ErrMixedWildcard},

		{"hash first", "#/a", Limits{}, ErrWildcardInTopic, ErrHashNotLast},
		{"hash middle", "a/#/b", Limits{}, ErrWildcardInTopic, ErrHashNotLast},
		{"hash then slash", "a/#/", Limits{}, ErrWildcardInTopic, ErrHashNotLast},

		{"level ending in plus", "a+", Limits{}, ErrWildcardInTopic, ErrMixedWildcard},
		{"level starting with hash", "#x", Limits{}, ErrWildcardInTopic, ErrMixedWildcard},
		{"level ending in star", "a/b*", Limits{}, ErrWildcardInTopic, ErrMixedWildcard},
		{"two wildcards", "++", Limits{}, ErrWildcardInTopic, ErrMixedWildcard},
		{"plus hash", "a/+#", Limits{}, ErrWildcardInTopic, ErrMixedWildcard},

		{"invalid byte", "a/\xff", Limits{}, ErrInvalidUTF8, ErrInvalidUTF8},
		{"truncated rune", "a/\xc3", Limits{}, ErrInvalidUTF8, ErrInvalidUTF8},
		{"surrogate half", "\xed\xa0\x80", Limits{}, ErrInvalidUTF8, ErrInvalidUTF8},

		{"NUL", "a\x00b", Limits{}, ErrControlChar, ErrControlChar},
		{"tab", "a/\tb", Limits{}, ErrControlChar, ErrControlChar},
		{"newline", "a\n", Limits{}, ErrControlChar, ErrControlChar},
		{"unit separator", "\x1f", Limits{}, ErrControlChar, ErrControlChar},
		{"DEL", "a\x7f", Limits{}, ErrControlChar, ErrControlChar},
		{"C1 first", "a/\u0080", Limits{}, ErrControlChar, ErrControlChar},
		{"C1 last", "\u009fb", Limits{}, ErrControlChar, ErrControlChar},
		{"line separator", "a\u2028b", Limits{}, ErrControlChar, ErrControlChar},
		{"paragraph separator", "a/\u2029", Limits{}, ErrControlChar, ErrControlChar},
		{"right-to-left override", "invoice/\u202egpj.exe", Limits{}, ErrBidiControl, ErrBidiControl},
		{"left-to-right embedding", "\u202aa", Limits{}, ErrBidiControl, ErrBidiControl},
		{"right-to-left mark", "a\u200f", Limits{}, ErrBidiControl, ErrBidiControl},
		{"left-to-right mark", "a/\u200e/b", Limits{}, ErrBidiControl, ErrBidiControl},
		{"arabic letter mark", "\u061c", Limits{}, ErrBidiControl, ErrBidiControl},
		{"first strong isolate", "a\u2068", Limits{}, ErrBidiControl, ErrBidiControl},
		{"pop directional isolate", "a\u2069", Limits{}, ErrBidiControl, ErrBidiControl},
		{"non-ASCII letters", "\u00e9t\u00e9/\u65e5\u672c/\u0645\u0631\u062d\u0628\u0627", Limits{}, nil, nil},
		{"edge of C1", "\u00a0/\u007e", Limits{}, nil, nil},
		{"zero width joiner", "\U0001F469\u200d\U0001F4BB", Limits{}, nil, nil},
		{"replacement character", "a\ufffd", Limits{}, nil, nil},

		// When several rules are broken, whole-string errors come first,
		// then the first bad level from the left.
		{"long beats UTF-8", "\xff" + strings.Repeat("a", 1024), Limits{}, ErrTooLong, ErrTooLong},
		{"UTF-8 beats control", "\x00\xff", Limits{}, ErrInvalidUTF8, ErrInvalidUTF8},
		{"control beats levels", levels(40) + "/\x01", Limits{}, ErrControlChar, ErrControlChar},
		{"control beats a bad level", "a+//\x00", Limits{}, ErrControlChar, ErrControlChar},
		{"bidi beats levels", levels(40) + "/\u202e", Limits{}, ErrBidiControl, ErrBidiControl},
		{"first of bidi and control", "\u202e\x00", Limits{}, ErrBidiControl, ErrBidiControl},
		{"first of control and bidi", "\u0085\u202e", Limits{}, ErrControlChar, ErrControlChar},
		{"level count beats a bad level", "//" + levels(40), Limits{}, ErrTooManyLevels, ErrTooManyLevels},
		{"first bad level wins", "#/a+", Limits{}, ErrWildcardInTopic, ErrHashNotLast},
		{"empty level before wildcard", "a//+", Limits{}, ErrEmptyLevel, ErrEmptyLevel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateTopic(tt.s, tt.l); err != tt.topicErr {
				t.Errorf("ValidateTopic(%q) = %v, want %v", tt.s, err, tt.topicErr)
			}
			if err := ValidatePattern(tt.s, tt.l); err != tt.patErr {
				t.Errorf("ValidatePattern(%q) = %v, want %v", tt.s, err, tt.patErr)
			}
			// The single-pass validator agrees with the plain one.
			if err := refValidate(tt.s, tt.l, false); err != tt.topicErr {
				t.Errorf("refValidate(%q, topic) = %v, want %v", tt.s, err, tt.topicErr)
			}
			if err := refValidate(tt.s, tt.l, true); err != tt.patErr {
				t.Errorf("refValidate(%q, pattern) = %v, want %v", tt.s, err, tt.patErr)
			}
		})
	}
}

func TestValidate_ErrorsArePlain(t *testing.T) {
	for _, err := range []error{
		ErrEmpty, ErrTooLong, ErrTooManyLevels, ErrEmptyLevel, ErrWildcardInTopic,
		ErrHashNotLast, ErrMixedWildcard, ErrInvalidUTF8, ErrControlChar, ErrBidiControl,
	} {
		if msg := err.Error(); msg == "" || strings.HasPrefix(msg, "whispeer") {
			t.Errorf("error message %q: want a plain, non-empty message", msg)
		}
	}
}

func TestIsPattern(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"a", false},
		{"a/b/c", false},
		{"+", true},
		{"*", true},
		{"#", true},
		{"a/+/c", true},
		{"chat/*", true},
		{"chat/#", true},
		{"a+", false},
		{"a/b#", false},
		{"a/*b/c", false},
	}
	for _, tt := range tests {
		if got := IsPattern(tt.s); got != tt.want {
			t.Errorf("IsPattern(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

// matchTests are shared by the tests of Matches and of Sublist.Match.
var matchTests = []struct {
	pattern, topic string
	want           bool
}{
	{"a", "a", true},
	{"a", "b", false},
	{"a/b/c", "a/b/c", true},
	{"a/b/c", "a/b", false},
	{"a/b", "a/b/c", false},
	{"a/b/c", "a/b/cd", false},
	{"ab/c", "a/bc", false},

	{"#", "a", true},
	{"#", "a/b/c", true},
	{"#", "$SYS/x", true},
	{"chat/#", "chat", true},
	{"chat/#", "chat/a", true},
	{"chat/#", "chat/a/b", true},
	{"chat/#", "chatroom", false},
	{"chat/#", "chat2/a", false},
	{"chat/#", "other/chat", false},
	{"a/+/#", "a/b", true},
	{"a/+/#", "a/b/c/d", true},
	{"a/+/#", "a", false},
	{"+/#", "a", true},

	{"+", "a", true},
	{"*", "a", true},
	{"+", "a/b", false},
	{"*", "a/b", false},
	{"chat/*", "chat/a", true},
	{"chat/*", "chat", false},
	{"chat/*", "chat/a/b", false},
	{"chat/+", "chat/a", true},
	{"sensor/+/temperature", "sensor/kitchen/temperature", true},
	{"sensor/+/temperature", "sensor/temperature", false},
	{"sensor/+/temperature", "sensor/a/b/temperature", false},
	{"sensor/*/temperature", "sensor/kitchen/temperature", true},
	{"a/+/c", "a/b/c", true},
	{"a/+/c", "a/b/c/d", false},
	{"a/+/c", "a/b/d", false},
	{"+/+/+", "a/b/c", true},
	{"+/+/+", "a/b", false},
	{"+/b/*", "x/b/y", true},
	{"a/+", "a/+", true}, // wildcard characters in a topic are not wildcards there
}

func TestMatches(t *testing.T) {
	for _, tt := range matchTests {
		if got := Matches(tt.pattern, tt.topic); got != tt.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", tt.pattern, tt.topic, got, tt.want)
		}
		if got := refMatches(tt.pattern, tt.topic); got != tt.want {
			t.Errorf("refMatches(%q, %q) = %v, want %v", tt.pattern, tt.topic, got, tt.want)
		}
	}
}

func TestMatches_NoAllocs(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		Matches("sensor/+/temperature/#", "sensor/kitchen/temperature/celsius")
		ValidateTopic("sensor/kitchen/temperature", Limits{})
		ValidatePattern("sensor/+/temperature/#", Limits{})
		IsPattern("sensor/+/temperature")
	})
	if allocs != 0 {
		t.Errorf("allocs = %v, want 0", allocs)
	}
}

// levels returns a topic of n one-letter levels.
func levels(n int) string {
	return strings.TrimSuffix(strings.Repeat("a/", n), "/")
}

// refValidate is the plain statement of the rules that validate checks in
// one pass.
func refValidate(s string, l Limits, pattern bool) error {
	l = l.withDefaults()
	switch {
	case s == "":
		return ErrEmpty
	case len(s) > l.MaxBytes:
		return ErrTooLong
	case !utf8.ValidString(s):
		return ErrInvalidUTF8
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return refControl(r) || refBidi(r) }); i >= 0 {
		if r, _ := utf8.DecodeRuneInString(s[i:]); refControl(r) {
			return ErrControlChar
		}
		return ErrBidiControl
	}
	lvls := strings.Split(s, "/")
	if len(lvls) > l.MaxLevels {
		return ErrTooManyLevels
	}
	for i, lvl := range lvls {
		switch {
		case lvl == "":
			return ErrEmptyLevel
		case !strings.ContainsAny(lvl, "+*#"):
		case !pattern:
			return ErrWildcardInTopic
		case len(lvl) > 1:
			return ErrMixedWildcard
		case lvl == "#" && i != len(lvls)-1:
			return ErrHashNotLast
		}
	}
	return nil
}

// refControl reports the characters that ErrControlChar names.
func refControl(r rune) bool {
	return unicode.Is(unicode.Cc, r) || r == '\u2028' || r == '\u2029'
}

// refBidi reports the characters that ErrBidiControl names: Unicode's
// Bidi_Control property.
func refBidi(r rune) bool { return unicode.Is(unicode.Bidi_Control, r) }

// refMatches is the plain statement of the matching rules.
func refMatches(pattern, topic string) bool {
	p, t := strings.Split(pattern, "/"), strings.Split(topic, "/")
	for i, lvl := range p {
		switch {
		case lvl == "#":
			return true // t[:i] matched p[:i]: the parent and all below
		case i >= len(t):
			return false
		case lvl != "+" && lvl != "*" && lvl != t[i]:
			return false
		}
	}
	return len(p) == len(t)
}
