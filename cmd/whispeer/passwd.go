package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/whispeer-io/whispeer/server/auth"
	"golang.org/x/term"
)

func newPasswdCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "passwd",
		Short: "Print the argon2id hash of a password, for auth.users",
		Long: `Read a password and print its argon2id hash, the value to put in the
password field of an [[auth.users]] entry. On a terminal the password is
asked for twice, without echo; otherwise the first line of standard input
is the password.`,
		Example: `  whispeer passwd
  echo 'correct horse battery staple' | whispeer passwd`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, err := readPassword(cmd.InOrStdin(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			hash, err := auth.HashPassword(pw)
			if err != nil {
				return fmt.Errorf("hash: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), hash)
			return nil
		},
	}
}

// readPassword prompts for a password on a terminal, or reads the first
// line of in.
func readPassword(in io.Reader, prompt io.Writer) (string, error) {
	var pw string
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		first, err := promptSecret(f, prompt, "Password: ")
		if err != nil {
			return "", err
		}
		again, err := promptSecret(f, prompt, "Repeat password: ")
		if err != nil {
			return "", err
		}
		if first != again {
			return "", errors.New("the passwords differ")
		}
		pw = first
	} else {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if pw == "" {
		return "", errors.New("empty password")
	}
	return pw, nil
}

func promptSecret(f *os.File, prompt io.Writer, label string) (string, error) {
	fmt.Fprint(prompt, label)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(prompt)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(b), nil
}
