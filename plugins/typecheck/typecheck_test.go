package typecheck_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/plugins/typecheck"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type reading struct {
	Temp float64 `json:"temp"`
}

func newBroker(t *testing.T, rules ...typecheck.Rule) *whispeer.Broker {
	t.Helper()
	p, err := typecheck.New(rules...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := whispeer.New(whispeer.WithPlugin(p))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestPlugin_Publish(t *testing.T) {
	b := newBroker(t,
		typecheck.Rule{Pattern: "sensor/#", Fields: map[string]typecheck.Kind{"temp": typecheck.Number, "unit": typecheck.String}},
		typecheck.Rule{Pattern: "count", Type: typecheck.Integer},
		typecheck.Rule{Pattern: "go/+", Check: typecheck.GoType[reading]()},
	)
	for _, tc := range []struct {
		topic, payload string
		reason         string // "" when accepted
	}{
		{"sensor/a", `{"temp": 21.5, "unit": "C", "extra": [1]}`, ""},
		{"sensor/a", `{"temp": 21, "unit": "C"}`, ""},
		{"sensor/a", `{"temp": "21", "unit": "C"}`, `topic "sensor/a" expects an object {temp: number, unit: string}: field "temp" is a string, want a number`},
		{"sensor/a", `{"temp": 21}`, `field "unit" is missing`},
		{"sensor/a", `[1]`, `the payload is an array`},
		{"sensor/a", `not json`, `the payload is not JSON`},
		{"count", ` 42 `, ""},
		{"count", `4.2`, `topic "count" expects an integer: the payload is a number`},
		{"go/x", `{"temp": 1}`, ""},
		{"go/x", `{"temp": true}`, `does not decode into typecheck_test.reading`},
		{"other", `anything`, ""},
	} {
		t.Run(tc.topic+" "+tc.payload, func(t *testing.T) {
			err := b.Publish(context.Background(), tc.topic, []byte(tc.payload))
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if !errors.Is(err, whispeer.ErrRejected) || !errors.Is(err, whispeer.ErrTypeMismatch) {
				t.Fatalf("Publish = %v, want ErrRejected and ErrTypeMismatch", err)
			}
			if !strings.Contains(err.Error(), "rejected by typecheck: ") || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %q lacks %q", err, tc.reason)
			}
			var me *typecheck.MismatchError
			if !errors.As(err, &me) || me.Topic != tc.topic {
				t.Errorf("no MismatchError for %q in %v", tc.topic, err)
			}
		})
	}
}

func TestNew_InvalidRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule typecheck.Rule
		want string
	}{
		{"bad pattern", typecheck.Rule{Pattern: "a/#/b"}, `pattern "a/#/b"`},
		{"unknown type", typecheck.Rule{Pattern: "a", Type: "float"}, `unknown kind "float"`},
		{"unknown field kind", typecheck.Rule{Pattern: "a", Fields: map[string]typecheck.Kind{"x": "text"}}, `field "x": unknown kind "text"`},
		{"fields on a string", typecheck.Rule{Pattern: "a", Type: typecheck.String, Fields: map[string]typecheck.Kind{"x": typecheck.Any}}, "fields need type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := typecheck.New(tc.rule); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestParseKind(t *testing.T) {
	if k, err := typecheck.ParseKind("boolean"); err != nil || k != typecheck.Boolean {
		t.Errorf("ParseKind(boolean) = %q, %v", k, err)
	}
	if _, err := typecheck.ParseKind("bool"); err == nil {
		t.Error("ParseKind(bool) succeeded")
	}
}

func BenchmarkPublish_Typecheck(b *testing.B) {
	p, _ := typecheck.New(typecheck.Rule{Pattern: "sensor/#", Fields: map[string]typecheck.Kind{"temp": typecheck.Number}})
	br, _ := whispeer.New(whispeer.WithPlugin(p))
	defer br.Close()
	ctx, payload := context.Background(), []byte(`{"temp": 21.5, "unit": "C"}`)
	b.ReportAllocs()
	for b.Loop() {
		br.Publish(ctx, "sensor/kitchen", payload)
	}
}
