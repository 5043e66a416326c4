package auth

import (
	"math"
	"runtime"
	"runtime/metrics"
)

// memoryBudget is what sizes the default bound on argon2id computations:
// the runtime's memory limit, or else the machine's memory and the
// collector's growth factor.
type memoryBudget struct {
	limit     int64 // the runtime memory limit in bytes; math.MaxInt64 for none
	physical  int64 // the machine's memory in bytes; 0 if unknown
	gcPercent int64 // GOGC; negative when the collector is off
}

// currentBudget reads the budget of this process.
func currentBudget() memoryBudget {
	s := []metrics.Sample{{Name: "/gc/gomemlimit:bytes"}, {Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	b := memoryBudget{limit: math.MaxInt64, physical: physicalMemory(), gcPercent: 100}
	if s[0].Value.Kind() == metrics.KindUint64 {
		b.limit = int64(min(s[0].Value.Uint64(), math.MaxInt64))
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		b.gcPercent = int64(s[1].Value.Uint64()) // GOGC=off reads as -1
	}
	return b
}

// maxHashes returns the default bound on argon2id computations at once
// for hashes of memKiB each: at most MaxHashesDefault and GOMAXPROCS, and
// at most what a quarter of the memory limit holds or, without one, what
// a quarter of the machine's memory holds counting the garbage that each
// finished hash leaves until the collector runs (GOGC percent of the live
// heap); at least one.
func (b memoryBudget) maxHashes(memKiB uint32) int {
	n := min(MaxHashesDefault, runtime.GOMAXPROCS(0))
	perHash := int64(memKiB) << 10
	switch {
	case perHash == 0:
	case b.limit != math.MaxInt64:
		n = int(min(int64(n), b.limit/4/perHash))
	case b.physical > 0:
		growth := b.gcPercent
		if growth < 0 || growth > 1000 { // off, or nearly so: count ten times
			growth = 1000
		}
		n = int(min(int64(n), b.physical/4/(perHash+perHash*growth/100)))
	}
	return max(n, 1)
}
