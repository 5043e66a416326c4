package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

func newSubCmd() *cobra.Command {
	var (
		cf       clientFlags
		asJSON   bool
		count    int
		last     uint32
		maxQoS   uint8
		verbose  bool
		durable  bool
		clientID string
	)
	cmd := &cobra.Command{
		Use:   "sub PATTERN",
		Short: "Print the messages published to the topics matching a pattern",
		Long: `Subscribe to PATTERN over the native protocol and print each message as
"topic payload" (with --verbose also its sequence number, id and QoS), or
as a JSON line with --json. QoS 1 messages are acknowledged once printed;
with --qos 2, QoS 2 messages are printed once each, however often the
server sends them, and acknowledged in two steps (PUBREC, PUBCOMP);
with --durable too (and a --client-id), the server keeps the subscription
while the command is not running, and the next run with the same client
id and pattern first prints what was published in between.
With --key-file, sealed payloads are opened; one that does not open is
reported on standard error and skipped. Runs until interrupted, or until
--count messages have arrived. A subscription the server refuses, or a
connection it ends, ends the command with the server's reason and a
non-zero exit status.`,
		Example: `  whispeer sub --user admin --password password 'chat/#'
  whispeer sub --json --count 10 'sensor/+/temperature'
  whispeer sub --last 5 chat/lobby
  whispeer sub --qos 2 --durable --client-id billing orders
  whispeer sub --key-file keys.json 'secret/#'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			if durable && (maxQoS != 2 || clientID == "" || last > 0) {
				return errors.New("--durable needs --qos 2 and a --client-id, and no --last")
			}
			w := newWatch(cmd.Context(), cmd.ErrOrStderr(), wire.TypeSubscribe)
			defer w.cancel(nil)
			dopts := w.options()
			if clientID != "" {
				dopts = append(dopts, client.WithClientID(clientID))
			}
			c, err := cf.dial(w.ctx, cmd, dopts...)
			if err != nil {
				return err
			}
			defer func() {
				w.close(c, err != nil)
				err = authHint(err)
			}()
			p := &printer{w: cmd.OutOrStdout(), json: asJSON, verbose: verbose, left: count, done: func() { w.cancel(nil) }}
			opts := []client.SubscribeOption{client.WithMaxQoS(client.QoS(maxQoS))}
			if last > 0 {
				opts = append(opts, client.WithLast(last))
			}
			if durable {
				opts = append(opts, client.WithDurable())
			}
			if err := subscribe(w, c, args[0], p.print, opts); err != nil {
				return err
			}
			<-w.ctx.Done() // --count reached, interrupted, or the server's error
			return w.err()
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each message as a JSON line")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print sequence numbers, ids and QoS too")
	cmd.Flags().IntVarP(&count, "count", "n", 0, "exit after this many messages (0: never)")
	cmd.Flags().Uint32Var(&last, "last", 0, "first replay up to this many recent messages of each topic")
	cmd.Flags().Uint8Var(&maxQoS, "qos", 1, "the highest QoS to receive messages with: 0, 1 or 2 (exactly once)")
	cmd.Flags().BoolVar(&durable, "durable", false, "with --qos 2 and --client-id: the server keeps the subscription between runs")
	cmd.Flags().StringVar(&clientID, "client-id", "", "the client's stable id, under which the server keeps a durable subscription")
	return cmd
}

// subscribe subscribes c to pattern, waiting for the server's answer
// until w's context ends: an interrupt, or the server's refusal of the
// SUB as an ERROR (before authenticating, say) rather than a SUBACK.
func subscribe(w *watch, c *client.Client, pattern string, h client.Handler, opts []client.SubscribeOption) error {
	done := make(chan error, 1)
	go func() {
		_, err := c.Subscribe(pattern, h, opts...)
		done <- err
	}()
	select {
	case err := <-done:
		return w.result(err)
	case <-w.ctx.Done():
		w.close(c, true) // Subscribe returns at once
		<-done
		return w.err()
	}
}

// printer writes deliveries, one per line.
type printer struct {
	mu      sync.Mutex
	w       io.Writer
	json    bool
	verbose bool
	left    int // messages still to print; 0 means no limit
	done    func()
	n       int
}

// jsonMessage is the --json form of a message.
type jsonMessage struct {
	Topic    string            `json:"topic"`
	ID       string            `json:"id"`
	Seq      uint64            `json:"seq"`
	QoS      uint8             `json:"qos"`
	Time     time.Time         `json:"time"`
	Headers  map[string]string `json:"headers,omitempty"` // a repeated key's last value
	Payload  string            `json:"payload"`
	Encoding string            `json:"encoding,omitempty"` // "base64" when Payload is not UTF-8 text
	Replayed bool              `json:"replayed,omitempty"`
}

func (p *printer) print(_ context.Context, m *client.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.left > 0 && p.n >= p.left {
		return nil
	}
	var err error
	switch {
	case p.json:
		err = p.printJSON(m)
	case p.verbose:
		_, err = fmt.Fprintf(p.w, "%s seq=%d id=%s qos=%d %s\n", m.Topic, m.Seq, m.ID, m.QoS, m.Payload)
	default:
		_, err = fmt.Fprintf(p.w, "%s %s\n", m.Topic, m.Payload)
	}
	if err != nil {
		return err
	}
	if p.n++; p.left > 0 && p.n == p.left {
		p.done()
	}
	return nil
}

func (p *printer) printJSON(m *client.Message) error {
	jm := jsonMessage{Topic: m.Topic, ID: m.ID, Seq: m.Seq, QoS: uint8(m.QoS), Time: m.Time,
		Headers: m.Headers.Map(), Replayed: m.Replayed}
	if utf8.Valid(m.Payload) {
		jm.Payload = string(m.Payload)
	} else {
		b, _ := json.Marshal(m.Payload) // []byte marshals as base64
		jm.Payload, jm.Encoding = string(b[1:len(b)-1]), "base64"
	}
	b, err := json.Marshal(jm)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(p.w, "%s\n", b)
	return err
}
