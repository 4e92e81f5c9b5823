package capture

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"porthunter/pcapng"
	"porthunter/policy"
)

// A call of the server reads one file or a rotated set of files as one
// capture, optionally restricted to a time window. The limits of one file
// apply to the whole set: its files together are at most
// PORT_HUNTER_MAX_PCAP_MB and hold at most PORT_HUNTER_MAX_PACKETS
// records, and a set has at most PORT_HUNTER_MAX_SET_FILES files. A file
// named twice, or two files with the same content (a copy beside the
// original), are read once and reported, so no packet is counted twice.

// hashChunk is the read size of the duplicate check's hashing, between
// looks at the call's context.
const hashChunk = 1 << 20

// Request is what one analysis reads: one file or a rotated set, and an
// optional time window.
type Request struct {
	Paths  []string // relative to the sandbox's directory; several are one rotated set
	Window Window
}

// Window restricts an analysis to the records whose timestamp t has
// Since <= t < Until. A zero bound is open.
type Window struct {
	Since, Until time.Time
}

// IsZero reports whether w restricts nothing.
func (w Window) IsZero() bool { return w.Since.IsZero() && w.Until.IsZero() }

// Ordered reports whether the window's bounds, when both are given, run
// forwards (Since before Until).
func (w Window) Ordered() bool {
	return w.Since.IsZero() || w.Until.IsZero() || w.Since.Before(w.Until)
}

