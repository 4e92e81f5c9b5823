//go:build unix

package main

import (
	"runtime"
	"syscall"
)

// peakRSSBytes is the process's maximum resident set size, 0 when unknown.
// getrusage(2) gives ru_maxrss in KiB on Linux and the BSDs but in bytes on
// Darwin.
func peakRSSBytes() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss)
	}
	return int64(ru.Maxrss) * 1024
}
