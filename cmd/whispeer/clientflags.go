package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/envelope"
)

// Environment variables the client commands read when a flag is not given.
const (
	envURL      = "WHISPEER_URL"
	envUser     = "WHISPEER_USER"
	envPassword = "WHISPEER_PASSWORD"
	envToken    = "WHISPEER_TOKEN"
	envCA       = "WHISPEER_CA"
)

// defaultTimeout bounds each wait for the server in pub and sub.
const defaultTimeout = 10 * time.Second

// clientFlags are the connection flags of pub, sub and bench.
type clientFlags struct {
	url, user, password, token, keyFile, ca string
	insecure                                bool
	timeout                                 time.Duration
}

func (f *clientFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.url, "url", "tcp://127.0.0.1:4250", "server URL: tcp://, tls://, ws:// or wss:// (env "+envURL+")")
	fs.StringVar(&f.user, "user", "", "user name to log in with (env "+envUser+")")
	fs.StringVar(&f.password, "password", "", "password to log in with (env "+envPassword+"; prefer it to the flag)")
	fs.StringVar(&f.token, "token", "", "a JWT to authenticate with instead of a password (env "+envToken+")")
	fs.StringVar(&f.keyFile, "key-file", "", "key file for end-to-end encryption, written by `whispeer keygen`")
	fs.StringVar(&f.ca, "ca", "", "PEM file of the certificates that sign a tls:// or wss:// server's, such as a self-signed one (env "+envCA+")")
	fs.BoolVar(&f.insecure, "insecure", false, "do not verify a tls:// or wss:// server's certificate (unsafe: for tests only)")
	fs.DurationVar(&f.timeout, "timeout", defaultTimeout, "how long to wait for the server: to connect, to acknowledge, to answer")
	cmd.MarkFlagsMutuallyExclusive("ca", "insecure")
}

// options returns the options to dial with, from the flags and the
// environment, and the server URL. Warnings, such as the one for
// --insecure, go to warn.
func (f *clientFlags) options(cmd *cobra.Command, name string, warn io.Writer) ([]client.Option, string, error) {
	url := f.value(cmd, "url", f.url, envURL)
	if f.timeout <= 0 {
		return nil, "", errors.New("--timeout must be positive")
	}
	opts := []client.Option{client.WithoutReconnect(), client.WithName(name), client.WithTimeout(f.timeout)}
	if tok := f.value(cmd, "token", f.token, envToken); tok != "" {
		opts = append(opts, client.WithToken(tok))
	} else if user := f.value(cmd, "user", f.user, envUser); user != "" {
		opts = append(opts, client.WithCredentials(user, f.value(cmd, "password", f.password, envPassword)))
	}
	cfg, err := f.tlsConfig(cmd, url, warn)
	if err != nil {
		return nil, "", err
	}
	if cfg != nil {
		opts = append(opts, client.WithTLSConfig(cfg))
	}
	return opts, url, nil
}

// tlsConfig returns the TLS configuration that --ca or --insecure ask for,
// or nil for the system's roots.
func (f *clientFlags) tlsConfig(cmd *cobra.Command, url string, warn io.Writer) (*tls.Config, error) {
	ca := f.value(cmd, "ca", f.ca, envCA)
	if ca == "" && !f.insecure {
		return nil, nil
	}
	if !strings.HasPrefix(url, "tls://") && !strings.HasPrefix(url, "wss://") {
		return nil, fmt.Errorf("--ca and --insecure are for tls:// and wss:// URLs, not %s", url)
	}
	return tlsConfig(ca, f.insecure, warn)
}

// tlsConfig returns a configuration that trusts the certificates of the
// PEM file ca or, when insecure, any certificate, saying so on warn.
func tlsConfig(ca string, insecure bool, warn io.Writer) (*tls.Config, error) {
	if insecure {
		fmt.Fprintln(warn, "whispeer: warning: --insecure: the server's certificate is not verified, so anyone between here and the server can read and change the traffic")
		return &tls.Config{InsecureSkipVerify: true}, nil
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		return nil, fmt.Errorf("--ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca: no PEM certificate in %s", ca)
	}
	return &tls.Config{RootCAs: pool}, nil
}

// dial connects with the flags, falling back to the environment, and with
// extra options after them.
func (f *clientFlags) dial(ctx context.Context, cmd *cobra.Command, extra ...client.Option) (*client.Client, error) {
	opts, url, err := f.options(cmd, "whispeer-cli", cmd.ErrOrStderr())
	if err != nil {
		return nil, err
	}
	if f.keyFile != "" {
		kr, err := envelope.LoadKeyFile(f.keyFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithKeyring(kr))
	}
	c, err := client.Dial(ctx, url, append(opts, extra...)...)
	if err != nil {
		return nil, &contextError{"connect to " + url, tlsHint(err)}
	}
	return c, nil
}

// contextError is err after what the command was doing, with the
// "whispeer: " that starts the library's errors dropped, since main
// prints it in front of the whole.
type contextError struct {
	doing string
	err   error
}

func (e *contextError) Error() string { return e.doing + ": " + trimPrefix(e.err.Error()) }
func (e *contextError) Unwrap() error { return e.err }

// tlsHint adds to a certificate verification error how to trust the
// server.
func tlsHint(err error) error {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	if errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &host) {
		return fmt.Errorf("%w (trust the server's certificate with --ca FILE)", err)
	}
	return err
}

// value returns a flag's value if it was set, else the environment's.
func (f *clientFlags) value(cmd *cobra.Command, flag, v, env string) string {
	if cmd.Flags().Changed(flag) {
		return v
	}
	if e, ok := os.LookupEnv(env); ok {
		return e
	}
	return v
}
