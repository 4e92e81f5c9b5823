//go:build windows

package main

import (
	"io"
	"os"
	"syscall"
)

// enableVirtualTerminalProcessing is the console mode flag that makes a
// Windows console act on ANSI escape sequences (Windows 10 1511 and
// later), as Windows Terminal always does; the classic console shows
// them as text unless a program sets it.
const enableVirtualTerminalProcessing = 0x0004

// setConsoleMode is kernel32's SetConsoleMode, which package syscall
// does not wrap; kernel32.dll is a KnownDLL, loaded from the system
// directory whatever the search path.
var setConsoleMode = syscall.NewLazyDLL("kernel32.dll").NewProc("SetConsoleMode")

// terminalOut reports whether w is a console that acts on the report's
// escape sequences (colours, the progress bar's redraws), switching
// virtual terminal processing on when it is off. When it cannot be
// switched on, the report is plain and no bar is drawn.
func terminalOut(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || !isTerminal(w) {
		return false
	}
	h := syscall.Handle(f.Fd())
	var mode uint32
	if err := syscall.GetConsoleMode(h, &mode); err != nil {
		return false
	}
	if mode&enableVirtualTerminalProcessing != 0 {
		return true
	}
	ok1, _, _ := setConsoleMode.Call(uintptr(h), uintptr(mode|enableVirtualTerminalProcessing))
	return ok1 != 0
}
