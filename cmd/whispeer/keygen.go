package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/whispeer-io/whispeer/envelope"
)

func newKeygenCmd() *cobra.Command {
	var force, rotate bool
	cmd := &cobra.Command{
		Use:   "keygen FILE",
		Short: "Write a key file for end-to-end encryption, or rotate its key",
		Long: `Write a new key file holding one random master key, with mode 0600, for
publishers and subscribers that seal payloads end to end (the broker never
needs it). With --rotate, add a new master key to an existing file and make
it current: new messages are sealed with it, older ones still open. Key
bytes are never printed. The format is described in docs/envelope.md.`,
		Example: `  whispeer keygen keys.json
  whispeer keygen --rotate keys.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			if rotate {
				return rotateKeyFile(cmd, path)
			}
			var opts []envelope.WriteOption
			if force {
				opts = append(opts, envelope.AllowOverwrite())
			}
			kr, err := envelope.GenerateKeyFile(path, opts...)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: master key %d\n", path, kr.Current())
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing file")
	cmd.Flags().BoolVar(&rotate, "rotate", false, "add a new current master key to an existing file")
	return cmd
}

func rotateKeyFile(cmd *cobra.Command, path string) error {
	kr, err := envelope.LoadKeyFile(path)
	if err != nil {
		return err
	}
	old := kr.Current()
	id, err := kr.Rotate()
	if err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	if err := envelope.WriteKeyFile(path, kr, envelope.AllowOverwrite()); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "rotated %s: master key %d is current, %d still opens older messages\n", path, id, old)
	return nil
}
