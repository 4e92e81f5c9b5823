package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"

	"porthunter/capture"
	"porthunter/pcapng"
	"porthunter/policy"
)

// carveMaxInterfaces lowers pcapng.MaxAllInterfaces for carve. A Record
// does not say which section it came from, so carve asks Reader.Info for
// every packet it keeps, and Info copies the whole interface table: this
// bound keeps that copy small on a hostile file of many sections. Real
// multi-section files have a handful of interfaces (Wireshark's 10-section
// sample has 10); hitting the bound is an error wrapping pcapng.ErrLimit.
const carveMaxInterfaces = 256

// cmdCarve is `porthunter carve FILE --ip ADDR -o OUT.pcapng`: every packet
// to or from ADDR, and every ICMP error quoting a datagram to or from ADDR
// (the answers its probes drew, often sent by a router to the prober), into
// a new pcapng file that Wireshark opens. OUT is created and never
// overwritten; on any error the partial file is removed.
//
// Packets keep their bytes, lengths, link type and timestamp; their
// interfaces keep link type, snaplen and name. Not copied: packet options
// (comments, flags), name resolution, statistics and custom blocks. A
// Simple Packet Block has no timestamp; its packet is written at 0 (1970),
// the Record.Timestamp the reader gives it. A kept packet whose timestamp
// pcapng.Writer cannot write exactly (before 1970, or after 2262 where
// the reader saturates) fails the carve.
func cmdCarve(ctx context.Context, cfg policy.Config, args []string, _, stderr io.Writer, getenv func(string) string) error {
	fl := newFlagSet("carve")
	o := carveFlags(fl)
	files, err := parseInterleaved(fl, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return usageErrorf("carve takes exactly one FILE")
	}
	if o.out == "" {
		return usageErrorf("carve: -o OUT.pcapng is required")
	}
	ip, err := netip.ParseAddr(o.ip)
	if err != nil {
		return usageErrorf("carve: --ip %q is not an IP address", o.ip)
	}
	addr := unmapAddr(ip)

	in, err := openCaptureCLI(files[0])
	if err != nil {
		return err
	}
	defer in.Close()
	bar := newProgress(stderr, termEscape("carving "+filepath.Base(files[0]), false), reportWidth(0, getenv))
	src := io.Reader(in.Reader())
	if bar != nil {
		src = &countingReader{r: src, total: in.Size, progress: bar.update}
	}
	kept, read, err := carveToFile(ctx, src, o.out, addr, carveLimits(cfg))
	bar.finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "carved %d of %d packets to %s\n", kept, read, termEscape(o.out, false))
	return nil
}

const carveHelp = `Keeps every packet to or from ADDR, and every ICMP error quoting one, with its
bytes, lengths, link type and timestamp. OUT is created, never overwritten, and
removed again if the carve fails. On a terminal, a progress bar on stderr.`

// carveOpts are carve's flags.
type carveOpts struct{ ip, out string }

// carveFlags defines carve's flags on fl.
func carveFlags(fl *flag.FlagSet) *carveOpts {
	o := &carveOpts{}
	fl.StringVar(&o.ip, "ip", "", "address whose packets are kept (IPv4 or IPv6)")
	fl.StringVar(&o.out, "o", "", "pcapng file to create (must not exist)")
	return o
}

// carveLimits are the limits carve reads with: the analysis reader's
// (capture.ReaderLimits, so a gzip capture expands no further than
// PORT_HUNTER_MAX_PCAP_MB allows an analysis), with carveMaxInterfaces.
func carveLimits(cfg policy.Config) pcapng.Limits {
	lim := capture.ReaderLimits(cfg)
	lim.MaxAllInterfaces = carveMaxInterfaces
	return lim
}

