package bench

import (
	"bufio"
	"bytes"
	"io"
	"slices"

	"github.com/gobwas/ws"
)

// read handles frames until the connection ends: deliveries go to their
// topic's handler, other text frames to ctrl, pings are answered.
func (c *jsonClient) read() {
	defer close(c.done)
	var msg []byte
	for {
		h, err := ws.ReadHeader(c.br)
		if err != nil {
			return
		}
		start := len(msg)
		msg = slices.Grow(msg, int(h.Length))[:start+int(h.Length)]
		if _, err := io.ReadFull(c.br, msg[start:]); err != nil {
			return
		}
		if h.Masked {
			ws.Cipher(msg[start:], h.Mask, 0)
		}
		switch {
		case h.OpCode == ws.OpClose:
			return
		case h.OpCode == ws.OpPing:
			c.pong(msg[start:])
			msg = msg[:start]
		case !h.Fin:
			// a fragment: keep it and read the continuation
		default:
			c.dispatch(msg)
			msg = msg[:0]
		}
	}
}

// pong answers a ping with its payload.
func (c *jsonClient) pong(p []byte) {
	p = slices.Clone(p)
	c.out.write(func(w *bufio.Writer) error {
		h := ws.Header{Fin: true, OpCode: ws.OpPong, Masked: true, Mask: ws.NewMask(), Length: int64(len(p))}
		ws.WriteHeader(w, h)
		ws.Cipher(p, h.Mask, 0)
		_, err := w.Write(p)
		return err
	})
}

// dispatch hands a message frame's payload to its topic's handler, and
// any other frame to ctrl. It reads only the fields it needs, and no
// escapes: the suite's topics and payloads have none.
func (c *jsonClient) dispatch(b []byte) {
	if typ, _ := jsonString(b, "type"); string(typ) != "message" {
		select {
		case c.ctrl <- slices.Clone(b):
		default:
		}
		return
	}
	topic, _ := jsonString(b, "topic")
	p, ok := jsonString(b, "payload")
	if !ok {
		return
	}
	c.mu.RLock()
	h := c.handlers[string(topic)]
	c.mu.RUnlock()
	if h != nil {
		h(p)
	}
}

// jsonString returns the bytes of the first string value of key
// in the JSON object b, escapes left as they are, and whether there was one.
func jsonString(b []byte, key string) ([]byte, bool) {
	k := make([]byte, 0, len(key)+2)
	k = append(append(append(k, '"'), key...), '"')
	for off := 0; ; {
		i := bytes.Index(b[off:], k)
		if i < 0 {
			return nil, false
		}
		rest := skipSpace(b[off+i+len(k):])
		off += i + len(k)
		if len(rest) == 0 || rest[0] != ':' {
			continue // the key's text appeared inside a value
		}
		rest = skipSpace(rest[1:])
		if len(rest) == 0 || rest[0] != '"' {
			return nil, false
		}
		end := bytes.IndexByte(rest[1:], '"')
		if end < 0 {
			return nil, false
		}
		return rest[1 : 1+end], true
	}
}

// skipSpace drops leading JSON whitespace.
func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}
