package whispeer

import (
	"errors"
	"fmt"

	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/internal/match"
)

// ErrOpen wraps the reason a sealed payload could not be opened for a
// subscriber: a missing or wrong key, or a damaged envelope.
var ErrOpen = &Error{CodeInvalid, "whispeer: cannot open payload"}

// EngineOption adjusts how the payloads of some topics are compressed and
// sealed; see [WithEncryption] and [ForTopics].
type EngineOption func(*engineSettings)

// engineSettings describe one envelope engine.
type engineSettings struct {
	keyring     *envelope.Keyring
	aead        envelope.AEAD // zero: the envelope package's default
	compression envelope.Compression
	threshold   int // zero: the envelope package's default
	plaintext   bool
}

// enabled reports whether payloads go into envelopes at all.
func (s engineSettings) enabled() bool {
	return (s.keyring != nil && !s.plaintext) || s.compression != envelope.CompressNone
}

// UseAEAD selects the cipher (default XChaCha20-Poly1305).
func UseAEAD(a envelope.AEAD) EngineOption { return func(s *engineSettings) { s.aead = a } }

// Compress selects the compressor; [envelope.CompressNone] turns compression
// off, as a topic carrying secrets beside attacker-chosen text should (see
// docs/security.md).
func Compress(c envelope.Compression) EngineOption {
	return func(s *engineSettings) { s.compression = c }
}

// CompressAbove sets the payload size from which compression is tried
// (default 1 KiB).
func CompressAbove(n int) EngineOption { return func(s *engineSettings) { s.threshold = n } }

// Plaintext leaves payloads unsealed (they are still compressed if
// compression is on).
func Plaintext() EngineOption { return func(s *engineSettings) { s.plaintext = true } }

type engineOverride struct {
	pattern string
	opts    []EngineOption
	engine  *envelope.Engine // built by New; nil when payloads stay as they are
}

// engines holds the envelope engines New built.
type engines struct {
	def       *envelope.Engine
	overrides []engineOverride
}

func newEngines(c *config) (engines, error) {
	var e engines
	if c.engine.plaintext {
		return e, fmt.Errorf("%w: Plaintext applies to ForTopics, not WithEncryption", ErrInvalidOption)
	}
	var err error
	if e.def, err = buildEngine(c.engine, c.maxPayload); err != nil {
		return e, err
	}
	for _, o := range c.overrides {
		if err := match.ValidatePattern(o.pattern, match.DefaultLimits); err != nil {
			return e, fmt.Errorf("%w: ForTopics %q: %w", ErrInvalidOption, truncate(o.pattern), err)
		}
		s := c.engine
		for _, opt := range o.opts {
			opt(&s)
		}
		if o.engine, err = buildEngine(s, c.maxPayload); err != nil {
			return e, fmt.Errorf("ForTopics %q: %w", o.pattern, err)
		}
		e.overrides = append(e.overrides, o)
	}
	return e, nil
}

func buildEngine(s engineSettings, maxPayload int) (*envelope.Engine, error) {
	if !s.enabled() {
		return nil, nil
	}
	opts := []envelope.Option{
		envelope.WithCompression(s.compression),
		envelope.WithMaxDecompressed(max(maxPayload, 1)),
	}
	if s.keyring != nil && !s.plaintext {
		opts = append(opts, envelope.WithKeyring(s.keyring))
		if s.aead != envelope.Unsealed {
			opts = append(opts, envelope.WithAEAD(s.aead))
		}
	}
	if s.threshold > 0 {
		opts = append(opts, envelope.WithCompressThreshold(s.threshold))
	}
	e, err := envelope.NewEngine(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	return e, nil
}

// engineFor returns the engine for topic, or nil to leave payloads as they
// are.
func (e *engines) engineFor(topic string) *envelope.Engine {
	for i := range e.overrides {
		if match.Matches(e.overrides[i].pattern, topic) {
			return e.overrides[i].engine
		}
	}
	return e.def
}

// seal puts m's payload into an envelope when its topic asks for one.
func (b *Broker) seal(m *Message) error {
	eng := b.engines.engineFor(m.Topic)
	if eng == nil {
		return nil
	}
	env, err := eng.Seal(nil, m.Topic, m.ID, m.Payload)
	if err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	if eng.AEAD() == envelope.Unsealed {
		// Compression only: a payload that did not compress stays bare, so
		// plaintext topics carry plain payloads whenever they can.
		if h, err := envelope.ParseHeader(env); err == nil && h.Compression == envelope.CompressNone {
			return nil
		}
	}
	m.Payload, m.engine, m.Sealed = env, eng, true
	return nil
}

// opened returns m with its payload opened, once per message however many
// subscribers receive it.
func (m *Message) opened() (*Message, error) {
	if p := m.plain.Load(); p != nil {
		return p, nil
	}
	pt, err := m.engine.Open(nil, m.Topic, m.ID, m.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w on %q: %w", ErrOpen, truncate(m.Topic), err)
	}
	// The opened message differs from m in its payload alone, and lives
	// in m: no longer than m, so it shares m's bytes even when borrowed.
	p := &Message{Topic: m.Topic, ID: m.ID, Payload: pt, Headers: m.Headers, PublisherID: m.PublisherID,
		QoS: m.QoS, Seq: m.Seq, Time: m.Time, borrowed: m.borrowed}
	m.plain.CompareAndSwap(nil, p)
	return m.plain.Load(), nil
}

// isOpenError reports whether err came from opening a payload, which no
// redelivery can mend.
func isOpenError(err error) bool { return errors.Is(err, ErrOpen) }
