package pcapng

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// IPv4 header (RFC 791 §3.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version|  IHL  |Type of Service|          Total Length         |
//	|         Identification        |Flags|      Fragment Offset    |
//	|  Time to Live |    Protocol   |         Header Checksum       |
//	|                       Source Address                          |
//	|                    Destination Address                        |
//	|                    Options                    |    Padding    |
const (
	ip4VerIHL   = 0
	ip4TOS      = 1
	ip4TotalLen = 2
	ip4ID       = 4
	ip4Frag     = 6
	ip4TTL      = 8
	ip4Proto    = 9
	ip4Csum     = 10
	ip4Src      = 12
	ip4Dst      = 16

	ip4FlagDF      = 0x4000
	ip4FlagMF      = 0x2000
	ip4FragOffMask = 0x1fff
)

// IPv4MinLen is the length of an IPv4 header without options.
const IPv4MinLen = 20

// IPv4 is a view of an IPv4 packet, obtained from ParseIPv4.
type IPv4 []byte

// ParseIPv4 checks the version, the header length (IHL ≥ 5 and within b)
// and the total length (0, meaning "segmentation offload, use the capture",
// or ≥ the header length). A total length beyond b is a snaplen-truncated
// packet and is accepted: Payload is clipped to the captured bytes.
func ParseIPv4(b []byte) (IPv4, error) {
	if len(b) < IPv4MinLen {
		return nil, ErrHeaderTruncated
	}
	ip := IPv4(b)
	if ip.Version() != 4 || ip.IHLWords() < 5 {
		return nil, ErrHeaderInvalid
	}
	if len(b) < ip.HeaderLen() {
		return nil, ErrHeaderTruncated
	}
	if tl := int(ip.TotalLength()); tl != 0 && tl < ip.HeaderLen() {
		return nil, ErrHeaderInvalid
	}
	return ip, nil
}

// Version is the IP version nibble (4).
func (ip IPv4) Version() uint8 { return ip[ip4VerIHL] >> 4 }

// IHLWords is the header length in 32-bit words.
func (ip IPv4) IHLWords() uint8 { return ip[ip4VerIHL] & 0x0f }

// HeaderLen is the header length in bytes, options included.
func (ip IPv4) HeaderLen() int { return int(ip.IHLWords()) * 4 }

// TOS is the type-of-service (DSCP and ECN) byte.
func (ip IPv4) TOS() uint8 { return ip[ip4TOS] }

// TotalLength is the datagram length the sender wrote, header included.
func (ip IPv4) TotalLength() uint16 { return binary.BigEndian.Uint16(ip[ip4TotalLen:]) }

// Identification is the fragment-reassembly identifier.
func (ip IPv4) Identification() uint16 { return binary.BigEndian.Uint16(ip[ip4ID:]) }

// DontFragment reports the DF flag.
func (ip IPv4) DontFragment() bool { return binary.BigEndian.Uint16(ip[ip4Frag:])&ip4FlagDF != 0 }

// MoreFragments reports the MF flag.
func (ip IPv4) MoreFragments() bool { return binary.BigEndian.Uint16(ip[ip4Frag:])&ip4FlagMF != 0 }

// FragmentOffset is the fragment offset in 8-byte units.
func (ip IPv4) FragmentOffset() uint16 {
	return binary.BigEndian.Uint16(ip[ip4Frag:]) & ip4FragOffMask
}

// TTL is the time-to-live.
func (ip IPv4) TTL() uint8 { return ip[ip4TTL] }

// Protocol is the IP protocol number of the payload.
func (ip IPv4) Protocol() uint8 { return ip[ip4Proto] }

// Checksum is the header checksum as written (not verified).
func (ip IPv4) Checksum() uint16 { return binary.BigEndian.Uint16(ip[ip4Csum:]) }

// Source is the source address.
func (ip IPv4) Source() netip.Addr { return netip.AddrFrom4([4]byte(ip[ip4Src:][:4])) }

// Destination is the destination address.
func (ip IPv4) Destination() netip.Addr { return netip.AddrFrom4([4]byte(ip[ip4Dst:][:4])) }

// Options are the header bytes after the fixed 20.
func (ip IPv4) Options() []byte { return ip[IPv4MinLen:ip.HeaderLen()] }

