// Package hugepage asks the kernel to back large arrays with transparent
// huge pages.
package hugepage

import (
	"reflect"
	"syscall"
)

// The aggregator's tables and target lists are large, written once in
// random or streaming order, and fresh from the system: each 4 KiB page
// costs a fault on its first write. On the 1 GB bench capture that was a
// fifth of the CPU time (83,000 faults, each a trap to the kernel and, in
// a virtual machine, to the hypervisor). Where the system leaves
// transparent huge pages to the program (the default "madvise" mode),
// Advise asks for them on these arrays: one fault per 2 MiB.

const (
	hugePageBytes = 2 << 20
	madvHugepage  = 14 // MADV_HUGEPAGE, linux/mman.h
)

// Advise asks the kernel to back the whole 2 MiB pages inside the
// array of s with transparent huge pages. It is a hint: it changes no
// data, and an error (a kernel without THP, a mode of "never") only means
// small pages as before.
func Advise[T any](s []T) {
	size := uintptr(cap(s)) * reflect.TypeFor[T]().Size()
	if size < 2*hugePageBytes {
		return
	}
	p := reflect.ValueOf(s).Pointer()
	lo := (p + hugePageBytes - 1) &^ (hugePageBytes - 1)
	hi := (p + size) &^ (hugePageBytes - 1)
	if hi > lo {
		syscall.Syscall(syscall.SYS_MADVISE, lo, hi-lo, madvHugepage)
	}
}
