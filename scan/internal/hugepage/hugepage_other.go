//go:build !linux

package hugepage

// Advise is a no-op where the kernel takes no such hint
// (hugepage_linux.go).
func Advise[T any](s []T) {}
