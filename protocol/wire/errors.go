package wire

import "errors"

// The errors of this package. Parse and the Reader return them bare or
// wrapped with detail; test for them with [errors.Is].
var (
	// ErrShort reports a buffer that does not yet hold a whole frame: read
	// more and parse again. It is never wrapped.
	ErrShort = errors.New("whispeer: short buffer")
	// ErrTooLarge reports a frame whose length prefix is over the limit, or
	// a frame too large to encode. It is detected before the body is read.
	ErrTooLarge = errors.New("whispeer: frame too large")
	// ErrUnknownType reports a type byte that names no frame.
	ErrUnknownType = errors.New("whispeer: unknown frame type")
	// ErrTruncated reports a field that runs past the end of its frame, or
	// a zero length prefix.
	ErrTruncated = errors.New("whispeer: truncated frame")
	// ErrTrailing reports bytes left in a frame after its last field.
	ErrTrailing = errors.New("whispeer: trailing bytes in frame")
	// ErrQoS reports a QoS other than 0, 1 or 2.
	ErrQoS = errors.New("whispeer: bad QoS")
	// ErrVersion reports a protocol version of 0 or one not spoken.
	ErrVersion = errors.New("whispeer: unsupported protocol version")
	// ErrMagic reports a HELLO that does not start with [Magic].
	ErrMagic = errors.New("whispeer: bad magic")
	// ErrEmptyTopic reports a PUB, SUB or MSG without a topic.
	ErrEmptyTopic = errors.New("whispeer: empty topic")
	// ErrMissingID reports a QoS 1 or 2 publish or delivery, or an
	// acknowledgement, without a message id.
	ErrMissingID = errors.New("whispeer: missing message id")
	// ErrFlags reports reserved flag bits that are set.
	ErrFlags = errors.New("whispeer: reserved flag bits set")
	// ErrSID reports a SUB, UNSUB, SUBACK or MSG with subscription id 0,
	// which is reserved for acknowledging publishes.
	ErrSID = errors.New("whispeer: subscription id 0")
	// ErrResume reports an unknown resume mode.
	ErrResume = errors.New("whispeer: bad resume mode")
	// ErrCode reports an ERROR frame with code 0, or an unknown Ref.
	ErrCode = errors.New("whispeer: bad error code")
	// ErrHeader reports a header with an empty key.
	ErrHeader = errors.New("whispeer: bad header")
	// ErrTooLong reports a field too long for its length prefix, or too
	// many headers, when encoding.
	ErrTooLong = errors.New("whispeer: field too long")
	// ErrNotNative reports a connection whose first bytes are not a
	// native HELLO (see [Sniff]).
	ErrNotNative = errors.New("whispeer: not the native protocol")
)

// ErrorCode returns the wire code for an error of this package:
// CodeTooLarge for ErrTooLarge, CodeInternal for an error not of this
// package, CodeOK for nil and CodeInvalid otherwise. A server puts it in
// the ERROR frame it sends before closing a connection that sent garbage.
func ErrorCode(err error) Code {
	switch {
	case err == nil:
		return CodeOK
	case errors.Is(err, ErrTooLarge):
		return CodeTooLarge
	}
	for _, e := range protocolErrors {
		if errors.Is(err, e) {
			return CodeInvalid
		}
	}
	return CodeInternal
}

// protocolErrors are the errors that mean a peer broke the protocol.
var protocolErrors = []error{ErrShort, ErrUnknownType, ErrTruncated, ErrTrailing, ErrQoS,
	ErrVersion, ErrMagic, ErrEmptyTopic, ErrMissingID, ErrFlags, ErrSID, ErrResume, ErrCode,
	ErrHeader, ErrTooLong, ErrNotNative}
