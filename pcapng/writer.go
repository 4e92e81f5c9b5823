package pcapng

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// What Writer writes (draft-ietf-opsawg-pcapng §4): little-endian sections
// of unknown length, an Interface Description Block per interface given,
// an Enhanced Packet Block per packet. Only what Wireshark needs to show
// the packets exactly is written.
const (
	shbVersionMinor   = 0
	shbSectionLenUnk  = math.MaxUint64 // section length -1: not given (§4.1)
	optSHBUserAppl    = 4              // shb_userappl
	tsResolNsec       = 9              // if_tsresol 10^-9
	maxOptionValueLen = math.MaxUint16 // an option's length field is 16 bits (§3.5)
)

// writeOrder is the byte order of everything Writer writes.
var writeOrder = binary.LittleEndian

// Writer writes a pcapng capture that this package's Reader and Wireshark
// read back with the same packets: per packet the timestamp to the
// nanosecond, captured bytes and original length, and per interface the
// link type, snaplen and name.
//
// Call WriteSectionHeader first, then WriteInterface for an interface
// before WritePacket for any of its packets, and Flush at the end. What
// the Writer cannot write exactly is refused with an error before any of
// its bytes are written, so the file written so far stays whole and the
// Writer usable: a packet of an interface not written in the current
// section (ErrUnknownInterface), a length beyond the bounds the Reader
// accepts (ErrLimit), or a value the format cannot express
// (ErrUnwritable). An error of the underlying writer is returned by the
// call that meets it and by every later one.
//
// Not written: packet options (comments, flags), name resolution,
// interface statistics (InterfaceInfo.Drops) and custom blocks. A Writer
// is not safe for concurrent use.
type Writer struct {
	w       *bufio.Writer
	buf     []byte // the block being built, reused
	section bool   // a section header was written
	ifaces  map[ifaceKey]outIface
}

// ifaceKey names an interface given to WriteInterface: its section and
// its ID there (InterfaceInfo.Section and ID).
type ifaceKey struct{ section, id int }

// outIface is an interface written in the current section.
type outIface struct {
	id   uint32 // its ID in the written section: interfaces are numbered as written
	unit int64  // nanoseconds per timestamp unit: 1000 (µs) or 1 (ns)
	link LinkType
	snap uint32
	name string
}

// NewWriter returns a Writer that writes to w through a buffer; Flush
// empties the buffer. It does not close w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriter(w), ifaces: make(map[ifaceKey]outIface)}
}

// WriteSectionHeader writes a Section Header Block: pcapng version 1.0,
// little-endian, length not given, with userAppl as its shb_userappl
// option (the application that wrote the file) unless userAppl is empty.
// It starts a new section: the interfaces written before it no longer
// exist for WritePacket. A userAppl longer than an option can hold (65535
// bytes) is refused with an error wrapping ErrLimit.
func (w *Writer) WriteSectionHeader(userAppl string) error {
	if len(userAppl) > maxOptionValueLen {
		return fmt.Errorf("%w: shb_userappl of %d bytes beyond an option's %d", ErrLimit, len(userAppl), maxOptionValueLen)
	}
	b := w.begin(blockTypeSHB)
	b = writeOrder.AppendUint32(b, byteOrderMagic)
	b = writeOrder.AppendUint16(b, shbVersionMajor)
	b = writeOrder.AppendUint16(b, shbVersionMinor)
	b = writeOrder.AppendUint64(b, shbSectionLenUnk)
	if userAppl != "" {
		b = appendOption(b, optSHBUserAppl, userAppl)
	}
	b = appendOption(b, optEndOfOpt, "")
	if err := w.end(b); err != nil {
		return err
	}
	w.section = true
	clear(w.ifaces)
	return nil
}

// WriteInterface writes an Interface Description Block for in: its link
// type, snaplen and name (if_name, unless empty), and the resolution of
// its packets' timestamps: microseconds (if_tsresol 6) when
// in.TSResolDigits is 6 or less, nanoseconds (if_tsresol 9) otherwise.
// Every timestamp the Reader gives for in's packets is then exact:
// resolutions of at most 6 digits (10^-n or 2^-n, n ≤ 6, and if_tsoffset
// in seconds) give whole microseconds. in.TSOffset is not written, as
// Record.Timestamp includes it, nor are in's statistics.
//
// Interfaces are numbered in the written section in the order written;
// in is known to WritePacket by in.Section and in.ID. An interface
// already written in this section, more than MaxInterfaces (the Reader's
// bound) in one section, a name longer than an option can hold, or a call
// before WriteSectionHeader is refused with an error.
func (w *Writer) WriteInterface(in InterfaceInfo) error {
	key := ifaceKey{in.Section, in.ID}
	switch _, dup := w.ifaces[key]; {
	case !w.section:
		return fmt.Errorf("%w: interface %d of section %d before any section header", ErrUnwritable, in.ID, in.Section)
	case dup:
		return fmt.Errorf("%w: interface %d of section %d written twice in one section", ErrUnwritable, in.ID, in.Section)
	case len(w.ifaces) >= MaxInterfaces:
		return fmt.Errorf("%w: more than MaxInterfaces %d interfaces in one section", ErrLimit, MaxInterfaces)
	case len(in.Name) > maxOptionValueLen:
		return fmt.Errorf("%w: if_name of %d bytes beyond an option's %d", ErrLimit, len(in.Name), maxOptionValueLen)
	}
	o := outIface{id: uint32(len(w.ifaces)), link: in.LinkType, snap: in.SnapLen, name: in.Name}
	resol := byte(tsResolNsec)
	if o.unit = unitOf(in); o.unit == 1000 {
		resol = tsResolUsec
	}
	b := w.begin(blockTypeIDB)
	b = writeOrder.AppendUint16(b, uint16(in.LinkType))
	b = writeOrder.AppendUint16(b, 0) // reserved
	b = writeOrder.AppendUint32(b, in.SnapLen)
	if in.Name != "" {
		b = appendOption(b, optIfName, in.Name)
	}
	b = appendOption(b, optIfTSResol, string([]byte{resol}))
	b = appendOption(b, optEndOfOpt, "")
	if err := w.end(b); err != nil {
		return err
	}
	w.ifaces[key] = o
	return nil
}

