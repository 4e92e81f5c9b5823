package pcapng

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
)

// pcapng block (draft-ietf-opsawg-pcapng §3.1), in the section's byte order:
//
//	 0            4                8               len-4         len
//	+------------+----------------+------ ... -----+-------------+
//	| block type | total length   | body           | total length|
//	+------------+----------------+------ ... -----+-------------+
const (
	blockHeaderLen  = 8
	blockMinLen     = 12 // header and trailer with an empty body
	blockTypeSHB    = 0x0a0d0d0a
	blockTypeIDB    = 0x00000001
	blockTypePB     = 0x00000002 // obsolete Packet Block
	blockTypeSPB    = 0x00000003
	blockTypeNRB    = 0x00000004
	blockTypeISB    = 0x00000005
	blockTypeEPB    = 0x00000006
	blockTypeCB     = 0x00000bad // custom block, may be copied
	blockTypeDCB    = 0x40000bad // custom block, do not copy
	byteOrderMagic  = 0x1a2b3c4d
	shbVersionMajor = 1
)

// Minimum total lengths per block type (Wireshark's MIN_*_SIZE): header,
// fixed body fields, trailer.
const (
	minSHBLen = blockMinLen + 16 // BOM, major, minor, section length
	minIDBLen = blockMinLen + 8  // link type, reserved, snaplen
	minEPBLen = blockMinLen + 20 // interface, ts high, ts low, caplen, origlen
	minPBLen  = blockMinLen + 20 // interface (16 bit), drops, ts high, ts low, caplen, origlen
	minSPBLen = blockMinLen + 4  // origlen
	minISBLen = blockMinLen + 12 // interface, ts high, ts low
)

// Body offsets of the blocks read (after the 8-byte block header).
const (
	shbBOM        = 0
	shbMajor      = 4
	shbMinor      = 6
	shbOptions    = 16
	idbLinkType   = 0
	idbSnapLen    = 4
	idbOptions    = 8
	epbInterface  = 0
	epbTSHigh     = 4
	epbTSLow      = 8
	epbCapLen     = 12
	epbOrigLen    = 16
	epbData       = 20
	pbInterface   = 0 // 16 bits; drops count follows
	spbOrigLen    = 0
	spbData       = 4
	isbInterface  = 0
	isbOptions    = 12
	optHeaderLen  = 4
	optEndOfOpt   = 0
	optIfName     = 2
	optIfTSResol  = 9
	optIfTSOffset = 14
	optISBIfDrop  = 5
	tsResolBinary = 0x80 // if_tsresol bit 7: 2^-n instead of 10^-n
	tsResolMask   = 0x7f
	tsResolUsec   = 6 // if_tsresol when absent
	nsDigits      = 9 // Record.Timestamp resolution
)

func pad4(n int) int { return (n + 3) &^ 3 }

// openNG reads the first Section Header Block.
func (r *Reader) openNG() error {
	r.ng = true
	r.info.Format = FormatPCAPNG
	return r.readSHB(0)
}

// nextNG reads blocks until a packet block, handling the others on the way.
// The loop is bounded by the input: every block consumes at least 12 bytes.
// An Enhanced Packet Block already buffered whole that passes readBlock's
// checks (all but about one block per buffer refill) is taken with one
// Peek and one Discard; anything else goes the careful way below.
func (r *Reader) nextNG() error {
	if have := r.br.Buffered(); have >= minEPBLen {
		b, _ := r.br.Peek(have) // no read: have bytes are buffered
		length := r.u32(b[4:])
		if r.u32(b) == blockTypeEPB && length%4 == 0 && length >= minEPBLen && uint64(length) <= uint64(r.lim.MaxBlockLen) &&
			uint64(length) <= uint64(have) && r.u32(b[length-4:]) == length {
			start := r.off
			_, _ = r.br.Discard(int(length)) // the bytes stay in place until the next read
			r.off += int64(length)
			return r.readEPB(start, b[blockHeaderLen:length-4])
		}
	}
	for {
		start := r.off
		hdr, err := r.peek(blockHeaderLen, "block header")
		if err != nil {
			return err
		}
		typ := r.u32(hdr)
		if typ == blockTypeSHB { // a palindrome: same in either byte order
			if err := r.readSHB(start); err != nil {
				return err
			}
			continue
		}
		body, err := r.readBlock(start, typ, r.u32(hdr[4:]))
		if err != nil {
			return err
		}
		switch typ {
		case blockTypeEPB:
			return r.readEPB(start, body)
		case blockTypePB:
			return r.readPB(start, body)
		case blockTypeSPB:
			return r.readSPB(start, body)
		case blockTypeIDB:
			err = r.readIDB(start, body)
		case blockTypeISB:
			err = r.readISB(start, body)
		case blockTypeCB, blockTypeDCB:
			r.info.CustomBlocks++
		}
		// NRB, DSB and unknown block types are skipped whole: their
		// length and trailer were checked, nothing else is needed.
		if err != nil {
			return err
		}
	}
}

