package typecheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/match"
)

// Name is the plugin's name, as the server configuration selects it.
const Name = "typecheck"

// Kind is a JSON value's kind.
type Kind string

// The kinds. Integer is a number without a fraction or an exponent; Any
// is any JSON value.
const (
	Any     Kind = "any"
	String  Kind = "string"
	Number  Kind = "number"
	Integer Kind = "integer"
	Boolean Kind = "boolean"
	Object  Kind = "object"
	Array   Kind = "array"
	Null    Kind = "null"
)

var kinds = []Kind{Any, String, Number, Integer, Boolean, Object, Array, Null}

// ParseKind returns the Kind named s.
func ParseKind(s string) (Kind, error) {
	if k := Kind(s); slices.Contains(kinds, k) {
		return k, nil
	}
	return "", fmt.Errorf("unknown kind %q (want one of %v)", s, kinds)
}

// Rule is the shape required of the payloads published to the topics
// matching Pattern.
type Rule struct {
	// Pattern selects the topics, with wildcards.
	Pattern string
	// Type is the payload's kind. Empty means Object when Fields is set,
	// Any otherwise.
	Type Kind
	// Fields are the fields an object payload must have, with their kinds.
	Fields map[string]Kind
	// Check, when set, is called with the payload of a publish that passed
	// the other checks; an error rejects the publish.
	Check func(payload []byte) error
}

// GoType returns a Rule.Check that requires the payload to decode, as
// JSON, into a T: the rule whispeer.Bind enforces, as a plugin.
func GoType[T any]() func([]byte) error {
	return func(p []byte) error {
		var v T
		if err := json.Unmarshal(p, &v); err != nil {
			return fmt.Errorf("does not decode into %T: %w", v, err)
		}
		return nil
	}
}

// rule is a validated Rule with its description.
type rule struct {
	Rule
	fields []string // the names of Fields, sorted
	desc   string
}

// Plugin rejects publishes whose payloads do not fit their topics' rules.
// Make one with New.
type Plugin struct{ rules []rule }

// New returns a plugin enforcing rules. It reports a rule with an invalid
// pattern or an unknown kind.
func New(rules ...Rule) (*Plugin, error) {
	p := &Plugin{}
	for i, r := range rules {
		if err := match.ValidatePattern(r.Pattern, match.DefaultLimits); err != nil {
			return nil, fmt.Errorf("typecheck: rule %d: pattern %q: %w", i, r.Pattern, err)
		}
		if r.Type == "" {
			r.Type = Any
			if len(r.Fields) > 0 {
				r.Type = Object
			}
		}
		if _, err := ParseKind(string(r.Type)); err != nil {
			return nil, fmt.Errorf("typecheck: rule %d: type: %w", i, err)
		}
		if len(r.Fields) > 0 && r.Type != Object {
			return nil, fmt.Errorf("typecheck: rule %d: fields need type %q, not %q", i, Object, r.Type)
		}
		for f, k := range r.Fields {
			if _, err := ParseKind(string(k)); err != nil {
				return nil, fmt.Errorf("typecheck: rule %d: field %q: %w", i, f, err)
			}
		}
		p.rules = append(p.rules, newRule(r))
	}
	return p, nil
}

func newRule(r Rule) rule {
	names := slices.Sorted(maps.Keys(r.Fields))
	desc := article(r.Type) + " " + string(r.Type)
	if len(names) > 0 {
		parts := make([]string, len(names))
		for i, f := range names {
			parts[i] = f + ": " + string(r.Fields[f])
		}
		desc += " {" + strings.Join(parts, ", ") + "}"
	}
	return rule{Rule: r, fields: names, desc: desc}
}

// Name returns "typecheck".
func (p *Plugin) Name() string { return Name }

// OnPublish checks m's payload against every rule whose pattern matches
// its topic, and rejects it at the first that it does not fit.
func (p *Plugin) OnPublish(_ context.Context, m *whispeer.Message) (*whispeer.Message, error) {
	for i := range p.rules {
		r := &p.rules[i]
		if !match.Matches(r.Pattern, m.Topic) {
			continue
		}
		if reason := r.check(m.Payload); reason != "" {
			return nil, &MismatchError{Topic: m.Topic, Pattern: r.Pattern, Want: r.desc, Reason: reason}
		}
	}
	return m, nil
}

// check returns why payload does not fit r, or "".
func (r *rule) check(payload []byte) string {
	if !json.Valid(payload) {
		return "the payload is not JSON"
	}
	if got := kindOf(payload); !fits(got, r.Type) {
		return fmt.Sprintf("the payload is %s %s", article(got), got)
	}
	if len(r.fields) > 0 {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(payload, &obj); err != nil {
			return "the payload is not a JSON object"
		}
		for _, f := range r.fields {
			v, ok := obj[f]
			if !ok {
				return fmt.Sprintf("field %q is missing", f)
			}
			want := r.Fields[f]
			if got := kindOf(v); !fits(got, want) {
				return fmt.Sprintf("field %q is %s %s, want %s %s", f, article(got), got, article(want), want)
			}
		}
	}
	if r.Check != nil {
		if err := r.Check(payload); err != nil {
			return err.Error()
		}
	}
	return ""
}

// kindOf returns the kind of v, a valid JSON value: Integer for a number
// without a fraction or exponent.
func kindOf(v []byte) Kind {
	v = bytes.TrimSpace(v)
	switch v[0] {
	case '"':
		return String
	case '{':
		return Object
	case '[':
		return Array
	case 't', 'f':
		return Boolean
	case 'n':
		return Null
	}
	if bytes.ContainsAny(v, ".eE") {
		return Number
	}
	return Integer
}

// fits reports whether a value of kind got satisfies want.
func fits(got, want Kind) bool {
	return want == Any || got == want || (want == Number && got == Integer)
}

func article(k Kind) string {
	switch k {
	case Any, Integer, Object, Array:
		return "an"
	}
	return "a"
}

// MismatchError is the reason a publish was rejected. It wraps
// whispeer.ErrTypeMismatch.
type MismatchError struct {
	Topic   string // the topic published to
	Pattern string // the pattern of the rule that failed
	Want    string // the rule's shape, such as "an object {temp: number}"
	Reason  string // what is wrong with the payload
}

// Error describes the mismatch for the publisher.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("topic %q expects %s: %s", e.Topic, e.Want, e.Reason)
}

// Unwrap returns whispeer.ErrTypeMismatch.
func (e *MismatchError) Unwrap() error { return whispeer.ErrTypeMismatch }

var (
	_ whispeer.Plugin      = (*Plugin)(nil)
	_ whispeer.PublishHook = (*Plugin)(nil)
	_ error                = (*MismatchError)(nil)
)
