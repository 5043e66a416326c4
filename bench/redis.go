package bench

import (
	"context"
	"os"
	"strconv"
	"strings"

	"github.com/redis/rueidis"
)

// Redis is redis-server's pub/sub, reached with the rueidis client; its
// durable mode is XADD to a stream with the append-only file fsynced every
// second.
type Redis struct {
	srv  *server
	addr string
}

// Name implements Target.
func (*Redis) Name() string { return "redis" }

// Start implements Target: nothing is kept on disk.
func (r *Redis) Start(ctx context.Context) (string, string, error) {
	return r.start(ctx, "--appendonly", "no")
}

// StartDurable implements Durable.
func (r *Redis) StartDurable(ctx context.Context) (string, string, error) {
	return r.start(ctx, redisDurable...)
}

// start runs redis-server on a free port with extra arguments.
func (r *Redis) start(ctx context.Context, extra ...string) (string, string, error) {
	srv, addr, v, err := startRedis(ctx, extra...)
	r.srv, r.addr = srv, addr
	if err != nil {
		return "", "", err
	}
	return r.addr, v + ", rueidis " + modVersion("github.com/redis/rueidis"), nil
}

// redisDurable are the arguments of a redis-server that keeps what it
// acknowledged: the append-only file, fsynced every second.
var redisDurable = []string{"--appendonly", "yes", "--appendfsync", "everysec"}

// startRedis runs redis-server on a free loopback port with extra
// arguments, in a temporary directory of its own, and returns it, its
// address and its version.
func startRedis(ctx context.Context, extra ...string) (*server, string, string, error) {
	bin, err := lookBin("redis-server")
	if err != nil {
		return nil, "", "", err
	}
	port, err := freePort()
	if err != nil {
		return nil, "", "", err
	}
	dir, err := os.MkdirTemp("", "whispeer-bench-redis-")
	if err != nil {
		return nil, "", "", err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--dir", dir, "--maxclients", "20000", "--daemonize", "no"}, extra...)
	srv, err := startServer(ctx, dir, addr, bin, args...)
	if err != nil {
		return nil, "", "", err
	}
	v := "(unknown)"
	for _, f := range strings.Fields(commandOutput(bin, "--version")) {
		if s, ok := strings.CutPrefix(f, "v="); ok {
			v = s
		}
	}
	return srv, addr, "redis-server " + v, nil
}

// Stop implements Target.
func (r *Redis) Stop() error {
	err := r.srv.stop()
	r.srv = nil
	return err
}

// PID implements Process.
func (r *Redis) PID() int { return r.srv.pid() }

// dial opens a rueidis client with buffers sized for many connections in
// one process (the defaults take 1 MiB per connection).
func (r *Redis) dial() (rueidis.Client, error) {
	return rueidis.NewClient(rueidis.ClientOption{
		InitAddress:         []string{r.addr},
		DisableCache:        true,
		DisableRetry:        true,
		ReadBufferEachConn:  64 << 10,
		WriteBufferEachConn: 64 << 10,
		RingScaleEachConn:   8,
	})
}

// Connect implements Target.
func (r *Redis) Connect(ctx context.Context) (Client, error) {
	cli, err := r.dial()
	if err != nil {
		return nil, err
	}
	return newRedisClient(cli), nil
}

// ConnectDurable implements Durable.
func (r *Redis) ConnectDurable(ctx context.Context) (AckPublisher, error) {
	cli, err := r.dial()
	if err != nil {
		return nil, err
	}
	return redisStream{cli}, nil
}

// redisStream appends to a stream, one XADD per publish; concurrent
// callers are pipelined by rueidis on one connection.
type redisStream struct{ cli rueidis.Client }

// PublishAck implements AckPublisher.
func (s redisStream) PublishAck(ctx context.Context, topic string, p []byte) error {
	cmd := s.cli.B().Xadd().Key(topic).Id("*").FieldValue().FieldValue("p", rueidis.BinaryString(p)).Build()
	return s.cli.Do(ctx, cmd).Error()
}

// Close implements AckPublisher.
func (s redisStream) Close() error {
	s.cli.Close()
	return nil
}

var (
	_ Target       = (*Redis)(nil)
	_ Durable      = (*Redis)(nil)
	_ Process      = (*Redis)(nil)
	_ AckPublisher = redisStream{}
)
