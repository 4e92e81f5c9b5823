package capture

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"slices"
	"sync"

	"porthunter/pcapng"
	"porthunter/policy"
	"porthunter/scan"
)

// Limits of the analysis cache and of the reading loop.
const (
	// maxCachedAnalyses bounds the analyses kept between calls. Every tool
	// is a view over one analysis, so a session that asks four questions
	// about one capture reads it once; eight files cover an investigation.
	// Their memory is bounded apart: cached analyses and the shares of
	// those being read stay within the memory budget (Analyzer.evict).
	maxCachedAnalyses = 8

	// checkEvery is how many records the reading loop handles between
	// looks at cancellation and progress: often enough to stop within
	// milliseconds, rarely enough to cost nothing.
	checkEvery = 4096

	// decompressedFactor bounds what a gzip-compressed capture may expand
	// to, as a multiple of the file limit (gzip's best ratio is about
	// 1000:1, real captures compress 3-10:1); minDecompressed keeps small
	// limits usable.
	decompressedFactor = 20
	minDecompressed    = 1 << 30

	// maxReportedInterfaces caps the interfaces listed in the capture
	// report, which every capture answer carries: a pcapng file may
	// declare 16,384 (pcapng.MaxAllInterfaces), about 2.4 MB of report,
	// while real captures have a handful.
	maxReportedInterfaces = 64
)

// Report is the "capture" object of the answers: what was read and
// what could not be, so that "no scan found" is a qualified answer. Its
// JSON field names are part of the contract.
type Report struct {
	Format     string            `json:"format"`
	Compressed bool              `json:"compressed"`
	Version    string            `json:"version"`
	SizeBytes  int64             `json:"size_bytes"`
	SHA256     string            `json:"sha256"`
	Sections   int               `json:"sections"`
	Interfaces []InterfaceReport `json:"interfaces"` // at most maxReportedInterfaces
	// InterfacesTotal counts the interfaces of every section and file;
	// InterfacesTruncated says interfaces lists only the first ones.
	InterfacesTotal     int               `json:"interfaces_total"`
	InterfacesTruncated bool              `json:"interfaces_truncated,omitempty"`
	Truncated           *TruncationReport `json:"truncated"`
	Stats               Stats             `json:"stats"`
	// Files lists the files of a capture set read as one capture, in the
	// order read; absent for one file. SHA256 is then empty.
	Files []FileReport `json:"files,omitempty"`
	// FilesTotal counts the files read when Files lists them: an answer
	// may list only the first ones.
	FilesTotal int `json:"files_total,omitempty"`
	// Duplicates lists the files of a set left out because another file
	// of the set has the same content (set.go); absent when none.
	Duplicates []DuplicateReport `json:"duplicates,omitempty"`
	// Window is the time window the analysis was restricted to, with the
	// records it left out; absent without a window (set.go).
	Window *WindowReport `json:"window,omitempty"`
}

// InterfaceReport describes one interface of the capture (a pcap file
// has one; a pcapng file declares one per Interface Description Block).
// ID numbers the interfaces of every section and file in the order read.
type InterfaceReport struct {
	ID        int     `json:"id"`
	Section   int     `json:"section"`
	LinkType  uint16  `json:"link_type"`
	Link      string  `json:"link"`
	SnapLen   uint32  `json:"snaplen"`
	Precision uint8   `json:"ts_precision_digits"`
	Name      string  `json:"name,omitempty"`
	Drops     *uint64 `json:"drops"`
}

// TruncationReport says where a capture that broke after its first packet
// stopped being readable: everything before AfterFrame was analysed.
type TruncationReport struct {
	AfterFrame uint64 `json:"after_frame"`
	Offset     int64  `json:"offset"`
	Reason     string `json:"reason"`
}

// Result is one capture's analysis and its report, immutable once built:
// an Analyzer hands the same Result to every call about an unchanged
// file, so callers read it and never change it.
type Result struct {
	Analysis *scan.Analysis
	Report   *Report
	// retained estimates the heap the result keeps alive (retainedBytes),
	// set when it is cached.
	retained int64
}

// retainedBytes estimates the heap r keeps alive: its analysis and the
// report's lists.
func (r *Result) retainedBytes() int64 {
	n := r.Analysis.RetainedBytes() + 512 // the report's fixed part
	for _, itf := range r.Report.Interfaces {
		n += 96 + int64(len(itf.Name))
	}
	for _, f := range r.Report.Files {
		n += 128 + int64(len(f.Name))
	}
	return n
}

