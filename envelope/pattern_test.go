package envelope

import (
	"errors"
	"testing"
)

func TestPattern_Match(t *testing.T) {
	tests := []struct {
		pattern, topic string
		want           bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/b/c", false},
		{"a/b", "a", false},
		{"a/+", "a/b", true},
		{"a/*", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/+", "a", false},
		{"a/+", "a/", true}, // an empty level is a level
		{"+/b", "x/b", true},
		{"+/+", "x/y", true},
		{"+", "x/y", false},
		{"a/#", "a", true}, // '#' matches its parent level
		{"a/#", "a/b", true},
		{"a/#", "a/b/c", true},
		{"a/#", "ab", false},
		{"a/#", "b/a", false},
		{"#", "anything/at/all", true},
		{"#", "", true},
		{"+/#", "a", true},
		{"a/+/c/#", "a/b/c", true},
		{"a/+/c/#", "a/b/d", false},
		{"sensor/+/temperature", "sensor/kitchen/temperature", true},
		{"sensor/+/temperature", "sensor/kitchen/humidity", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.topic, func(t *testing.T) {
			p, err := parsePattern(tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.match(tt.topic); got != tt.want {
				t.Fatalf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPattern_Invalid(t *testing.T) {
	for _, s := range []string{"", "a/#/b", "#/a", "a+", "a/b#", "*x", "a/+b/c"} {
		t.Run(s, func(t *testing.T) {
			if _, err := parsePattern(s); !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("parsePattern(%q) = %v, want ErrInvalidKey", s, err)
			}
		})
	}
}

func TestPattern_MatchDoesNotAllocate(t *testing.T) {
	p, err := parsePattern("a/+/c/#")
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { p.match("a/b/c/d/e") }); n != 0 {
		t.Fatalf("match allocates %v times", n)
	}
}
