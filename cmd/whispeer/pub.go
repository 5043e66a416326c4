package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

func newPubCmd() *cobra.Command {
	var (
		cf       clientFlags
		qos      uint8
		id       string
		clientID string
		lines    bool
		quiet    bool
		headers  []string
	)
	cmd := &cobra.Command{
		Use:   "pub TOPIC [PAYLOAD]",
		Short: "Publish a message (the payload from the argument or standard input)",
		Long: `Publish one message to TOPIC over the native protocol. The payload is the
second argument or, without one, all of standard input; with --lines, each
line of standard input is a message of its own. With --qos 1 the command
waits for the server's acknowledgement of each message; with --qos 2, for
the exactly-once exchange to complete (PUBREC, then PUBCOMP): run again
with the same --client-id and --id, a message the server already has is
acknowledged and not delivered twice. At QoS 0 it waits until the server
has handled the messages. With --key-file the payload is sealed
end to end before it leaves the process.

On success it prints "Published N bytes to TOPIC" on standard error
(--quiet: nothing). A message the server refuses ends the command with the
server's reason and a non-zero exit status; so does a server that does not
answer within --timeout.`,
		Example: `  whispeer pub --user admin --password password chat/lobby 'hello'
  echo '{"temp": 21.5}' | whispeer pub --qos 1 sensor/kitchen
  whispeer pub --qos 2 --client-id shop-1 --id order-9 orders '{"id": 9}'
  tail -f app.log | whispeer pub --lines logs/app
  whispeer pub --key-file keys.json secret/plans 'sealed end to end'
  whispeer pub --url tls://broker:4250 --ca ca.pem alerts/disk 'full'`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			hdr, err := parseHeaders(headers)
			if err != nil {
				return err
			}
			if qos > 2 {
				return fmt.Errorf("--qos %d: want 0, 1 or 2", qos)
			}
			if id != "" && lines {
				return errors.New("--id names one message: it excludes --lines")
			}
			opts := []client.PublishOption{client.WithQoS(client.QoS(qos))}
			if id != "" {
				opts = append(opts, client.WithID(id))
			}
			if hdr.Len() > 0 {
				opts = append(opts, client.WithEncodedHeaders(hdr))
			}
			w := newWatch(cmd.Context(), cmd.ErrOrStderr(), wire.TypePublish)
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
			p := &publisher{c: c, w: w, topic: args[0], opts: opts, timeout: cf.timeout}
			switch {
			case len(args) == 2:
				err = p.send([]byte(args[1]))
			case lines:
				err = untilDone(w, func() error { return eachLine(cmd.InOrStdin(), p.send) })
			default:
				err = untilDone(w, func() error {
					b, err := io.ReadAll(cmd.InOrStdin())
					if err != nil {
						return err
					}
					return p.send(b)
				})
			}
			if err == nil {
				err = p.flush()
			}
			if err != nil {
				return err
			}
			if !quiet {
				p.report(cmd.ErrOrStderr(), lines)
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().Uint8Var(&qos, "qos", 0, "0: at most once; 1: at least once, waiting for the acknowledgement; 2: exactly once, waiting for its completion")
	cmd.Flags().StringVar(&id, "id", "", "the message's id (default: a generated one)")
	cmd.Flags().StringVar(&clientID, "client-id", "", "the client's stable id, under which the server recognises a QoS 2 message sent again")
	cmd.Flags().BoolVar(&lines, "lines", false, "publish each line of standard input as a message")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print nothing on success")
	cmd.Flags().StringArrayVarP(&headers, "header", "H", nil, "a header as key=value (repeatable: sent in order, a repeated key kept)")
	return cmd
}

// publisher publishes the messages of one pub command.
type publisher struct {
	c        *client.Client
	w        *watch
	topic    string
	opts     []client.PublishOption
	timeout  time.Duration
	messages int
	bytes    int
}

// send publishes one message. At QoS 1 and 2 it waits for the acknowledgement,
// up to the timeout; a refusal that the server sends as an ERROR (before
// authenticating, say) ends the wait with the server's reason.
func (p *publisher) send(b []byte) error {
	if err := p.w.err(); err != nil {
		return err // an earlier QoS 0 message was refused
	}
	ctx, cancel := context.WithTimeout(p.w.ctx, p.timeout)
	defer cancel()
	err := p.c.Publish(ctx, p.topic, b, p.opts...)
	if errors.Is(err, context.DeadlineExceeded) && p.w.ctx.Err() == nil {
		return fmt.Errorf("no acknowledgement from the server within %s", p.timeout)
	}
	if err = p.w.result(err); err != nil {
		return err
	}
	p.messages++
	p.bytes += len(b)
	return nil
}

// flush waits, up to the timeout, until the server has handled every
// message sent: a QoS 0 message it refused is reported before the answer
// to the flush, so flush returns the refusal.
func (p *publisher) flush() error {
	ctx, cancel := context.WithTimeout(p.w.ctx, p.timeout)
	defer cancel()
	err := p.c.Flush(ctx)
	if errors.Is(err, context.DeadlineExceeded) && p.w.ctx.Err() == nil {
		return fmt.Errorf("no answer from the server within %s", p.timeout)
	}
	if err = p.w.result(err); err != nil {
		return err
	}
	return p.w.err()
}

// report prints what was published, as nats pub does.
func (p *publisher) report(w io.Writer, lines bool) {
	if lines {
		fmt.Fprintf(w, "Published %d messages (%d bytes) to %q\n", p.messages, p.bytes, p.topic)
		return
	}
	fmt.Fprintf(w, "Published %d bytes to %q\n", p.bytes, p.topic)
}

// untilDone runs f, which reads standard input, and returns its error, or
// returns as soon as w's context ends: a read of a terminal or a pipe does
// not end with an interrupt, and f is left to end with the process.
func untilDone(w *watch, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-w.ctx.Done():
		return w.result(w.ctx.Err())
	}
}

func eachLine(r io.Reader, send func([]byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if err := send(sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}

// parseHeaders returns the headers of the key=value flags kvs, in their
// order, a repeated key kept.
func parseHeaders(kvs []string) (client.Headers, error) {
	pairs := make([]string, 0, 2*len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return client.Headers{}, fmt.Errorf("header %q: want key=value", kv)
		}
		pairs = append(pairs, k, v)
	}
	h, err := whispeer.NewHeaders(pairs...)
	if err != nil {
		return client.Headers{}, fmt.Errorf("headers: %w", err)
	}
	return h, nil
}