type cacheKey struct {
	name       string
	dev, inode uint64
	size       int64
	mtimeNS    int64
	// set is the identity of the other files of a rotated set and
	// window the time window (set.go); both empty for one whole file.
	set    string
	window Window
}

// Analyzer reads captures through the sandbox, at most MaxConcurrentAnalyses
// at a time, and caches the results by file identity, so a file that
// changes (size, mtime, inode) is read again. The cached analyses count
// against the memory budget: the least recently used are dropped so that
// they and the budget shares of the analyses being read fit in it. Its
// methods may be called from several goroutines.
type Analyzer struct {
	cfg     policy.Config
	sandbox *policy.Sandbox
	sem     chan struct{}
	log     io.Writer // where dropped analyses are reported

	mu      sync.Mutex
	cache   map[cacheKey]*Result
	order   []cacheKey // least recently used first
	cached  int64      // retained bytes of the cached analyses
	running int        // analyses being read
	dropped uint64     // analyses dropped for the memory budget
}

// NewAnalyzer returns an Analyzer that opens captures through sb and
// reads them within cfg's limits: MaxConcurrentAnalyses at a time,
// MemoryBudgetBytes shared by them and the cache, and gzip expansion
// bounded by MaxPcapBytes (ReaderLimits). Dropped analyses are not
// reported until LogTo names a writer.
func NewAnalyzer(cfg policy.Config, sb *policy.Sandbox) *Analyzer {
	n := cfg.MaxConcurrentAnalyses
	if n < 1 {
		n = 1
	}
	return &Analyzer{cfg: cfg, sandbox: sb, sem: make(chan struct{}, n), log: io.Discard, cache: make(map[cacheKey]*Result)}
}

// LogTo sets where z reports, one line each, the analyses it drops from
// the cache, and returns z. The lines name the file a caller chose, so a
// server passes its redacting log. Call it before the first Analyze.
func (z *Analyzer) LogTo(w io.Writer) *Analyzer {
	z.log = w
	return z
}

// Analyze returns the analysis of the capture at path (relative to the
// sandbox's directory), reading it unless a cached one matches the file.
// progress, if not nil, is called on the calling goroutine every
// checkEvery records with the bytes read so far and the total (twice the
// file's size when it is read a second time for its heaviest sources).
// Errors wrap the sandbox's policy sentinels, ErrMalformed, ErrChanged or
// ctx's error; a cancelled call stops reading within milliseconds.
func (z *Analyzer) Analyze(ctx context.Context, path string, progress func(done, total int64)) (*Result, error) {
	f, err := z.sandbox.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	key := cacheKey{name: f.Name, dev: f.Dev, inode: f.Inode, size: f.Size, mtimeNS: f.ModTime.UnixNano()}
	if r := z.lookup(key); r != nil {
		return r, nil
	}
	select {
	case z.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-z.sem }()
	if r := z.lookup(key); r != nil { // another call read it while we waited
		return r, nil
	}
	z.begin()
	in := []captureInput{{r: f.Reader(), reopen: f.Reader, size: f.Size}}
	r, err := readCaptures(ctx, in, ReaderLimits(z.cfg), z.scanConfig(), nil, progress)
	if err != nil {
		z.end(key, nil)
		return nil, err
	}
	if z.cfg.MemoryBudgetBytes > 0 {
		// The report names the configured budget, which this analysis
		// shared (see scanConfig).
		r.Report.Stats.MemoryBudgetBytes = z.cfg.MemoryBudgetBytes
	}
	r.retained = r.retainedBytes()
	z.end(key, r)
	return r, nil
}

// ReaderLimits are the limits captures are read with under cfg: the
// reader's defaults, with a gzip capture's expansion bounded by
// decompressedFactor (20) times cfg.MaxPcapBytes, or minDecompressed
// (1 GiB) if that is more.
// Other readers of captures (carve) use them too, so that no command
// expands a file further than an analysis would.
func ReaderLimits(cfg policy.Config) pcapng.Limits {
	l := pcapng.DefaultLimits()
	if m := cfg.MaxPcapBytes; m > 0 && m <= l.MaxDecompressed/decompressedFactor {
		l.MaxDecompressed = max(m*decompressedFactor, minDecompressed)
	}
	return l
}

