package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

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
		Use:   "version",
		Short: "Print the version of this build",
		Long: `Print the module version, the commit the binary was built from (with
its time, and "modified" when the checkout had uncommitted changes), the Go
version and the platform. The commit is known when the binary was built by
go build or go install in a git checkout; go run records none.`,
		Example: "  whispeer version",
		Args:    cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			info, ok := debug.ReadBuildInfo()
			fmt.Fprintln(cmd.OutOrStdout(), versionLine(info, ok))
		},
	}
}

// versionLine describes a build from its build information: the main
// module's version, the VCS settings (vcs.revision, vcs.time,
// vcs.modified) when the build recorded them, the Go version and the
// platform.
func versionLine(info *debug.BuildInfo, ok bool) string {
	if !ok {
		return fmt.Sprintf("whispeer (unknown) %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
	vcs := make(map[string]string)
	for _, s := range info.Settings {
		vcs[s.Key] = s.Value
	}
	commit := "commit unknown (built without VCS information)"
	if rev := vcs["vcs.revision"]; rev != "" {
		commit = "commit " + rev[:min(len(rev), 12)]
		var notes []string
		if t := vcs["vcs.time"]; t != "" {
			notes = append(notes, t)
		}
		if vcs["vcs.modified"] == "true" {
			notes = append(notes, "modified")
		}
		if len(notes) > 0 {
			commit += " (" + strings.Join(notes, ", ") + ")"
		}
	}
	goVersion := info.GoVersion
	if goVersion == "" {
		goVersion = runtime.Version()
	}
	return fmt.Sprintf("whispeer %s %s %s %s/%s", info.Main.Version, commit, goVersion, runtime.GOOS, runtime.GOARCH)
}
