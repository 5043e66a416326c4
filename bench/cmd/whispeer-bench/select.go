package main

import (
	"fmt"
	"github.com/whispeer-io/whispeer/envelope"
	"os"
	"slices"
	"strings"

	"github.com/whispeer-io/whispeer/bench"
)

// allTargets returns every target, in table order.
func (m *Main) allTargets() []bench.Target {
	self, err := os.Executable()
	limit := &bench.Limit{}
	if err == nil {
		limit.Command = []string{self, "-forward"}
	}
	build := &bench.WhispeerBuild{Root: m.whispeerRoot, Rev: m.whispeerRev, Bin: m.whispeerBin}
	queue := bench.QueueFor(m.cfg.Window)
	return []bench.Target{
		limit,
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
		&bench.NATS{},
		&bench.NATS{WebSocket: true},
		&bench.Redis{},
		&bench.Mosquitto{QoS: 0},
		&bench.Mosquitto{QoS: 1},
	}
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
		return all, nil
	}
	var out []bench.Target
	for _, name := range strings.Split(m.targets, ",") {
		i := slices.IndexFunc(all, func(t bench.Target) bool { return t.Name() == name })
		if i < 0 {
			return nil, fmt.Errorf("unknown target %q (have %s)", name, strings.Join(targetNames(), ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
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
