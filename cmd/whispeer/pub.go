package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/whispeer-io/whispeer/client"
)

func newPubCmd() *cobra.Command {
	var (
		cf      clientFlags
		qos     uint8
		lines   bool
		headers []string
	)
	cmd := &cobra.Command{
		Use:   "pub TOPIC [PAYLOAD]",
		Short: "Publish a message (the payload from the argument or standard input)",
		Long: `Publish one message to TOPIC over the native protocol. The payload is the
second argument or, without one, all of standard input; with --lines, each
line of standard input is a message of its own. With --qos 1 the command
waits for the server's acknowledgement. With --key-file the payload is
sealed end to end before it leaves the process.`,
		Example: `  whispeer pub --user admin --password password chat/lobby 'hello'
  echo '{"temp": 21.5}' | whispeer pub --qos 1 sensor/kitchen
  tail -f app.log | whispeer pub --lines logs/app
  whispeer pub --key-file keys.json secret/plans 'sealed end to end'`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			hdr, err := parseHeaders(headers)
			if err != nil {
				return err
			}
			opts := []client.PublishOption{client.WithQoS(client.QoS(qos))}
			if hdr != nil {
				opts = append(opts, client.WithHeaders(hdr))
			}
			ctx := cmd.Context()
			c, err := cf.dial(ctx, cmd)
			if err != nil {
				return err
			}
			defer c.Close()
			send := func(p []byte) error { return c.Publish(ctx, args[0], p, opts...) }
			switch {
			case len(args) == 2:
				err = send([]byte(args[1]))
			case lines:
				err = eachLine(cmd.InOrStdin(), send)
			default:
				var p []byte
				if p, err = io.ReadAll(cmd.InOrStdin()); err == nil {
					err = send(p)
				}
			}
			if err != nil {
				return err
			}
			return c.Flush(ctx)
		},
	}
	cf.register(cmd)
	cmd.Flags().Uint8Var(&qos, "qos", 0, "0: at most once; 1: at least once, waiting for the acknowledgement")
	cmd.Flags().BoolVar(&lines, "lines", false, "publish each line of standard input as a message")
	cmd.Flags().StringArrayVarP(&headers, "header", "H", nil, "a header as key=value (repeatable)")
	return cmd
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

func parseHeaders(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	h := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("header %q: want key=value", kv)
		}
		h[k] = v
	}
	return h, nil
}
