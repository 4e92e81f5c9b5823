package pcapng

import "encoding/binary"

// Ethernet II header (IEEE 802.3):
//
//	 0                   6                   12      14
//	+-------------------+-------------------+-------+
//	| destination MAC   | source MAC        | type  |
//	+-------------------+-------------------+-------+
const (
	ethDst  = 0
	ethSrc  = 6
	ethType = 12
)

// EthernetLen is the length of an untagged Ethernet II header.
const EthernetLen = 14

// EtherType values the decoder follows.
const (
	EtherTypeIPv4        uint16 = 0x0800
	EtherTypeARP         uint16 = 0x0806
	EtherTypeVLAN        uint16 = 0x8100 // IEEE 802.1Q customer tag
	EtherTypeQinQ        uint16 = 0x88a8 // IEEE 802.1ad service tag
	EtherTypeQinQOld     uint16 = 0x9100 // pre-standard QinQ tag still seen in the field
	EtherTypeIPv6        uint16 = 0x86dd
	EtherTypePPPoESess   uint16 = 0x8864 // RFC 2516 session stage
	etherTypeMaxLength   uint16 = 1500   // values up to this are an 802.3 length (LLC follows)
	vlanTagLen                  = 4      // TCI (2) + inner EtherType (2)
	pppoeHeaderLen              = 6      // ver/type, code, session ID, length (RFC 2516 §4)
	pppProtoIPv4         uint16 = 0x0021 // RFC 1332
	pppProtoIPv6         uint16 = 0x0057 // RFC 5072
	EtherTypeMPLS        uint16 = 0x8847 // RFC 3032 unicast
	EtherTypeMPLSMulti   uint16 = 0x8848 // RFC 3032 multicast
	mplsLabelLen                = 4      // label (20), TC (3), bottom-of-stack (1), TTL (8)
	mplsBottomOfStack    byte   = 0x01   // in the third byte of a label entry
	snapHeaderLen               = 8      // LLC AA AA 03 + OUI (3) + EtherType (2), RFC 1042
	pppAddressAllStation byte   = 0xff   // RFC 1662 §3.1 HDLC-like framing
	pppControlUI         byte   = 0x03
)

// Linux cooked capture headers (LINKTYPE_LINUX_SLL and LINKTYPE_LINUX_SLL2,
// tcpdump.org link-layer registry): SLL has the protocol in its last two
// bytes, SLL2 in its first two.
const (
	SLLLen    = 16
	SLL2Len   = 20
	sllProto  = 14
	sll2Proto = 0
)

// Loopback headers: a 4-byte address family (host order for LINKTYPE_NULL,
// network order for LINKTYPE_LOOP). IPv6 has a different AF_INET6 value on
// each BSD, so all are accepted (tcpdump.org registry, LINKTYPE_NULL).
const (
	loopHeaderLen = 4
	afInet        = 2
	afInet6BSD    = 24 // NetBSD, OpenBSD, BSD/OS
	afInet6FBSD   = 28 // FreeBSD, DragonFly
	afInet6Darwin = 30 // macOS, iOS
)

// Ethernet is a view of an Ethernet II frame, obtained from ParseEthernet.
type Ethernet []byte

// ParseEthernet returns b as an Ethernet view if it holds the 14-byte header.
func ParseEthernet(b []byte) (Ethernet, error) {
	if len(b) < EthernetLen {
		return nil, ErrHeaderTruncated
	}
	return Ethernet(b), nil
}

// Destination is the destination MAC address.
func (e Ethernet) Destination() [6]byte { return [6]byte(e[ethDst:][:6]) }

// Source is the source MAC address.
func (e Ethernet) Source() [6]byte { return [6]byte(e[ethSrc:][:6]) }

// EtherType is the type field; a value ≤ 1500 is an 802.3 length instead.
func (e Ethernet) EtherType() uint16 { return binary.BigEndian.Uint16(e[ethType:]) }

// Payload is everything after the 14-byte header (tags included).
func (e Ethernet) Payload() []byte { return e[EthernetLen:] }