func (z *Analyzer) scanConfig() scan.Config {
	c := scan.DefaultConfig()
	// One aggregating goroutine per CPU: the reading goroutine and the
	// file hash share them, and the answers do not depend on the count.
	c.Workers = runtime.GOMAXPROCS(0)
	if z.cfg.MemoryBudgetBytes > 0 {
		// The budget is shared by all analyses (policy.Config): each of
		// those that may run at once gets its part, so that they cannot
		// together hold more.
		c.MemoryBudgetBytes = z.cfg.MemoryBudgetBytes / int64(max(z.cfg.MaxConcurrentAnalyses, 1))
	}
	return c
}

func (z *Analyzer) lookup(k cacheKey) *Result {
	z.mu.Lock()
	defer z.mu.Unlock()
	r := z.cache[k]
	if r != nil {
		z.touch(k)
	}
	return r
}

// begin counts an analysis about to be read, dropping cached ones to make
// room for its share of the budget.
func (z *Analyzer) begin() {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.running++
	z.evict()
}

// end counts the analysis begun for k as read and caches r (nil: it
// failed), dropping the least recently used analyses, r itself when it
// does not fit beside the shares of those still being read.
func (z *Analyzer) end(k cacheKey, r *Result) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.running--
	if r == nil {
		return
	}
	if old, ok := z.cache[k]; ok { // read twice at once (sem allows it)
		z.cached -= old.retained
	} else if len(z.order) >= maxCachedAnalyses {
		z.drop(fmt.Sprintf("the cache holds %d", maxCachedAnalyses))
	}
	z.cache[k] = r
	z.cached += r.retained
	z.touch(k)
	z.evict()
}

// evict drops the least recently used analyses until the cached ones and
// the shares of the running ones (scanConfig: the budget over the
// analyses that may run at once, which each stays within) fit in the
// memory budget. A call that still holds a dropped analysis keeps it
// until it answers. Callers hold mu.
func (z *Analyzer) evict() {
	budget := z.cfg.MemoryBudgetBytes
	if budget <= 0 {
		return
	}
	room := budget - int64(z.running)*z.scanConfig().MemoryBudgetBytes
	for len(z.order) > 0 && z.cached > room {
		z.drop(fmt.Sprintf("PORT_HUNTER_MEMORY_MB is %d, %d analyses being read", budget>>20, z.running))
	}
}

// drop removes the least recently used analysis from the cache, and says
// so on z.log with why; callers hold mu.
func (z *Analyzer) drop(why string) {
	k := z.order[0]
	r := z.cache[k]
	z.cached -= r.retained
	delete(z.cache, k)
	z.order = slices.Delete(z.order, 0, 1)
	z.dropped++
	fmt.Fprintf(z.log, "porthunter: cache: dropped the analysis of %q (%.1f MiB): %s\n", k.name, float64(r.retained)/(1<<20), why)
}

// touch moves k to the most recently used end; callers hold mu.
func (z *Analyzer) touch(k cacheKey) {
	for i, o := range z.order {
		if o == k {
			z.order = append(z.order[:i], z.order[i+1:]...)
			break
		}
	}
	z.order = append(z.order, k)
}

// countingReader counts the bytes read from the file, for progress.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// asyncHash computes SHA-256 of a file on its own goroutine, so hashing
// overlaps parsing: its tap (pcapng.Tap) takes the reader's own buffers,
// each until it is hashed, so the file's bytes are not copied for it.
// (Copied, they cost the 1 GB bench capture 7 % more CPU time: the copy,
// and the caches it flushed.)
type asyncHash struct {
	h    hash.Hash
	ch   chan tapped
	done chan struct{}
}

type tapped struct {
	b    []byte
	done func()
}

func newAsyncHash() *asyncHash {
	// The reader's four buffers bound how far it runs ahead of the
	// hasher; the queue's room lets many small reads (a pipe's) through
	// without waiting.
	a := &asyncHash{h: sha256.New(), ch: make(chan tapped, 64), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for t := range a.ch {
			a.h.Write(t.b)
			t.done()
		}
	}()
	return a
}

// tap is the pcapng.Tap of the file's reader.
func (a *asyncHash) tap(b []byte, done func()) { a.ch <- tapped{b, done} }

// sum waits for the hasher and returns the hex digest.
func (a *asyncHash) sum() string {
	close(a.ch)
	<-a.done
	return hex.EncodeToString(a.h.Sum(nil))
}

