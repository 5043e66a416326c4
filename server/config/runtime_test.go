package config

import (
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"1", 1},
		{"1073741824", 1 << 30},
		{"100B", 100},
		{"64KiB", 64 << 10},
		{"512MiB", 512 << 20},
		{"2GiB", 2 << 30},
		{"1TiB", 1 << 40},
		{"8kB", 8000},
		{"8KB", 8000},
		{"1500MB", 1500e6},
		{"3GB", 3e9},
		{"2TB", 2e12},
		{"8388607TiB", 8388607 << 40}, // the largest whole number of TiB in an int64
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSize(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseSize_Errors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", "invalid size"},
		{"MiB", "invalid size"},
		{"B", "invalid size"},
		{"512 MiB", "invalid size"},
		{" 512MiB", "invalid size"},
		{"512mib", "invalid size"},
		{"512M", "invalid size"},
		{"512Mi", "invalid size"},
		{"1.5GiB", "invalid size"},
		{"-1", "invalid size"},
		{"+1GiB", "invalid size"},
		{"0x100", "invalid size"},
		{"1e9", "invalid size"},
		{"2GiBB", "invalid size"},
		{"lots", "invalid size"},
		{"0", "must be positive"},
		{"0GiB", "must be positive"},
		{"8388608TiB", "too large"},
		{"9223372036854775808", "too large"},
		{"99999999999999999999GB", "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSize(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseSize(%q) = %d, %v; want an error containing %q", tt.in, got, err, tt.want)
			}
		})
	}
	if _, err := parseSize("9223372036854775807"); err != nil {
		t.Errorf("parseSize(MaxInt64) = %v", err)
	}
}

func TestRuntime_MemoryLimitBytes(t *testing.T) {
	if n, err := (Runtime{}).MemoryLimitBytes(); n != 0 || err != nil {
		t.Errorf("empty memory_limit = %d, %v; want 0, nil", n, err)
	}
	if n, err := (Runtime{MemoryLimit: "2GiB"}).MemoryLimitBytes(); n != 2<<30 || err != nil {
		t.Errorf("2GiB = %d, %v", n, err)
	}
	if _, err := (Runtime{MemoryLimit: "2 GiB"}).MemoryLimitBytes(); err == nil {
		t.Error(`"2 GiB" parsed`)
	}
}

func TestValidate_Runtime(t *testing.T) {
	tests := []struct {
		name string
		rt   Runtime
		want string // substring of the error; "" for no error
	}{
		{"default", Runtime{GCPercent: 400}, ""},
		{"go default", Runtime{GCPercent: 100}, ""},
		{"smallest", Runtime{GCPercent: 10}, ""},
		{"large", Runtime{GCPercent: 5000}, ""},
		{"with limit", Runtime{GCPercent: 400, MemoryLimit: "512MiB"}, ""},
		{"off with limit", Runtime{GCPercent: -1, MemoryLimit: "2GiB"}, ""},
		{"too small", Runtime{GCPercent: 9}, "runtime.gc_percent: must be -1 (collector off) or at least 10, got 9"},
		{"zero", Runtime{GCPercent: 0}, "runtime.gc_percent: must be -1 (collector off) or at least 10, got 0"},
		{"minus two", Runtime{GCPercent: -2}, "got -2"},
		{"off without limit", Runtime{GCPercent: -1}, "runtime.gc_percent: -1 turns the garbage collector off, which needs runtime.memory_limit"},
		{"bad limit", Runtime{GCPercent: 400, MemoryLimit: "2G"}, `runtime.memory_limit: invalid size "2G"`},
		{"zero limit", Runtime{GCPercent: 400, MemoryLimit: "0"}, `runtime.memory_limit: size "0" must be positive`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Runtime = tt.rt
			wantError(t, "Validate()", c.Validate(), tt.want)
		})
	}
}

