package main

import (
	"bufio"
	"context"
	"encoding/binary"
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

// pcapng blocks and options written by carve (draft-ietf-opsawg-pcapng §4).
// Only what Wireshark needs to show the packets exactly is written: one
// little-endian section of unknown length, an IDB per interface used, an
// EPB per packet.
const (
	ngBlockSHB      = 0x0a0d0d0a
	ngBlockIDB      = 0x00000001
	ngBlockEPB      = 0x00000006
	ngByteOrder     = 0x1a2b3c4d
	ngVersionMajor  = 1
	ngVersionMinor  = 0
	ngSectionLenUnk = 0xffffffffffffffff // section length -1: not given (§4.1)
	ngOptEnd        = 0
	ngOptUserAppl   = 4 // shb_userappl
	ngOptIfName     = 2 // if_name
	ngOptIfTSResol  = 9 // if_tsresol
	ngTSResolUsec   = 6 // if_tsresol 10^-6
	ngTSResolNsec   = 9 // if_tsresol 10^-9
)

// le is the byte order of everything carve writes.
var le = binary.LittleEndian

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
// the Record.Timestamp the reader gives it.
func cmdCarve(ctx context.Context, cfg policy.Config, args []string, _, stderr io.Writer) error {
	fl := flag.NewFlagSet("carve", flag.ContinueOnError)
	fl.SetOutput(termWriter{stderr}) // the flag package prints an unknown flag's name as given
	ipFlag := fl.String("ip", "", "address whose packets are kept (IPv4 or IPv6)")
	outFlag := fl.String("o", "", "pcapng file to create (must not exist)")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: porthunter carve FILE --ip ADDR -o OUT.pcapng")
		fl.PrintDefaults()
	}
	files, err := parseInterleaved(fl, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		fl.Usage()
		return usageErrorf("carve takes exactly one FILE")
	}
	if *outFlag == "" {
		fl.Usage()
		return usageErrorf("carve: -o OUT.pcapng is required")
	}
	ip, err := netip.ParseAddr(*ipFlag)
	if err != nil {
		fl.Usage()
		return usageErrorf("carve: --ip %q is not an IP address", *ipFlag)
	}
	addr := normalizeAddr(ip)

	in, sb, err := openCaptureCLI(files[0])
	if err != nil {
		return err
	}
	defer sb.Close()
	defer in.Close()

	kept, read, err := carveToFile(ctx, in.Reader(), *outFlag, addr, carveLimits(cfg))
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "carved %d of %d packets to %s\n", kept, read, termEscape(*outFlag, false))
	return nil
}

// carveLimits are the limits carve reads with: the analysis reader's
// (capture.ReaderLimits, so a gzip capture expands no further than
// PORT_HUNTER_MAX_PCAP_MB allows an analysis), with carveMaxInterfaces.
func carveLimits(cfg policy.Config) pcapng.Limits {
	lim := capture.ReaderLimits(cfg)
	lim.MaxAllInterfaces = carveMaxInterfaces
	return lim
}

// openCaptureCLI opens a capture named on the command line through a
// sandbox rooted at its directory, so it is checked like any capture: a
// regular file starting with a pcap, pcapng or gzip magic. The caller
// closes both.
func openCaptureCLI(file string) (*policy.File, *policy.Sandbox, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, nil, err
	}
	sb, err := policy.NewSandbox(filepath.Dir(abs), cliMaxBytes)
	if err != nil {
		return nil, nil, err
	}
	f, err := sb.Open(filepath.Base(abs))
	if err != nil {
		sb.Close()
		return nil, nil, err
	}
	return f, sb, nil
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
	if normalizeAddr(p.Src) == addr || normalizeAddr(p.Dst) == addr {
		return true
	}
	return p.Quoted && (normalizeAddr(p.QSrc) == addr || normalizeAddr(p.QDst) == addr)
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

// ifaceKey names an input interface: its section and its ID there.
type ifaceKey struct{ section, id int }

// outIface is an interface written to the output.
type outIface struct {
	id   uint32 // its ID in the output section
	unit int64  // nanoseconds per timestamp unit: 1000 (µs) or 1 (ns)
}

// ngWriter writes one little-endian pcapng section. Interfaces get an IDB
// when their first packet is written, so only those used appear.
type ngWriter struct {
	w      *bufio.Writer
	buf    []byte // the block being built, reused
	ifaces map[ifaceKey]outIface
}

