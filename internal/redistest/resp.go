package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// maxBulk bounds a bulk string read from a server.
const maxBulk = 64 << 20

// maxArray bounds the elements of an array read from a server.
const maxArray = 1 << 24

// ReplyError is an error reply of Redis, such as "ERR unknown command".
type ReplyError string

// Error implements error.
func (e ReplyError) Error() string { return "redis: " + string(e) }

// Do sends one command to the server on a new connection and returns the
// reply: a string for a simple or bulk string, an int64, nil for a null, or
// a []any of these for an array. An error reply is returned as a
// ReplyError; inside an array it is an element of type ReplyError.
func (s *Server) Do(args ...string) (any, error) { return do(s.Addr, args...) }

// do sends one command to addr and reads its reply.
func do(addr string, args ...string) (any, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return nil, err
	}
	w := bufio.NewWriter(c)
	fmt.Fprintf(w, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(w, "$%d\r\n%s\r\n", len(a), a)
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("write to %s: %w", addr, err)
	}
	r, err := readReply(bufio.NewReader(c))
	if err != nil {
		return nil, fmt.Errorf("read from %s: %w", addr, err)
	}
	if e, ok := r.(ReplyError); ok {
		return nil, e
	}
	return r, nil
}

// readReply reads one RESP2 reply.
func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("malformed reply %q", line)
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+':
		return body, nil
	case '-':
		return ReplyError(body), nil
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		return readBulk(r, body)
	case '*':
		return readArray(r, body)
	}
	return nil, fmt.Errorf("unknown reply type %q", kind)
}

// readBulk reads a bulk string of the length in header.
func readBulk(r *bufio.Reader, header string) (any, error) {
	n, err := strconv.Atoi(header)
	if err != nil || n < -1 || n > maxBulk {
		return nil, fmt.Errorf("bad bulk length %q", header)
	}
	if n == -1 {
		return nil, nil
	}
	b := make([]byte, n+2)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return string(b[:n]), nil
}

// readArray reads an array of the length in header.
func readArray(r *bufio.Reader, header string) (any, error) {
	n, err := strconv.Atoi(header)
	if err != nil || n < -1 || n > maxArray {
		return nil, fmt.Errorf("bad array length %q", header)
	}
	if n == -1 {
		return nil, nil
	}
	a := make([]any, n)
	for i := range a {
		if a[i], err = readReply(r); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// errNotString says a reply was not the string expected.
var errNotString = errors.New("reply is not a string")

// doString runs a command whose reply is a string.
func doString(addr string, args ...string) (string, error) {
	r, err := do(addr, args...)
	if err != nil {
		return "", err
	}
	s, ok := r.(string)
	if !ok {
		return "", fmt.Errorf("%s: %w: %T", args[0], errNotString, r)
	}
	return s, nil
}
