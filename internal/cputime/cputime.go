// Package cputime reads the CPU time that the process, or the calling OS
// thread, has used, for benchmarks that report "cpu-ns/op" beside wall
// time: on a shared machine wall time also counts the time other processes
// held the CPU, CPU time does not. Where the OS does not tell, the readings
// report false and Meter reports nothing. Its functions are safe for
// concurrent use.
package cputime

import (
	"testing"
	"time"
)

// Meter measures CPU time from its start. The zero Meter reports nothing.
type Meter struct {
	read  func() (time.Duration, bool)
	start time.Duration
	ok    bool
}

// StartProcess returns a Meter of the whole process's CPU time, user and
// system.
func StartProcess() Meter { return start(Process) }

// StartThread returns a Meter of the calling OS thread's CPU time; the
// caller keeps to its thread (runtime.LockOSThread) until Report.
func StartThread() Meter { return start(Thread) }

func start(read func() (time.Duration, bool)) Meter {
	t, ok := read()
	return Meter{read: read, start: t, ok: ok}
}

// Report adds "cpu-ns/op" to b: the CPU time since the Meter started,
// divided by ops.
func (m Meter) Report(b *testing.B, ops int) {
	if !m.ok || ops <= 0 {
		return
	}
	if end, ok := m.read(); ok {
		b.ReportMetric(float64(end-m.start)/float64(ops), "cpu-ns/op")
	}
}