// blockName names a block type in messages.
func blockName(typ uint32) string {
	switch typ {
	case blockTypeSHB:
		return "SHB"
	case blockTypeIDB:
		return "IDB"
	case blockTypePB:
		return "PB"
	case blockTypeSPB:
		return "SPB"
	case blockTypeNRB:
		return "NRB"
	case blockTypeISB:
		return "ISB"
	case blockTypeEPB:
		return "EPB"
	case blockTypeCB, blockTypeDCB:
		return "custom block"
	}
	return "block"
}

// blockMin returns the minimum total length of a block type.
func blockMin(typ uint32) int {
	switch typ {
	case blockTypeSHB:
		return minSHBLen
	case blockTypeIDB:
		return minIDBLen
	case blockTypeEPB:
		return minEPBLen
	case blockTypePB:
		return minPBLen
	case blockTypeSPB:
		return minSPBLen
	case blockTypeISB:
		return minISBLen
	}
	return blockMinLen
}

// readBlock checks a block's total length, reads the whole block and
// checks its trailing copy of the length; it returns the body.
func (r *Reader) readBlock(start int64, typ, length uint32) ([]byte, error) {
	name := blockName(typ)
	if length < blockMinLen {
		return nil, formatErr(start, ErrMalformed, "%s length %d below 12", name, length)
	}
	if uint64(length) > uint64(r.lim.MaxBlockLen) {
		return nil, formatErr(start, ErrLimit, "%s length %d above MaxBlockLen %d", name, length, r.lim.MaxBlockLen)
	}
	if minLen := blockMin(typ); int(length) < minLen {
		return nil, formatErr(start, ErrMalformed, "%s length %d below its minimum %d", name, length, minLen)
	}
	total := int(length)
	if total%4 != 0 {
		// Early ntar writers left the data padding out of a packet
		// block's length (mg-icmp2.ntar); Wireshark rounds the length up
		// for EPB and PB and so do we. Other blocks must be aligned.
		if typ != blockTypeEPB && typ != blockTypePB {
			return nil, formatErr(start, ErrMalformed, "%s length %d not a multiple of 4", name, length)
		}
		total = pad4(total)
	}
	blk, err := r.take(total, start, name)
	if err != nil {
		return nil, err
	}
	if trail := r.u32(blk[total-4:]); trail != length {
		return nil, formatErr(start, ErrMalformed, "%s trailing length %d differs from %d", name, trail, length)
	}
	return blk[blockHeaderLen : total-4], nil
}

// readSHB reads a Section Header Block and starts a new section: its own
// byte order and an empty interface table.
func (r *Reader) readSHB(start int64) error {
	hdr, err := r.peek(blockHeaderLen+4, "SHB")
	if err != nil {
		if err == io.EOF {
			// A clean end where a section was expected is still a
			// block cut short: the header is promised by the magic.
			return formatErr(start, io.ErrUnexpectedEOF, "SHB cut short")
		}
		return err
	}
	bom := hdr[blockHeaderLen:]
	switch {
	case binary.BigEndian.Uint32(bom) == byteOrderMagic:
		r.be = true
	case binary.LittleEndian.Uint32(bom) == byteOrderMagic:
		r.be = false
	default:
		return formatErr(start, ErrMalformed, "SHB byte-order magic % x unknown", bom)
	}
	body, err := r.readBlock(start, blockTypeSHB, r.u32(hdr[4:]))
	if err != nil {
		return err
	}
	major, minor := r.u16(body[shbMajor:]), r.u16(body[shbMinor:])
	// Wireshark reads 1.0 and 1.2 (written by some tools that add block
	// types) and stops at any other version, even in a later section.
	if major != shbVersionMajor || (minor != 0 && minor != 2) {
		return formatErr(start, ErrUnsupportedVersion, "SHB version %d.%d", major, minor)
	}
	if err := r.walkOptions(start, "SHB", body[shbOptions:], nil); err != nil {
		return err
	}
	if r.info.Sections == 0 {
		r.info.Version = fmt.Sprintf("%d.%d", major, minor)
	} else {
		r.section++
	}
	r.info.Sections++
	r.ifaces = r.ifaces[:0]
	return nil
}

