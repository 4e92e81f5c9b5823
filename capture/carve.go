package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"porthunter/pcapng"
	"porthunter/policy"
	"porthunter/scan"
)

// CarveMaxInterfaces lowers pcapng.MaxAllInterfaces for a carve. A
// Record does not say which section it came from, so each packet kept
// asks Reader.Info, which copies the whole interface table: this bound
// keeps that copy small on a hostile file of many sections. Real
// multi-section files have a handful of interfaces (Wireshark's
// 10-section sample has 10); hitting the bound is an error wrapping
// pcapng.ErrLimit.
const CarveMaxInterfaces = 256

// CarveResult says what a carve kept.
type CarveResult struct {
	Kept  uint64     // packets written
	Read  uint64     // records read, in all the files
	First *scan.Time // first and last packet written; nil when none
	Last  *scan.Time
	// Files are the files read, in the order read, and Duplicates those
	// left out (the same file, or the same content, named twice).
	Files      []string
	Duplicates []DuplicateReport
	Window     *WindowReport // the window and the records it left out; nil without one
	// Truncated says where reading stopped when a file broke after its
	// first record: the packets before the break were carved, later files
	// not read (as an analysis reads a set); nil when all was read.
	Truncated *TruncationReport
}

// CarveOptions are a carve's choices beyond its files and its address.
type CarveOptions struct {
	Window     Window // records outside it are read but not kept
	MaxRecords int64  // records read, all the files together (ErrTooManyPackets past it); 0: no bound
	MaxBytes   int64  // bytes written (ErrCarveTooLarge past them); 0: no bound
	UserAppl   string // the section header's shb_userappl: the application that wrote the file
	// Progress, if not nil, is called every checkEvery records with the
	// bytes read so far over the bytes of all the files.
	Progress func(done, total int64)
}

// userAppl is the writer Carve names in its section header. It has no
// version: the release is package main's to know, and the carve tool's
// files have always been written without it (the carve command passes
// "porthunter " and its version through CarveFiles).
const userAppl = "porthunter"

// Carve writes to w, as one pcapng section (pcapng.Writer), every packet
// of the request's files to or from addr, and every ICMP error quoting a
// datagram to or from addr (the answers a probe drew from a router),
// within the request's time window. The files are read as AnalyzeSet
// reads them: through the sandbox, within the set's limits, in the order
// of their first records, duplicates once. Packets keep their bytes,
// lengths, link type and timestamp; their interfaces keep link type,
// snaplen and name. At most maxBytes bytes are written: past them the
// error wraps ErrCarveTooLarge, and what w holds is to be discarded.
// addr must be normalized (no zone, IPv4-mapped unmapped).
func (z *Analyzer) Carve(ctx context.Context, req Request, addr netip.Addr, w io.Writer, maxBytes int64) (CarveResult, error) {
	files, dups, all, err := z.openSet(req)
	if err != nil {
		return CarveResult{}, err
	}
	defer closeAll(all)
	select {
	case z.sem <- struct{}{}:
	case <-ctx.Done():
		return CarveResult{}, ctx.Err()
	}
	defer func() { <-z.sem }()
	files, more, err := dropSameContent(ctx, files)
	if err != nil {
		return CarveResult{}, err
	}
	opt := CarveOptions{Window: req.Window, MaxRecords: z.cfg.MaxPackets, MaxBytes: maxBytes, UserAppl: userAppl}
	res, err := CarveFiles(ctx, z.cfg, files, addr, w, opt)
	res.Duplicates = append(dups, more...)
	return res, err
}

// CarveFiles is the carve of files the caller opened and chose (the
// command line's: Carve opens its files through the sandbox and leaves
// duplicates out first), read one after the other in the order of their
// first records within cfg's reader limits (ReaderLimits, with at most
// CarveMaxInterfaces interfaces). It writes as Carve does, within opt.
// A file that is no capture, or broken before its first record, fails
// the carve (policy.ErrUnsupportedFileType, ErrMalformed); one broken
// later is carved up to the break, which CarveResult.Truncated reports,
// and the files after it are not read.
func CarveFiles(ctx context.Context, cfg policy.Config, files []*policy.File, addr netip.Addr, w io.Writer, opt CarveOptions) (CarveResult, error) {
	var res CarveResult
	lim := CarveLimits(cfg)
	in, err := inputs(files, lim)
	if err != nil {
		return res, err
	}
	var total int64
	for _, c := range in {
		total += c.size
	}
	cw := &cappedWriter{w: w, max: opt.MaxBytes}
	pw := pcapng.NewWriter(cw)
	if err := pw.WriteSectionHeader(opt.UserAppl); err != nil {
		return res, cw.why(err)
	}
	sel := newSelection(opt.Window, opt.MaxRecords)
	sections := 0    // sections of the files before: their interfaces are kept apart
	var before int64 // bytes of the files before, for progress
	for _, c := range in {
		res.Files = append(res.Files, c.name)
		cr := &countingReader{r: c.r}
		progress := func() {
			if opt.Progress != nil {
				opt.Progress(before+cr.n, total)
			}
		}
		n, err := carveFile(ctx, cr, pw, addr, lim, sel, sections, &res, progress)
		sections += n
		before += cr.n
		if err != nil {
			return res, cw.why(fileErr(len(in), c.name, err))
		}
		if res.Truncated != nil {
			res.Truncated.Reason = fileErr(len(in), c.name, errors.New(res.Truncated.Reason)).Error()
			break
		}
	}
	res.Window = sel.report()
	return res, cw.why(pw.Flush())
}

