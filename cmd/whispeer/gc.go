package main

import (
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"runtime/metrics"

	"github.com/whispeer-io/whispeer/server/config"
)

// The sources of a garbage collector setting, as serve logs them.
const (
	fromConfig      = "config"
	fromEnvironment = "environment"
)

// The environment variables through which the Go runtime reads its own
// garbage collector settings at start.
const (
	envGOGC       = "GOGC"
	envGOMEMLIMIT = "GOMEMLIMIT"
)

// gcPlan is what serve sets on the Go garbage collector at start. A setting
// that the environment made is left as the runtime read it.
type gcPlan struct {
	setPercent  bool   // call debug.SetGCPercent(percent)
	percent     int    // runtime.gc_percent
	percentFrom string // fromConfig or fromEnvironment

	setLimit  bool   // call debug.SetMemoryLimit(limit)
	limit     int64  // runtime.memory_limit in bytes
	limitFrom string // fromConfig or fromEnvironment
}

// planGC returns the garbage collector settings of cfg that serve applies.
// GOGC and GOMEMLIMIT, looked up with lookupEnv (os.LookupEnv in serve), win
// over runtime.gc_percent and runtime.memory_limit when they are set and not
// empty: the runtime has applied them already. An empty memory_limit sets
// nothing, which leaves the runtime's default of no limit.
func planGC(cfg config.Runtime, lookupEnv func(string) (string, bool)) (gcPlan, error) {
	p := gcPlan{percentFrom: fromConfig, limitFrom: fromConfig}
	if v, ok := lookupEnv(envGOGC); ok && v != "" {
		p.percentFrom = fromEnvironment
	} else {
		p.setPercent, p.percent = true, cfg.GCPercent
	}
	if v, ok := lookupEnv(envGOMEMLIMIT); ok && v != "" {
		p.limitFrom = fromEnvironment
		return p, nil
	}
	limit, err := cfg.MemoryLimitBytes()
	if err != nil {
		return gcPlan{}, fmt.Errorf("runtime.memory_limit: %w", err)
	}
	if limit > 0 {
		p.setLimit, p.limit = true, limit
	}
	return p, nil
}

// apply sets p on the process's garbage collector. The limit is set before
// the percentage, so that turning the collector off never runs unbounded.
func (p gcPlan) apply() {
	if p.setLimit {
		debug.SetMemoryLimit(p.limit)
	}
	if p.setPercent {
		debug.SetGCPercent(p.percent)
	}
}

// tuneGC applies the [runtime] section of cfg to this process, unless GOGC
// or GOMEMLIMIT say otherwise, and logs the settings in effect and their
// sources.
func tuneGC(cfg config.Runtime, lookupEnv func(string) (string, bool), log *slog.Logger) error {
	p, err := planGC(cfg, lookupEnv)
	if err != nil {
		return err
	}
	p.apply()
	percent, limit := gcInEffect()
	log.Info("whispeer: garbage collector",
		"gc_percent", percent, "gc_percent_from", p.percentFrom,
		"memory_limit", formatLimit(limit), "memory_limit_from", p.limitFrom)
	return nil
}

// gcInEffect reads the garbage collector's percentage (-1 when it is off)
// and soft memory limit (math.MaxInt64 when there is none) from the
// runtime.
func gcInEffect() (percent, limit int64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	// Both are int64 values that the runtime reports as uint64, so -1
	// comes back as the largest uint64.
	return int64(s[0].Value.Uint64()), int64(s[1].Value.Uint64())
}

// formatLimit renders a memory limit in the largest binary unit that
// divides it, or "none" for no limit.
func formatLimit(n int64) string {
	if n == math.MaxInt64 {
		return "none"
	}
	for _, u := range []struct {
		name string
		size int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%dB", n)
}