// HasInterface reports whether in (by in.Section and in.ID) was written
// by WriteInterface in the current section.
func (w *Writer) HasInterface(in InterfaceInfo) bool {
	_, ok := w.ifaces[ifaceKey{in.Section, in.ID}]
	return ok
}

// WritePacket writes rec as an Enhanced Packet Block of interface in,
// which must have been written by WriteInterface in the current section
// with the same link type, snaplen, name and timestamp resolution, and
// which must be rec's (rec.Interface is in.ID, rec.LinkType in.LinkType);
// otherwise the error wraps ErrUnknownInterface. Its captured bytes are
// rec.Data (rec.CapLen is not consulted), at most MaxCapLen of them, as
// the Reader accepts (else ErrLimit). Refused with ErrUnwritable: a
// timestamp before 1970 (an EPB timestamp is unsigned), math.MaxInt64
// (the Reader's saturated value for a time after 2262, which is not the
// packet's), one finer than the interface's resolution, or an original
// length outside 0 to 2^32-1.
func (w *Writer) WritePacket(in InterfaceInfo, rec *Record) error {
	o, ok := w.ifaces[ifaceKey{in.Section, in.ID}]
	switch {
	case !ok:
		return recordErr(ErrUnknownInterface, rec, "interface %d of section %d not written in this section", in.ID, in.Section)
	case o.link != in.LinkType || o.snap != in.SnapLen || o.name != in.Name || o.unit != unitOf(in):
		return recordErr(ErrUnknownInterface, rec, "interface %d of section %d differs from the one written", in.ID, in.Section)
	case rec.Interface != in.ID || rec.LinkType != in.LinkType:
		return recordErr(ErrUnknownInterface, rec, "record of interface %d (link type %d) given interface %d (link type %d)", rec.Interface, rec.LinkType, in.ID, in.LinkType)
	case len(rec.Data) > MaxCapLen:
		return recordErr(ErrLimit, rec, "captured length %d above MaxCapLen %d", len(rec.Data), MaxCapLen)
	case rec.OrigLen < 0 || uint64(rec.OrigLen) > math.MaxUint32:
		return recordErr(ErrUnwritable, rec, "original length %d outside a 32-bit field", rec.OrigLen)
	case rec.Timestamp < 0:
		return recordErr(ErrUnwritable, rec, "timestamp %d ns before 1970", rec.Timestamp)
	case rec.Timestamp == math.MaxInt64:
		return recordErr(ErrUnwritable, rec, "timestamp after 2262, saturated by the reader")
	case rec.Timestamp%o.unit != 0:
		return recordErr(ErrUnwritable, rec, "timestamp %d ns not a whole number of microseconds, the interface's resolution", rec.Timestamp)
	}
	ts := uint64(rec.Timestamp / o.unit)
	b := w.begin(blockTypeEPB)
	b = writeOrder.AppendUint32(b, o.id)
	b = writeOrder.AppendUint32(b, uint32(ts>>32))
	b = writeOrder.AppendUint32(b, uint32(ts))
	b = writeOrder.AppendUint32(b, uint32(len(rec.Data)))
	b = writeOrder.AppendUint32(b, uint32(rec.OrigLen))
	b = append(b, rec.Data...)
	b = appendPad(b, len(rec.Data))
	return w.end(b)
}

// Flush writes the buffered blocks to the underlying writer.
func (w *Writer) Flush() error { return w.w.Flush() }

// unitOf returns the nanoseconds per timestamp unit WriteInterface
// chooses for in.
func unitOf(in InterfaceInfo) int64 {
	if in.TSResolDigits <= tsResolUsec {
		return 1000
	}
	return 1
}

// recordErr returns an error wrapping sentinel about rec, naming its
// frame when it has one (Record.Frame is 1-based).
func recordErr(sentinel error, rec *Record, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if rec.Frame != 0 {
		msg = fmt.Sprintf("frame %d: %s", rec.Frame, msg)
	}
	return fmt.Errorf("%w: %s", sentinel, msg)
}

// begin starts a block of type typ in w.buf; end finishes and writes it.
func (w *Writer) begin(typ uint32) []byte {
	b := writeOrder.AppendUint32(w.buf[:0], typ)
	return writeOrder.AppendUint32(b, 0) // total length, filled in by end
}

func (w *Writer) end(b []byte) error {
	// Every block is bounded (an EPB by MaxCapLen plus 32 bytes, an IDB by
	// two options of at most 65535 bytes), so its length fits the 32-bit
	// field.
	n := uint32(len(b) + 4)
	writeOrder.PutUint32(b[4:], n)
	b = writeOrder.AppendUint32(b, n)
	w.buf = b
	_, err := w.w.Write(b)
	return err
}

// appendOption appends one option, its value padded to 4 bytes. Callers
// bound the value to maxOptionValueLen.
func appendOption(b []byte, code uint16, val string) []byte {
	b = writeOrder.AppendUint16(b, code)
	b = writeOrder.AppendUint16(b, uint16(len(val)))
	b = append(b, val...)
	return appendPad(b, len(val))
}

// appendPad appends the zeros that align n bytes to 4.
func appendPad(b []byte, n int) []byte {
	var zero [3]byte
	return append(b, zero[:(4-n%4)%4]...)
}