// CarveLimits are the limits a carve reads with: the analysis reader's
// (ReaderLimits, so a gzip capture expands no further than
// PORT_HUNTER_MAX_PCAP_MB allows an analysis), with CarveMaxInterfaces.
func CarveLimits(cfg policy.Config) pcapng.Limits {
	lim := ReaderLimits(cfg)
	lim.MaxAllInterfaces = CarveMaxInterfaces
	return lim
}

// carveFile carves one file of a carve into pw, numbering its sections
// on from sections; it returns the sections it read, and calls progress
// when it looks at ctx.
// A file that is no capture, or broken before its first record, fails
// the carve as it fails an analysis (policy.ErrUnsupportedFileType,
// ErrMalformed); one broken later is carved up to the break, which
// res.Truncated reports. A packet the pcapng writer cannot write exactly
// (a timestamp before 1970) fails it with ErrMalformed.
func carveFile(ctx context.Context, r io.Reader, pw *pcapng.Writer, addr netip.Addr, lim pcapng.Limits, sel *selection, sections int, res *CarveResult, progress func()) (int, error) {
	rd, err := pcapng.NewReaderLimits(r, lim)
	if err != nil {
		if errors.Is(err, pcapng.ErrNotCapture) {
			return 0, fmt.Errorf("%w: %v", policy.ErrUnsupportedFileType, err)
		}
		return 0, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	defer rd.Close()
	var pkt pcapng.Packet
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return rd.Info().Sections, nil
		}
		if err != nil {
			if res.Read == 0 { // nothing read at all, as an analysis fails
				return 0, fmt.Errorf("%w: %v", ErrMalformed, err)
			}
			res.Truncated = &TruncationReport{AfterFrame: res.Read, Offset: rd.Offset(), Reason: err.Error()}
			return rd.Info().Sections, nil
		}
		if res.Read++; res.Read%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			progress()
		}
		if res.Read > sel.recordLimit() {
			return 0, fmt.Errorf("%w: more than %d records (PORT_HUNTER_MAX_PACKETS)", ErrTooManyPackets, sel.recordLimit())
		}
		if !sel.take(rec.Timestamp) {
			continue
		}
		pcapng.Decode(rec, &pkt)
		if !involves(&pkt, addr) {
			continue
		}
		info := rd.Info()
		itf, err := recordInterface(info, rec)
		if err != nil {
			return 0, err
		}
		itf.Section += sections
		if !pw.HasInterface(itf) {
			if err := pw.WriteInterface(itf); err != nil {
				return 0, writeErr(err)
			}
		}
		if err := pw.WritePacket(itf, rec); err != nil {
			return 0, writeErr(err)
		}
		res.Kept++
		t := scan.Time{NS: rec.Timestamp, Digits: rec.Precision}
		if res.First == nil {
			res.First = &t
		}
		res.Last = &t
	}
}

// writeErr is the error of a packet or interface the pcapng writer
// refused: the capture holds what pcapng cannot carry (ErrMalformed), or
// the underlying writer failed (the size cap, returned as it is).
func writeErr(err error) error {
	if errors.Is(err, pcapng.ErrUnwritable) || errors.Is(err, pcapng.ErrLimit) || errors.Is(err, pcapng.ErrUnknownInterface) {
		return fmt.Errorf("%w: cannot be carved into pcapng: %v", ErrMalformed, err)
	}
	return err
}

// involves reports whether p was sent to or from addr, or is an ICMP error
// quoting a datagram sent to or from addr, addresses compared normalized.
func involves(p *pcapng.Packet, addr netip.Addr) bool {
	if p.L3 != pcapng.L3IPv4 && p.L3 != pcapng.L3IPv6 {
		return false
	}
	if unmap(p.Src) == addr || unmap(p.Dst) == addr {
		return true
	}
	return p.Quoted && (unmap(p.QSrc) == addr || unmap(p.QDst) == addr)
}

func unmap(a netip.Addr) netip.Addr { return a.WithZone("").Unmap() }

// recordInterface finds the interface rec came from: interface
// rec.Interface of the section being read, the last one in info.
func recordInterface(info pcapng.Info, rec *pcapng.Record) (pcapng.InterfaceInfo, error) {
	section := info.Sections - 1
	for _, itf := range info.Interfaces {
		if itf.Section == section && itf.ID == rec.Interface {
			return itf, nil
		}
	}
	// The reader refuses packets of undefined interfaces: a reader bug,
	// reported rather than guessed around.
	return pcapng.InterfaceInfo{}, fmt.Errorf("frame %d: interface %d of section %d unknown", rec.Frame, rec.Interface, section)
}

// cappedWriter passes at most max bytes to w (any number when max is 0);
// the write that would pass them fails with ErrCarveTooLarge.
type cappedWriter struct {
	w       io.Writer
	max, n  int64
	tooLong bool
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	if c.max > 0 && c.n+int64(len(p)) > c.max {
		c.tooLong = true
		return 0, fmt.Errorf("%w: more than %d bytes", ErrCarveTooLarge, c.max)
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// why is err, or the size error when the cap is what made it fail (the
// pcapng writer reports its underlying writer's errors as they are).
func (c *cappedWriter) why(err error) error {
	if err != nil && c.tooLong {
		return fmt.Errorf("%w: more than %d bytes; narrow it with since and until", ErrCarveTooLarge, c.max)
	}
	return err
}
