//go:build unix

package file

import (
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive lock on dir's LOCK file, so that two
// processes never open one store; the lock goes with the process.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir+"/LOCK", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s is in use: %w", dir, err)
	}
	return f, nil
}
