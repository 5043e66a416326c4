package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
)

// Limit is the target that runs a Forwarder: the ceiling row. With Command
// set, the forwarder runs as a child process (Command followed by the
// listen address), as the brokers do; otherwise it runs in this process.
type Limit struct {
	Command []string

	srv  *server
	ln   net.Listener
	addr string
}

// Name implements Target.
func (*Limit) Name() string { return "limit" }

// Start implements Target.
func (l *Limit) Start(ctx context.Context) (string, string, error) {
	version := "forwarder, " + runtime.Version()
	if len(l.Command) == 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", err
		}
		l.ln, l.addr = ln, ln.Addr().String()
		go new(Forwarder).Serve(ln)
		return l.addr, version, nil
	}
	port, err := freePort()
	if err != nil {
		return "", "", err
	}
	dir, err := os.MkdirTemp("", "whispeer-bench-limit-")
	if err != nil {
		return "", "", err
	}
	l.addr = "127.0.0.1:" + strconv.Itoa(port)
	args := append(l.Command[1:len(l.Command):len(l.Command)], l.addr)
	l.srv, err = startServer(ctx, dir, l.addr, l.Command[0], args...)
	return l.addr, version, err
}

// Stop implements Target.
func (l *Limit) Stop() error {
	if l.ln != nil {
		l.ln.Close()
		l.ln = nil
	}
	err := l.srv.stop()
	l.srv = nil
	return err
}

// PID implements Process; it is 0 when the forwarder runs in this process.
func (l *Limit) PID() int { return l.srv.pid() }

// Connect implements Target.
func (l *Limit) Connect(ctx context.Context) (Client, error) {
	return dialForwarder(ctx, l.addr)
}

// Skip implements Limiter: the forwarder has no topics and stores nothing.
func (l *Limit) Skip(workload string) error {
	switch workload {
	case "topics", "durable":
		return fmt.Errorf("%w: the forwarder has no topics and stores nothing", ErrNotApplicable)
	case "idle":
		if len(l.Command) == 0 {
			return fmt.Errorf("%w: the forwarder runs in this process", ErrNotApplicable)
		}
	}
	return nil
}

var (
	_ Target  = (*Limit)(nil)
	_ Process = (*Limit)(nil)
	_ Limiter = (*Limit)(nil)
)
