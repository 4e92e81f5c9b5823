package pcapng

import "encoding/binary"

// Tunnels. A capture taken on an underlay, or delivered by a mirror (AWS
// Traffic Mirroring sends VXLAN, Cisco and Linux mirrors send ERSPAN),
// holds the scan inside a tunnel: the outer packet goes between two
// tunnel endpoints, the scanner and its targets are inside. Decode removes
// the encapsulations below, at most MaxTunnelDepth of them, so that the
// Packet is the carried packet (tshark, Zeek and Snort decode the same
// way). A tunnel is entered only when its header is exact and the packet
// inside validates (an IPv4 or IPv6 header of the right version whose
// length fits in what the outer headers declare, behind Ethernet framing
// where the tunnel carries frames); otherwise the packet stays the outer
// UDP datagram or IP packet it is, so a probe to UDP port 4789 is still a
// probe, and an nmap -sO packet of protocol 4, 41 or 47 (sent empty)
// still shows its protocol.
//
// UDP tunnels are recognised by their IANA port: VXLAN and GENEVE on the
// destination port only (their senders pick a hashed source port and
// always send to the well-known one), Teredo and GTP-U on either port, as
// Wireshark's dissectors are registered ("udp.port"), because a Teredo
// server or relay and a GTP-U peer both send from the well-known port.
// Fragments are not entered: the outer packet holds only part of the
// carried one.

// TunnelKind is an encapsulation Decode removes.
type TunnelKind uint8

// Tunnel kinds, as counted in the capture report (TunnelKind.String).
const (
	TunnelNone    TunnelKind = iota
	TunnelVXLAN              // RFC 7348: Ethernet in UDP 4789
	TunnelGENEVE             // RFC 8926: Ethernet or IP in UDP 6081
	TunnelGRE                // RFC 2784/2890: IPv4, IPv6 or Ethernet (0x6558) in GRE, other than NVGRE
	TunnelNVGRE              // RFC 7637: Ethernet in GRE with the key (VSID, FlowID) and no checksum or sequence
	TunnelERSPAN1            // ERSPAN type I: GRE 0x88BE without sequence number, the mirrored frame right after
	TunnelERSPAN2            // ERSPAN type II: GRE 0x88BE with sequence number, 8-byte ERSPAN header (version 1)
	TunnelERSPAN3            // ERSPAN type III: GRE 0x22EB, 12-byte ERSPAN header (version 2), 8 more with the O bit
	TunnelIPIP               // RFC 2003: IPv4 in IPv4 (protocol 4)
	Tunnel6in4               // RFC 4213: IPv6 in IPv4 (protocol 41)
	Tunnel4in6               // RFC 2473: IPv4 in IPv6 (next header 4)
	Tunnel6in6               // RFC 2473: IPv6 in IPv6 (next header 41)
	TunnelTeredo             // RFC 4380: IPv6 in UDP 3544, after optional authentication and origin indications
	TunnelGTPU               // 3GPP TS 29.281: IP in a GTP-U G-PDU (message type 255), UDP 2152
	NumTunnelKinds
)

var tunnelNames = [NumTunnelKinds]string{"", "vxlan", "geneve", "gre", "nvgre", "erspan_i", "erspan_ii", "erspan_iii",
	"ipip", "6in4", "4in6", "6in6", "teredo", "gtpu"}

// String is the kind's name in the capture report ("vxlan", "erspan_ii",
// "6in4", ...), "" for TunnelNone and for values beyond the known kinds.
func (k TunnelKind) String() string {
	if k >= NumTunnelKinds {
		return ""
	}
	return tunnelNames[k]
}

// TunnelLayer is the kind of the i-th encapsulation removed from p, 0
// being the outermost; TunnelNone when i ≥ p.TunnelDepth.
func (p *Packet) TunnelLayer(i int) TunnelKind {
	if i < 0 || i >= int(p.TunnelDepth) {
		return TunnelNone
	}
	return TunnelKind(p.TunnelKinds >> (8 * i))
}