func TestLoad_Runtime(t *testing.T) {
	file := writeFile(t, "whispeer.toml", "[runtime]\ngc_percent = 200\nmemory_limit = \"1GiB\"\n")
	tests := []struct {
		name    string
		file    string
		environ []string
		args    []string
		want    Runtime
	}{
		{"defaults", "", nil, nil, Runtime{GCPercent: 400}},
		{"file", file, nil, nil, Runtime{GCPercent: 200, MemoryLimit: "1GiB"}},
		{"environment beats file", file,
			[]string{"WHISPEER_RUNTIME_GC_PERCENT=800", "WHISPEER_RUNTIME_MEMORY_LIMIT=1500MB"}, nil,
			Runtime{GCPercent: 800, MemoryLimit: "1500MB"}},
		{"environment turns the collector off", "",
			[]string{"WHISPEER_RUNTIME_GC_PERCENT=-1", "WHISPEER_RUNTIME_MEMORY_LIMIT=536870912"}, nil,
			Runtime{GCPercent: -1, MemoryLimit: "536870912"}},
		{"flags beat environment", file,
			[]string{"WHISPEER_RUNTIME_GC_PERCENT=800"}, []string{"--runtime.gc_percent=-1", "--runtime.memory_limit=2GiB"},
			Runtime{GCPercent: -1, MemoryLimit: "2GiB"}},
		{"GOGC is not a key", "", []string{"GOGC=50", "GOMEMLIMIT=1GiB"}, nil, Runtime{GCPercent: 400}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(Options{
				ConfigFile: tt.file,
				Environ:    append([]string{}, tt.environ...),
				Flags:      parsedFlags(t, tt.args...),
			})
			if err != nil {
				t.Fatal(err)
			}
			if c.Runtime != tt.want {
				t.Errorf("runtime = %+v, want %+v", c.Runtime, tt.want)
			}
		})
	}
}

func TestLoad_RuntimeErrors(t *testing.T) {
	tests := []loadErrorCase{
		{"gc_percent too small", Options{Environ: []string{"WHISPEER_RUNTIME_GC_PERCENT=5"}},
			"runtime.gc_percent: must be -1 (collector off) or at least 10, got 5"},
		{"gc_percent not a number", Options{Environ: []string{"WHISPEER_RUNTIME_GC_PERCENT=off"}}, "gc_percent"},
		{"off without limit", Options{Environ: []string{"WHISPEER_RUNTIME_GC_PERCENT=-1"}},
			"runtime.gc_percent: -1 turns the garbage collector off, which needs runtime.memory_limit"},
		{"bad limit", Options{Environ: []string{"WHISPEER_RUNTIME_MEMORY_LIMIT=lots"}},
			`runtime.memory_limit: invalid size "lots"`},
		{"bad limit flag", Options{Flags: parsedFlags(t, "--runtime.memory_limit=1.5GiB")},
			`runtime.memory_limit: invalid size "1.5GiB"`},
		{"unknown runtime key", Options{ConfigFile: writeFile(t, "u.toml", "[runtime]\ngogc = 200\n")},
			`unknown key "runtime.gogc"`},
	}
	wantLoadErrors(t, tests)
}

func TestLoad_RuntimeLimitAsTOMLNumber(t *testing.T) {
	file := writeFile(t, "n.toml", "[runtime]\nmemory_limit = 1073741824\n")
	c, err := Load(Options{ConfigFile: file, Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.Runtime.MemoryLimitBytes(); n != 1<<30 || err != nil {
		t.Errorf("memory_limit = %q (%d bytes, %v), want 1 GiB", c.Runtime.MemoryLimit, n, err)
	}
}

func TestEnvKey_Runtime(t *testing.T) {
	for name, want := range map[string]string{
		"WHISPEER_RUNTIME_GC_PERCENT":   "runtime.gc_percent",
		"WHISPEER_RUNTIME_MEMORY_LIMIT": "runtime.memory_limit",
		"WHISPEER_RUNTIME_GOGC":         "",
	} {
		if got := envKey(name); got != want {
			t.Errorf("envKey(%q) = %q, want %q", name, got, want)
		}
	}
}
