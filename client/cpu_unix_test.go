//go:build unix

package client_test

import (
	"syscall"
	"testing"
	"time"
)

// cpuMeter measures the CPU time, user and system, that the whole process
// spends during a benchmark: with a server that does little (a sink, or
// pre-encoded frames), nearly all of it is the client's.
type cpuMeter struct{ start time.Duration }

func startCPU() cpuMeter { return cpuMeter{start: processCPU()} }

// report adds cpu-ns/op, the process's CPU time per operation.
func (m cpuMeter) report(b *testing.B, ops int) {
	if ops > 0 {
		b.ReportMetric(float64(processCPU()-m.start)/float64(ops), "cpu-ns/op")
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
