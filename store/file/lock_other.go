//go:build !unix

package file

import "os"

// lockDir opens dir's LOCK file; without flock, nothing stops a second
// process.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(dir+"/LOCK", os.O_CREATE|os.O_RDWR, 0o600)
}
