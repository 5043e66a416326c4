package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
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
	url, token       string
	config, envFile  string
	ca               string
	insecure         bool
	json, conns      bool
	watch            time.Duration
	pattern          string
	limit            int
	httpClientConfig *tls.Config // from ca or insecure
}

// report is what status shows: the JSON printed by --json.
type report struct {
	Status      admin.Status       `json:"status"`
	Topics      []admin.Topic      `json:"topics"`
	Truncated   bool               `json:"truncated"`
	Connections []admin.Connection `json:"connections,omitempty"`
	Nodes       []admin.Node       `json:"nodes,omitempty"` // a cluster's
	// MissingNodes are a cluster's nodes that did not answer the node asked
	// in time: the topics and connections leave theirs out.
	MissingNodes []string `json:"missing_nodes,omitempty"`
}

func newStatusCmd() *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a running server's status, topics and subscribers",
		Long: `Ask a running server's admin API for its status (version, uptime,
connections, topics, subscriptions, message rates) and its topics with
their subscribers, and print them as tables, or as JSON with --json.
A node of a cluster answers for the whole cluster: its nodes, with their
connections and subscriptions, the cluster's totals, the topics of every
node and, with --connections, every node's connections with their node;
a node that did not answer in time is named.
With --watch the report is refreshed at that interval until interrupted.

The admin API must be on: the server needs admin.token set. Pass the same
token with --token or the ` + envAdminToken + ` variable; --url (or
` + envAdminURL + `) is the server's HTTP address, or admin.listen's.

Without them, status reads the server's configuration as serve does
(--config, --env-file, WHISPEER_* variables, config/default.toml) and
takes admin.listen, or else server.host and server.port, and admin.token
from it. For a server with a self-signed certificate, --ca trusts the
certificates of a PEM file and --insecure skips verification.`,
		Example: `  WHISPEER_ADMIN_TOKEN=s3cret whispeer status
  whispeer status --config /etc/whispeer/whispeer.toml
  whispeer status --url http://broker.internal:8080 --token s3cret --json
  whispeer status --watch 2s --pattern 'sensor/#' --connections`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.resolve(cmd); err != nil {
				return err
			}
			return runStatus(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "url", "", "the server's HTTP address, or admin.listen's (default $"+envAdminURL+", else from the configuration, else "+defaultAdminURL+")")
	f.StringVar(&o.token, "token", "", "admin token (default $"+envAdminToken+", else admin.token of the configuration)")
	f.StringVar(&o.config, config.FlagConfig, "", "the server's TOML configuration file, to find the admin API and its token (default "+config.DefaultConfigFile+")")
	f.StringVar(&o.envFile, config.FlagEnvFile, "", "the server's file of WHISPEER_* variables (default "+config.DefaultEnvFile+")")
	f.StringVar(&o.ca, "ca", "", "PEM file of the certificates that sign an https:// server's")
	f.BoolVar(&o.insecure, "insecure", false, "do not verify an https:// server's certificate (unsafe: for tests only)")
	cmd.MarkFlagsMutuallyExclusive("ca", "insecure")
	f.BoolVar(&o.json, "json", false, "print JSON instead of tables (one document per refresh)")
	f.DurationVar(&o.watch, "watch", 0, "refresh at this interval, such as 2s, until interrupted")
	f.BoolVar(&o.conns, "connections", false, "list the client connections too")
	f.StringVar(&o.pattern, "pattern", "#", "show only the topics this pattern matches")
	f.IntVar(&o.limit, "limit", 50, "show at most this many topics")
	return cmd
}

// resolve fills in the URL and the token from the environment, then from
// the server's configuration when either is still missing, and sets up
// TLS for --ca and --insecure.
func (o *statusOptions) resolve(cmd *cobra.Command) error {
	if o.url == "" {
		o.url = os.Getenv(envAdminURL)
	}
	if o.token == "" {
		o.token = os.Getenv(envAdminToken)
	}
	if o.url == "" || o.token == "" || cmd.Flags().Changed(config.FlagConfig) {
		cfg, err := config.Load(config.Options{ConfigFile: o.config, EnvFile: o.envFile})
		if err != nil {
			return fmt.Errorf("find the admin API: %w", err)
		}
		if !cmd.Flags().Changed("url") && os.Getenv(envAdminURL) == "" {
			o.url = adminURL(cfg)
		}
		if o.token == "" {
			o.token = cfg.Admin.Token.Reveal()
		}
	}
	if o.ca == "" && !o.insecure {
		return nil
	}
	if !strings.HasPrefix(o.url, "https://") {
		return fmt.Errorf("--ca and --insecure are for https:// URLs, not %s", o.url)
	}
	var err error
	o.httpClientConfig, err = tlsConfig(o.ca, o.insecure, cmd.ErrOrStderr())
	return err
}

// adminURL returns where the server that cfg describes serves its admin
// API: admin.listen, or else server.host and server.port, with https
// when TLS is on. An unspecified host becomes the loopback address.
func adminURL(cfg *config.Config) string {
	if host, port, err := net.SplitHostPort(cfg.Admin.Listen); err == nil {
		return "http://" + net.JoinHostPort(dialHost(host), port)
	}
	scheme := "http"
	if cfg.TLS.Enabled() {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(dialHost(cfg.Server.Host), strconv.Itoa(cfg.Server.Port))
}

// dialHost returns the address to reach a server listening on host.
func dialHost(host string) string {
	switch host {
	case "", "0.0.0.0":
		return "127.0.0.1"
	case "::":
		return "::1"
	}
	return host
}

// runStatus prints the report once, or every o.watch until ctx is done.
func runStatus(ctx context.Context, out, errOut io.Writer, o statusOptions) error {
	if o.watch < 0 {
		return errors.New("--watch must be positive")
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	if o.httpClientConfig != nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = o.httpClientConfig
		hc.Transport = t
	}
	if o.url == "" {
		o.url = defaultAdminURL
	}
	c := &adminClient{base: strings.TrimSuffix(o.url, "/"), token: o.token, http: hc}
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
	r.missing(tl.MissingNodes)
	if r.Status.Cluster != nil {
		r.missing(r.Status.Cluster.MissingNodes)
	}
	var nl admin.NodeList
	// A server alone lists itself as "local"; an older one has no /api/nodes.
	if err := c.get(ctx, "/api/nodes", &nl); err == nil && (len(nl.Nodes) > 1 || len(nl.Nodes) == 1 && nl.Nodes[0].Name != "local") {
		r.Nodes = nl.Nodes
	}
	if o.conns {
		var cl admin.ConnectionList
		if err := c.get(ctx, "/api/connections", &cl); err != nil {
			return nil, err
		}
		r.Connections = cl.Connections
		r.missing(cl.MissingNodes)
	}
	return &r, nil
}

// missing adds nodes to the report's missing nodes.
func (r *report) missing(nodes []string) {
	for _, n := range nodes {
		if !slices.Contains(r.MissingNodes, n) {
			r.MissingNodes = append(r.MissingNodes, n)
		}
	}
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
