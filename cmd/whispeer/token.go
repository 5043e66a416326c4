package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/whispeer-io/whispeer/server/auth"
	"github.com/whispeer-io/whispeer/server/config"
)

func newTokenCmd() *cobra.Command {
	var (
		user, file, envFile string
		ttl                 time.Duration
	)
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Mint a login token (JWT) for a user of the configuration",
		Long: `Print a token for a user in auth.users, signed with the server's
server.jwt_secret, as a login would return it: a client authenticates with
it without sending a password. The configuration is read as "whispeer
serve" reads it (--config, --env-file, WHISPEER_* variables), so run it
where the server's secret is set. The token is valid for auth.token_ttl,
or --ttl; anyone holding it is the user until it expires or the user's
password in auth.users changes.`,
		Example: `  whispeer token --user alice
  whispeer token --user sensor-7 --ttl 720h --config /etc/whispeer/whispeer.toml
  TOKEN=$(whispeer token --user alice)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(config.Options{ConfigFile: file, EnvFile: envFile})
			if err != nil {
				return err
			}
			token, err := mintToken(cfg, user, ttl)
			if err != nil {
				return err
			}
			if cfg.Server.JWTSecret.Reveal() == config.DefaultJWTSecret {
				fmt.Fprintln(cmd.ErrOrStderr(), "whispeer: warning: signed with the shipped default server.jwt_secret, which anyone can use to forge tokens")
			}
			fmt.Fprintln(cmd.OutOrStdout(), token)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&user, "user", "", "user name, as in auth.users (required)")
	f.DurationVar(&ttl, "ttl", 0, "lifetime of the token (default auth.token_ttl)")
	f.StringVar(&file, config.FlagConfig, "", "TOML configuration file (default "+config.DefaultConfigFile+")")
	f.StringVar(&envFile, config.FlagEnvFile, "", "file of WHISPEER_* variables (default "+config.DefaultEnvFile+")")
	cmd.MarkFlagRequired("user")
	return cmd
}

// mintToken issues a token for user, who must be in cfg's users, valid
// for ttl or, when ttl is 0, cfg.Auth.TokenTTL.
func mintToken(cfg *config.Config, user string, ttl time.Duration) (string, error) {
	if ttl < 0 {
		return "", errors.New("--ttl must be positive")
	}
	if ttl == 0 {
		ttl = cfg.Auth.TokenTTL
	}
	known := false
	for _, u := range cfg.Auth.Users {
		known = known || u.Username == user
	}
	if !known {
		return "", fmt.Errorf("no user %q in auth.users: the server refuses tokens of unknown users", user)
	}
	users, err := auth.NewUsers(cfg.Auth.Users)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	// The token is bound to the user's password as the server binds
	// logins' tokens: it stops working when the password changes.
	iss, err := auth.NewIssuer([]byte(cfg.Server.JWTSecret.Reveal()), ttl, auth.WithPasswordStamps(users.Stamp))
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return iss.Issue(user)
}