// readIDB adds an interface to the current section.
func (r *Reader) readIDB(start int64, body []byte) error {
	if len(r.ifaces) >= r.lim.MaxInterfaces {
		return formatErr(start, ErrLimit, "more than MaxInterfaces %d IDBs in section %d", r.lim.MaxInterfaces, r.section)
	}
	if len(r.info.Interfaces) >= r.lim.MaxAllInterfaces {
		return formatErr(start, ErrLimit, "more than MaxAllInterfaces %d IDBs in the file", r.lim.MaxAllInterfaces)
	}
	info := InterfaceInfo{
		Section:  r.section,
		ID:       len(r.ifaces),
		LinkType: LinkType(r.u16(body[idbLinkType:])),
		SnapLen:  r.u32(body[idbSnapLen:]),
		TSResol:  tsResolUsec,
	}
	var tsOffset int64
	err := r.walkOptions(start, "IDB", body[idbOptions:], func(code uint16, val []byte) error {
		switch {
		case code == optIfName:
			info.Name = string(val)
		case code == optIfTSResol && len(val) >= 1:
			info.TSResol = val[0]
		case code == optIfTSOffset && len(val) == 8:
			tsOffset = int64(r.u64(val))
		}
		return nil
	})
	if err != nil {
		return err
	}
	f := ngIface{
		link:   info.LinkType,
		snap:   info.SnapLen,
		binary: info.TSResol&tsResolBinary != 0,
		exp:    info.TSResol & tsResolMask,
		global: len(r.info.Interfaces),
	}
	if f.binary && f.exp > MaxTSResolBinary {
		return formatErr(start, ErrLimit, "IDB if_tsresol 2^-%d beyond MaxTSResolBinary %d", f.exp, MaxTSResolBinary)
	}
	if !f.binary && f.exp > MaxTSResolDecimal {
		return formatErr(start, ErrLimit, "IDB if_tsresol 10^-%d beyond MaxTSResolDecimal %d", f.exp, MaxTSResolDecimal)
	}
	if !f.binary {
		f.div = 1
		for range f.exp {
			f.div *= 10
		}
	}
	f.digits = min(f.exp, nsDigits)
	f.offset = mulSat(tsOffset, 1_000_000_000)
	info.TSResolDigits = f.digits
	info.TSOffset = tsOffset
	r.ifaces = append(r.ifaces, f)
	r.info.Interfaces = append(r.info.Interfaces, info)
	return nil
}

// readISB keeps isb_ifdrop for its interface. An ISB naming an interface
// the section does not have is ignored, as Wireshark does not check it
// either; it carries no packet.
func (r *Reader) readISB(start int64, body []byte) error {
	id := r.u32(body[isbInterface:])
	return r.walkOptions(start, "ISB", body[isbOptions:], func(code uint16, val []byte) error {
		if code == optISBIfDrop && len(val) == 8 && uint64(id) < uint64(len(r.ifaces)) {
			in := &r.info.Interfaces[r.ifaces[id].global]
			in.HasDrops = true
			in.Drops = r.u64(val)
		}
		return nil
	})
}

// readEPB fills r.rec from an Enhanced Packet Block.
func (r *Reader) readEPB(start int64, body []byte) error {
	return r.packet(start, "EPB", body, r.u32(body[epbInterface:]))
}

// readPB fills r.rec from an obsolete Packet Block: an EPB whose interface
// ID is 16 bits followed by a 16-bit drops count.
func (r *Reader) readPB(start int64, body []byte) error {
	return r.packet(start, "PB", body, uint32(r.u16(body[pbInterface:])))
}

// packet handles the common layout of EPB and PB.
func (r *Reader) packet(start int64, name string, body []byte, id uint32) error {
	f, err := r.iface(start, name, id)
	if err != nil {
		return err
	}
	capLen := r.u32(body[epbCapLen:])
	if uint64(capLen) > uint64(r.lim.MaxCapLen) {
		return formatErr(start, ErrLimit, "%s captured length %d above MaxCapLen %d", name, capLen, r.lim.MaxCapLen)
	}
	room := len(body) - epbData
	if int(capLen) > room {
		return formatErr(start, ErrMalformed, "%s captured length %d beyond its %d data bytes", name, capLen, room)
	}
	if opts := epbData + pad4(int(capLen)); opts < len(body) {
		if err := r.walkOptions(start, name, body[opts:], nil); err != nil {
			return err
		}
	}
	ts := uint64(r.u32(body[epbTSHigh:]))<<32 | uint64(r.u32(body[epbTSLow:]))
	r.emit(f, int(id), f.nanos(ts), body[epbData:][:capLen], int(r.u32(body[epbOrigLen:])))
	return nil
}