// captureInput is one file of a capture set, read from its first byte.
type captureInput struct {
	name    string
	r       io.Reader
	reopen  func() io.Reader // the file again from its first byte; nil if it cannot be re-read
	size    int64
	firstTS scan.Time // first record's timestamp (sortCaptureInputs), for the report
}

// FileReport describes one file of a capture set read as one
// capture ("files" in the capture report, only when there are several).
type FileReport struct {
	Name       string    `json:"name"`
	SizeBytes  int64     `json:"size_bytes"`
	SHA256     string    `json:"sha256"`
	Format     string    `json:"format"`
	FirstTS    scan.Time `json:"first_ts"`
	Frames     uint64    `json:"frames"`
	FirstFrame uint64    `json:"first_frame"`
}

// readCaptures reads the files of a capture set, in the order given, as
// one capture: every record goes to one aggregator, and frames are
// numbered on across files (the first record of the second file is frame
// 1 + the records of the first), as `mergecap -a` concatenation numbers
// them. Reading stops at the first error after at least one record: the
// report says where, and later files are not read (a rotated set is only
// cut short in its last file; if a middle file is damaged, what follows
// it would be counted under frame numbers that depend on where it broke).
// A file that is not a capture at all fails the whole set. sel, if not
// nil, keeps only the records of a time window and bounds the records
// read (set.go); the frames left out keep their numbers.
func readCaptures(ctx context.Context, in []captureInput, lim pcapng.Limits, sc scan.Config, sel *selection, progress func(done, total int64)) (*Result, error) {
	var total int64
	for _, c := range in {
		total += c.size
	}
	budget := sc.MemoryBudgetBytes
	if budget <= 0 {
		budget = scan.DefaultMemoryBudgetBytes
	}
	// Reassembly's tables come out of the budget the aggregator gets, so
	// the two together stay within it.
	rl := pcapng.ReassemblyLimitsFor(budget)
	sc.MemoryBudgetBytes = budget - rl.Bytes()
	sc.Rereadable = rereadable(in)
	agg := scan.NewAggregator(sc)
	// Closed on an early return, which stops its workers. A closure, not a
	// deferred method value: once the aggregator is dropped for a second
	// reading, nothing may keep it reachable.
	defer func() {
		if agg != nil {
			agg.Close()
		}
	}()
	dec := newDecoder(rl)
	var (
		n        uint64 // records read so far, over all files
		before   int64  // bytes of the files already read, for progress
		stop     error
		stopOff  int64
		rep      Report
		files    []FileReport
		sections int
	)
	for i, c := range in {
		hasher := newAsyncHash()
		// Only the bytes the file had when it was opened are read: a
		// capture still being written (tcpdump -w) is analysed as the
		// snapshot its size, hash and cache key describe, and cannot grow
		// past the file limit while it is read.
		cr := &countingReader{r: io.LimitReader(c.r, c.size)}
		rd, err := pcapng.NewReaderTap(cr, lim, hasher.tap)
		if err != nil {
			hasher.sum()
			err = fileErr(len(in), c.name, err)
			if errors.Is(err, pcapng.ErrNotCapture) {
				return nil, fmt.Errorf("%w: %v", policy.ErrUnsupportedFileType, err)
			}
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		first := n
		var readErr error
		n, readErr = feed(ctx, rd, agg, dec, n, sel.recordLimit(), sel, func() {
			if progress != nil {
				progress(before+cr.n, total)
			}
		})
		if err := ctx.Err(); err != nil {
			hasher.sum()
			return nil, err
		}
		if err := sel.checkLimit(rd, n, readErr); err != nil {
			hasher.sum()
			return nil, err
		}
		if readErr != nil {
			stop = fileErr(len(in), c.name, readErr)
		}
		if stop == nil && cr.n < c.size {
			// A clean end before the size the file had when opened: it
			// shrank while it was read, and what it held is unknown.
			stop = fileErr(len(in), c.name, fmt.Errorf("the file shrank while it was read (%d of %d bytes)", cr.n, c.size))
		}
		sum := hasher.sum()
		before += c.size
		info := rd.Info()
		if i == 0 {
			rep.Format, rep.Compressed, rep.Version, rep.SHA256 = info.Format, info.Compressed, info.Version, sum
		}
		rep.SizeBytes += c.size
		for _, itf := range info.Interfaces {
			rep.InterfacesTotal++
			if len(rep.Interfaces) == maxReportedInterfaces {
				rep.InterfacesTruncated = true
				continue
			}
			ir := InterfaceReport{ID: rep.InterfacesTotal - 1, Section: sections + itf.Section, LinkType: uint16(itf.LinkType),
				Link: linkName(itf.LinkType), SnapLen: itf.SnapLen, Precision: itf.TSResolDigits, Name: itf.Name}
			if itf.HasDrops {
				d := itf.Drops
				ir.Drops = &d
			}
			rep.Interfaces = append(rep.Interfaces, ir)
		}
		sections += info.Sections
		if stop != nil {
			sum = "" // the hash of a partly read file would mislead
			stopOff = rd.Offset()
		}
		files = append(files, FileReport{Name: c.name, SizeBytes: c.size, SHA256: sum, Format: info.Format,
			FirstTS: c.firstTS, Frames: n - first, FirstFrame: first + 1})
		if stop != nil {
			break
		}
	}
	if stop != nil && n == 0 {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, stop)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var an *scan.Analysis
	if set := agg.HeaviestSources(); sc.Rereadable && (set != nil || agg.Counting()) {
		// Read again. With a set, the source budget refused senders
		// heavier than some it tracked: the second reading tracks the
		// heaviest from their first packet. Without, the first reading
		// stopped collecting targets for that second reading
		// (scan.Aggregator.Counting), but the tracked sources outweighed
		// the refused by the end after all: the second reading goes as
		// the first would have gone on. The first reading's state is
		// dropped unfinished (its analysis would be discarded), so the
		// peak memory is that of one reading.
		agg.Close()
		agg, sc.Admit, sc.Rereadable = nil, set, false
		// Its memory is garbage now: collected before the second reading
		// allocates, it is reused, so the peak stays that of one reading,
		// not their sum. (Returned to the system, it would only be faulted
		// in again: 7 % more CPU on the 1M-source bench capture.)
		runtime.GC()
		var err error
		an, err = rereadCaptures(ctx, in, n, lim, sc, rl, sel.again(), func(done int64) {
			if progress != nil {
				progress(total+done, 2*total)
			}
		})
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err != nil {
			what := ""
			if set != nil {
				what = " for its heaviest sources"
			}
			return nil, fmt.Errorf("%w: reading it again%s: %v", ErrChanged, what, err)
		}
	} else {
		var err error
		if an, err = agg.FinishContext(ctx); err != nil {
			return nil, err
		}
	}
	rep.Sections = sections
	rep.Stats = dec.stats(an.Capture())
	rep.Stats.MemoryBudgetBytes = budget
	rep.Window = sel.report()
	if stop != nil {
		rep.SHA256 = files[0].SHA256
		rep.Truncated = &TruncationReport{AfterFrame: n, Offset: stopOff, Reason: stop.Error()}
	}
	if len(in) > 1 {
		// The whole set has no single hash: each file's is in files.
		rep.SHA256 = ""
		rep.Files, rep.FilesTotal = files, len(files)
	}
	return &Result{Analysis: an, Report: &rep}, nil
}

// rereadable reports whether every file of a set can be read again.
func rereadable(in []captureInput) bool {
	for _, c := range in {
		if c.reopen == nil {
			return false
		}
	}
	return true
}

// rereadCaptures reads the first records records of a capture set again,
// as readCaptures read them (fragments reassembled within rl), into an
// aggregator configured by sc (its Admit set, if any: the heaviest sources),
// keeping the records sel takes. It fails if a file cannot be re-read or
// no longer holds those records.
func rereadCaptures(ctx context.Context, in []captureInput, records uint64, lim pcapng.Limits, sc scan.Config, rl pcapng.ReassemblyLimits, sel *selection, tick func(done int64)) (*scan.Analysis, error) {
	agg := scan.NewAggregator(sc)
	defer agg.Close()
	dec := newDecoder(rl)
	var n uint64
	var before int64
	for _, c := range in {
		if n == records {
			break
		}
		cr := &countingReader{r: io.LimitReader(c.reopen(), c.size)}
		rd, err := pcapng.NewReaderLimits(cr, lim)
		if err != nil {
			return nil, err
		}
		n, err = feed(ctx, rd, agg, dec, n, records, sel, func() { tick(before + cr.n) })
		if err != nil || ctx.Err() != nil {
			return nil, errors.Join(err, ctx.Err())
		}
		before += c.size
	}
	if n != records {
		return nil, fmt.Errorf("the capture changed: %d records of %d read again", n, records)
	}
	return agg.FinishContext(ctx)
}

// fileErr names the file an error came from when a set has several.
func fileErr(nfiles int, name string, err error) error {
	if nfiles < 2 {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

// ReadFiles reads the files of a rotated capture set as one capture:
// ordered by their first packet whatever their names, read one after the
// other into one analysis, frames numbered on across files as `mergecap
// -a` numbers them. A break after the first record ends the reading
// there (Report.Truncated; later files are not read). open
// opens each name, one after the other in the order given, and decides
// what may be opened (the terminal commands use a sandbox rooted at the
// file's own directory); each file's headers and first record are read
// as soon as it is open, so a set fails on its first file that cannot be
// opened or is not a capture. ReadFiles closes the files and caches
// nothing. The names are those of the report (Report.Files) and of the
// errors; progress is as for Analyze, over the bytes of all the files.
// Only the records within w are analysed, as for a tool call's since and
// until; the others are counted (Report.Window) and keep their frame
// numbers. PORT_HUNTER_MAX_PACKETS bounds the records read, as it does
// the server's.
func ReadFiles(ctx context.Context, cfg policy.Config, names []string, w Window, open func(name string) (*policy.File, error), progress func(done, total int64)) (*Result, error) {
	z := NewAnalyzer(cfg, nil)
	lim := ReaderLimits(cfg)
	in := make([]captureInput, len(names))
	has := make([]bool, len(names))
	for i, name := range names {
		f, err := open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		ts, ok, err := firstRecordTS(f.Reader(), lim)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		in[i] = captureInput{name: name, r: f.Reader(), reopen: f.Reader, size: f.Size, firstTS: ts}
		has[i] = ok
	}
	sortCaptureInputs(in, has)
	res, err := readCaptures(ctx, in, lim, z.scanConfig(), newSelection(w, cfg.MaxPackets), progress)
	if err != nil {
		return nil, err
	}
	if cfg.MemoryBudgetBytes > 0 {
		res.Report.Stats.MemoryBudgetBytes = cfg.MemoryBudgetBytes
	}
	return res, nil
}

// firstRecordTS is the timestamp of a capture's first record, with its
// precision; ok is false for a capture without records. Only the headers
// and the first record are read.
func firstRecordTS(r io.Reader, lim pcapng.Limits) (t scan.Time, ok bool, err error) {
	rd, err := pcapng.NewReaderLimits(r, lim)
	if err != nil {
		if errors.Is(err, pcapng.ErrNotCapture) {
			return t, false, fmt.Errorf("%w: %v", policy.ErrUnsupportedFileType, err)
		}
		return t, false, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	defer rd.Close()
	rec, err := rd.Next()
	if err == io.EOF {
		return t, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return scan.Time{NS: rec.Timestamp, Digits: rec.Precision}, true, nil
}

// sortCaptureInputs orders a capture set by the first record of each file
// (files without records last, ties by the order given), the order a
// rotated capture was written in whatever names the files have.
func sortCaptureInputs(in []captureInput, has []bool) {
	idx := make([]int, len(in))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case has[a] != has[b]:
			if has[a] {
				return -1
			}
			return 1
		case !has[a]:
			return 0
		}
		return cmp.Compare(in[a].firstTS.NS, in[b].firstTS.NS)
	})
	out := make([]captureInput, len(in))
	for i, j := range idx {
		out[i] = in[j]
	}
	copy(in, out)
}

// linkName names the link types the decoder understands.
func linkName(l pcapng.LinkType) string {
	switch l {
	case pcapng.LinkNull:
		return "null"
	case pcapng.LinkEthernet:
		return "ethernet"
	case pcapng.LinkPPP, pcapng.LinkPPPHDLC:
		return "ppp"
	case pcapng.LinkRawBSD, pcapng.LinkRawOld, pcapng.LinkRaw:
		return "raw"
	case pcapng.LinkLoop:
		return "loop"
	case pcapng.LinkSLL:
		return "linux_sll"
	case pcapng.LinkIPv4:
		return "ipv4"
	case pcapng.LinkIPv6:
		return "ipv6"
	case pcapng.LinkSLL2:
		return "linux_sll2"
	}
	return "unsupported"
}
