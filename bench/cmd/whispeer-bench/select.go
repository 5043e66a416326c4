package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/whispeer-io/whispeer/bench"
	"github.com/whispeer-io/whispeer/envelope"
)

// allTargets returns every target, in table order.
func (m *Main) allTargets() []bench.Target {
	self, err := os.Executable()
	limit := &bench.Limit{}
	if err == nil {
		limit.Command = []string{self, "-forward"}
	}
	build := &bench.WhispeerBuild{Root: m.whispeerRoot, Rev: m.whispeerRev, Bin: m.whispeerBin}
	all := append([]bench.Target{limit}, m.whispeerTargets(build)...)
	return append(all,
		&bench.NATS{},
		&bench.NATS{WebSocket: true},
		&bench.Redis{},
		&bench.Mosquitto{QoS: 0},
		&bench.Mosquitto{QoS: 1},
		&bench.Mosquitto{QoS: 2},
		&bench.Centrifugo{},
		&bench.Centrifugo{Nodes: 2},
	)
}

// whispeerTargets returns every whispeer target served by build, in table
// order.
func (m *Main) whispeerTargets(build *bench.WhispeerBuild) []bench.Target {
	queue := bench.QueueFor(m.cfg.Window)
	return []bench.Target{
		&bench.WhispeerNative{Build: build, Transport: "tcp", Queue: queue},
		&bench.WhispeerNative{Build: build, Transport: "ws", Queue: queue},
		&bench.WhispeerJSON{Build: build},
		&bench.WhispeerNative{Build: build, Transport: "tcp", E2E: true, Queue: queue},
		&bench.WhispeerNative{Build: build, Transport: "tcp", E2E: true, AEAD: envelope.AES256GCM, Queue: queue},
		&bench.WhispeerNative{Build: build, Transport: "tcp", Store: "sqlite", Sync: "batch"},
		&bench.WhispeerNative{Build: build, Transport: "tcp", Store: "sqlite", Sync: "always"},
		&bench.WhispeerNative{Build: build, Transport: "tcp", Store: "sqlite", Sync: "never"},
		&bench.WhispeerNative{Build: build, Transport: "tcp", Store: "file", Sync: "batch"},
		&bench.WhispeerNative{Build: build, Transport: "tcp", Store: "file", Sync: "always"},
		&bench.WhispeerNative{Build: build, Transport: "tcp", Store: "file", Sync: "never"},
		&bench.WhispeerNative{Build: build, Transport: "tcp", Store: "sqlite", Sync: "batch", QoS2: true},
		&bench.WhispeerNative{Build: build, Transport: "tcp", Store: "file", Sync: "batch", QoS2: true},
		&bench.WhispeerCluster{Build: build, Transport: "tcp", Nodes: 2, Queue: queue},
		&bench.WhispeerCluster{Build: build, Transport: "json", Nodes: 2},
		&bench.WhispeerCluster{Build: build, Transport: "tcp", Nodes: 1, Spread: true, Queue: queue},
		&bench.WhispeerCluster{Build: build, Transport: "tcp", Nodes: 2, Spread: true, Queue: queue},
		&bench.WhispeerCluster{Build: build, Transport: "tcp", Nodes: 3, Spread: true, Queue: queue},
		&bench.WhispeerCluster{Build: build, Durable: true},
	}
}

// ab reports whether the run compares the whispeer targets with a base
// build.
func (m *Main) ab() bool { return m.baseRev != "" || m.baseBin != "" }

// twins returns targets, with their base twins when the run is an A/B.
func (m *Main) twins(targets []bench.Target) []bench.Target {
	if !m.ab() {
		return targets
	}
	return m.withTwins(targets)
}

// withTwins returns targets with, right after each whispeer target, its
// twin served by the base build.
func (m *Main) withTwins(targets []bench.Target) []bench.Target {
	base := &bench.WhispeerBuild{Root: m.whispeerRoot, Rev: m.baseRev, Bin: m.baseBin, Base: true}
	twins := m.whispeerTargets(base)
	var out []bench.Target
	for _, t := range targets {
		out = append(out, t)
		i := slices.IndexFunc(twins, func(tw bench.Target) bool { return tw.Name() == t.Name()+bench.BaseSuffix })
		if i >= 0 {
			out = append(out, twins[i])
		}
	}
	return out
}

// targetNames lists every target's name.
func targetNames() []string {
	var names []string
	for _, t := range (&Main{}).allTargets() {
		names = append(names, t.Name())
	}
	return names
}

// workloadNames lists every workload's name.
func workloadNames() []string {
	var names []string
	for _, w := range bench.Workloads() {
		names = append(names, w.Name())
	}
	return names
}

// selectTargets returns the targets that -targets names.
func (m *Main) selectTargets() ([]bench.Target, error) {
	all := m.allTargets()
	if m.targets == "all" {
		return m.twins(all), nil
	}
	var out []bench.Target
	for _, name := range strings.Split(m.targets, ",") {
		i := slices.IndexFunc(all, func(t bench.Target) bool { return t.Name() == name })
		if i < 0 {
			return nil, fmt.Errorf("unknown target %q (have %s)", name, strings.Join(targetNames(), ", "))
		}
		out = append(out, all[i])
	}
	return m.twins(out), nil
}

// selectWorkloads returns the workloads that list names.
func selectWorkloads(list string) ([]bench.Workload, error) {
	all := bench.Workloads()
	if list == "all" {
		return all, nil
	}
	var out []bench.Workload
	for _, name := range strings.Split(list, ",") {
		i := slices.IndexFunc(all, func(w bench.Workload) bool { return w.Name() == name })
		if i < 0 {
			return nil, fmt.Errorf("unknown workload %q (have %s)", name, strings.Join(workloadNames(), ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}
