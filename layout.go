package main

import (
	"io"
	"strings"
	"unicode/utf8"
)

// The terminal report's layout: tables whose cells are cut to fit the
// width, and label-value lines folded onto continuation lines, so that no
// line is longer than the width and the terminal never wraps one (a
// wrapped row breaks every column under it).
//
// Widths count characters (runes). Every string has gone through
// termEscape first, so it holds no control character; a double-width
// character (CJK in an interface name) is counted as one, and may then
// make its line one column longer than counted.

// Width of the report, in columns.
const (
	// defaultWidth is the width when neither --width nor COLUMNS gives
	// one: the classic terminal, and the width the issue measured at.
	defaultWidth = 80
	// minWidth is the narrowest accepted: a suspects row of an IPv4
	// scanner (time, address, kind, target) needs about this much.
	minWidth = 40
	// maxWidth bounds --width and COLUMNS, so a hostile or mistyped
	// value cannot make a line builder allocate without bound.
	maxWidth = 1000
)

// ellipsis ends (or starts) a value that was cut to fit the width;
// --wide prints every value whole.
const ellipsis = "…"

// colGap is the spaces between two table columns.
const colGap = 2

// textWidth is the columns s takes (see the note above on double-width
// characters).
func textWidth(s string) int { return utf8.RuneCountInString(s) }

// cutRight is s in at most w columns: its start and an ellipsis when it
// is longer.
func cutRight(s string, w int) string {
	if textWidth(s) <= w {
		return s
	}
	if w <= 1 {
		return strings.Repeat(ellipsis, max(w, 0))
	}
	return prefixRunes(s, w-1) + ellipsis
}

// cutLeft is s in at most w columns: an ellipsis and its end, for paths
// (the file name is the end).
func cutLeft(s string, w int) string {
	n := textWidth(s)
	if n <= w {
		return s
	}
	if w <= 1 {
		return strings.Repeat(ellipsis, max(w, 0))
	}
	return ellipsis + s[len(prefixRunes(s, n-(w-1))):]
}

// cutMiddle is s in at most w columns: its start, an ellipsis and its
// end, for addresses (two IPv6 scanners of one network differ at the end).
func cutMiddle(s string, w int) string {
	n := textWidth(s)
	if n <= w {
		return s
	}
	if w <= 2 {
		return cutRight(s, w)
	}
	head := (w - 1) / 2
	tail := w - 1 - head
	return prefixRunes(s, head) + ellipsis + s[len(prefixRunes(s, n-tail)):]
}

// cutList is a comma-separated list (ports, flags) in at most w columns:
// its first whole items and an ellipsis, so that a cut never shows a
// number that is not in the list ("22,4…" would read as port 4).
func cutList(s string, w int) string {
	if textWidth(s) <= w {
		return s
	}
	end := -1
	for i := 0; i < len(s); i++ {
		if s[i] == ',' && textWidth(s[:i+1])+1 <= w {
			end = i + 1
		}
	}
	if end < 0 {
		return cutRight(s, w)
	}
	return s[:end] + ellipsis
}

