package pcapng

import (
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Limits bounds what one Reader accepts from its (untrusted) input. A field
// that is zero or negative takes the DefaultLimits value, so a caller can
// lower one limit without restating the others.
type Limits struct {
	MaxCapLen        int   // captured bytes of one record (MaxCapLen)
	MaxBlockLen      int   // bytes of one pcapng block (MaxBlockLen)
	MaxInterfaces    int   // IDBs in one pcapng section (MaxInterfaces)
	MaxOptions       int   // options walked in one pcapng block (MaxOptions)
	MaxDecompressed  int64 // bytes after gunzip (MaxDecompressedBytes)
	MaxAllInterfaces int   // IDBs over all sections of a file (MaxAllInterfaces)
}

// DefaultLimits returns the limits of limits.go.
func DefaultLimits() Limits {
	return Limits{
		MaxCapLen:        MaxCapLen,
		MaxBlockLen:      MaxBlockLen,
		MaxInterfaces:    MaxInterfaces,
		MaxOptions:       MaxOptions,
		MaxDecompressed:  MaxDecompressedBytes,
		MaxAllInterfaces: MaxAllInterfaces,
	}
}

// withDefaults replaces unset (non-positive) fields by their default.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxCapLen <= 0 {
		l.MaxCapLen = d.MaxCapLen
	}
	if l.MaxBlockLen <= 0 {
		l.MaxBlockLen = d.MaxBlockLen
	}
	if l.MaxInterfaces <= 0 {
		l.MaxInterfaces = d.MaxInterfaces
	}
	if l.MaxOptions <= 0 {
		l.MaxOptions = d.MaxOptions
	}
	if l.MaxDecompressed <= 0 {
		l.MaxDecompressed = d.MaxDecompressed
	}
	if l.MaxAllInterfaces <= 0 {
		l.MaxAllInterfaces = d.MaxAllInterfaces
	}
	return l
}

// Info describes the capture file as far as it has been read. It is
// complete once Next has returned io.EOF.
type Info struct {
	Format       string // "pcap", "pcap-modified" or "pcapng"
	Compressed   bool   // the file was gzip-compressed
	Version      string // file-header (pcap) or first SHB (pcapng) version, e.g. "2.4", "1.0"
	Sections     int    // pcapng sections read; 1 for pcap
	Interfaces   []InterfaceInfo
	CustomBlocks int // pcapng custom blocks (0x00000BAD, 0x40000BAD) skipped; tshark lists each as a frame
}

// InterfaceInfo describes one capture interface. A pcap file has exactly
// one, built from its file header.
type InterfaceInfo struct {
	Section       int      // 0-based pcapng section
	ID            int      // interface index within its section (Record.Interface)
	LinkType      LinkType // FCS bits of a pcap header stripped
	SnapLen       uint32
	TSResol       uint8  // raw if_tsresol (6 when absent; bit 7 set: 2^-n); pcap: 6 or 9
	TSResolDigits uint8  // decimal digits worth showing: n for 10^-n or 2^-n, at most 9 (ns)
	TSOffset      int64  // if_tsoffset, seconds added to every timestamp
	Name          string // if_name
	HasDrops      bool   // an ISB carried isb_ifdrop
	Drops         uint64 // isb_ifdrop of the last ISB for this interface
	Packets       uint64 // records read from this interface
}

// Formats named in Info.Format.
const (
	FormatPCAP         = "pcap"
	FormatPCAPModified = "pcap-modified"
	FormatPCAPNG       = "pcapng"
)

// readerBufSize is the buffer between the file and the parser. It
// holds a MaxCapLen packet together with its pcapng block framing and some
// options, so the steady path hands out slices of this buffer and never
// copies; larger blocks go through Reader.buf.
const readerBufSize = MaxCapLen + 4096

// FormatError reports input the reader rejects, with the byte offset (in
// the decompressed stream) of the file header, record or block concerned.
// Err is a sentinel (ErrMalformed, ErrLimit, ErrUnsupportedVersion,
// ErrNotCapture) or io.ErrUnexpectedEOF; Cause, when set, is the underlying
// error (an I/O or gzip error).
type FormatError struct {
	Offset int64
	Reason string
	Err    error
	Cause  error
}

