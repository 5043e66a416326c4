package main

import (
	"bytes"
	"log/slog"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/whispeer-io/whispeer/server/config"
)

// env returns a lookup function over vars, in place of os.LookupEnv.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestPlanGC(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.Runtime
		env  map[string]string
		want gcPlan
	}{
		{"config", config.Runtime{GCPercent: 400}, nil,
			gcPlan{setPercent: true, percent: 400, percentFrom: fromConfig, limitFrom: fromConfig}},
		{"config with limit", config.Runtime{GCPercent: 200, MemoryLimit: "512MiB"}, nil,
			gcPlan{setPercent: true, percent: 200, percentFrom: fromConfig, setLimit: true, limit: 512 << 20, limitFrom: fromConfig}},
		{"config turns the collector off", config.Runtime{GCPercent: -1, MemoryLimit: "1500MB"}, nil,
			gcPlan{setPercent: true, percent: -1, percentFrom: fromConfig, setLimit: true, limit: 1500e6, limitFrom: fromConfig}},
		{"GOGC wins", config.Runtime{GCPercent: 400, MemoryLimit: "2GiB"}, map[string]string{"GOGC": "100"},
			gcPlan{percentFrom: fromEnvironment, setLimit: true, limit: 2 << 30, limitFrom: fromConfig}},
		{"GOGC=off wins", config.Runtime{GCPercent: 400}, map[string]string{"GOGC": "off"},
			gcPlan{percentFrom: fromEnvironment, limitFrom: fromConfig}},
		{"GOMEMLIMIT wins", config.Runtime{GCPercent: 400, MemoryLimit: "2GiB"}, map[string]string{"GOMEMLIMIT": "1GiB"},
			gcPlan{setPercent: true, percent: 400, percentFrom: fromConfig, limitFrom: fromEnvironment}},
		{"both win", config.Runtime{GCPercent: -1, MemoryLimit: "2GiB"}, map[string]string{"GOGC": "50", "GOMEMLIMIT": "off"},
			gcPlan{percentFrom: fromEnvironment, limitFrom: fromEnvironment}},
		{"empty variables are unset", config.Runtime{GCPercent: 300, MemoryLimit: "1GiB"}, map[string]string{"GOGC": "", "GOMEMLIMIT": ""},
			gcPlan{setPercent: true, percent: 300, percentFrom: fromConfig, setLimit: true, limit: 1 << 30, limitFrom: fromConfig}},
		{"other variables do not count", config.Runtime{GCPercent: 400}, map[string]string{"WHISPEER_RUNTIME_GC_PERCENT": "100", "GODEBUG": "gctrace=1"},
			gcPlan{setPercent: true, percent: 400, percentFrom: fromConfig, limitFrom: fromConfig}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planGC(tt.cfg, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("planGC() = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestPlanGC_BadLimit(t *testing.T) {
	_, err := planGC(config.Runtime{GCPercent: 400, MemoryLimit: "2G"}, env(nil))
	if err == nil || !strings.Contains(err.Error(), `runtime.memory_limit: invalid size "2G"`) {
		t.Errorf("planGC() error = %v", err)
	}
	// GOMEMLIMIT replaces the key, so its value is never read.
	if _, err := planGC(config.Runtime{GCPercent: 400, MemoryLimit: "2G"}, env(map[string]string{"GOMEMLIMIT": "1GiB"})); err != nil {
		t.Errorf("planGC() with GOMEMLIMIT = %v", err)
	}
}

// restoreGC puts back, when t ends, the garbage collector settings this
// test process has now.
func restoreGC(t *testing.T) {
	t.Helper()
	percent, limit := gcInEffect()
	t.Cleanup(func() {
		debug.SetGCPercent(int(percent))
		debug.SetMemoryLimit(limit)
	})
}

func TestTuneGC(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.Runtime
		env  map[string]string
		want string
	}{
		{"config", config.Runtime{GCPercent: 250, MemoryLimit: "3GiB"}, nil,
			"gc_percent=250 gc_percent_from=config memory_limit=3GiB memory_limit_from=config"},
		{"config off", config.Runtime{GCPercent: -1, MemoryLimit: "1500MB"}, nil,
			"gc_percent=-1 gc_percent_from=config memory_limit=1500000000B memory_limit_from=config"},
		// The variables are only looked up: the runtime, which read the real
		// environment, keeps its settings, here those of this test process.
		{"environment", config.Runtime{GCPercent: 250, MemoryLimit: "3GiB"}, map[string]string{"GOGC": "100", "GOMEMLIMIT": "1GiB"},
			"gc_percent_from=environment memory_limit=none memory_limit_from=environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			restoreGC(t)
			debug.SetMemoryLimit(math.MaxInt64) // what the environment case leaves
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, nil))
			if err := tuneGC(tt.cfg, env(tt.env), log); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), `msg="whispeer: garbage collector"`) || !strings.Contains(buf.String(), tt.want) {
				t.Errorf("logged %q, want %q", buf.String(), tt.want)
			}
		})
	}
}

func TestFormatLimit(t *testing.T) {
	for n, want := range map[int64]string{
		math.MaxInt64: "none",
		1:             "1B",
		1000:          "1000B",
		1 << 10:       "1KiB",
		1536 << 10:    "1536KiB",
		512 << 20:     "512MiB",
		2 << 30:       "2GiB",
		3 << 40:       "3TiB",
		1500e6:        "1500000000B",
	} {
		if got := formatLimit(n); got != want {
			t.Errorf("formatLimit(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestServe_GCFromEnvironmentAndConfig(t *testing.T) {
	port := freePort(t)
	cmd, stdout, stderr := startServe(t, []string{"GOGC=150", config.EnvVar("runtime.memory_limit") + "=1GiB"},
		"--server.port="+strconv.Itoa(port), "--server.tcp_port=0", "--runtime.gc_percent=800")
	if _, err := stdout.ReadString('\n'); err != nil {
		t.Fatalf("no listening line: %v\n%s", err, stderr.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	want := "level=INFO msg=\"whispeer: garbage collector\" gc_percent=150 gc_percent_from=environment memory_limit=1GiB memory_limit_from=config"
	if !strings.Contains(stderr.String(), want) {
		t.Fatalf("stderr lacks %q:\n%s", want, stderr.String())
	}
}