// ParseBound reads a window bound as the tools and the terminal take it:
// an RFC 3339 time (converted to UTC) between 1970 and 2262, the years a
// timestamp in nanoseconds holds; "" is an open bound. ok is false for
// anything else.
func ParseBound(v string) (t time.Time, ok bool) {
	if v == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
	if err != nil || t.Year() < 1970 || t.Year() > 2262 {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// WindowReport is the time window an analysis was restricted to: its
// bounds (RFC 3339, UTC; absent when open) and the records it left out.
// The frames left out keep their numbers, so the frames of an answer are
// those Wireshark shows for the whole file.
type WindowReport struct {
	Since         string `json:"since,omitempty" desc:"first instant kept (inclusive)"`
	Until         string `json:"until,omitempty" desc:"first instant no longer kept (exclusive)"`
	RecordsBefore uint64 `json:"records_before" desc:"records earlier than since (or without a timestamp), not analysed"`
	RecordsAfter  uint64 `json:"records_after" desc:"records at or after until, not analysed"`
}

// Bounds is the window in words: "from SINCE to UNTIL", an open bound
// read as the start or the end.
func (w *WindowReport) Bounds() string {
	since, until := w.Since, w.Until
	if since == "" {
		since = "the start"
	}
	if until == "" {
		until = "the end"
	}
	return "from " + since + " to " + until
}

// DuplicateReport is a file of a set that was not read because another
// file of the set is the same file (named twice, or through a link) or
// has the same content (same SHA-256).
type DuplicateReport struct {
	Name   string `json:"name"`
	SameAs string `json:"same_as" desc:"the file that was read instead"`
	Reason string `json:"reason" enum:"same_file,same_content"`
	SHA256 string `json:"sha256,omitempty" desc:"the content both have (same_content)"`
}

// selection is a Window applied while reading, with the count of the
// records it leaves out and the bound on the records read (a nil
// selection takes every record and bounds nothing).
type selection struct {
	w             Window
	since, until  int64  // the window in ns, open ends at the extremes
	limit         uint64 // records at most, 0 for no bound
	before, after uint64
}

func newSelection(w Window, maxRecords int64) *selection {
	if w.IsZero() && maxRecords <= 0 {
		return nil
	}
	s := &selection{w: w, since: math.MinInt64, until: math.MaxInt64}
	if !w.Since.IsZero() {
		s.since = w.Since.UnixNano()
	}
	if !w.Until.IsZero() {
		s.until = w.Until.UnixNano()
	}
	if maxRecords > 0 {
		s.limit = uint64(maxRecords)
	}
	return s
}

// take reports whether a record of timestamp ts is analysed, counting
// those that are not.
func (s *selection) take(ts int64) bool {
	switch {
	case s == nil:
		return true
	case ts < s.since:
		s.before++
		return false
	case ts >= s.until:
		s.after++
		return false
	}
	return true
}

// recordLimit is feed's limit: the records a call may read.
func (s *selection) recordLimit() uint64 {
	if s == nil || s.limit == 0 {
		return math.MaxUint64
	}
	return s.limit
}

// checkLimit is called after feed read n records of rd without error: at
// the limit, one more record means the capture holds more than allowed.
func (s *selection) checkLimit(rd *pcapng.Reader, n uint64, readErr error) error {
	if s == nil || s.limit == 0 || readErr != nil || n < s.limit {
		return nil
	}
	if _, err := rd.Next(); err == io.EOF {
		return nil
	}
	return fmt.Errorf("%w: more than %d records (PORT_HUNTER_MAX_PACKETS)", ErrTooManyPackets, s.limit)
}

// again is a selection like s with nothing counted, for a second reading.
func (s *selection) again() *selection {
	if s == nil {
		return nil
	}
	c := *s
	c.before, c.after = 0, 0
	return &c
}

// report is the window's report, nil without a window.
func (s *selection) report() *WindowReport {
	if s == nil || s.w.IsZero() {
		return nil
	}
	r := &WindowReport{RecordsBefore: s.before, RecordsAfter: s.after}
	if !s.w.Since.IsZero() {
		r.Since = s.w.Since.UTC().Format(time.RFC3339Nano)
	}
	if !s.w.Until.IsZero() {
		r.Until = s.w.Until.UTC().Format(time.RFC3339Nano)
	}
	return r
}

// openSet opens the files of req through the sandbox, within the set's
// limits, and leaves out the same file named twice (device and inode).
// The caller closes the files (closeAll), the duplicates included.
func (z *Analyzer) openSet(req Request) (files []*policy.File, dups []DuplicateReport, all []*policy.File, err error) {
	if len(req.Paths) == 0 {
		return nil, nil, nil, fmt.Errorf("%w: no file named", policy.ErrPathNotFound)
	}
	if max := z.cfg.MaxSetFiles; max > 0 && len(req.Paths) > max {
		return nil, nil, nil, fmt.Errorf("%w: %d files, at most %d (PORT_HUNTER_MAX_SET_FILES)", ErrTooManyFiles, len(req.Paths), max)
	}
	var size int64
	for _, p := range req.Paths {
		f, err := z.sandbox.Open(p)
		if err != nil {
			closeAll(all)
			return nil, nil, nil, err
		}
		all = append(all, f)
		if i := slices.IndexFunc(files, func(g *policy.File) bool { return g.Dev == f.Dev && g.Inode == f.Inode }); i >= 0 {
			dups = append(dups, DuplicateReport{Name: f.Name, SameAs: files[i].Name, Reason: "same_file"})
			continue
		}
		files = append(files, f)
		size += f.Size
	}
	if len(files) > 1 && size > z.cfg.MaxPcapBytes {
		closeAll(all)
		return nil, nil, nil, fmt.Errorf("%w: the %d files total %d bytes, limit %d (PORT_HUNTER_MAX_PCAP_MB applies to a set as a whole)",
			policy.ErrFileTooLarge, len(files), size, z.cfg.MaxPcapBytes)
	}
	return files, dups, all, nil
}

func closeAll(fs []*policy.File) {
	for _, f := range fs {
		f.Close()
	}
}

// setKey is the cache key of a request over files: one whole file is
// keyed as Analyze keys it; a set by the identities of all its files,
// sorted (the order given does not change what is read), the names
// included because the report names them.
func setKey(files []*policy.File, dups []DuplicateReport, w Window) cacheKey {
	f := files[0]
	k := cacheKey{name: f.Name, dev: f.Dev, inode: f.Inode, size: f.Size, mtimeNS: f.ModTime.UnixNano(), window: w}
	if len(files) == 1 && len(dups) == 0 {
		return k
	}
	var ids []string
	for _, f := range files {
		ids = append(ids, fmt.Sprintf("%q/%d/%d/%d/%d", f.Name, f.Dev, f.Inode, f.Size, f.ModTime.UnixNano()))
	}
	for _, d := range dups {
		ids = append(ids, fmt.Sprintf("dup %q=%q", d.Name, d.SameAs))
	}
	slices.Sort(ids)
	k.name, k.dev, k.inode, k.size, k.mtimeNS = "", 0, 0, 0, 0
	k.set = strings.Join(ids, "\n")
	return k
}

// dropSameContent leaves out the files whose content another file of the
// set has: only files of equal size can be equal, so only those are
// hashed (a pass over them before the analysis reads them again).
func dropSameContent(ctx context.Context, files []*policy.File) ([]*policy.File, []DuplicateReport, error) {
	bySize := map[int64]int{}
	for _, f := range files {
		bySize[f.Size]++
	}
	sums := make([]string, len(files))
	for i, f := range files {
		if bySize[f.Size] < 2 {
			continue
		}
		s, err := fileSHA256(ctx, f)
		if err != nil {
			return nil, nil, err
		}
		sums[i] = s
	}
	var kept []*policy.File
	var keptSums []string
	var dups []DuplicateReport
	for i, f := range files {
		if sums[i] != "" {
			if j := slices.Index(keptSums, sums[i]); j >= 0 {
				dups = append(dups, DuplicateReport{Name: f.Name, SameAs: kept[j].Name, Reason: "same_content", SHA256: sums[i]})
				continue
			}
		}
		kept = append(kept, f)
		keptSums = append(keptSums, sums[i])
	}
	return kept, dups, nil
}

// fileSHA256 hashes f, looking at ctx between chunks.
func fileSHA256(ctx context.Context, f *policy.File) (string, error) {
	h := sha256.New()
	r := io.LimitReader(f.Reader(), f.Size) // the bytes the file had when opened, as an analysis reads them
	buf := make([]byte, hashChunk)
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, err := r.Read(buf)
		h.Write(buf[:n])
		if errors.Is(err, io.EOF) {
			return hex.EncodeToString(h.Sum(nil)), nil
		}
		if err != nil {
			return "", err
		}
	}
}

// inputs are the files in the order they are read: by their first
// record, as ReadFiles orders a set.
func inputs(files []*policy.File, lim pcapng.Limits) ([]captureInput, error) {
	in := make([]captureInput, len(files))
	has := make([]bool, len(files))
	for i, f := range files {
		in[i] = captureInput{name: f.Name, r: f.Reader(), reopen: f.Reader, size: f.Size}
		if len(files) == 1 {
			break
		}
		ts, ok, err := firstRecordTS(f.Reader(), lim)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		in[i].firstTS, has[i] = ts, ok
	}
	if len(in) > 1 {
		sortCaptureInputs(in, has)
	}
	return in, nil
}

// AnalyzeSet returns the analysis of a request: one file or a rotated set
// read as one capture (in the order of their first records, frames
// numbered on across files, as ReadFiles reads them), restricted to its
// time window, reading it unless a cached analysis matches the files and
// the window. Besides the errors of Analyze: ErrTooManyFiles,
// ErrTooManyPackets, and policy.ErrFileTooLarge for a set over the size
// limit as a whole. The report lists the files (Files, for a set), the
// duplicates left out, and the window.
func (z *Analyzer) AnalyzeSet(ctx context.Context, req Request, progress func(done, total int64)) (*Result, error) {
	files, dups, all, err := z.openSet(req)
	if err != nil {
		return nil, err
	}
	defer closeAll(all)
	key := setKey(files, dups, req.Window)
	if r := z.lookup(key); r != nil {
		return r, nil
	}
	select {
	case z.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-z.sem }()
	if r := z.lookup(key); r != nil {
		return r, nil
	}
	z.begin()
	r, err := z.readSet(ctx, files, dups, req, progress)
	if err != nil {
		z.end(key, nil)
		return nil, err
	}
	r.retained = r.retainedBytes()
	z.end(key, r)
	return r, nil
}

func (z *Analyzer) readSet(ctx context.Context, files []*policy.File, dups []DuplicateReport, req Request, progress func(done, total int64)) (*Result, error) {
	w := req.Window
	files, more, err := dropSameContent(ctx, files)
	if err != nil {
		return nil, err
	}
	dups = append(dups, more...)
	lim := ReaderLimits(z.cfg)
	in, err := inputs(files, lim)
	if err != nil {
		return nil, err
	}
	r, err := readCaptures(ctx, in, lim, z.scanConfig(), newSelection(w, z.cfg.MaxPackets), progress)
	if err != nil {
		return nil, err
	}
	if z.cfg.MemoryBudgetBytes > 0 {
		r.Report.Stats.MemoryBudgetBytes = z.cfg.MemoryBudgetBytes
	}
	r.Report.Duplicates = dups
	if len(r.Report.Files) == 0 && (len(req.Paths) > 1 || !w.IsZero()) {
		// One file read of a request that named several, or a window:
		// the report names it, as it names the files of a set.
		f := files[0]
		ts, _, _ := firstRecordTS(f.Reader(), lim)
		frames := r.Report.Stats.TotalPackets
		if wr := r.Report.Window; wr != nil {
			frames += wr.RecordsBefore + wr.RecordsAfter
		}
		r.Report.Files = []FileReport{{Name: f.Name, SizeBytes: f.Size, SHA256: r.Report.SHA256, Format: r.Report.Format,
			FirstTS: ts, Frames: frames, FirstFrame: 1}}
		r.Report.FilesTotal = 1
	}
	return r, nil
}

// Cached returns the analysis of the whole file info describes, when one
// is cached, without reading anything or changing the cache's order (a
// listing looks at every file).
func (z *Analyzer) Cached(info policy.Info) *Result {
	k := cacheKey{name: info.Name, dev: info.Dev, inode: info.Inode, size: info.Size, mtimeNS: info.ModTime.UnixNano()}
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.cache[k]
}
