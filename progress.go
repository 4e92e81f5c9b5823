package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progressBar shows how far a long read has come, on stderr when it is a
// terminal: "reading demo.pcapng  [=====>      ]  45%  412.5 MB/s  ETA 0:03",
// redrawn in place at most every progressEvery and erased when done, so
// that nothing of it stays in the terminal or reaches a file or a pipe.
// A nil *progressBar draws nothing.
type progressBar struct {
	w     io.Writer
	label string
	width int
	now   func() time.Time
	start time.Time
	last  time.Time // last redraw
	drawn bool
}

// Pacing of the bar.
const (
	// progressEvery bounds the redraws: ten a second is smooth to the eye
	// and costs nothing next to reading.
	progressEvery = 100 * time.Millisecond
	// progressWarmup is how long the rate is measured before it and the
	// ETA are shown: the first blocks of a file say little about the rest.
	progressWarmup = 500 * time.Millisecond
	// progressExtraWidth is the room of the rate and the ETA:
	// "  999.9 MB/s  ETA 9:59:59".
	progressExtraWidth = 25
)

// newProgress is a bar labelled label within width columns on w, or nil
// when w is not a terminal that shows it (terminalOut).
func newProgress(w io.Writer, label string, width int) *progressBar {
	if !terminalOut(w) {
		return nil
	}
	now := time.Now()
	return &progressBar{w: w, label: label, width: width, now: time.Now, start: now}
}

// update redraws the bar for done of total bytes, if progressEvery has
// passed since the last redraw (the first update always draws).
func (p *progressBar) update(done, total int64) {
	if p == nil {
		return
	}
	t := p.now()
	if p.drawn && t.Sub(p.last) < progressEvery {
		return
	}
	p.last, p.drawn = t, true
	// \r returns to the line's start, \033[K erases what the last
	// redraw left past the new one.
	fmt.Fprint(p.w, "\r"+p.line(done, total, t.Sub(p.start))+"\033[K")
}

// finish erases the bar.
func (p *progressBar) finish() {
	if p == nil || !p.drawn {
		return
	}
	fmt.Fprint(p.w, "\r\033[K")
}

// line is the bar's text for done of total bytes after elapsed, in at
// most width-1 columns: a terminal that is written in its last column
// may wrap, and the next redraw would then start a line too low.
func (p *progressBar) line(done, total int64, elapsed time.Duration) string {
	pct := 0
	if total > 0 {
		pct = int(min(100, done*100/total))
	}
	extra := ""
	if elapsed >= progressWarmup && done > 0 {
		rate := float64(done) / elapsed.Seconds()
		extra = fmt.Sprintf("  %s/s", sizeText(rate))
		if total > done {
			extra += "  ETA " + clockText(time.Duration(float64(total-done)/rate*float64(time.Second)))
		}
	}
	// The rate and ETA have their room from the first redraw, so that the
	// bar keeps its length when they appear.
	tail := fmt.Sprintf("%3d%%%-*s", pct, progressExtraWidth, extra)
	room := p.width - 1 - textWidth(tail) - 2
	label := cutLeft(p.label, max(room/2, 12))
	room -= textWidth(label) + 2
	if room < 12 {
		return cutRight(label+"  "+tail, p.width-1)
	}
	inner := room - 2
	fill := inner * pct / 100
	bar := strings.Repeat("=", fill)
	if fill < inner {
		bar += ">" + strings.Repeat(" ", inner-fill-1)
	}
	return label + "  [" + bar + "]  " + tail
}

// sizeText is a byte count (or rate) in decimal units, as bench prints
// MB/s: "412.5 MB".
func sizeText(b float64) string {
	switch {
	case b >= 1e9:
		return fmt.Sprintf("%.1f GB", b/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.1f MB", b/1e6)
	case b >= 1e3:
		return fmt.Sprintf("%.1f kB", b/1e3)
	}
	return fmt.Sprintf("%.0f B", b)
}

// clockText is a duration as "m:ss", or "h:mm:ss" past an hour.
func clockText(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
