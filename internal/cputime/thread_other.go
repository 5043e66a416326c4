//go:build !linux

package cputime

import "time"

// Thread reports false: a thread's CPU time is not known here.
func Thread() (time.Duration, bool) { return 0, false }
