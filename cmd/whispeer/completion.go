package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newCompletionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script for whispeer",
		Long: `Print a script that makes your shell complete whispeer's commands and
flags. Load it in the current shell, or install it where your shell looks
for completions, as in the examples.`,
		Example: `  source <(whispeer completion bash)
  whispeer completion bash > /etc/bash_completion.d/whispeer
  whispeer completion zsh > "${fpath[1]}/_whispeer"
  whispeer completion fish > ~/.config/fish/completions/whispeer.fish
  whispeer completion powershell | Out-String | Invoke-Expression`,
		ValidArgs:             []string{"bash", "zsh", "fish", "powershell"},
		Args:                  cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(out)
			}
			return fmt.Errorf("unknown shell %q", args[0])
		},
	}
}
