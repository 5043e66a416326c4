package proctest

import "syscall"

// sysProcAttr kills a process when the test binary dies without cleaning
// up, as when go test's timeout ends it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