// Well-known ports of the UDP tunnels (IANA service name registry).
const (
	PortVXLAN  = 4789
	PortGENEVE = 6081
	PortTeredo = 3544
	PortGTPU   = 2152
)

// IP protocol numbers of the IP tunnels and of SCTP.
const (
	ipProtoIPIP = 4  // IPv4 encapsulation (RFC 2003)
	ipProtoIPv6 = 41 // IPv6 encapsulation (RFC 4213, RFC 2473)
	ipProtoGRE  = 47 // RFC 2784
	ipProtoSCTP = 132
)

// What a tunnel carries.
type carried uint8

const (
	carriesEthernet carried = iota + 1 // an Ethernet frame without FCS
	carriesIP                          // IPv4 or IPv6, told by the version nibble
	carriesIPv4
	carriesIPv6
)

// EtherType values tunnels name their payload with (GRE and GENEVE
// protocol types are EtherTypes).
const (
	EtherTypeTEB     uint16 = 0x6558 // Transparent Ethernet Bridging (RFC 1701): an Ethernet frame
	EtherTypeERSPAN  uint16 = 0x88be // ERSPAN types I and II
	EtherTypeERSPAN3 uint16 = 0x22eb // ERSPAN type III
)

// enterTunnel decodes the packet a tunnel carries. b holds the captured
// bytes after the tunnel header and room their length per the outer
// headers. When the carried packet validates it replaces p's network and
// transport fields (the record's metadata, anomalies and tunnel fields
// stay) and enterTunnel reports true; otherwise p is left as it was. A
// tunnel deeper than MaxTunnelDepth is not entered and sets
// AnomalyTunnelDepth.
func enterTunnel(p *Packet, kind TunnelKind, what carried, b []byte, room int) bool {
	if room <= 0 || len(b) == 0 {
		return false
	}
	if len(b) > room {
		b = b[:room] // trailing bytes (Ethernet padding, an FCS) are not the carried packet's
	}
	var (
		l3   L3
		nl   []byte
		tags uint8
	)
	switch what {
	case carriesEthernet:
		e, err := ParseEthernet(b)
		if err != nil {
			return false
		}
		var q Packet // linkEtherType records what it walked here, not in p, until the frame validates
		nl = linkEtherType(&q, e.EtherType(), e.Payload())
		l3, tags = q.L3, q.VLANTags
	case carriesIP:
		switch b[0] >> 4 {
		case 4:
			l3, nl = L3IPv4, b
		case 6:
			l3, nl = L3IPv6, b
		}
	case carriesIPv4:
		l3, nl = L3IPv4, b
	case carriesIPv6:
		l3, nl = L3IPv6, b
	}
	if nl == nil || !carriedIPValid(l3, nl, room-(len(b)-len(nl))) {
		return false
	}
	if p.TunnelDepth >= MaxTunnelDepth {
		p.Anomalies |= AnomalyTunnelDepth
		return false
	}
	d := p.TunnelDepth
	outerSrc, outerDst := p.OuterSrc, p.OuterDst
	if d == 0 {
		outerSrc, outerDst = p.Src, p.Dst
	}
	off := int32(-1) // decoded from reassembled bytes: no offset in a record
	if p.netBase > 0 {
		off = int32(p.netBase - cap(nl))
	}
	*p = Packet{
		Frame: p.Frame, Timestamp: p.Timestamp, Precision: p.Precision, Interface: p.Interface,
		CapLen: p.CapLen, OrigLen: p.OrigLen, Link: p.Link, Anomalies: p.Anomalies,
		VLANTags:    tags, // the carried frame's own tags
		TunnelDepth: d + 1, TunnelKinds: p.TunnelKinds | uint32(kind)<<(8*d),
		OuterSrc: outerSrc, OuterDst: outerDst, NetOffset: off, netBase: p.netBase,
	}
	if l3 == L3IPv4 {
		ipDecode4(p, nl)
	} else {
		ipDecode6(p, nl)
	}
	return true
}