// Length is the datagram length used for payload arithmetic: TotalLength,
// or the captured length when TotalLength is 0 (a capture taken before
// TCP segmentation offload filled it in; Wireshark does the same).
func (ip IPv4) Length() int {
	if tl := int(ip.TotalLength()); tl != 0 {
		return tl
	}
	return len(ip)
}

// Payload is the data after the header, up to Length and clipped to the
// captured bytes (so Ethernet padding is excluded and a snaplen cut is safe).
func (ip IPv4) Payload() []byte {
	end := min(ip.Length(), len(ip))
	return ip[ip.HeaderLen():end]
}

// IPv6 fixed header (RFC 8200 §3):
//
//	|Version| Traffic Class |           Flow Label                  |
//	|         Payload Length        |  Next Header  |   Hop Limit   |
//	|                  Source Address (16 bytes)                    |
//	|               Destination Address (16 bytes)                  |
const (
	ip6PayloadLen = 4
	ip6NextHeader = 6
	ip6HopLimit   = 7
	ip6Src        = 8
	ip6Dst        = 24
)

// IPv6Len is the length of the fixed IPv6 header.
const IPv6Len = 40

// IPv6 extension headers the decoder walks (RFC 8200 §4, RFC 4302).
const (
	ip6ExtHopByHop = 0
	ip6ExtRouting  = 43
	ip6ExtFragment = 44
	ip6ExtAH       = 51
	ip6ExtDestOpts = 60
	ip6FragHdrLen  = 8
	ip6ExtMinLen   = 8 // every extension header is at least 8 bytes
)

// IPv6 is a view of an IPv6 packet, obtained from ParseIPv6.
type IPv6 []byte

// ParseIPv6 checks the version and the 40-byte fixed header.
func ParseIPv6(b []byte) (IPv6, error) {
	if len(b) < IPv6Len {
		return nil, ErrHeaderTruncated
	}
	if b[0]>>4 != 6 {
		return nil, ErrHeaderInvalid
	}
	return IPv6(b), nil
}

// Version is the IP version nibble (6).
func (ip IPv6) Version() uint8 { return ip[0] >> 4 }

// TrafficClass is the traffic-class byte.
func (ip IPv6) TrafficClass() uint8 { return ip[0]<<4 | ip[1]>>4 }

// FlowLabel is the 20-bit flow label.
func (ip IPv6) FlowLabel() uint32 { return binary.BigEndian.Uint32(ip) & 0xfffff }

// PayloadLength is the length after the fixed header, extensions included.
func (ip IPv6) PayloadLength() uint16 { return binary.BigEndian.Uint16(ip[ip6PayloadLen:]) }

// NextHeader is the type of the first extension or transport header.
func (ip IPv6) NextHeader() uint8 { return ip[ip6NextHeader] }

// HopLimit is the hop limit.
func (ip IPv6) HopLimit() uint8 { return ip[ip6HopLimit] }

// Source is the source address.
func (ip IPv6) Source() netip.Addr { return netip.AddrFrom16([16]byte(ip[ip6Src:][:16])) }

// Destination is the destination address.
func (ip IPv6) Destination() netip.Addr { return netip.AddrFrom16([16]byte(ip[ip6Dst:][:16])) }

// Length is 40 + PayloadLength, or the captured length when PayloadLength
// is 0 (a jumbogram, RFC 2675, or a capture taken before segmentation
// offload filled it in).
func (ip IPv6) Length() int {
	if pl := int(ip.PayloadLength()); pl != 0 {
		return IPv6Len + pl
	}
	return len(ip)
}

// Payload is the data after the fixed header up to Length, clipped to the
// captured bytes.
func (ip IPv6) Payload() []byte {
	end := min(ip.Length(), len(ip))
	return ip[IPv6Len:end]
}

// ipHeaderError records why an IP header could not be read and leaves L3
// at L3None.
func ipHeaderError(p *Packet, err error) {
	p.L3 = L3None
	if errors.Is(err, ErrHeaderTruncated) {
		p.Anomalies |= AnomalyIPTruncated
	} else {
		p.Anomalies |= AnomalyBadIPHeader
	}
}

