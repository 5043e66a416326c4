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
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, a second one stops the process at once.
	context.AfterFunc(ctx, stop)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "whispeer:", err)
		os.Exit(1)
	}
}
