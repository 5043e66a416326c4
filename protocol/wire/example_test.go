package wire_test

import (
	"bytes"
	"fmt"
	"io"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// A client encodes its first frames into one buffer; a server reads them
// back one at a time.
func ExampleReader() {
	var conn bytes.Buffer // stands for a net.Conn
	buf, _ := wire.AppendHello(nil, &wire.Hello{Version: wire.Version, Caps: wire.CapQoS2})
	buf, _ = wire.AppendAuth(buf, &wire.Auth{Token: []byte("eyJ...")})
	buf, _ = wire.AppendPublish(buf, &wire.Publish{QoS: wire.AtLeastOnce,
		Topic: []byte("chat/room1"), ID: []byte("m1"), Payload: []byte("hello")})
	conn.Write(buf)

	r := wire.NewReader(&conn, wire.DefaultMaxFrame)
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		switch f.Type {
		case wire.TypeHello:
			v, _ := wire.Negotiate(f.Hello.Version)
			fmt.Println("HELLO, version", v)
		case wire.TypePublish:
			fmt.Printf("PUB %s %s %q\n", f.Publish.Topic, f.Publish.ID, f.Publish.Payload)
		default:
			fmt.Println(f.Type)
		}
	}
	// Output:
	// HELLO, version 1
	// AUTH
	// PUB chat/room1 m1 "hello"
}

// A server encodes a delivery's body once and writes it after a 10-byte
// head for each subscriber.
func ExampleAppendMessageBody() {
	m := wire.Message{QoS: wire.AtLeastOnce, Offset: 42, Topic: []byte("chat/room1"),
		ID: []byte("m1"), Payload: []byte("hello")}
	body, _ := wire.AppendMessageBody(nil, &m)
	var head [wire.MessageHeadLen]byte
	for _, sid := range []uint32{3, 8} {
		m.SID = sid
		h, _ := wire.AppendMessageHead(head[:0], &m, len(body))
		frame := append(h, body...) // a server writes net.Buffers{h, body}
		f, _, _ := wire.Parse(frame)
		fmt.Println(f.Type, f.Message.SID, f.Message.Offset, string(f.Message.Payload))
	}
	// Output:
	// MSG 3 42 hello
	// MSG 8 42 hello
}

// Headers are read in place; Map copies them when a map is wanted.
func ExampleHeaders() {
	h, _ := wire.MakeHeaders("content-type", "text/plain", "trace-id", "abc")
	buf, _ := wire.AppendPublish(nil, &wire.Publish{Topic: []byte("t"), Headers: h})
	f, _, _ := wire.Parse(buf)
	ct, _ := f.Publish.Headers.Get("content-type")
	fmt.Println(string(ct))
	for k, v := range f.Publish.Headers.All() {
		fmt.Printf("%s=%s\n", k, v)
	}
	fmt.Println(len(f.Publish.Headers.Map()))
	// Output:
	// text/plain
	// content-type=text/plain
	// trace-id=abc
	// 2
}

// Parsing a buffer that holds one frame and a half.
func ExampleFrame_Parse() {
	buf := wire.AppendPing(nil)
	buf = append(buf, 0, 0, 0, 9) // the start of the next frame
	var f wire.Frame
	for {
		n, err := f.Parse(buf)
		if err == wire.ErrShort {
			fmt.Println("need more bytes; keep", len(buf))
			return
		}
		fmt.Println(f.Type, n)
		buf = buf[n:]
	}
	// Output:
	// PING 5
	// need more bytes; keep 4
}

// A TCP server tells a native client from a stray HTTP one by its first
// bytes.
func ExampleSniff() {
	for _, first := range []string{"\x00\x00\x00\x1f\x01WSPR\x01", "GET / HTTP/1.1\r\n", `{"type":"auth"}`} {
		p, _ := wire.Sniff([]byte(first))
		fmt.Println(p, len(wire.Refusal(p)) > 0)
	}
	// Output:
	// native false
	// http true
	// json true
}
