package main

// peakRSSBytes is 0 (unknown) on Windows: its peak working set needs
// GetProcessMemoryInfo from psapi, which package syscall does not wrap, and
// bench is a development tool, not worth a DLL call written by hand.
func peakRSSBytes() int64 { return 0 }
