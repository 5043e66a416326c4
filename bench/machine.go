package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// Machine describes the machine a run measured, for the report.
type Machine struct {
	CPUs    int
	CPU     string // model name from /proc/cpuinfo
	Kernel  string
	Go      string
	LoadAvg string // /proc/loadavg's 1, 5 and 15 minute averages
}

// ThisMachine reads the machine's description; fields it cannot read stay
// empty.
func ThisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}

// Write writes the description as one markdown line.
func (m Machine) Write(w io.Writer) {
	fmt.Fprintf(w, "Machine: %d CPUs (%s), Linux %s, %s, load average %s.\n",
		m.CPUs, m.CPU, m.Kernel, m.Go, m.LoadAvg)
}
