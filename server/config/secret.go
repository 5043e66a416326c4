package config

import (
	"encoding"
	"fmt"
	"log/slog"
)

// redacted is what a non-empty Secret prints as.
const redacted = "[REDACTED]"

// Secret is a string that never prints its value: fmt (every verb, %#v
// included), log/slog, encoding/json and any encoding.TextMarshaler user
// see "[REDACTED]", or "" when the secret is empty so that an unset secret
// stays visible. Use [Secret.Reveal] where the value is needed.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String returns "[REDACTED]", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString returns the masked value quoted, for %#v.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.String()) }

// LogValue returns the masked value for log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText returns the masked value, so encoding/json and other text
// encoders never see the secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

var (
	_ fmt.Stringer           = Secret("")
	_ fmt.GoStringer         = Secret("")
	_ slog.LogValuer         = Secret("")
	_ encoding.TextMarshaler = Secret("")
)
