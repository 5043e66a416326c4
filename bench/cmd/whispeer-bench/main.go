// Command whispeer-bench measures whispeer side by side with NATS, Redis
// and Mosquitto on this machine, and prints a markdown table with ratios to
// the best peer per workload.
//
//	go run ./cmd/whispeer-bench -workloads all -targets all -runs 3 -duration 5s -out results.jsonl
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	m := &Main{}
	if err := m.ParseFlags(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "whispeer-bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "whispeer-bench:", err)
		os.Exit(1)
	}
}