// carriedIPValid checks the carried IP header: the right version, a
// header the IPv4 or IPv6 view accepts, and a length that fits in room,
// the bytes the outer headers declare for it. This is what stops a
// datagram that merely uses a tunnel's port from being taken apart.
func carriedIPValid(l3 L3, b []byte, room int) bool {
	switch l3 {
	case L3IPv4:
		ip, err := ParseIPv4(b)
		return err == nil && int(ip.TotalLength()) <= room
	case L3IPv6:
		ip, err := ParseIPv6(b)
		return err == nil && IPv6Len+int(ip.PayloadLength()) <= room
	}
	return false
}

// ipTunnel enters an IP-in-IP tunnel (protocol 4 or 41): b is the IP
// payload, declared its length per the outer header.
func ipTunnel(p *Packet, proto uint8, b []byte, declared int) bool {
	var kind TunnelKind
	what := carriesIPv4
	switch {
	case proto == ipProtoIPIP && p.L3 == L3IPv4:
		kind = TunnelIPIP
	case proto == ipProtoIPIP:
		kind = Tunnel4in6
	case p.L3 == L3IPv4:
		kind, what = Tunnel6in4, carriesIPv6
	default:
		kind, what = Tunnel6in6, carriesIPv6
	}
	return enterTunnel(p, kind, what, b, declared)
}

// isUDPTunnelPort reports whether a datagram between these ports may
// carry a tunnel, so that ordinary UDP costs two comparisons.
func isUDPTunnelPort(src, dst uint16) bool {
	switch dst {
	case PortVXLAN, PortGENEVE, PortTeredo, PortGTPU:
		return true
	}
	return src == PortTeredo || src == PortGTPU
}

// udpTunnel enters the tunnel a UDP datagram's ports name: b is the
// captured payload after the UDP header, room its declared length.
func udpTunnel(p *Packet, b []byte, room int) bool {
	switch {
	case p.DstPort == PortVXLAN:
		v, err := ParseVXLAN(b)
		return err == nil && enterTunnel(p, TunnelVXLAN, carriesEthernet, v.Payload(), room-VXLANLen)
	case p.DstPort == PortGENEVE:
		g, err := ParseGENEVE(b)
		if err != nil {
			return false
		}
		what := carriedBy(g.ProtocolType())
		return what != 0 && enterTunnel(p, TunnelGENEVE, what, g.Payload(), room-g.HeaderLen())
	case p.DstPort == PortGTPU || p.SrcPort == PortGTPU:
		g, err := ParseGTPU(b)
		if err != nil || g.MessageType() != GTPUMessageGPDU || g.MessageLen() > room {
			return false
		}
		n, anomalies := g.payloadOffset()
		if n < 0 {
			p.Anomalies |= anomalies
			return false
		}
		return enterTunnel(p, TunnelGTPU, carriesIP, b[n:], g.MessageLen()-n)
	case p.DstPort == PortTeredo || p.SrcPort == PortTeredo:
		n := teredoIndications(b)
		return n >= 0 && enterTunnel(p, TunnelTeredo, carriesIPv6, b[n:], room-n)
	}
	return false
}

// carriedBy maps a GRE or GENEVE protocol type to what it carries; 0 for
// any other.
func carriedBy(etherType uint16) carried {
	switch etherType {
	case EtherTypeTEB:
		return carriesEthernet
	case EtherTypeIPv4:
		return carriesIPv4
	case EtherTypeIPv6:
		return carriesIPv6
	}
	return 0
}

// VXLAN header (RFC 7348 §5):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|R|R|R|R|I|R|R|R|            Reserved                           |
//	|                VXLAN Network Identifier (VNI) |   Reserved    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// followed by the inner Ethernet frame without FCS.
const (
	vxlanFlags = 0
	vxlanVNI   = 4
	vxlanFlagI = 0x08 // "MUST be set to 1 for a valid VXLAN Network ID"
)

