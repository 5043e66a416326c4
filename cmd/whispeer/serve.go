package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/whispeer-io/whispeer/server"
	"github.com/whispeer-io/whispeer/server/config"
)

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the WebSocket server (PopSub JSON protocol)",
		Long: `Run the WebSocket server. Settings come from flags, then WHISPEER_*
environment variables, then a .env file, then --config (default
config/default.toml), then built-in defaults; see docs/configuration.md.
SIGINT or SIGTERM shuts the server down gracefully.`,
		Example: `  whispeer serve
  whispeer serve --config /etc/whispeer/whispeer.toml
  WHISPEER_SERVER_JWT_SECRET=$(openssl rand -base64 48) whispeer serve --server.host=0.0.0.0
  whispeer serve --plugins.enabled=logging,metrics --log.level=debug`,
		Args: cobra.NoArgs,
	}
	config.RegisterFlags(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := config.Load(config.Options{Flags: cmd.Flags()})
		if err != nil {
			return err
		}
		return serve(cmd.Context(), cfg, cmd.OutOrStdout(), newLogger(cfg.Log, cmd.ErrOrStderr()))
	}
	return cmd
}

// serve runs a server for cfg until ctx is done, then shuts it down. It
// prints the listening line on out once clients can connect.
func serve(ctx context.Context, cfg *config.Config, out io.Writer, log *slog.Logger) error {
	log.Debug("whispeer: configuration", "config", cfg)
	srv, err := server.New(cfg, server.WithLogger(log))
	if err != nil {
		return err
	}
	ln, err := srv.Listen()
	if err != nil {
		return errors.Join(err, srv.Shutdown(context.Background()))
	}
	aln, err := srv.ListenAdmin() // nil unless admin.listen is set
	if err != nil {
		ln.Close()
		return errors.Join(err, srv.Shutdown(context.Background()))
	}
	served, serving := make(chan error, 2), 1
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(out, "WebSocket server listening on %s\n", srv.URL(ln))
	if aln != nil {
		go func() { served <- srv.ServeAdmin(aln) }()
		fmt.Fprintf(out, "admin API listening on http://%s\n", aln.Addr())
		serving++
	}
	select {
	case err := <-served:
		serving--
		err = errors.Join(err, srv.Shutdown(context.Background()))
		for range serving {
			err = errors.Join(err, <-served)
		}
		return err
	case <-ctx.Done():
	}
	log.Info("whispeer: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), server.DefaultShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	for range serving {
		err = errors.Join(err, <-served)
	}
	if err != nil {
		return err
	}
	log.Info("whispeer: stopped")
	return nil
}

// newLogger returns the logger that cfg describes, writing to w.
func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.SlogLevel()}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
