// Command whispeer runs and manages whispeer servers: `whispeer serve`
// starts the server, `whispeer status` shows a running server's topics and
// subscribers through its admin API, `whispeer token` mints a login token,
// `whispeer passwd` hashes a password for the configuration, `whispeer
// keygen` writes or rotates a key file for end-to-end encryption,
// `whispeer completion` prints a shell completion script, `whispeer
// version` prints the build.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, a second one stops the process at once.
	context.AfterFunc(ctx, stop)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "whispeer: interrupted")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "whispeer:", trimPrefix(err.Error()))
		os.Exit(1)
	}
}

// trimPrefix removes the "whispeer: " that the library's errors start
// with, so that a message printed after the command's own prefix has it
// once.
func trimPrefix(msg string) string {
	return strings.TrimPrefix(msg, "whispeer: ")
}