// VXLANLen is the length of the VXLAN header.
const VXLANLen = 8

// VXLAN is a view of a VXLAN header and the frame it carries, obtained
// from ParseVXLAN.
type VXLAN []byte

// ParseVXLAN checks the 8-byte header and the I flag. The reserved bits
// are ignored on receipt (RFC 7348 §5), so VXLAN-GBP's group-policy
// flags do not stop decoding.
func ParseVXLAN(b []byte) (VXLAN, error) {
	if len(b) < VXLANLen {
		return nil, ErrHeaderTruncated
	}
	if b[vxlanFlags]&vxlanFlagI == 0 {
		return nil, ErrHeaderInvalid
	}
	return VXLAN(b), nil
}

// VNI is the 24-bit VXLAN network identifier.
func (v VXLAN) VNI() uint32 { return binary.BigEndian.Uint32(v[vxlanVNI:]) >> 8 }

// Payload is the captured inner frame.
func (v VXLAN) Payload() []byte { return v[VXLANLen:] }

// GENEVE header (RFC 8926 §3.4) and option (§3.5):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
//	|        Virtual Network Identifier (VNI)       |    Reserved   |
//	|                                                               |
//	~                    Variable-Length Options                    ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Option Class         |      Type     |R|R|R| Length  |
//	~                  Variable-Length Option Data                  ~
//
// Opt Len and an option's Length count 4-byte words, the fixed parts
// excluded; Protocol Type is an EtherType (0x6558 for Ethernet).
const (
	genevePrefix    = 0
	geneveProto     = 2
	geneveVNI       = 4
	geneveOptHeader = 4
	geneveVersion   = 0 // "Packets received by a tunnel endpoint with an unknown version MUST be dropped"
)

// GENEVEMinLen is the length of the GENEVE header without options.
const GENEVEMinLen = 8

// GENEVE is a view of a GENEVE header, its options and what it carries,
// obtained from ParseGENEVE.
type GENEVE []byte

// ParseGENEVE checks the version, that the options fit in b and that
// they tile the option space exactly (each option's length within it), so
// a hostile option length cannot move the payload.
func ParseGENEVE(b []byte) (GENEVE, error) {
	if len(b) < GENEVEMinLen {
		return nil, ErrHeaderTruncated
	}
	g := GENEVE(b)
	if g.Version() != geneveVersion {
		return nil, ErrHeaderInvalid
	}
	if len(b) < g.HeaderLen() {
		return nil, ErrHeaderTruncated
	}
	opts := g.Options()
	for i := 0; len(opts) > 0; i++ {
		if i >= MaxGENEVEOptions || len(opts) < geneveOptHeader {
			return nil, ErrHeaderInvalid
		}
		n := geneveOptHeader + int(opts[3]&0x1f)*4
		if n > len(opts) {
			return nil, ErrHeaderInvalid
		}
		opts = opts[n:]
	}
	return g, nil
}

// Version is the 2-bit version (0).
func (g GENEVE) Version() uint8 { return g[genevePrefix] >> 6 }

// HeaderLen is the header length in bytes, options included.
func (g GENEVE) HeaderLen() int { return GENEVEMinLen + int(g[genevePrefix]&0x3f)*4 }

// OAM reports the O bit: a control packet.
func (g GENEVE) OAM() bool { return g[1]&0x80 != 0 }

// Critical reports the C bit: a critical option is present.
func (g GENEVE) Critical() bool { return g[1]&0x40 != 0 }

// ProtocolType is the EtherType of the payload.
func (g GENEVE) ProtocolType() uint16 { return binary.BigEndian.Uint16(g[geneveProto:]) }

// VNI is the 24-bit virtual network identifier.
func (g GENEVE) VNI() uint32 { return binary.BigEndian.Uint32(g[geneveVNI:]) >> 8 }

