//go:build js && wasm

// Command wasm is whispeer's envelope package compiled to WebAssembly for
// the JavaScript client (js/src/envelope.ts). It parses key files in the
// format of `whispeer keygen` and seals and opens envelopes with them; the
// keys stay in this module's memory.
//
// JavaScript starts the program with Go's wasm_exec.js; main only keeps it
// alive. The functions below are then called directly, as WebAssembly
// exports: no callback through syscall/js, whose every call costs tens of
// microseconds. Arguments travel in the module's memory: the caller asks
// whispeer_input for a buffer of n bytes, writes the arguments into it one
// after the other, and passes their lengths. A result is left in a buffer
// whose address whispeer_output returns: a call returns its length, or, when
// it fails, -1 minus the length of "code message", code naming the envelope
// package's sentinel error (see codes).
//
// JavaScript is single threaded and so are the calls: nothing here needs a
// lock, and nothing here blocks.
package main

import (
	"errors"
	"math"
	"unsafe"

	"github.com/whispeer-io/whispeer/envelope"
)

func main() {
	select {} // keep the runtime alive for the exports
}

// maxKept is the largest buffer kept for the next call.
const maxKept = 1 << 20

var (
	engines = map[int32]*envelope.Engine{}
	next    int32
	in      []byte // the arguments of the next call
	out     []byte // the result of the last call
)

// input returns the address of a buffer of n bytes for the next call's
// arguments.
//
//go:wasmexport whispeer_input
func input(n int32) uint32 {
	if n < 0 {
		n = 0
	}
	if int(n) > cap(in) || cap(in) > maxKept {
		in = make([]byte, max(int(n), 64))
	}
	in = in[:n]
	return addr(in[:cap(in)])
}

// output returns the address of the last call's result.
//
//go:wasmexport whispeer_output
func output() uint32 { return addr(out[:cap(out)]) }

func addr(b []byte) uint32 {
	if cap(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

// keyring parses the key file in the input's first n bytes and returns the
// handle of an engine sealing and opening with its keys (> 0).
//
//go:wasmexport whispeer_keyring
func keyring(n int32) int32 {
	data, ok := args(n)
	defer clear(in)
	if !ok {
		return fail(errArgs)
	}
	kr, err := envelope.ParseKeyFile(data[0])
	if err != nil {
		return fail(err)
	}
	e, err := envelope.NewEngine(envelope.WithKeyring(kr))
	if err != nil {
		return fail(err)
	}
	if next == math.MaxInt32 {
		return fail(errHandles)
	}
	next++
	engines[next] = e
	return next
}

// seal seals the plaintext (the input: topic, id, plaintext) with the
// engine h.
//
//go:wasmexport whispeer_seal
func seal(h, topic, id, n int32) int32 { return call(h, (*envelope.Engine).Seal, topic, id, n) }

// open opens the envelope (the input: topic, id, envelope) with the
// engine h.
//
//go:wasmexport whispeer_open
func open(h, topic, id, n int32) int32 { return call(h, (*envelope.Engine).Open, topic, id, n) }

// release forgets the engine h.
//
//go:wasmexport whispeer_close
func release(h int32) { delete(engines, h) }

type sealOrOpen func(*envelope.Engine, []byte, string, string, []byte) ([]byte, error)

func call(h int32, fn sealOrOpen, topic, id, n int32) int32 {
	a, ok := args(topic, id, n)
	defer clear(in)
	if !ok {
		return fail(errArgs)
	}
	e := engines[h]
	if e == nil {
		return fail(errClosed)
	}
	return result(fn(e, reuse(), topicString(a[0]), string(a[1]), a[2]))
}

// args cuts the input into arguments of the given lengths (at most 4).
func args(lens ...int32) (a [4][]byte, ok bool) {
	rest := in
	for i, n := range lens {
		if n < 0 || int(n) > len(rest) {
			return a, false
		}
		a[i] = rest[:n:n]
		rest = rest[n:]
	}
	return a, true
}

// lastTopic is the topic of the last call: the engine keeps the topics it
// has seen, so each must be a string of its own, and most calls repeat the
// topic of the one before.
var lastTopic string

// topicString returns b as a string, the last call's when it is the same.
func topicString(b []byte) string {
	if string(b) != lastTopic {
		lastTopic = string(b)
	}
	return lastTopic
}

// reuse returns the output buffer emptied, for the next result.
func reuse() []byte {
	clear(out)
	if cap(out) > maxKept {
		out = nil
	}
	return out[:0]
}

// result keeps b as the output and returns its length, or reports err.
func result(b []byte, err error) int32 {
	if err != nil {
		return fail(err)
	}
	out = b
	return int32(len(b))
}

var (
	errArgs    = errors.New("whispeer: bad arguments")
	errClosed  = errors.New("whispeer: keyring is closed")
	errHandles = errors.New("whispeer: too many keyrings loaded")
)

// codes names the errors JavaScript can tell apart; the first that an error
// wraps wins.
var codes = []struct {
	err  error
	code string
}{
	{envelope.ErrAuthFailed, "auth_failed"},
	{envelope.ErrUnknownKeyID, "unknown_key_id"},
	{envelope.ErrNotEnvelope, "not_envelope"},
	{envelope.ErrTooLarge, "too_large"},
	{envelope.ErrNotSealed, "not_sealed"},
	{envelope.ErrNoKey, "no_key"},
	{envelope.ErrTruncated, "truncated"},
	{envelope.ErrUnsupportedVersion, "unsupported_version"},
	{envelope.ErrUnsupportedAlgorithm, "unsupported_algorithm"},
	{envelope.ErrCorrupt, "corrupt"},
	{envelope.ErrNonceExhausted, "nonce_exhausted"},
	{envelope.ErrKeyFile, "key_file"},
	{envelope.ErrInvalidKey, "invalid_key"},
	{envelope.ErrDuplicateKeyID, "duplicate_key_id"},
	{errClosed, "closed"},
	{errArgs, "invalid_argument"},
	{errHandles, "too_large"},
}

// fail leaves "code message" as the output and returns -1 minus its length.
func fail(err error) int32 {
	code := "internal"
	for _, c := range codes {
		if errors.Is(err, c.err) {
			code = c.code
			break
		}
	}
	out = append(append(append(reuse(), code...), ' '), err.Error()...)
	return -1 - int32(len(out))
}
