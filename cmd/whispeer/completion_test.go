package main

import (
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash":       "__start_whispeer",
		"zsh":        "#compdef whispeer",
		"fish":       "complete -c whispeer",
		"powershell": "Register-ArgumentCompleter",
	} {
		out, _, err := execute(t, context.Background(), "completion", shell)
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("completion %s: %v, output lacks %q", shell, err, want)
		}
	}
	if _, _, err := execute(t, context.Background(), "completion", "tcsh"); err == nil {
		t.Error("completion tcsh succeeded")
	}
}

func TestEveryCommandHasHelpWithExamples(t *testing.T) {
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() != "help" && (c.Short == "" || c.Example == "") {
			t.Errorf("%q lacks a short description or examples", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
}
