//go:build !linux

package envelope

func threadCPU() (int64, bool) { return 0, false }