// Options are the option bytes after the fixed 8.
func (g GENEVE) Options() []byte { return g[GENEVEMinLen:g.HeaderLen()] }

// Payload is the captured data after the options.
func (g GENEVE) Payload() []byte { return g[g.HeaderLen():] }

// GRE header (RFC 2784 §2, key and sequence number RFC 2890 §2):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|C|R|K|S|s|Recur|  Flags  | Ver |         Protocol Type         |
//	|      Checksum (optional)      |       Reserved1 (Optional)    |
//	|                         Key (optional)                        |
//	|                 Sequence Number (Optional)                    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// R (routing present) and s (strict source route) are RFC 1701's, gone
// from RFC 2784, whose §2.3 says a receiver "MUST discard a packet where
// any of bits 1-5 are non-zero" (bits 2 and 3 became K and S in RFC
// 2890); bits 6-12 are ignored. Version 1 is PPTP's enhanced GRE (RFC
// 2637), which carries PPP, not a tunnel this decoder enters.
const (
	greFlags    = 0
	greProto    = 2
	greFlagC    = 0x8000
	greFlagK    = 0x2000
	greFlagS    = 0x1000
	greMustZero = 0x4000 | 0x0800 | 0x0400 // R, s and the first Recur bit: bits 1, 4 and 5
	greVerMask  = 0x0007
	greOptLen   = 4 // each of checksum+reserved1, key, sequence number
)

// GREMinLen is the length of the GRE header without optional fields.
const GREMinLen = 4

// GRE is a view of a GRE header and its payload, obtained from ParseGRE.
type GRE []byte

// ParseGRE checks version 0, the bits RFC 2784 says to discard on, and
// that the optional fields the C, K and S bits announce are there.
func ParseGRE(b []byte) (GRE, error) {
	if len(b) < GREMinLen {
		return nil, ErrHeaderTruncated
	}
	g := GRE(b)
	if g.flagBits()&(greMustZero|greVerMask) != 0 {
		return nil, ErrHeaderInvalid
	}
	if len(b) < g.HeaderLen() {
		return nil, ErrHeaderTruncated
	}
	return g, nil
}

func (g GRE) flagBits() uint16 { return binary.BigEndian.Uint16(g[greFlags:]) }

// HasChecksum, HasKey and HasSequence report the C, K and S bits.
func (g GRE) HasChecksum() bool { return g.flagBits()&greFlagC != 0 }

// HasKey reports the K bit (RFC 2890 §2.1).
func (g GRE) HasKey() bool { return g.flagBits()&greFlagK != 0 }

// HasSequence reports the S bit (RFC 2890 §2.2).
func (g GRE) HasSequence() bool { return g.flagBits()&greFlagS != 0 }

// ProtocolType is the EtherType of the payload.
func (g GRE) ProtocolType() uint16 { return binary.BigEndian.Uint16(g[greProto:]) }

// HeaderLen is 4 plus 4 for each optional field present.
func (g GRE) HeaderLen() int {
	n := GREMinLen
	for _, f := range [...]uint16{greFlagC, greFlagK, greFlagS} {
		if g.flagBits()&f != 0 {
			n += greOptLen
		}
	}
	return n
}

// Key is the key field (for NVGRE the 24-bit VSID and 8-bit FlowID), 0
// without the K bit.
func (g GRE) Key() uint32 {
	if !g.HasKey() {
		return 0
	}
	off := GREMinLen
	if g.HasChecksum() {
		off += greOptLen
	}
	return binary.BigEndian.Uint32(g[off:])
}

// Payload is the captured data after the header.
func (g GRE) Payload() []byte { return g[g.HeaderLen():] }

