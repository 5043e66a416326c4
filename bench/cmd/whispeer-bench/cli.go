package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/whispeer-io/whispeer/bench"
)

// Main is the command: its flags, then Run.
type Main struct {
	workloads, targets string
	runs               int
	out, markdown      string
	forward            string
	whispeerRoot       string
	whispeerRev        string
	whispeerBin        string
	baseRev, baseBin   string
	cfg                bench.Config
}

// ParseFlags reads the command line into m.
func (m *Main) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("whispeer-bench", flag.ContinueOnError)
	m.cfg = bench.DefaultConfig(5 * time.Second)
	fs.StringVar(&m.workloads, "workloads", "all", "comma-separated workloads, or all: "+strings.Join(workloadNames(), ","))
	fs.StringVar(&m.targets, "targets", "all", "comma-separated targets, or all: "+strings.Join(targetNames(), ","))
	fs.IntVar(&m.runs, "runs", 3, "runs of each (target, workload); the table shows medians")
	fs.DurationVar(&m.cfg.Duration, "duration", m.cfg.Duration, "measured window of each run")
	fs.DurationVar(&m.cfg.Warmup, "warmup", m.cfg.Warmup, "traffic before the window opens")
	fs.IntVar(&m.cfg.Size, "size", m.cfg.Size, "payload bytes")
	fs.IntVar(&m.cfg.Window, "window", m.cfg.Window, "publishes allowed ahead of the slowest subscriber")
	fs.IntVar(&m.cfg.Subs, "subs", m.cfg.Subs, "fan-out subscribers")
	fs.IntVar(&m.cfg.Rate, "rate", m.cfg.Rate, "latency workload: messages per second")
	fs.IntVar(&m.cfg.Conns, "conns", m.cfg.Conns, "idle workload: connections")
	fs.IntVar(&m.cfg.Topics, "topics", m.cfg.Topics, "topics workload: topics")
	fs.IntVar(&m.cfg.TopicConns, "topic-conns", m.cfg.TopicConns, "topics workload: subscriber connections")
	fs.IntVar(&m.cfg.Inflight, "inflight", m.cfg.Inflight, "durable workload: unacknowledged publishes")
	fs.StringVar(&m.out, "out", "", "file to append JSON lines to")
	fs.StringVar(&m.markdown, "md", "", "file to write the markdown report to, besides standard output")
	fs.StringVar(&m.whispeerRoot, "whispeer-root", "..", "whispeer repository root, where cmd/whispeer is built from")
	fs.StringVar(&m.whispeerRev, "whispeer-rev", "HEAD", "whispeer commit to build; empty builds the working tree as it is")
	fs.StringVar(&m.whispeerBin, "whispeer-bin", "", "prebuilt whispeer binary (instead of building one)")
	fs.StringVar(&m.baseRev, "whispeer-base", "", "A/B: also run every selected whispeer target on a server built at this commit, as <target>"+bench.BaseSuffix)
	fs.StringVar(&m.baseBin, "whispeer-base-bin", "", "A/B: a prebuilt base server binary (instead of -whispeer-base)")
	fs.StringVar(&m.forward, "forward", "", "run only the limit row's forwarder on this address")
	return fs.Parse(args)
}

// Run runs the forwarder, or the suite.
func (m *Main) Run(ctx context.Context) error {
	if m.forward != "" {
		return serveForwarder(ctx, m.forward)
	}
	targets, err := m.selectTargets()
	if err != nil {
		return err
	}
	workloads, err := selectWorkloads(m.workloads)
	if err != nil {
		return err
	}
	r := &bench.Runner{Targets: targets, Workloads: workloads, Config: m.cfg, Runs: m.runs, Log: os.Stderr}
	if m.out != "" {
		f, err := os.OpenFile(m.out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		r.Records = f
	}
	before := bench.ThisMachine()
	sums, err := r.Run(ctx)
	return errors.Join(err, m.report(workloads, sums, before, bench.ThisMachine()))
}

// report prints the markdown report, and writes it to -md when set.
func (m *Main) report(workloads []bench.Workload, sums []*bench.Summary, before, after bench.Machine) error {
	var sb strings.Builder
	if m.ab() {
		bench.ABReport(&sb, workloads, sums)
		fmt.Fprintln(&sb)
	}
	bench.Report(&sb, workloads, sums, m.cfg)
	fmt.Fprintln(&sb)
	before.Write(&sb)
	fmt.Fprintf(&sb, "Load average at the end: %s. Command: `%s`.\n", after.LoadAvg, strings.Join(append([]string{"whispeer-bench"}, os.Args[1:]...), " "))
	fmt.Print(sb.String())
	if m.markdown == "" {
		return nil
	}
	return os.WriteFile(m.markdown, []byte(sb.String()), 0o644)
}

// serveForwarder runs a forwarder on addr until ctx ends.
func serveForwarder(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	return new(bench.Forwarder).Serve(ln)
}
