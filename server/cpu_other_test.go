//go:build !unix

package server

import (
	"testing"
	"time"
)

func processCPU() (time.Duration, bool) { return 0, false }

func reportCPU(*testing.B, time.Duration) {}
