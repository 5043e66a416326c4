package wire_test

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// sample is a named frame for table tests.
type sample struct {
	name string
	f    wire.Frame
}

// samples returns one or more frames of every type.
func samples(tb testing.TB) []sample {
	tb.Helper()
	h := mustHeaders(tb, "content-type", "text/plain", "trace", "")
	return []sample{
		{"hello", wire.Frame{Type: wire.TypeHello, Hello: wire.Hello{Version: 1,
			Caps: wire.CapE2E | wire.CapQoS2, MaxFrame: 1 << 20, Name: []byte("whispeer-go/1.0")}}},
		{"hello resuming", wire.Frame{Type: wire.TypeHello, Hello: wire.Hello{Version: 1,
			Session: []byte("s-42")}}},
		{"hello from a later version", wire.Frame{Type: wire.TypeHello, Hello: wire.Hello{Version: 9,
			Caps: 0xFFFFFFFF, Ext: []byte{1, 2, 3}}}},
		{"welcome", wire.Frame{Type: wire.TypeWelcome, Welcome: wire.Welcome{Version: 1, Resumed: true,
			Caps: wire.CapResume, MaxFrame: 1 << 20, PingInterval: 30000, Session: []byte("s-42"),
			Server: []byte("whispeer/1.0")}}},
		{"auth", wire.Frame{Type: wire.TypeAuth, Auth: wire.Auth{Token: []byte("eyJhbGciOiJIUzI1NiJ9.e30.sig")}}},
		{"auth empty", wire.Frame{Type: wire.TypeAuth}},
		{"login", wire.Frame{Type: wire.TypeLogin, Login: wire.Login{User: []byte("alice"), Password: []byte("s3cret")}}},
		{"authok", wire.Frame{Type: wire.TypeAuthOK, AuthOK: wire.AuthOK{Expires: 1767225600000000000, Token: []byte("jwt")}}},
		{"authok negative time", wire.Frame{Type: wire.TypeAuthOK, AuthOK: wire.AuthOK{Expires: -1}}},
		{"ping", wire.Frame{Type: wire.TypePing}},
		{"pong", wire.Frame{Type: wire.TypePong}},
		{"error", wire.Frame{Type: wire.TypeError, Error: wire.Error{Code: wire.CodeForbidden,
			Ref: wire.TypePublish, Text: []byte("whispeer: forbidden")}}},
		{"error fatal", wire.Frame{Type: wire.TypeError, Error: wire.Error{Code: wire.CodeUnauthorized, Fatal: true}}},
		{"error unknown code", wire.Frame{Type: wire.TypeError, Error: wire.Error{Code: 200}}},
		{"subscribe", wire.Frame{Type: wire.TypeSubscribe, Subscribe: wire.Subscribe{SID: 1,
			QoS: wire.AtLeastOnce, Topic: []byte("chat/+/messages")}}},
		{"subscribe last", wire.Frame{Type: wire.TypeSubscribe, Subscribe: wire.Subscribe{SID: 2,
			Resume: wire.Resume{Mode: wire.ResumeLast, Last: 10}, Topic: []byte("chat/#")}}},
		{"subscribe offset", wire.Frame{Type: wire.TypeSubscribe, Subscribe: wire.Subscribe{SID: 0xFFFFFFFF,
			QoS: wire.ExactlyOnce, Resume: wire.Resume{Mode: wire.ResumeOffset, Epoch: 0xDEADBEEF, Offset: 41},
			Topic: []byte("orders")}}},
		{"unsubscribe", wire.Frame{Type: wire.TypeUnsubscribe, Unsubscribe: wire.Unsubscribe{SID: 3}}},
		{"suback", wire.Frame{Type: wire.TypeSubAck, SubAck: wire.SubAck{SID: 3, Recovered: true,
			Epoch: 7, Offset: 99}}},
		{"suback error", wire.Frame{Type: wire.TypeSubAck, SubAck: wire.SubAck{SID: 3, Code: wire.CodeForbidden,
			Text: []byte("whispeer: forbidden")}}},
		{"publish", wire.Frame{Type: wire.TypePublish, Publish: wire.Publish{Topic: []byte("t")}}},
		{"publish full", wire.Frame{Type: wire.TypePublish, Publish: wire.Publish{QoS: wire.ExactlyOnce,
			Envelope: true, Dup: true, Topic: []byte("chat/room1"), ID: []byte("m1"), Headers: h,
			Payload: []byte("hello")}}},
		{"message", wire.Frame{Type: wire.TypeMessage, Message: wire.Message{SID: 1, Offset: 1,
			Topic: []byte("t")}}},
		{"message full", wire.Frame{Type: wire.TypeMessage, Message: wire.Message{QoS: wire.AtLeastOnce,
			Envelope: true, Dup: true, Replay: true, SID: 9, Offset: 1 << 40, Time: -5,
			Topic: []byte("chat/room1"), ID: []byte("m1"), Headers: h, Payload: []byte("hello")}}},
		{"puback", wire.Frame{Type: wire.TypePubAck, Ack: wire.Ack{ID: []byte("m1")}}},
		{"puback refused", wire.Frame{Type: wire.TypePubAck, Ack: wire.Ack{Code: wire.CodeTooLarge, ID: []byte("m1")}}},
		{"puback refused with a reason", wire.Frame{Type: wire.TypePubAck, Ack: wire.Ack{Code: wire.CodeForbidden,
			ID: []byte("m1"), Text: []byte(`whispeer: permission denied: may not publish to "t"`)}}},
		{"pubrec", wire.Frame{Type: wire.TypePubRec, Ack: wire.Ack{SID: 4, ID: []byte("m2")}}},
		{"pubrel", wire.Frame{Type: wire.TypePubRel, Ack: wire.Ack{ID: []byte("m2")}}},
		{"pubcomp", wire.Frame{Type: wire.TypePubComp, Ack: wire.Ack{SID: 4, ID: []byte("m2")}}},
		{"subscribe with presence", wire.Frame{Type: wire.TypeSubscribe, Subscribe: wire.Subscribe{SID: 5,
			QoS: wire.ExactlyOnce, Presence: true, Topic: []byte("chat/room")}}},
		{"presence", wire.Frame{Type: wire.TypePresence, Presence: wire.Presence{ID: 1, Topic: []byte("chat/room")}}},
		{"presence stats", wire.Frame{Type: wire.TypePresence, Presence: wire.Presence{ID: 0xFFFFFFFF, Stats: true, Topic: []byte("chat/#")}}},
		{"presenceinfo", wire.Frame{Type: wire.TypePresenceInfo, PresenceInfo: wire.PresenceInfo{ID: 1, Truncated: true,
			Count: 3, Users: 2, Clients: mustPresenceClients(tb, "ann", "ann-phone", "bob", "")}}},
		{"presenceinfo refused", wire.Frame{Type: wire.TypePresenceInfo, PresenceInfo: wire.PresenceInfo{ID: 2,
			Code: wire.CodeForbidden, Text: []byte("whispeer: permission denied")}}},
		{"join", wire.Frame{Type: wire.TypeJoinLeave, JoinLeave: wire.JoinLeave{SID: 5, User: []byte("ann"), Client: []byte("c1")}}},
		{"leave", wire.Frame{Type: wire.TypeJoinLeave, JoinLeave: wire.JoinLeave{SID: 5, Leave: true}}},
		{"puback of a delivery with its offset", wire.Frame{Type: wire.TypePubAck, Ack: wire.Ack{SID: 4, ID: []byte("m2"), Offset: 1 << 40}}},
	}
}