func (e *FormatError) Error() string {
	s := fmt.Sprintf("pcapng: %s at offset %d", e.Reason, e.Offset)
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap lets errors.Is match both the sentinel and the cause.
func (e *FormatError) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

func formatErr(off int64, sentinel error, format string, args ...any) error {
	return &FormatError{Offset: off, Reason: fmt.Sprintf(format, args...), Err: sentinel}
}

// Reader streams the records of a pcap or pcapng capture, optionally
// gzip-compressed. The input is untrusted: every length is checked against
// the stream and Limits before it is used, and nothing is allocated in
// proportion to a length field before the bytes are there. Errors are
// sticky. A Reader is not safe for concurrent use.
type Reader struct {
	br     *chunkReader
	lim    Limits
	info   Info
	off    int64 // stream offset of the next unread byte
	frame  uint64
	be     bool // current byte order is big-endian
	ng     bool // pcapng (else pcap)
	err    error
	buf    []byte // reusable buffer for blocks larger than the input buffer (br)
	rec    Record
	closer *gzip.Reader

	// pcap
	pcapRecLen int  // 16, or 24 for the modified format
	pcapNano   bool // nanosecond fractions
	pcapLink   LinkType

	// pcapng: interfaces of the current section
	ifaces  []ngIface
	section int
}

// ngIface is what a record needs from its pcapng interface.
type ngIface struct {
	link   LinkType
	snap   uint32
	binary bool   // resolution 2^-exp, else 10^-exp
	exp    uint8  // resolution exponent
	div    uint64 // 10^exp for decimal resolutions
	offset int64  // if_tsoffset in nanoseconds (saturated)
	digits uint8
	global int // index in Info.Interfaces
}

// NewReader is NewReaderLimits(r, DefaultLimits()).
func NewReader(r io.Reader) (*Reader, error) {
	return NewReaderLimits(r, DefaultLimits())
}

// NewReaderLimits reads and checks the file header (pcap) or first Section
// Header Block (pcapng). The format is taken from the magic bytes only. If
// they are gzip's, the stream is decompressed (multistream) and at most
// lim.MaxDecompressed bytes are read from it. An error wraps ErrNotCapture
// when the first bytes are no pcap, pcapng or gzip magic (an empty input
// included), ErrUnsupportedVersion, ErrMalformed, or io.ErrUnexpectedEOF
// when the header is cut short.
func NewReaderLimits(r io.Reader, lim Limits) (*Reader, error) {
	return NewReaderTap(r, lim, nil)
}

// NewReaderTap is NewReaderLimits with a Tap, which sees every byte read
// from r (the file's bytes, compressed or not) without a copy; nil for
// none.
func NewReaderTap(r io.Reader, lim Limits, tap Tap) (*Reader, error) {
	return newReader(r, lim, tap, readerBufSize)
}

// newReader is NewReaderTap with buffers of bufSize bytes (tests use small
// ones, to cross many buffers' ends with small captures).
func newReader(r io.Reader, lim Limits, tap Tap, bufSize int) (*Reader, error) {
	lim = lim.withDefaults()
	src := newChunkReader(r, bufSize, tap)
	rd := &Reader{lim: lim, br: src}
	magic, err := src.Peek(4)
	if err != nil && len(magic) < 4 {
		if isEOF(err) {
			return nil, formatErr(0, ErrNotCapture, "file shorter than any capture magic (%d bytes)", len(magic))
		}
		return nil, &FormatError{Offset: 0, Reason: "reading the file header", Cause: err}
	}
	if magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(src)
		if err != nil {
			return nil, &FormatError{Offset: 0, Reason: "bad gzip header", Err: ErrMalformed, Cause: err}
		}
		rd.closer = gz
		rd.info.Compressed = true
		// The gzip reader reads from src through the ByteReader interface,
		// so it adds no buffer of its own (and src's tap sees the file's
		// bytes); rd.br buffers its output.
		rd.br = newChunkReader(&capReader{r: gz, left: lim.MaxDecompressed}, bufSize, nil)
		magic, err = rd.br.Peek(4)
		if err != nil && len(magic) < 4 {
			if isEOF(err) {
				return nil, formatErr(0, ErrNotCapture, "gzip content shorter than any capture magic (%d bytes)", len(magic))
			}
			return nil, rd.readErr(0, "reading the file header", err)
		}
	}
	switch {
	case magic[0] == 0x0a && magic[1] == 0x0d && magic[2] == 0x0d && magic[3] == 0x0a:
		err = rd.openNG()
	case pcapMagic(magic) != 0:
		err = rd.openPCAP()
	default:
		// The bytes are not echoed: the answer may reach a client that
		// cannot read the file (a gzip file it did not write).
		err = formatErr(0, ErrNotCapture, "unknown magic")
	}
	if err != nil {
		return nil, headerErr(err)
	}
	return rd, nil
}

// headerErr marks a file header or first SHB cut short as malformed too:
// the magic promised a header that is not there.
func headerErr(err error) error {
	var fe *FormatError
	if errors.As(err, &fe) && fe.Err == io.ErrUnexpectedEOF && fe.Cause == nil {
		fe.Cause = ErrMalformed
	}
	return err
}

// pcap magics as raw bytes; which one also fixes byte order and resolution.
const (
	pcapMagicMicro    = 0xa1b2c3d4
	pcapMagicNano     = 0xa1b23c4d
	pcapMagicModified = 0xa1b2cd34 // Kuznetzov's patched libpcap: 24-byte record headers
)

