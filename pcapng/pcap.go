package pcapng

import (
	"encoding/binary"
	"fmt"
)

// Classic pcap file header (draft-ietf-opsawg-pcap §4), in the byte order
// its magic is written in:
//
//	 0       4     6     8         12        16        20        24
//	+-------+-----+-----+---------+---------+---------+---------+
//	| magic | maj | min | reserved| reserved| snaplen | linktype|
//	+-------+-----+-----+---------+---------+---------+---------+
const (
	pcapHeaderLen  = 24
	pcapVerMajor   = 4
	pcapVerMinor   = 6
	pcapSnapLen    = 16
	pcapLinkField  = 20
	pcapMajorOK    = 2          // the only major version libpcap and Wireshark read
	pcapLinkMask   = 0x0000ffff // LinkType; bits 28-31 and 26 are FCS length and flag
	pcapLinkReserv = 0x03ff0000 // must be zero; Wireshark refuses the file otherwise
)

// Record header: seconds, fraction, captured and original length; the
// modified (Kuznetzov) format appends ifindex (4), protocol (2), pkt_type
// (1) and a pad byte.
//
//	 0        4        8        12       16              24
//	+--------+--------+--------+--------+---------------+
//	| ts_sec | ts_frac| caplen | origlen| modified only |
//	+--------+--------+--------+--------+---------------+
const (
	pcapRecLen         = 16
	pcapRecLenModified = 24
	pcapRecFrac        = 4
	pcapRecCapLen      = 8
	pcapRecOrigLen     = 12
)

// openPCAP reads and checks the 24-byte file header.
func (r *Reader) openPCAP() error {
	var hdr [pcapHeaderLen]byte
	b, err := r.take(pcapHeaderLen, 0, "pcap file header")
	if err != nil {
		return err
	}
	copy(hdr[:], b)
	magic := pcapMagic(hdr[:4])
	r.be = binary.BigEndian.Uint32(hdr[:4]) == magic
	r.pcapNano = magic == pcapMagicNano
	r.pcapRecLen = pcapRecLen
	r.info.Format = FormatPCAP
	if magic == pcapMagicModified {
		r.pcapRecLen = pcapRecLenModified
		r.info.Format = FormatPCAPModified
	}
	major, minor := r.u16(hdr[pcapVerMajor:]), r.u16(hdr[pcapVerMinor:])
	r.info.Version = fmt.Sprintf("%d.%d", major, minor)
	// Wireshark reads any 2.x (lp-pcap-invalid-version-2 is 2.5); libpcap
	// and Wireshark refuse other majors.
	if major != pcapMajorOK {
		return formatErr(0, ErrUnsupportedVersion, "pcap version %d.%d", major, minor)
	}
	field := r.u32(hdr[pcapLinkField:])
	if field&pcapLinkReserv != 0 {
		return formatErr(0, ErrMalformed, "pcap link-type reserved bits set (%#08x)", field)
	}
	r.pcapLink = LinkType(field & pcapLinkMask)
	r.info.Sections = 1
	digits, resol := uint8(6), uint8(6)
	if r.pcapNano {
		digits, resol = 9, 9
	}
	r.info.Interfaces = []InterfaceInfo{{
		LinkType:      r.pcapLink,
		SnapLen:       r.u32(hdr[pcapSnapLen:]),
		TSResol:       resol,
		TSResolDigits: digits,
	}}
	r.rec.Precision = digits
	r.rec.LinkType = r.pcapLink
	return nil
}

// nextPCAP reads one record header and its data. When the whole record is
// already buffered (all but about one record per buffer refill) it is
// taken with one Peek and one Discard; otherwise, or when its length
// needs checking against a limit, the careful path below reads it.
func (r *Reader) nextPCAP() error {
	if have := r.br.Buffered(); have >= r.pcapRecLen {
		b, _ := r.br.Peek(have) // no read: have bytes are buffered
		capLen := r.u32(b[pcapRecCapLen:])
		if n := uint64(r.pcapRecLen) + uint64(capLen); uint64(capLen) <= uint64(r.lim.MaxCapLen) && n <= uint64(have) {
			r.pcapRecord(b, b[r.pcapRecLen:n], capLen)
			_, _ = r.br.Discard(int(n))
			r.off += int64(n)
			return nil
		}
	}
	start := r.off
	var hdr [pcapRecLenModified]byte
	b, err := r.peek(r.pcapRecLen, "pcap record header")
	if err != nil {
		return err
	}
	copy(hdr[:], b)
	_, _ = r.br.Discard(r.pcapRecLen)
	r.off += int64(r.pcapRecLen)

	capLen := r.u32(hdr[pcapRecCapLen:])
	// Compare as uint32 before converting, so a huge value cannot wrap int.
	if uint64(capLen) > uint64(r.lim.MaxCapLen) {
		return formatErr(start, ErrLimit, "pcap record captured length %d above MaxCapLen %d", capLen, r.lim.MaxCapLen)
	}
	data, err := r.take(int(capLen), start, "pcap record data")
	if err != nil {
		return err
	}
	r.pcapRecord(hdr[:], data, capLen)
	return nil
}

// pcapRecord makes the current record from a record header and its data.
func (r *Reader) pcapRecord(hdr, data []byte, capLen uint32) {
	sec := int64(r.u32(hdr))
	frac := int64(r.u32(hdr[pcapRecFrac:]))
	// A fraction of 1e9 or more is invalid but kept as written (tshark
	// does the same); both terms fit an int64 (2^32 s is year 2106).
	if !r.pcapNano {
		frac *= 1000
	}
	r.frame++
	r.rec.Frame = r.frame
	r.rec.Interface = 0
	r.rec.Timestamp = sec*1_000_000_000 + frac
	r.rec.CapLen = int(capLen)
	// CapLen above OrigLen is tolerated as Wireshark does; OrigLen stays
	// as written (a uint32 always fits int on 64-bit platforms).
	r.rec.OrigLen = int(r.u32(hdr[pcapRecOrigLen:]))
	r.rec.Data = data
	r.info.Interfaces[0].Packets++
}