func newNGWriter(w io.Writer) *ngWriter {
	return &ngWriter{w: bufio.NewWriter(w), ifaces: make(map[ifaceKey]outIface)}
}

// begin starts a block of type typ in w.buf; end finishes and writes it.
func (w *ngWriter) begin(typ uint32) []byte {
	b := le.AppendUint32(w.buf[:0], typ)
	return le.AppendUint32(b, 0) // total length, filled in by end
}

func (w *ngWriter) end(b []byte) error {
	// Every block is bounded (an EPB by pcapng.MaxCapLen plus 32 bytes),
	// so its length fits the 32-bit field.
	n := uint32(len(b) + 4)
	le.PutUint32(b[4:], n)
	b = le.AppendUint32(b, n)
	w.buf = b
	_, err := w.w.Write(b)
	return err
}

// appendOption appends one option, its value padded to 4 bytes. Values
// come from input options (16-bit lengths) or are short constants.
func appendOption(b []byte, code uint16, val []byte) []byte {
	b = le.AppendUint16(b, code)
	b = le.AppendUint16(b, uint16(len(val)))
	b = append(b, val...)
	return appendPad(b, len(val))
}

// appendPad appends the zeros that align n bytes to 4.
func appendPad(b []byte, n int) []byte {
	var zero [3]byte
	return append(b, zero[:(4-n%4)%4]...)
}

// header writes the Section Header Block.
func (w *ngWriter) header() error {
	b := w.begin(ngBlockSHB)
	b = le.AppendUint32(b, ngByteOrder)
	b = le.AppendUint16(b, ngVersionMajor)
	b = le.AppendUint16(b, ngVersionMinor)
	b = le.AppendUint64(b, ngSectionLenUnk)
	b = appendOption(b, ngOptUserAppl, []byte("porthunter "+version))
	b = appendOption(b, ngOptEnd, nil)
	return w.end(b)
}

// iface returns the output interface for in, writing its IDB first when it
// is new. Its timestamps are in µs when the input's resolution is 10^-6 or
// coarser (precision ≤ 6 digits: the reader's nanoseconds are then whole
// microseconds), in ns otherwise: exact whenever the input resolution is,
// and the reader's nanoseconds otherwise (binary 2^-10 and finer).
func (w *ngWriter) iface(in pcapng.InterfaceInfo, precision uint8) (outIface, error) {
	key := ifaceKey{in.Section, in.ID}
	if o, ok := w.ifaces[key]; ok {
		return o, nil
	}
	o := outIface{id: uint32(len(w.ifaces)), unit: 1}
	resol := byte(ngTSResolNsec)
	if precision <= ngTSResolUsec {
		o.unit, resol = 1000, ngTSResolUsec
	}
	b := w.begin(ngBlockIDB)
	b = le.AppendUint16(b, uint16(in.LinkType))
	b = le.AppendUint16(b, 0) // reserved
	b = le.AppendUint32(b, in.SnapLen)
	if in.Name != "" {
		b = appendOption(b, ngOptIfName, []byte(in.Name))
	}
	b = appendOption(b, ngOptIfTSResol, []byte{resol})
	b = appendOption(b, ngOptEnd, nil)
	if err := w.end(b); err != nil {
		return outIface{}, err
	}
	w.ifaces[key] = o
	return o, nil
}

// packet writes rec as an Enhanced Packet Block of interface in.
func (w *ngWriter) packet(in pcapng.InterfaceInfo, rec *pcapng.Record) error {
	o, err := w.iface(in, rec.Precision)
	if err != nil {
		return err
	}
	// An EPB timestamp is unsigned: a time before 1970 (a negative
	// if_tsoffset) cannot be written without an if_tsoffset of our own.
	if rec.Timestamp < 0 {
		return fmt.Errorf("carve: frame %d: timestamp before 1970 cannot be written", rec.Frame)
	}
	ts := uint64(rec.Timestamp / o.unit)
	b := w.begin(ngBlockEPB)
	b = le.AppendUint32(b, o.id)
	b = le.AppendUint32(b, uint32(ts>>32))
	b = le.AppendUint32(b, uint32(ts))
	b = le.AppendUint32(b, uint32(len(rec.Data)))
	b = le.AppendUint32(b, uint32(rec.OrigLen)) // read from a 32-bit field
	b = append(b, rec.Data...)
	b = appendPad(b, len(rec.Data))
	return w.end(b)
}

func (w *ngWriter) flush() error { return w.w.Flush() }
