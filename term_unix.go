//go:build !windows

package main

import "io"

// terminalOut reports whether w is a terminal that acts on the report's
// escape sequences (colours, the progress bar's redraws): on Unix, any
// terminal.
func terminalOut(w io.Writer) bool { return isTerminal(w) }