// ipDecode4 fills the IPv4 fields and hands the payload to the transport
// decoder. A header that is cut or inconsistent leaves L3 at L3None, so
// that the scan engine never sees zero addresses.
func ipDecode4(p *Packet, b []byte) {
	ip, err := ParseIPv4(b)
	if err != nil {
		ipHeaderError(p, err)
		return
	}
	p.L3 = L3IPv4
	p.Src, p.Dst = ip.Source(), ip.Destination()
	p.TTL = ip.TTL()
	p.IPID = uint32(ip.Identification())
	p.DF = ip.DontFragment()
	p.Proto = ip.Protocol()
	p.IPLen = ip.Length()
	declared := p.IPLen - ip.HeaderLen()
	if ip.FragmentOffset() != 0 {
		// RFC 791: only the fragment at offset 0 holds the transport header.
		p.Frag = FragLater
		p.PayloadLen = declared
		return
	}
	if ip.MoreFragments() {
		p.Frag = FragFirst
	}
	transportDecode(p, p.Proto, ip.Payload(), declared)
}

// ipDecode6 fills the IPv6 fields, walks the extension chain and hands
// the payload to the transport decoder.
func ipDecode6(p *Packet, b []byte) {
	ip, err := ParseIPv6(b)
	if err != nil {
		ipHeaderError(p, err)
		return
	}
	p.L3 = L3IPv6
	p.Src, p.Dst = ip.Source(), ip.Destination()
	p.TTL = ip.HopLimit()
	p.IPLen = ip.Length()
	w := ip6Walk(ip.NextHeader(), ip.Payload(), p.IPLen-IPv6Len)
	p.Proto = w.proto
	p.Anomalies |= w.anomalies
	if w.fragID != nil {
		p.IPID = binary.BigEndian.Uint32(w.fragID)
	}
	p.Frag = w.frag
	if !w.done {
		return
	}
	if w.frag == FragLater {
		p.PayloadLen = w.declared
		return
	}
	transportDecode(p, p.Proto, w.rest, w.declared)
}

// ip6Chain is the result of walking an IPv6 extension-header chain.
type ip6Chain struct {
	proto     uint8  // next-header value where the walk stopped
	rest      []byte // captured bytes after the last extension header
	declared  int    // bytes after the last extension header per the IP length
	frag      uint8  // Frag* from a fragment header
	fragID    []byte // 4-byte identification of a fragment header, if any
	done      bool   // the chain ended at a non-extension header
	anomalies uint32
}

// ip6Walk follows hop-by-hop, routing, fragment, destination-options and
// AH headers, at most MaxIPv6ExtHeaders of them (a hostile chain of
// thousands of 8-byte headers costs a bounded loop and is reported).
// b holds the captured bytes after the fixed header; declared is their
// length per the Payload Length field.
func ip6Walk(nh uint8, b []byte, declared int) ip6Chain {
	w := ip6Chain{proto: nh}
	for n := 0; ; n++ {
		switch w.proto {
		case ip6ExtHopByHop, ip6ExtRouting, ip6ExtDestOpts, ip6ExtFragment, ip6ExtAH:
		default:
			w.rest, w.declared, w.done = b, declared, true
			return w
		}
		if n >= MaxIPv6ExtHeaders {
			w.anomalies |= AnomalyExtLimit
			return w
		}
		if len(b) < ip6ExtMinLen {
			w.anomalies |= ip6CutAnomaly(declared, ip6ExtMinLen)
			return w
		}
		var hl int
		switch w.proto {
		case ip6ExtFragment:
			hl = ip6FragHdrLen
			off := binary.BigEndian.Uint16(b[2:]) >> 3
			more := b[3]&1 == 1
			w.fragID = b[4:8]
			switch {
			case off != 0:
				w.frag = FragLater
			case more:
				w.frag = FragFirst
			}
		case ip6ExtAH:
			hl = (int(b[1]) + 2) * 4 // RFC 4302 §2.2: length in 4-byte words minus 2
		default:
			hl = (int(b[1]) + 1) * 8 // RFC 8200 §4.3: 8-byte units beyond the first
		}
		if len(b) < hl {
			w.anomalies |= ip6CutAnomaly(declared, hl)
			return w
		}
		w.proto = b[0]
		b = b[hl:]
		declared -= hl
		if w.frag == FragLater {
			// The rest of the chain and the transport header are in
			// the first fragment only (RFC 8200 §4.5).
			w.rest, w.declared, w.done = b, declared, true
			return w
		}
	}
}

// ip6CutAnomaly tells a header cut by the snaplen (the IP length promises
// more than was captured) from one that overruns the IP length itself.
func ip6CutAnomaly(declared, need int) uint32 {
	if declared >= need {
		return AnomalyIPTruncated
	}
	return AnomalyBadIPHeader
}