// prefixRunes is the first n runes of s.
func prefixRunes(s string, n int) string {
	i := 0
	for ; n > 0 && i < len(s); n-- {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}

// column is one column of a table.
type column struct {
	head  string
	right bool // numbers: aligned right
	// shrink orders the columns that give up width when a table is wider
	// than the report: the highest first, down to min columns each. 0:
	// never cut (a time, an address of IPv4 length, a count).
	shrink int
	min    int
	cut    func(string, int) string // how a cell is cut; cutRight when nil
	paint  func(style, string) string
}

// table is rows of cells under column headings, every cell plain text
// (escaped already).
type table struct {
	indent string
	cols   []column
	rows   [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// widths are the columns' widths: each as wide as its widest cell, then,
// unless wide, cut in shrink order until the table fits width or every
// shrinkable column is at its minimum (the table is then wider: better a
// long line than a cell cut to nothing).
func (t *table) widths(width int, wide bool) []int {
	w := make([]int, len(t.cols))
	total := textWidth(t.indent) + colGap*(len(t.cols)-1)
	for i, c := range t.cols {
		w[i] = textWidth(c.head)
		for _, r := range t.rows {
			w[i] = max(w[i], textWidth(r[i]))
		}
		total += w[i]
	}
	over := total - width
	for level := maxShrink(t.cols); !wide && over > 0 && level > 0; level-- {
		for i := len(t.cols) - 1; i >= 0 && over > 0; i-- {
			c := t.cols[i]
			if c.shrink != level || w[i] <= c.min {
				continue
			}
			take := min(w[i]-c.min, over)
			w[i] -= take
			over -= take
		}
	}
	return w
}

func maxShrink(cols []column) int {
	m := 0
	for _, c := range cols {
		m = max(m, c.shrink)
	}
	return m
}

// write prints the heading and the rows, each line at most width columns
// unless wide (or the table cannot shrink that far). Colours are applied
// after padding is measured, so escape sequences never shift a column.
func (t *table) write(w io.Writer, width int, wide bool, st style) {
	ws := t.widths(width, wide)
	line := func(cells []string, heading bool) {
		var b strings.Builder
		b.WriteString(t.indent)
		for i, c := range t.cols {
			cell := cells[i]
			if textWidth(cell) > ws[i] {
				cut := c.cut
				if cut == nil {
					cut = cutRight
				}
				cell = cut(cell, ws[i])
			}
			pad := strings.Repeat(" ", ws[i]-textWidth(cell))
			if !heading && c.paint != nil {
				cell = c.paint(st, cell)
			}
			if c.right {
				cell = pad + cell
			} else if i < len(t.cols)-1 {
				cell += pad
			}
			b.WriteString(cell)
			if i < len(t.cols)-1 {
				b.WriteString(strings.Repeat(" ", colGap))
			}
		}
		io.WriteString(w, strings.TrimRight(b.String(), " ")+"\n")
	}
	heads := make([]string, len(t.cols))
	for i, c := range t.cols {
		heads[i] = c.head
	}
	line(heads, true)
	for _, r := range t.rows {
		line(r, false)
	}
}

// fields prints label-value lines: "  label    value", the values in one
// column. A value longer than the line is folded at its spaces and after
// its commas onto continuation lines under the value, so nothing is lost;
// only a single word longer than a whole line is cut (cutLeft for paths,
// else cutRight). With wide nothing is folded.
type fields struct {
	w      io.Writer
	indent string
	labelW int // the label column's width, gap included
	width  int
	wide   bool
}

// line prints one label and its value (cut as cut says when a word does
// not fit; cutRight when nil); an empty label prints the value alone at
// the indent.
func (f fields) line(label, value string, cut func(string, int) string) {
	lead := f.indent
	if label != "" {
		lead += label + strings.Repeat(" ", max(f.labelW-textWidth(label), 1))
	}
	avail := f.width - textWidth(lead)
	if f.wide || textWidth(value) <= avail || avail < 8 {
		io.WriteString(f.w, strings.TrimRight(lead+value, " ")+"\n")
		return
	}
	if cut == nil {
		cut = cutRight
	}
	pad := strings.Repeat(" ", textWidth(lead))
	for i, l := range fold(value, avail, cut) {
		if i > 0 {
			lead = pad
		}
		io.WriteString(f.w, lead+l+"\n")
	}
}

// fold breaks s into lines of at most w columns, at runs of spaces (which
// are dropped at a break) and after commas (kept at the end of the line).
// A word longer than w is cut by cut.
func fold(s string, w int, cut func(string, int) string) []string {
	var lines []string
	var cur strings.Builder
	curW := 0
	for _, seg := range segments(s) {
		word := strings.TrimLeft(seg, " ")
		if curW > 0 && curW+textWidth(seg) <= w {
			cur.WriteString(seg)
			curW += textWidth(seg)
			continue
		}
		if curW > 0 {
			lines = append(lines, strings.TrimRight(cur.String(), " "))
			cur.Reset()
		}
		word = cut(word, w)
		cur.WriteString(word)
		curW = textWidth(word)
	}
	if curW > 0 || len(lines) == 0 {
		lines = append(lines, strings.TrimRight(cur.String(), " "))
	}
	return lines
}

// segments splits s where a line may break: before a run of spaces (kept
// at the start of the segment) and after a comma.
func segments(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == ' ' && i > start && s[i-1] != ' ':
			out = append(out, s[start:i])
			start = i
		case s[i] == ',' && i+1 < len(s) && s[i+1] != ' ':
			out = append(out, s[start:i+1])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
