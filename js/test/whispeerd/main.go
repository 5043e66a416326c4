// Command whispeerd runs a real whispeer server for the JavaScript client's
// integration tests, on a free loopback port, and lets the test drive it
// through its standard input, one command a line:
//
//	cut                     close every client connection, as an administrator would
//	restart                 shut the server down and start it again on the same port and store
//	wipe                    restart it with an empty store, so that every topic gets a new epoch
//	pub TOPIC QOS BASE64    publish with a Go client (package client)
//	sub TOPIC [QOS]         subscribe with a Go client, at QOS at most (default 1);
//	                        deliveries are printed as events
//	keys FILE               Go clients connected from now on seal and open with this key file
//	handled BASE64          how many payloads the server received contain these bytes:
//	                        {"event":"ok","matches":…,"payloads":…,"dropped":…}
//
// WHISPEERD_STORE sets store.kind (default file); WHISPEERD_LOG the log
// level (default error).
//
// It prints one JSON object a line on standard output: first
// {"event":"ready","url":…,"tokens":{user:token}}, then {"event":"ok"} or
// {"event":"error","error":…} for each command, and {"event":"msg",…} for
// the Go subscriptions' deliveries. The server runs one plugin of its own, a
// publish hook that keeps a copy of every payload it receives (the newest
// 100,000, up to 64 MiB), across restarts, for the handled command. It exits when its standard input ends,
// so that it never outlives the test that started it.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/server"
	"github.com/whispeer-io/whispeer/server/auth"
	"github.com/whispeer-io/whispeer/server/config"
)

// users are the accounts of the test server: admin may do anything, alice
// may publish only to chat/alice and subscribe only under chat/.
var users = []config.User{
	{Username: "admin", Password: "password", Publish: []string{"#"}, Subscribe: []string{"#"}},
	{Username: "alice", Password: "alice-pw", Publish: []string{"chat/alice"}, Subscribe: []string{"chat/#"}},
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "whispeerd:", err)
		os.Exit(1)
	}
}

// daemon is the server under test and what the commands act on.
type daemon struct {
	cfg  *config.Config
	port int
	srv  *server.Server
	out  *output
	log  *slog.Logger
	rec  *recorder

	mu      sync.Mutex
	clients []*client.Client
	keys    *envelope.Keyring // for the Go clients, when set
}

// output writes JSON lines, one at a time.
type output struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (o *output) emit(v map[string]any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.enc.Encode(v)
}

func run(in io.Reader, out io.Writer) error {
	dir, err := os.MkdirTemp("", "whispeerd-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	secret := make([]byte, 32)
	rand.Read(secret)
	cfg := config.Default()
	cfg.Server.TCPPort = 0
	cfg.Server.JWTSecret = config.Secret(hex.EncodeToString(secret))
	cfg.Server.PingInterval = time.Second
	cfg.Server.MaxPublishRate = 0
	cfg.Auth.Users = users
	cfg.QoS.AckTimeout = 500 * time.Millisecond
	cfg.Replay.Size = 100
	cfg.Store.Kind = config.StoreFile
	cfg.Store.Path = dir + "/store"
	if kind := os.Getenv("WHISPEERD_STORE"); kind != "" {
		cfg.Store.Kind = kind // "none" for the benchmarks, as nats-server keeps nothing either
	}
	cfg.Plugins.Enabled = nil
	cfg.Server.AllowedOrigins = []string{"http://127.0.0.1:*"} // the browser tests' pages
	if level := os.Getenv("WHISPEERD_LOG"); level != "" {
		cfg.Log.Level = level
	} else {
		cfg.Log.Level = "error"
	}
	d := &daemon{cfg: cfg, out: &output{enc: json.NewEncoder(out)}, rec: &recorder{}}
	d.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.Log.SlogLevel()}))
	if err := d.start(); err != nil {
		return err
	}
	defer d.stop()
	tokens := map[string]string{}
	for _, u := range users {
		if tokens[u.Username], err = mintToken(cfg, u.Username); err != nil {
			return err
		}
	}
	d.out.emit(map[string]any{"event": "ready", "url": fmt.Sprintf("ws://127.0.0.1:%d/ws", d.port), "tokens": tokens})
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		reply, err := d.command(strings.Fields(sc.Text()))
		if err != nil {
			d.out.emit(map[string]any{"event": "error", "error": err.Error()})
			continue
		}
		if reply == nil {
			reply = map[string]any{}
		}
		reply["event"] = "ok"
		d.out.emit(reply)
	}
	return nil
}