// linkDecode dispatches on the link type and returns the network-layer
// bytes with p.L3 set, or nil when there is nothing to decode further.
func linkDecode(p *Packet, lt LinkType, b []byte) []byte {
	switch lt {
	case LinkEthernet:
		e, err := ParseEthernet(b)
		if err != nil {
			p.Anomalies |= AnomalyLinkTruncated
			return nil
		}
		return linkEtherType(p, e.EtherType(), e.Payload())
	case LinkSLL:
		if len(b) < SLLLen {
			p.Anomalies |= AnomalyLinkTruncated
			return nil
		}
		return linkEtherType(p, binary.BigEndian.Uint16(b[sllProto:]), b[SLLLen:])
	case LinkSLL2:
		if len(b) < SLL2Len {
			p.Anomalies |= AnomalyLinkTruncated
			return nil
		}
		return linkEtherType(p, binary.BigEndian.Uint16(b[sll2Proto:]), b[SLL2Len:])
	case LinkNull, LinkLoop:
		return linkLoopback(p, lt, b)
	case LinkRaw, LinkRawBSD, LinkRawOld:
		return linkRawIP(p, b)
	case LinkIPv4:
		p.L3 = L3IPv4
		return b
	case LinkIPv6:
		p.L3 = L3IPv6
		return b
	case LinkPPP, LinkPPPHDLC:
		return linkPPP(p, b)
	}
	p.Anomalies |= AnomalyUnknownLink
	return nil
}

// linkEtherType follows an EtherType through VLAN tags and a PPPoE session
// header. The loop is capped by MaxLinkTags: a frame made only of tags
// costs at most that many steps and is reported with AnomalyTagLimit.
func linkEtherType(p *Packet, typ uint16, b []byte) []byte {
	for layers := 0; ; layers++ {
		switch typ {
		case EtherTypeVLAN, EtherTypeQinQ, EtherTypeQinQOld, EtherTypePPPoESess, EtherTypeMPLS, EtherTypeMPLSMulti:
			if layers >= MaxLinkTags {
				p.Anomalies |= AnomalyTagLimit
				return nil
			}
		}
		switch typ {
		case EtherTypeIPv4:
			p.L3 = L3IPv4
			return b
		case EtherTypeIPv6:
			p.L3 = L3IPv6
			return b
		case EtherTypeARP:
			p.L3 = L3ARP
			return nil
		case EtherTypeVLAN, EtherTypeQinQ, EtherTypeQinQOld:
			if len(b) < vlanTagLen {
				p.Anomalies |= AnomalyLinkTruncated
				return nil
			}
			p.VLANTags++
			typ = binary.BigEndian.Uint16(b[2:])
			b = b[vlanTagLen:]
		case EtherTypePPPoESess:
			if len(b) < pppoeHeaderLen+2 {
				p.Anomalies |= AnomalyLinkTruncated
				return nil
			}
			return linkPPPProto(p, binary.BigEndian.Uint16(b[pppoeHeaderLen:]), b[pppoeHeaderLen+2:])
		case EtherTypeMPLS, EtherTypeMPLSMulti:
			return linkMPLS(p, layers, b)
		default:
			if typ <= etherTypeMaxLength && len(b) < snapHeaderLen {
				// Too short to tell an RFC 1042 SNAP header (which
				// would carry IP) from other LLC.
				p.Anomalies |= AnomalyLinkTruncated
				return nil
			}
			if typ <= etherTypeMaxLength && linkIsSNAP(b) {
				typ = binary.BigEndian.Uint16(b[6:])
				b = b[snapHeaderLen:]
				if typ <= etherTypeMaxLength {
					// A zero-OUI SNAP header carries an EtherType; a
					// length here is malformed and must not loop.
					p.L3 = L3Other
					return nil
				}
				continue
			}
			// Other LLC, IPX, LLDP, PPPoE discovery, ...: a known frame
			// carrying something we do not decode.
			p.L3 = L3Other
			return nil
		}
	}
}

// linkIsSNAP reports an RFC 1042 SNAP header with the zero OUI, which
// carries an EtherType inside an 802.3 length frame.
func linkIsSNAP(b []byte) bool {
	return len(b) >= snapHeaderLen && b[0] == 0xaa && b[1] == 0xaa && b[2] == 0x03 &&
		b[3] == 0 && b[4] == 0 && b[5] == 0
}