// pcapMagic returns the magic value if b holds one of the six pcap magics
// in either byte order, else 0.
func pcapMagic(b []byte) uint32 {
	for _, v := range [...]uint32{binary.BigEndian.Uint32(b), binary.LittleEndian.Uint32(b)} {
		switch v {
		case pcapMagicMicro, pcapMagicNano, pcapMagicModified:
			return v
		}
	}
	return 0
}

// Next returns the next packet record. Its Data aliases the reader's buffer
// and is valid only until the next call to Next. At a clean end of input
// Next returns io.EOF; any other error wraps ErrMalformed, ErrLimit,
// ErrUnsupportedVersion or io.ErrUnexpectedEOF (input cut mid-record) and
// names the byte offset. Errors are sticky.
func (r *Reader) Next() (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	var err error
	if r.ng {
		err = r.nextNG()
	} else {
		err = r.nextPCAP()
	}
	if err != nil {
		r.err = err
		return nil, err
	}
	return &r.rec, nil
}

// Info returns a copy of what is known about the file so far.
func (r *Reader) Info() Info {
	in := r.info
	in.Interfaces = slices.Clone(r.info.Interfaces)
	return in
}

// Offset returns the byte offset, in the decompressed stream, of the next
// unread record or block.
func (r *Reader) Offset() int64 { return r.off }

func (r *Reader) u16(b []byte) uint16 {
	if r.be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *Reader) u32(b []byte) uint32 {
	if r.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *Reader) u64(b []byte) uint64 {
	if r.be {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

func isEOF(err error) bool {
	return err == io.EOF || err == io.ErrUnexpectedEOF
}

// readErr turns a failed read of the object starting at off into the
// reader's error: end of input inside it becomes io.ErrUnexpectedEOF, a
// gzip stream fault ErrMalformed, and anything else (an I/O error, the
// decompression limit) is kept as the cause.
func (r *Reader) readErr(off int64, what string, err error) error {
	switch {
	case isEOF(err):
		return &FormatError{Offset: off, Reason: what + ": input ends inside it", Err: io.ErrUnexpectedEOF}
	case errors.Is(err, ErrLimit): // from capReader
		return formatErr(off, ErrLimit, "%s: decompressed data beyond MaxDecompressed %d bytes", what, r.lim.MaxDecompressed)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.As(err, new(flate.CorruptInputError)):
		return &FormatError{Offset: off, Reason: what, Err: ErrMalformed, Cause: err}
	}
	return &FormatError{Offset: off, Reason: what, Cause: err}
}

// peek returns the next n bytes without consuming them. At a clean end of
// input (no byte left) it returns io.EOF itself.
func (r *Reader) peek(n int, what string) ([]byte, error) {
	b, err := r.br.Peek(n)
	if err == nil {
		return b, nil
	}
	if len(b) == 0 && err == io.EOF {
		return nil, io.EOF
	}
	return nil, r.readErr(r.off, what, err)
}

// take consumes the next n bytes and returns them. The slice aliases the
// reader's buffer (or r.buf for n beyond it) and is valid until the next read.
// A short read is reported at start, the offset of the enclosing object.
func (r *Reader) take(n int, start int64, what string) ([]byte, error) {
	if n <= r.br.Size() {
		b, err := r.br.Peek(n)
		if err != nil {
			return nil, r.readErr(start, what, err)
		}
		// Discard after a successful Peek of n bytes cannot fail, and the
		// peeked bytes stay in place until the next read.
		_, _ = r.br.Discard(n)
		r.off += int64(n)
		return b, nil
	}
	return r.takeLarge(n, start, what)
}

// takeLarge reads n bytes into r.buf. The buffer grows at most to twice
// the bytes actually present, so a length field that promises more than
// the input holds cannot make us allocate the promise.
func (r *Reader) takeLarge(n int, start int64, what string) ([]byte, error) {
	have := 0
	for have < n {
		if have == cap(r.buf) {
			grow := max(2*cap(r.buf), readerBufSize)
			nb := make([]byte, min(grow, n))
			copy(nb, r.buf[:have])
			r.buf = nb
		}
		want := min(n, cap(r.buf))
		m, err := io.ReadFull(r.br, r.buf[have:want])
		have += m
		if err != nil {
			r.off += int64(have)
			return nil, r.readErr(start, what, err)
		}
	}
	r.off += int64(n)
	return r.buf[:n], nil
}

// Close releases the gzip decompressor, if any. It does not close the
// underlying reader.
func (r *Reader) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// capReader returns an error wrapping ErrLimit once more than max bytes
// would be read, so a small gzip bomb cannot expand without bound. A stream
// of exactly max bytes reads cleanly.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var probe [1]byte
		n, err := c.r.Read(probe[:])
		if n > 0 {
			return 0, ErrLimit // Reader.readErr names the limit and the offset
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