// start starts the server on d.port, or on a free port the first time.
func (d *daemon) start() error {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(d.port)))
	if err != nil {
		return err
	}
	d.port = ln.Addr().(*net.TCPAddr).Port
	d.cfg.Server.Port = d.port
	srv, err := server.New(d.cfg, server.WithLogger(d.log), server.WithPlugin(d.rec))
	if err != nil {
		ln.Close()
		return err
	}
	d.srv = srv
	go srv.Serve(ln)
	return nil
}

func (d *daemon) stop() {
	d.mu.Lock()
	for _, c := range d.clients {
		c.Close()
	}
	d.clients = nil
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d.srv.Shutdown(ctx)
}

// command runs one command; a non-nil reply adds fields to the "ok" event.
func (d *daemon) command(args []string) (map[string]any, error) {
	if len(args) == 0 {
		return nil, errors.New("empty command")
	}
	switch args[0] {
	case "handled":
		if len(args) != 2 {
			return nil, errors.New("usage: handled BASE64")
		}
		needle, err := base64.StdEncoding.DecodeString(args[1])
		if err != nil || len(needle) == 0 {
			return nil, fmt.Errorf("handled: want non-empty base64: %v", err)
		}
		return d.rec.search(needle), nil
	case "pub":
		return nil, d.publish(args[1:])
	case "sub":
		return nil, d.subscribe(args[1:])
	}
	return nil, d.control(args)
}

// control runs the commands that act on the server and the Go clients' keys.
func (d *daemon) control(args []string) error {
	switch args[0] {
	case "cut":
		for _, c := range d.srv.Connections() {
			d.srv.Disconnect(c.ID)
		}
		return nil
	case "restart", "wipe":
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := d.srv.Shutdown(ctx); err != nil {
			return err
		}
		if args[0] == "wipe" {
			if err := os.RemoveAll(d.cfg.Store.Path); err != nil {
				return err
			}
		}
		return d.start()
	case "keys":
		if len(args) != 2 {
			return errors.New("usage: keys FILE")
		}
		kr, err := envelope.LoadKeyFile(args[1])
		if err != nil {
			return err
		}
		d.mu.Lock()
		d.keys = kr
		d.mu.Unlock()
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// goClient connects a Go client as admin.
func (d *daemon) goClient() (*client.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	opts := []client.Option{client.WithCredentials("admin", "password"), client.WithErrorHandler(func(err error) {
		d.out.emit(map[string]any{"event": "goerror", "error": err.Error()})
	})}
	d.mu.Lock()
	if d.keys != nil {
		opts = append(opts, client.WithKeyring(d.keys))
	}
	d.mu.Unlock()
	c, err := client.Dial(ctx, fmt.Sprintf("ws://127.0.0.1:%d/ws", d.port), opts...)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.clients = append(d.clients, c)
	d.mu.Unlock()
	return c, nil
}

func (d *daemon) publish(args []string) error {
	if len(args) != 3 {
		return errors.New("usage: pub TOPIC QOS BASE64")
	}
	qos, err := strconv.Atoi(args[1])
	if err != nil {
		return err
	}
	payload, err := base64.StdEncoding.DecodeString(args[2])
	if err != nil {
		return err
	}
	c, err := d.goClient()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Publish(ctx, args[0], payload, client.WithQoS(client.QoS(qos)),
		client.WithHeaders(map[string]string{"from": "go"}))
}

func (d *daemon) subscribe(args []string) error {
	if len(args) != 1 && len(args) != 2 {
		return errors.New("usage: sub TOPIC [QOS]")
	}
	qos := 1
	if len(args) == 2 {
		var err error
		if qos, err = strconv.Atoi(args[1]); err != nil {
			return err
		}
	}
	c, err := d.goClient()
	if err != nil {
		return err
	}
	_, err = c.Subscribe(args[0], func(_ context.Context, m *client.Message) error {
		d.out.emit(map[string]any{"event": "msg", "topic": m.Topic, "id": m.ID, "qos": int(m.QoS),
			"payload": base64.StdEncoding.EncodeToString(m.Payload), "headers": m.Headers})
		return nil
	}, client.WithMaxQoS(client.QoS(qos)))
	return err
}

// mintToken issues a token for user as `whispeer token` does.
func mintToken(cfg *config.Config, user string) (string, error) {
	us, err := auth.NewUsers(cfg.Auth.Users)
	if err != nil {
		return "", err
	}
	iss, err := auth.NewIssuer([]byte(cfg.Server.JWTSecret.Reveal()), cfg.Auth.TokenTTL, auth.WithPasswordStamps(us.Stamp))
	if err != nil {
		return "", err
	}
	return iss.Issue(user)
}