// linkMPLS skips the label stack up to the bottom-of-stack entry; the stack
// shares the MaxLinkTags budget with the tags before it. RFC 3032 leaves
// the payload protocol to the label's meaning, which a capture does not
// record, so like routers' load balancers and Wireshark we read the IP
// version nibble; anything else (a pseudowire control word, ...) is
// L3Other rather than a guess.
func linkMPLS(p *Packet, layers int, b []byte) []byte {
	for ; ; layers++ {
		if layers >= MaxLinkTags {
			p.Anomalies |= AnomalyTagLimit
			return nil
		}
		if len(b) < mplsLabelLen {
			p.Anomalies |= AnomalyLinkTruncated
			return nil
		}
		bottom := b[2]&mplsBottomOfStack != 0
		b = b[mplsLabelLen:]
		if bottom {
			break
		}
	}
	if len(b) == 0 {
		p.Anomalies |= AnomalyLinkTruncated
		return nil
	}
	switch b[0] >> 4 {
	case 4:
		p.L3 = L3IPv4
		return b
	case 6:
		p.L3 = L3IPv6
		return b
	}
	p.L3 = L3Other
	return nil
}

// linkLoopback reads the 4-byte address family of LINKTYPE_NULL (host
// order of the capturing machine, which the file does not record, so both
// orders are tried: a family is small, so the order that yields a value
// below 2^16 is the right one) or LINKTYPE_LOOP (network order).
func linkLoopback(p *Packet, lt LinkType, b []byte) []byte {
	if len(b) < loopHeaderLen {
		p.Anomalies |= AnomalyLinkTruncated
		return nil
	}
	af := binary.BigEndian.Uint32(b)
	if lt == LinkNull && af&0xffff == 0 {
		af = binary.LittleEndian.Uint32(b)
	}
	switch af {
	case afInet:
		p.L3 = L3IPv4
		return b[loopHeaderLen:]
	case afInet6BSD, afInet6FBSD, afInet6Darwin:
		p.L3 = L3IPv6
		return b[loopHeaderLen:]
	}
	p.L3 = L3Other
	return nil
}

// linkRawIP decides IPv4 or IPv6 from the version nibble (LINKTYPE_RAW).
func linkRawIP(p *Packet, b []byte) []byte {
	if len(b) == 0 {
		p.Anomalies |= AnomalyIPTruncated
		return nil
	}
	switch b[0] >> 4 {
	case 4:
		p.L3 = L3IPv4
		return b
	case 6:
		p.L3 = L3IPv6
		return b
	}
	p.Anomalies |= AnomalyBadIPHeader
	return nil
}

// linkPPP strips the optional RFC 1662 address/control bytes and reads a
// protocol field of one byte (RFC 1661 §6.5 protocol-field compression:
// an odd first byte ends the field) or two.
func linkPPP(p *Packet, b []byte) []byte {
	if len(b) >= 1 && b[0] == pppAddressAllStation {
		// 0xff is never a protocol byte (protocol numbers end in an odd
		// byte and begin with an even one), so it starts the framing.
		if len(b) < 2 {
			p.Anomalies |= AnomalyLinkTruncated
			return nil
		}
		if b[1] != pppControlUI {
			p.L3 = L3Other // another HDLC control field: not a PPP datagram we decode
			return nil
		}
		b = b[2:]
	}
	if len(b) == 0 {
		p.Anomalies |= AnomalyLinkTruncated
		return nil
	}
	if b[0]&1 == 1 {
		return linkPPPProto(p, uint16(b[0]), b[1:])
	}
	if len(b) < 2 {
		p.Anomalies |= AnomalyLinkTruncated
		return nil
	}
	return linkPPPProto(p, binary.BigEndian.Uint16(b), b[2:])
}

func linkPPPProto(p *Packet, proto uint16, b []byte) []byte {
	switch proto {
	case pppProtoIPv4:
		p.L3 = L3IPv4
		return b
	case pppProtoIPv6:
		p.L3 = L3IPv6
		return b
	}
	p.L3 = L3Other
	return nil
}
