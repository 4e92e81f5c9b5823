package main

import (
	"io"
	"strings"
	"unicode/utf8"
)

// termEscape returns s with every character a terminal would act on
// instead of showing written as a visible escape, so that a file name, an
// interface name or any other string from a capture or an intel file
// cannot move the cursor, rewrite the title, clear the screen or reorder
// the text around it. Escaped are the C0 controls and bytes that are not
// UTF-8 (as \x1b), and DEL, the C1 controls and the Unicode bidirectional
// controls (as \u007f, \u009b, \u202e). With layout, newline and tab are
// kept: the caller's own line structure (a JSON document, flag usage);
// every other escape is then valid inside a JSON string too, so an encoded
// document stays valid and decodes to the same values.
//
// Every printer of the terminal commands goes through it: str and num for
// the report, termWriter for JSON and flag output, run for error lines.
func termEscape(s string, layout bool) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if needsEscape(r, n, layout) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s // nothing to escape: no copy
	}
	size := i
	for j := i; j < len(s); {
		r, n := utf8.DecodeRuneInString(s[j:])
		size += escapedLen(r, n, layout)
		j += n
	}
	var b strings.Builder
	b.Grow(size) // one allocation, however hostile s is
	b.WriteString(s[:i])
	const hex = "0123456789abcdef"
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case !needsEscape(r, n, layout):
			b.WriteString(s[i : i+n])
		case escapedLen(r, n, layout) == 4: // one byte: a C0 control or not UTF-8
			b.WriteString(`\x`)
			b.WriteByte(hex[s[i]>>4])
			b.WriteByte(hex[s[i]&0xf])
		default:
			b.WriteString(`\u`)
			for shift := 12; shift >= 0; shift -= 4 {
				b.WriteByte(hex[r>>shift&0xf])
			}
		}
		i += n
	}
	return b.String()
}

// escapedLen is how many bytes termEscape writes for rune r, n bytes
// long: n when it is kept, 4 for \xHH, 6 for \uHHHH.
func escapedLen(r rune, n int, layout bool) int {
	switch {
	case !needsEscape(r, n, layout):
		return n
	case r < 0x20 || n == 1 && r == utf8.RuneError:
		return 4
	}
	return 6
}

// needsEscape reports whether rune r, n bytes long, is escaped by
// termEscape.
func needsEscape(r rune, n int, layout bool) bool {
	switch {
	case r == utf8.RuneError && n == 1: // a byte that is not UTF-8
		return true
	case r == '\n' || r == '\t':
		return !layout
	case r < 0x20, r >= 0x7f && r <= 0x9f: // C0, DEL, C1
		return true
	}
	return isBidiControl(r)
}

// isBidiControl reports whether r is one of the Unicode bidirectional
// formatting characters (UAX #9): marks, embeddings, overrides and
// isolates, which make a terminal show text in another order than it is
// (CVE-2021-42574, "Trojan Source"); and the line and paragraph
// separators, which some terminals break lines on.
func isBidiControl(r rune) bool {
	switch {
	case r == 0x061c, // ARABIC LETTER MARK
		r == 0x200e, r == 0x200f, // LRM, RLM
		r >= 0x2028 && r <= 0x202e, // LINE SEPARATOR .. RLO
		r >= 0x2066 && r <= 0x2069: // LRI .. PDI
		return true
	}
	return false
}

// termWriter passes writes through termEscape with layout kept. Each
// Write must hold whole characters, as the JSON encoder's (one per
// document) and fmt's (one per call) do; a character split between two
// writes would be shown as the escapes of its bytes.
type termWriter struct{ w io.Writer }

func (t termWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(t.w, termEscape(string(p), true)); err != nil {
		return 0, err
	}
	return len(p), nil
}
