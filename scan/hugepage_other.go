//go:build !linux

package scan

// adviseHuge is a no-op where the kernel takes no such hint
// (hugepage_linux.go).
func adviseHuge[T any](s []T) {}
