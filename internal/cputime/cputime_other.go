//go:build !unix

package cputime

import "time"

// Process reports false: the process's CPU time is not known here.
func Process() (time.Duration, bool) { return 0, false }