// carveToFile creates out (O_EXCL: an existing file, or a symbolic link
// planted there, is refused rather than clobbered) and carves into it.
// The file is synced before it is reported written, and removed on error
// so that no half-written capture is left looking like evidence.
func carveToFile(ctx context.Context, src io.Reader, out string, addr netip.Addr, lim pcapng.Limits) (kept, read uint64, err error) {
	// 0o666 before the umask, as tcpdump -w and Wireshark create captures.
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return 0, 0, fmt.Errorf("carve: %s already exists; choose another -o", out)
		}
		return 0, 0, fmt.Errorf("carve: %w", err)
	}
	kept, read, err = carve(ctx, src, f, addr, lim)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return 0, 0, fmt.Errorf("carve: %s not written: %w", out, err)
	}
	return kept, read, nil
}

// carve copies the packets of src that involve addr to dst as pcapng and
// returns how many it kept and how many it read, reading src within lim
// (carveLimits). addr must be normalized (normalizeAddr).
func carve(ctx context.Context, src io.Reader, dst io.Writer, addr netip.Addr, lim pcapng.Limits) (kept, read uint64, err error) {
	rd, err := pcapng.NewReaderLimits(src, lim)
	if err != nil {
		return 0, 0, err
	}
	defer rd.Close()
	w := newNGWriter(dst)
	if err := w.header(); err != nil {
		return 0, 0, err
	}
	var pkt pcapng.Packet
	for {
		if err := ctx.Err(); err != nil {
			return kept, read, err
		}
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return kept, read, err
		}
		read++
		pcapng.Decode(rec, &pkt)
		if !involves(&pkt, addr) {
			continue
		}
		itf, err := recordInterface(rd.Info(), rec)
		if err != nil {
			return kept, read, err
		}
		if err := w.packet(itf, rec); err != nil {
			return kept, read, err
		}
		kept++
	}
	return kept, read, w.flush()
}

// involves reports whether p was sent to or from addr, or is an ICMP error
// quoting a datagram sent to or from addr. Addresses are compared
// normalized (IPv4-mapped IPv6 unmapped), as reports show them.
func involves(p *pcapng.Packet, addr netip.Addr) bool {
	if p.L3 != pcapng.L3IPv4 && p.L3 != pcapng.L3IPv6 {
		return false
	}
	if unmapAddr(p.Src) == addr || unmapAddr(p.Dst) == addr {
		return true
	}
	return p.Quoted && (unmapAddr(p.QSrc) == addr || unmapAddr(p.QDst) == addr)
}

// recordInterface finds the interface rec came from: interface
// rec.Interface of the section being read, the last one in info.
func recordInterface(info pcapng.Info, rec *pcapng.Record) (pcapng.InterfaceInfo, error) {
	section := info.Sections - 1
	for _, itf := range info.Interfaces {
		if itf.Section == section && itf.ID == rec.Interface {
			return itf, nil
		}
	}
	// The reader refuses packets of undefined interfaces, so this is a
	// reader bug, reported rather than guessed around.
	return pcapng.InterfaceInfo{}, fmt.Errorf("carve: frame %d: interface %d of section %d unknown", rec.Frame, rec.Interface, section)
}

// ngWriter is carve's output: one pcapng section written by
// pcapng.Writer, in which an interface's description is written before
// its first packet, so that only the interfaces used appear.
type ngWriter struct{ w *pcapng.Writer }

func newNGWriter(w io.Writer) *ngWriter { return &ngWriter{pcapng.NewWriter(w)} }

// header writes the section header, naming porthunter and its version.
func (w *ngWriter) header() error { return w.w.WriteSectionHeader("porthunter " + version) }

// packet writes rec of interface in, and in first if it is new.
func (w *ngWriter) packet(in pcapng.InterfaceInfo, rec *pcapng.Record) error {
	if !w.w.HasInterface(in) {
		if err := w.w.WriteInterface(in); err != nil {
			return err
		}
	}
	return w.w.WritePacket(in, rec)
}

func (w *ngWriter) flush() error { return w.w.Flush() }

// unmapAddr is an address as captures carry it: no zone, IPv4-mapped IPv6
// unmapped (as the tools normalize theirs).
func unmapAddr(a netip.Addr) netip.Addr { return a.WithZone("").Unmap() }
