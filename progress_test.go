package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// TestProgressLine: the bar, its percentage, rate and ETA fit the width
// minus one column, and the rate waits for progressWarmup.
func TestProgressLine(t *testing.T) {
	p := &progressBar{label: "reading demo.pcapng", width: 80}
	for _, c := range []struct {
		done, total int64
		elapsed     time.Duration
		bar, tail   string // the bar's start and the text after it
	}{
		{0, 1000, 0, "[> ", "]    0%"},
		{1, 1000, time.Millisecond, "[> ", "]    0%"},
		{250e6, 1000e6, 100 * time.Millisecond, "[======>  ", "]   25%"},
		{250e6, 1000e6, time.Second, "[======>  ", "]   25%  250.0 MB/s  ETA 0:03"},
		{1000e6, 1000e6, 2 * time.Second, "[=====", "=]  100%  500.0 MB/s"},
		{5e6, 1e12, time.Second, "[> ", "]    0%  5.0 MB/s  ETA 55:33:19"},
	} {
		got := p.line(c.done, c.total, c.elapsed)
		if textWidth(got) != p.width-1 || !strings.HasPrefix(got, "reading demo.pcapng  "+c.bar) || !strings.HasSuffix(strings.TrimRight(got, " "), c.tail) {
			t.Errorf("line(%d, %d, %v) = %q (%d columns), want %q...%q in %d", c.done, c.total, c.elapsed, got, textWidth(got),
				c.bar, c.tail, p.width-1)
		}
	}
	narrow := &progressBar{label: "reading a-very-long-capture-name-from-a-rotation.pcapng", width: 40}
	if got := narrow.line(1, 2, time.Second); textWidth(got) > 39 || !strings.Contains(got, "50%") {
		t.Errorf("narrow line %q (%d columns)", got, textWidth(got))
	}
}

// TestProgressRedraws: the first update draws, later ones at most every
// progressEvery; finish erases what was drawn; a nil bar does nothing.
func TestProgressRedraws(t *testing.T) {
	var b bytes.Buffer
	now := time.Unix(0, 0)
	p := &progressBar{w: &b, label: "x", width: 60, now: func() time.Time { return now }, start: now}
	p.update(1, 10)
	now = now.Add(progressEvery / 2)
	p.update(2, 10) // too soon
	now = now.Add(progressEvery)
	p.update(3, 10)
	p.finish()
	out := b.String()
	if n := strings.Count(out, "\r"); n != 3 || !strings.HasSuffix(out, "\r\033[K") || strings.Contains(out, " 20%") {
		t.Errorf("redraws %q", out)
	}
	var nilBar *progressBar
	nilBar.update(1, 2)
	nilBar.finish()
}

// TestProgressOffTerminal: no bar unless stderr is a terminal.
func TestProgressOffTerminal(t *testing.T) {
	if newProgress(&bytes.Buffer{}, "x", 80) != nil {
		t.Error("a bar on a buffer")
	}
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if newProgress(f, "x", 80) != nil {
		t.Error("a bar on a file")
	}
}
