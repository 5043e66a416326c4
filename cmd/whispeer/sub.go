package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/whispeer-io/whispeer/client"
)

func newSubCmd() *cobra.Command {
	var (
		cf      clientFlags
		asJSON  bool
		count   int
		last    uint32
		maxQoS  uint8
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "sub PATTERN",
		Short: "Print the messages published to the topics matching a pattern",
		Long: `Subscribe to PATTERN over the native protocol and print each message as
"topic payload" (with --verbose also its sequence number, id and QoS), or
as a JSON line with --json. QoS 1 messages are acknowledged once printed.
With --key-file, sealed payloads are opened; one that does not open is
reported on standard error and skipped. Runs until interrupted, or until
--count messages have arrived.`,
		Example: `  whispeer sub --user admin --password password 'chat/#'
  whispeer sub --json --count 10 'sensor/+/temperature'
  whispeer sub --last 5 chat/lobby
  whispeer sub --key-file keys.json 'secret/#'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			c, err := cf.dial(ctx, cmd)
			if err != nil {
				return err
			}
			defer c.Close()
			p := &printer{w: cmd.OutOrStdout(), json: asJSON, verbose: verbose, left: count, done: cancel}
			opts := []client.SubscribeOption{client.WithMaxQoS(client.QoS(maxQoS))}
			if last > 0 {
				opts = append(opts, client.WithLast(last))
			}
			if _, err := c.Subscribe(args[0], p.print, opts...); err != nil {
				return err
			}
			<-ctx.Done() // --count reached, or interrupted
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each message as a JSON line")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print sequence numbers, ids and QoS too")
	cmd.Flags().IntVarP(&count, "count", "n", 0, "exit after this many messages (0: never)")
	cmd.Flags().Uint32Var(&last, "last", 0, "first replay up to this many recent messages of each topic")
	cmd.Flags().Uint8Var(&maxQoS, "qos", 1, "the highest QoS to receive messages with")
	return cmd
}

// printer writes deliveries, one per line.
type printer struct {
	mu      sync.Mutex
	w       io.Writer
	json    bool
	verbose bool
	left    int // messages still to print; 0 means no limit
	done    context.CancelFunc
	n       int
}

// jsonMessage is the --json form of a message.
type jsonMessage struct {
	Topic    string            `json:"topic"`
	ID       string            `json:"id"`
	Seq      uint64            `json:"seq"`
	QoS      uint8             `json:"qos"`
	Time     time.Time         `json:"time"`
	Headers  map[string]string `json:"headers,omitempty"`
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
		Headers: m.Headers, Replayed: m.Replayed}
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
