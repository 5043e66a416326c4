package main

import (
	"context"
	"fmt"
	"os"

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
)

// clientFlags are the connection flags of pub and sub.
type clientFlags struct {
	url, user, password, token, keyFile string
}

func (f *clientFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.url, "url", "tcp://127.0.0.1:4250", "server URL: tcp://, tls://, ws:// or wss:// (env "+envURL+")")
	fs.StringVar(&f.user, "user", "", "user name to log in with (env "+envUser+")")
	fs.StringVar(&f.password, "password", "", "password to log in with (env "+envPassword+"; prefer it to the flag)")
	fs.StringVar(&f.token, "token", "", "a JWT to authenticate with instead of a password (env "+envToken+")")
	fs.StringVar(&f.keyFile, "key-file", "", "key file for end-to-end encryption, written by `whispeer keygen`")
}

// dial connects with the flags, falling back to the environment.
func (f *clientFlags) dial(ctx context.Context, cmd *cobra.Command) (*client.Client, error) {
	url := f.value(cmd, "url", f.url, envURL)
	opts := []client.Option{client.WithoutReconnect(), client.WithName("whispeer-cli")}
	if tok := f.value(cmd, "token", f.token, envToken); tok != "" {
		opts = append(opts, client.WithToken(tok))
	} else if user := f.value(cmd, "user", f.user, envUser); user != "" {
		opts = append(opts, client.WithCredentials(user, f.value(cmd, "password", f.password, envPassword)))
	}
	if f.keyFile != "" {
		kr, err := envelope.LoadKeyFile(f.keyFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithKeyring(kr))
	}
	c, err := client.Dial(ctx, url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", url, err)
	}
	return c, nil
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
