package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/whispeer-io/whispeer/server/admin"
	"github.com/whispeer-io/whispeer/server/config"
	"golang.org/x/term"
)

// Environment variables that status reads when its flags are not given.
var (
	envAdminToken = config.EnvVar("admin.token") // the server reads the same one
	envAdminURL   = config.EnvPrefix + "ADMIN_URL"
)

// defaultAdminURL is where status looks for the admin API by default: the
// server's default HTTP port.
const defaultAdminURL = "http://127.0.0.1:8080"

// statusOptions are status's flags.
type statusOptions struct {
	url, token  string
	json, conns bool
	watch       time.Duration
	pattern     string
	limit       int
}

// report is what status shows: the JSON printed by --json.
type report struct {
	Status      admin.Status       `json:"status"`
	Topics      []admin.Topic      `json:"topics"`
	Truncated   bool               `json:"truncated"`
	Connections []admin.Connection `json:"connections,omitempty"`
}

func newStatusCmd() *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a running server's status, topics and subscribers",
		Long: `Ask a running server's admin API for its status (version, uptime,
connections, topics, subscriptions, message rates) and its topics with
their subscribers, and print them as tables, or as JSON with --json.
With --watch the report is refreshed at that interval until interrupted.

The admin API must be on: the server needs admin.token set. Pass the same
token with --token or the ` + envAdminToken + ` variable; --url (or
` + envAdminURL + `) is the server's HTTP address, or admin.listen's.`,
		Example: `  WHISPEER_ADMIN_TOKEN=s3cret whispeer status
  whispeer status --url http://broker.internal:8080 --token s3cret --json
  whispeer status --watch 2s --pattern 'sensor/#' --connections`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.token == "" {
				o.token = os.Getenv(envAdminToken)
			}
			return runStatus(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "url", envOr(envAdminURL, defaultAdminURL), "the server's HTTP address (or admin.listen's)")
	f.StringVar(&o.token, "token", "", "admin token (default $"+envAdminToken+")")
	f.BoolVar(&o.json, "json", false, "print JSON instead of tables (one document per refresh)")
	f.DurationVar(&o.watch, "watch", 0, "refresh at this interval, such as 2s, until interrupted")
	f.BoolVar(&o.conns, "connections", false, "list the client connections too")
	f.StringVar(&o.pattern, "pattern", "#", "show only the topics this pattern matches")
	f.IntVar(&o.limit, "limit", 50, "show at most this many topics")
	return cmd
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// runStatus prints the report once, or every o.watch until ctx is done.
func runStatus(ctx context.Context, out, errOut io.Writer, o statusOptions) error {
	if o.watch < 0 {
		return errors.New("--watch must be positive")
	}
	c := &adminClient{base: strings.TrimSuffix(o.url, "/"), token: o.token, http: &http.Client{Timeout: 10 * time.Second}}
	if o.watch == 0 {
		r, err := c.report(ctx, o)
		if err != nil {
			return err
		}
		return printReport(out, r, o.json, true)
	}
	clearScreen := !o.json && isTerminal(out)
	t := time.NewTicker(o.watch)
	defer t.Stop()
	for {
		r, err := c.report(ctx, o)
		if ctx.Err() != nil {
			return nil // interrupted
		}
		if clearScreen {
			fmt.Fprint(out, "\033[H\033[2J")
		}
		if err != nil {
			fmt.Fprintln(errOut, "whispeer:", err)
		} else if err := printReport(out, r, o.json, false); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// adminClient calls a server's admin API.
type adminClient struct {
	base, token string
	http        *http.Client
}

// report gathers the status, the topics and, when asked, the connections.
func (c *adminClient) report(ctx context.Context, o statusOptions) (*report, error) {
	var r report
	if err := c.get(ctx, "/api/status", &r.Status); err != nil {
		return nil, err
	}
	q := url.Values{"pattern": {o.pattern}, "limit": {strconv.Itoa(o.limit)}}
	var tl admin.TopicList
	if err := c.get(ctx, "/api/topics?"+q.Encode(), &tl); err != nil {
		return nil, err
	}
	r.Topics, r.Truncated = tl.Topics, tl.Truncated
	if o.conns {
		var cl admin.ConnectionList
		if err := c.get(ctx, "/api/connections", &cl); err != nil {
			return nil, err
		}
		r.Connections = cl.Connections
	}
	return &r, nil
}

// get decodes the JSON that a GET of path answers into v.
func (c *adminClient) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return apiError(resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("admin API: %s: %w", path, err)
	}
	return nil
}

// apiError explains an admin API error response.
func apiError(code int, body []byte) error {
	var e struct{ Error string }
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(body))
	}
	msg := fmt.Sprintf("admin API: %d %s: %s", code, http.StatusText(code), e.Error)
	if code == http.StatusUnauthorized || code == http.StatusForbidden {
		msg += " (pass the server's admin.token with --token or " + envAdminToken + ")"
	}
	return errors.New(msg)
}
