package bench

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the kernel's USER_HZ, the unit of /proc CPU times; it is
// 100 on every Linux architecture Go supports.
const clockTick = 100

// cpuTime returns the CPU time (user and system) a process has used; pid 0
// means this process.
func cpuTime(pid int) (time.Duration, bool) {
	path := "/proc/self/stat"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime 14 and stime 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * time.Second / clockTick, true
}

// cpuMeter measures the cores the server processes and this process use
// over an interval.
type cpuMeter struct {
	pids           []int
	server, client time.Duration
	start          time.Time
}

// startCPU starts measuring the server processes pids, which may be none.
func startCPU(pids []int) *cpuMeter {
	m := &cpuMeter{pids: pids, start: time.Now()}
	m.server, _ = serverTime(pids)
	m.client, _ = cpuTime(0)
	return m
}

// serverTime returns the CPU time the processes pids have used, and
// whether it could read every one.
func serverTime(pids []int) (time.Duration, bool) {
	var sum time.Duration
	for _, pid := range pids {
		t, ok := cpuTime(pid)
		if !ok {
			return 0, false
		}
		sum += t
	}
	return sum, true
}

// record adds the cores used since start to metrics: server_cores and
// client_cores (1.0 is one core busy for the whole interval).
func (m *cpuMeter) record(metrics Metrics) {
	wall := time.Since(m.start).Seconds()
	if c, ok := cpuTime(0); ok {
		metrics["client_cores"] = (c - m.client).Seconds() / wall
	}
	if len(m.pids) == 0 {
		return
	}
	if s, ok := serverTime(m.pids); ok {
		metrics["server_cores"] = (s - m.server).Seconds() / wall
	}
}

// serverPIDs returns the pids of t's server processes: every one of a
// target of several, or the one of a Process; none when it runs in this
// process.
func serverPIDs(t Target) []int {
	if p, ok := t.(Processes); ok {
		return p.PIDs()
	}
	if p, ok := t.(Process); ok && p.PID() != 0 {
		return []int{p.PID()}
	}
	return nil
}
