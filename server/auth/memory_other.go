//go:build !linux

package auth

// physicalMemory returns the machine's memory in bytes, or 0 if unknown:
// unknown outside Linux.
func physicalMemory() int64 { return 0 }