// readSPB fills r.rec from a Simple Packet Block: interface 0, no
// timestamp (Wireshark shows none; Timestamp is 0), and a captured length
// that is the original length cut to the snaplen and to the block.
func (r *Reader) readSPB(start int64, body []byte) error {
	f, err := r.iface(start, "SPB", 0)
	if err != nil {
		return err
	}
	orig := r.u32(body[spbOrigLen:])
	capLen := uint64(orig)
	if f.snap != 0 { // snaplen 0 means unlimited (pcapng §4.2)
		capLen = min(capLen, uint64(f.snap))
	}
	capLen = min(capLen, uint64(len(body)-spbData))
	if capLen > uint64(r.lim.MaxCapLen) {
		return formatErr(start, ErrLimit, "SPB captured length %d above MaxCapLen %d", capLen, r.lim.MaxCapLen)
	}
	r.emit(f, 0, 0, body[spbData:][:capLen], int(orig))
	return nil
}

// iface returns the section's interface id or an ErrMalformed error.
func (r *Reader) iface(start int64, name string, id uint32) (*ngIface, error) {
	if uint64(id) >= uint64(len(r.ifaces)) {
		return nil, formatErr(start, ErrMalformed, "%s interface %d not defined (section %d has %d)", name, id, r.section, len(r.ifaces))
	}
	return &r.ifaces[id], nil
}

// emit fills r.rec.
func (r *Reader) emit(f *ngIface, id int, ts int64, data []byte, orig int) {
	r.frame++
	r.rec = Record{
		Frame:     r.frame,
		Interface: id,
		LinkType:  f.link,
		Timestamp: ts,
		Precision: f.digits,
		CapLen:    len(data),
		OrigLen:   orig,
		Data:      data,
	}
	r.info.Interfaces[f.global].Packets++
}

// walkOptions checks a block's options (pcapng §3.5) and passes each one to
// fn when fn is not nil. An option running past the block is an error, as
// in Wireshark; 1 to 3 bytes left after the last option are taken as
// padding. The walk stops at opt_endofopt and after MaxOptions options.
func (r *Reader) walkOptions(start int64, name string, b []byte, fn func(code uint16, val []byte) error) error {
	for n := 0; len(b) >= optHeaderLen; n++ {
		if n >= r.lim.MaxOptions {
			return formatErr(start, ErrLimit, "%s has more than MaxOptions %d options", name, r.lim.MaxOptions)
		}
		code, l := r.u16(b), int(r.u16(b[2:]))
		if code == optEndOfOpt {
			return nil
		}
		if l > len(b)-optHeaderLen {
			return formatErr(start, ErrMalformed, "%s option %d length %d runs past the block", name, code, l)
		}
		if fn != nil {
			if err := fn(code, b[optHeaderLen:][:l]); err != nil {
				return err
			}
		}
		b = b[min(optHeaderLen+pad4(l), len(b)):]
	}
	return nil
}

// nanos converts a timestamp in interface units to nanoseconds since the
// epoch, exactly: ts*1e9 / 10^n or ts*1e9 >> n in 128-bit integer
// arithmetic, then if_tsoffset added. Values beyond int64 nanoseconds
// (after the year 2262) saturate; no real capture gets there.
func (f *ngIface) nanos(ts uint64) int64 {
	hi, lo := bits.Mul64(ts, 1_000_000_000)
	var q uint64
	switch {
	case f.binary && f.exp == 0:
		if hi != 0 {
			return math.MaxInt64
		}
		q = lo
	case f.binary:
		if hi>>f.exp != 0 {
			return math.MaxInt64
		}
		q = lo>>f.exp | hi<<(64-f.exp)
	default:
		if hi >= f.div { // the quotient would not fit 64 bits (and Div64 would panic)
			return math.MaxInt64
		}
		q, _ = bits.Div64(hi, lo, f.div)
	}
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return addSat(int64(q), f.offset)
}

// mulSat returns a*b, saturated to the int64 range.
func mulSat(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	p := a * b
	if p/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		if (a < 0) != (b < 0) {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return p
}

// addSat returns a+b, saturated to the int64 range.
func addSat(a, b int64) int64 {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt64
	case a < 0 && b < 0 && s >= 0:
		return math.MinInt64
	}
	return s
}