// ERSPAN headers (draft-foschiano-erspan-03 §4; Linux include/net/erspan.h).
// Type II (version 1), 8 bytes:
//
//	|  Ver  |          VLAN         | COS | En|T|    Session ID     |
//	|      Reserved         |                  Index                |
//
// Type III (version 2), 12 bytes, then an 8-byte platform-specific
// subheader when O is set:
//
//	|  Ver  |          VLAN         | COS |BSO|T|    Session ID     |
//	|                          Timestamp                            |
//	|             SGT               |P|    FT   |   Hw ID   |D|Gra|O|
//
// FT (frame type) 0 is an Ethernet frame, 2 an IP packet.
const (
	erspan2Len        = 8
	erspan3Len        = 12
	erspan3SubLen     = 8
	erspanVersion2    = 1 // the version field of type II
	erspanVersion3    = 2 // the version field of type III
	erspan3FlagO      = 0x0001
	erspan3FrameShift = 10
	erspan3FrameMask  = 0x1f
	erspan3FrameEth   = 0
	erspan3FrameIP    = 2
)

// greTunnel enters what a GRE packet carries: b is the IP payload,
// declared its length per the IP header.
func greTunnel(p *Packet, b []byte, declared int) bool {
	g, err := ParseGRE(b)
	if err != nil {
		return false
	}
	payload, room := g.Payload(), declared-g.HeaderLen()
	switch typ := g.ProtocolType(); typ {
	case EtherTypeTEB:
		kind := TunnelGRE
		if g.HasKey() && !g.HasChecksum() && !g.HasSequence() {
			kind = TunnelNVGRE // RFC 7637 §3.2: C and S are 0, K is 1
		}
		return enterTunnel(p, kind, carriesEthernet, payload, room)
	case EtherTypeERSPAN:
		if !g.HasSequence() {
			// Type I (Linux erspan_ver 0, Broadcom Trident 2): the
			// bare GRE header, then the mirrored frame.
			return enterTunnel(p, TunnelERSPAN1, carriesEthernet, payload, room)
		}
		if len(payload) < erspan2Len || payload[0]>>4 != erspanVersion2 {
			return false
		}
		return enterTunnel(p, TunnelERSPAN2, carriesEthernet, payload[erspan2Len:], room-erspan2Len)
	case EtherTypeERSPAN3:
		if len(payload) < erspan3Len || payload[0]>>4 != erspanVersion3 {
			return false
		}
		w := binary.BigEndian.Uint16(payload[10:])
		n := erspan3Len
		if w&erspan3FlagO != 0 {
			n += erspan3SubLen
		}
		if len(payload) < n {
			return false
		}
		what := carriesEthernet
		switch w >> erspan3FrameShift & erspan3FrameMask {
		case erspan3FrameEth:
		case erspan3FrameIP:
			what = carriesIP
		default:
			return false
		}
		return enterTunnel(p, TunnelERSPAN3, what, payload[n:], room-n)
	default:
		what := carriedBy(typ)
		return what != 0 && enterTunnel(p, TunnelGRE, what, payload, room)
	}
}

// GTP-U header (3GPP TS 29.281 §5.1, §5.2):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Ver |P|*|E|S|N| Message Type  |            Length             |
//	|                Tunnel Endpoint Identifier                     |
//	|        Sequence Number        | N-PDU Number  | Next Ext Type |  if E, S or N
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Length counts the bytes after the first 8, the optional fields and
// extension headers included. Each extension header is a length byte (in
// 4-byte words, the header included; 0 is invalid), content, and the
// next header's type in its last byte; the chain is read only when E is
// set and ends at type 0.
const (
	gtpFlags       = 0
	gtpType        = 1
	gtpLength      = 2
	gtpTEID        = 4
	gtpNextExt     = 11
	gtpVersion1    = 1
	gtpFlagPT      = 0x10 // 1: GTP, 0: GTP' (charging)
	gtpFlagE       = 0x04
	gtpOptionalAny = 0x07 // E, S or PN: the 4 optional bytes are present
	gtpOptLen      = 4
)

// GTPUMinLen is the length of the mandatory GTP-U header.
const GTPUMinLen = 8

// GTPUMessageGPDU is the message type of a G-PDU, which carries a user
// packet (TS 29.281 §6.1); echo, error indication and end marker do not.
const GTPUMessageGPDU = 255

