package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/spf13/cobra"
	"github.com/whispeer-io/whispeer/server"
	"github.com/whispeer-io/whispeer/server/config"
)

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server: PopSub JSON and native over WebSocket, native over TCP",
		Long: `Run the server: WebSocket (server.port) for PopSub JSON and native
clients, and TCP (server.tcp_port, unless 0) for native clients, both with
TLS when tls.cert_file and tls.key_file are set. Settings come from flags,
then WHISPEER_* environment variables, then a .env file, then --config
(default config/default.toml), then built-in defaults; see
docs/configuration.md. The [runtime] section tunes the Go garbage collector
of this process unless GOGC or GOMEMLIMIT is set. SIGINT or SIGTERM shuts
the server down gracefully.`,
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
		log := newLogger(cfg.Log, cmd.ErrOrStderr())
		// The collector is the process's: tuned here, never by the server
		// package, which may be embedded in a program with its own settings.
		if err := tuneGC(cfg.Runtime, os.LookupEnv, log); err != nil {
			return err
		}
		return serve(cmd.Context(), cfg, cmd.OutOrStdout(), log)
	}
	return cmd
}

// serve runs a server for cfg until ctx is done, then shuts it down. It
// prints the listening lines on out, the WebSocket one first, once clients
// can connect.
func serve(ctx context.Context, cfg *config.Config, out io.Writer, log *slog.Logger) error {
	log.Debug("whispeer: configuration", "config", cfg)
	srv, err := server.New(cfg, server.WithLogger(log))
	if err != nil {
		return err
	}
	lns, err := listen(srv, cfg)
	if err != nil {
		return errors.Join(err, srv.Shutdown(context.Background()))
	}
	served := make(chan error, 3)
	serving := lns.serve(srv, served, out)
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

// listeners are what serve listens on: WebSocket always, native TCP unless
// server.tcp_port is 0, the admin API when admin.listen is set.
type listeners struct{ ws, tcp, admin net.Listener }

// listen opens the listeners cfg asks for, or none.
func listen(srv *server.Server, cfg *config.Config) (listeners, error) {
	var l listeners
	var err error
	if l.ws, err = srv.Listen(); err != nil {
		return l, err
	}
	if cfg.Server.TCPPort != 0 {
		if l.tcp, err = srv.ListenTCP(); err != nil {
			l.close()
			return l, err
		}
	}
	if l.admin, err = srv.ListenAdmin(); err != nil { // nil unless admin.listen is set
		l.close()
		return l, err
	}
	return l, nil
}

// serve serves each listener in a goroutine that reports to served, prints
// their lines, and returns how many it serves.
func (l listeners) serve(srv *server.Server, served chan<- error, out io.Writer) int {
	go func() { served <- srv.Serve(l.ws) }()
	fmt.Fprintf(out, "WebSocket server listening on %s\n", srv.URL(l.ws))
	n := 1
	if l.tcp != nil {
		go func() { served <- srv.ServeTCP(l.tcp) }()
		fmt.Fprintf(out, "Native TCP listening on %s\n", srv.TCPURL(l.tcp))
		n++
	}
	if l.admin != nil {
		go func() { served <- srv.ServeAdmin(l.admin) }()
		fmt.Fprintf(out, "admin API listening on http://%s\n", l.admin.Addr())
		n++
	}
	return n
}

// close closes the listeners opened.
func (l listeners) close() {
	for _, ln := range []net.Listener{l.ws, l.tcp, l.admin} {
		if ln != nil {
			ln.Close()
		}
	}
}

// newLogger returns the logger that cfg describes, writing to w.
func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.SlogLevel()}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
