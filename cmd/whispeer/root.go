package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// newRootCmd returns the whispeer command with its subcommands. Errors are
// returned to main, which prints them once.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "whispeer",
		Short: "A publish/subscribe broker with end-to-end encrypted topics",
		Example: `  whispeer serve --config whispeer.toml
  whispeer status --token "$WHISPEER_ADMIN_TOKEN"
  whispeer token --user alice
  whispeer <command> --help`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.DisableDefaultCmd = true // see completion.go
	root.AddCommand(newServeCmd(), newPubCmd(), newSubCmd(), newBenchCmd(), newStatusCmd(), newTokenCmd(), newPasswdCmd(), newKeygenCmd(),
		newVersionCmd(), newCompletionCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version of this build",
		Example: "  whispeer version",
		Args:    cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "whispeer %s %s %s/%s\n", moduleVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
}

// moduleVersion returns the main module's version from the build
// information, with the VCS revision when the build recorded one.
func moduleVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}
