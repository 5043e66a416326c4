//go:build unix

package server

import (
	"syscall"
	"testing"
	"time"
)

// processCPU returns the CPU time the process has used, and whether the OS
// told.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// reportCPU reports "cpu-ns/op", the CPU time of the whole process (server
// and clients) per operation since start: on a shared machine wall time
// also counts the time other processes held the CPU.
func reportCPU(b *testing.B, start time.Duration) {
	if end, ok := processCPU(); ok && b.N > 0 {
		b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
	}
}