// GTPU is a view of a GTP-U (GTPv1-U) message, obtained from ParseGTPU.
type GTPU []byte

// ParseGTPU checks version 1, the protocol type bit (GTP, not GTP') and
// that the optional fields the flags announce are there.
func ParseGTPU(b []byte) (GTPU, error) {
	if len(b) < GTPUMinLen {
		return nil, ErrHeaderTruncated
	}
	g := GTPU(b)
	if g.Version() != gtpVersion1 || b[gtpFlags]&gtpFlagPT == 0 {
		return nil, ErrHeaderInvalid
	}
	if b[gtpFlags]&gtpOptionalAny != 0 && len(b) < GTPUMinLen+gtpOptLen {
		return nil, ErrHeaderTruncated
	}
	return g, nil
}

// Version is the 3-bit version (1).
func (g GTPU) Version() uint8 { return g[gtpFlags] >> 5 }

// MessageType is the message type (255 for a G-PDU).
func (g GTPU) MessageType() uint8 { return g[gtpType] }

// MessageLen is the message's length: the 8 mandatory bytes and the
// Length field's count after them.
func (g GTPU) MessageLen() int { return GTPUMinLen + int(binary.BigEndian.Uint16(g[gtpLength:])) }

// TEID is the tunnel endpoint identifier.
func (g GTPU) TEID() uint32 { return binary.BigEndian.Uint32(g[gtpTEID:]) }

// payloadOffset walks the optional fields and extension headers and
// returns where the carried packet starts, or -1 with the anomaly to
// record: AnomalyExtLimit past MaxGTPUExtHeaders, none for a chain that
// is malformed or cut (the datagram then stays a UDP datagram).
func (g GTPU) payloadOffset() (int, uint32) {
	if g[gtpFlags]&gtpOptionalAny == 0 {
		return GTPUMinLen, 0
	}
	n := GTPUMinLen + gtpOptLen
	if g[gtpFlags]&gtpFlagE == 0 {
		return n, 0 // the next-type byte is only read with E (TS 29.281 §5.1)
	}
	end := min(len(g), g.MessageLen())
	next := g[gtpNextExt]
	for i := 0; next != 0; i++ {
		if i >= MaxGTPUExtHeaders {
			return -1, AnomalyExtLimit
		}
		if n >= end {
			return -1, 0
		}
		l := int(g[n]) * 4
		if l == 0 || n+l > end {
			return -1, 0
		}
		next = g[n+l-1]
		n += l
	}
	return n, 0
}

// Teredo indications (RFC 4380 §5.1.1), each optional, authentication
// first:
//
//	authentication: 0x00 0x01, ID-len, AU-len, client identifier (ID-len),
//	                authentication value (AU-len), nonce (8), confirmation (1)
//	origin:         0x00 0x00, origin port (2), origin IPv4 address (4)
//
// then the IPv6 packet, whose first byte (0x6_) cannot start either.
const (
	teredoAuthFixed   = 4 + 8 + 1 // indicator and lengths, nonce, confirmation byte
	teredoOriginLen   = 8
	teredoAuthType    = 0x01
	teredoOriginType  = 0x00
	teredoIndicatorID = 0x00
)

// teredoIndications returns the length of the indications before the
// IPv6 packet of a Teredo datagram, or -1 when they are cut or malformed.
func teredoIndications(b []byte) int {
	n := 0
	if len(b) >= 2 && b[0] == teredoIndicatorID && b[1] == teredoAuthType {
		if len(b) < 4 {
			return -1
		}
		n = teredoAuthFixed + int(b[2]) + int(b[3])
		if len(b) < n {
			return -1
		}
	}
	if len(b) >= n+2 && b[n] == teredoIndicatorID && b[n+1] == teredoOriginType {
		n += teredoOriginLen
		if len(b) < n {
			return -1
		}
	}
	return n
}