// mustPresenceClients builds a presence list from alternating users and
// client ids.
func mustPresenceClients(tb testing.TB, userClient ...string) wire.PresenceClients {
	tb.Helper()
	c, err := wire.MakePresenceClients(userClient...)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// mustHeaders builds headers from alternating keys and values.
func mustHeaders(tb testing.TB, kv ...string) wire.Headers {
	tb.Helper()
	h, err := wire.MakeHeaders(kv...)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// member returns the part of f that its type names.
func member(f *wire.Frame) any {
	switch f.Type {
	case wire.TypeHello:
		return f.Hello
	case wire.TypeWelcome:
		return f.Welcome
	case wire.TypeAuth:
		return f.Auth
	case wire.TypeLogin:
		return f.Login
	case wire.TypeAuthOK:
		return f.AuthOK
	case wire.TypeError:
		return f.Error
	case wire.TypeSubscribe:
		return f.Subscribe
	case wire.TypeUnsubscribe:
		return f.Unsubscribe
	case wire.TypeSubAck:
		return f.SubAck
	case wire.TypePresence:
		return f.Presence
	case wire.TypePresenceInfo:
		return f.PresenceInfo
	case wire.TypeJoinLeave:
		return f.JoinLeave
	case wire.TypePublish:
		return f.Publish
	case wire.TypeMessage:
		return f.Message
	case wire.TypePubAck, wire.TypePubRec, wire.TypePubRel, wire.TypePubComp:
		return f.Ack
	}
	return nil
}

// sameFrame reports whether a and b have the same type and fields.
func sameFrame(a, b *wire.Frame) bool {
	return a.Type == b.Type && reflect.DeepEqual(member(a), member(b))
}

// unhex decodes hex, ignoring spaces and newlines.
func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// randomFrame returns a valid random frame of a random type.
func randomFrame(r *rand.Rand) wire.Frame {
	types := []wire.Type{wire.TypeHello, wire.TypeWelcome, wire.TypeAuth, wire.TypeLogin,
		wire.TypeAuthOK, wire.TypePing, wire.TypePong, wire.TypeError, wire.TypeSubscribe,
		wire.TypeUnsubscribe, wire.TypeSubAck, wire.TypePublish, wire.TypeMessage,
		wire.TypePubAck, wire.TypePubRec, wire.TypePubRel, wire.TypePubComp,
		wire.TypePresence, wire.TypePresenceInfo, wire.TypeJoinLeave}
	f := wire.Frame{Type: types[r.IntN(len(types))]}
	switch f.Type {
	case wire.TypeHello:
		f.Hello = wire.Hello{Version: 1, Caps: wire.Caps(r.Uint32()), MaxFrame: r.Uint32(),
			Session: randBytes(r, 255), Name: randBytes(r, 255)}
	case wire.TypeWelcome:
		f.Welcome = wire.Welcome{Version: uint8(1 + r.IntN(255)), Resumed: r.IntN(2) == 1,
			Caps: wire.Caps(r.Uint32()), MaxFrame: r.Uint32(), PingInterval: r.Uint32(),
			Session: randBytes(r, 255), Server: randBytes(r, 255)}
	case wire.TypeAuth:
		f.Auth = wire.Auth{Token: randBytes(r, 2000)}
	case wire.TypeLogin:
		f.Login = wire.Login{User: randBytes(r, 255), Password: randBytes(r, 300)}
	case wire.TypeAuthOK:
		f.AuthOK = wire.AuthOK{Expires: r.Int64(), Token: randBytes(r, 2000)}
	case wire.TypeError:
		f.Error = wire.Error{Code: wire.Code(1 + r.IntN(255)), Fatal: r.IntN(2) == 1,
			Ref: wire.TypePublish, Text: randBytes(r, 300)}
	case wire.TypeSubscribe:
		f.Subscribe = randomSubscribe(r)
	case wire.TypeUnsubscribe:
		f.Unsubscribe = wire.Unsubscribe{SID: 1 + r.Uint32N(1<<32-1)}
	case wire.TypeSubAck:
		f.SubAck = wire.SubAck{SID: 1 + r.Uint32N(1<<32-1), Code: wire.Code(r.IntN(256)),
			Recovered: r.IntN(2) == 1, Epoch: r.Uint64(), Offset: r.Uint64(), Text: randBytes(r, 300)}
	case wire.TypePublish:
		q := wire.QoS(r.IntN(3))
		f.Publish = wire.Publish{QoS: q, Envelope: r.IntN(2) == 1, Dup: r.IntN(2) == 1,
			Topic: randTopic(r), ID: randID(r, q), Headers: randHeaders(r), Payload: randBytes(r, 3000)}
	case wire.TypeMessage:
		q := wire.QoS(r.IntN(3))
		f.Message = wire.Message{QoS: q, Envelope: r.IntN(2) == 1, Dup: r.IntN(2) == 1,
			Replay: r.IntN(2) == 1, SID: 1 + r.Uint32N(1<<32-1), Offset: r.Uint64(), Time: r.Int64(),
			Topic: randTopic(r), ID: randID(r, q), Headers: randHeaders(r), Payload: randBytes(r, 3000)}
	case wire.TypePresence:
		f.Presence = wire.Presence{ID: 1 + r.Uint32N(1<<32-1), Stats: r.IntN(2) == 1, Topic: randTopic(r)}
	case wire.TypePresenceInfo:
		f.PresenceInfo = randomPresenceInfo(r)
	case wire.TypeJoinLeave:
		f.JoinLeave = wire.JoinLeave{SID: 1 + r.Uint32N(1<<32-1), Leave: r.IntN(2) == 1,
			User: randBytes(r, 300), Client: randBytes(r, 300)}
	case wire.TypePubAck, wire.TypePubRec, wire.TypePubRel, wire.TypePubComp:
		f.Ack = wire.Ack{SID: r.Uint32(), Code: wire.Code(r.IntN(256)), ID: randID(r, 1)}
		if f.Ack.Code != wire.CodeOK {
			f.Ack.Text = randBytes(r, 300)
		}
	}
	return f
}

// randomPresenceInfo returns a valid PRESENCEINFO with up to a few
// clients.
func randomPresenceInfo(r *rand.Rand) wire.PresenceInfo {
	var uc []string
	for range r.IntN(4) {
		uc = append(uc, string(randBytes(r, 30)), string(randBytes(r, 30)))
	}
	c, err := wire.MakePresenceClients(uc...)
	if err != nil {
		panic(err)
	}
	return wire.PresenceInfo{ID: 1 + r.Uint32N(1<<32-1), Code: wire.Code(r.IntN(256)), Truncated: r.IntN(2) == 1,
		Count: r.Uint32(), Users: r.Uint32(), Clients: c, Text: randBytes(r, 300)}
}

// randomSubscribe returns a valid SUB with a random resume mode.
func randomSubscribe(r *rand.Rand) wire.Subscribe {
	s := wire.Subscribe{SID: 1 + r.Uint32N(1<<32-1), QoS: wire.QoS(r.IntN(3)), Presence: r.IntN(2) == 1, Topic: randTopic(r)}
	switch s.Resume.Mode = wire.ResumeMode(r.IntN(4)); s.Resume.Mode {
	case wire.ResumeLast:
		s.Resume.Last = r.Uint32()
	case wire.ResumeOffset:
		s.Resume.Epoch, s.Resume.Offset = r.Uint64(), r.Uint64()
	}
	return s
}

// randBytes returns up to max random bytes, nil when none.
func randBytes(r *rand.Rand, max int) []byte {
	n := r.IntN(max + 1)
	if r.IntN(4) == 0 {
		n = 0
	}
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// randTopic returns a non-empty topic.
func randTopic(r *rand.Rand) []byte {
	if r.IntN(50) == 0 {
		return bytes.Repeat([]byte{'t'}, 65535)
	}
	return append([]byte("t/"), randBytes(r, 60)...)
}

// randID returns a message id, never empty when q needs one.
func randID(r *rand.Rand, q wire.QoS) []byte {
	id := randBytes(r, 255)
	if len(id) == 0 && q > wire.AtMostOnce {
		id = []byte{byte(r.Uint32())}
	}
	return id
}

// randHeaders returns up to a few random headers.
func randHeaders(r *rand.Rand) wire.Headers {
	var kv []string
	for range r.IntN(4) {
		kv = append(kv, "k"+string(randBytes(r, 20)), string(randBytes(r, 40)))
	}
	h, err := wire.MakeHeaders(kv...)
	if err != nil {
		panic(err)
	}
	return h
}
