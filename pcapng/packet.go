package pcapng

import "net/netip"

// LinkType is a LINKTYPE_ value from the tcpdump.org link-layer header type
// registry, as written in a pcap file header or a pcapng Interface
// Description Block (the FCS-length bits of a pcap header are stripped).
type LinkType uint16

// Link types the decoder understands. Any other value is counted as
// undecodable, never guessed.
const (
	LinkNull     LinkType = 0   // BSD loopback: 4-byte address family in host order
	LinkEthernet LinkType = 1   // IEEE 802.3 Ethernet
	LinkPPP      LinkType = 9   // PPP, RFC 1661, optionally with 0xff03 HDLC-like framing
	LinkRawBSD   LinkType = 12  // DLT_RAW as numbered on some BSDs: raw IP
	LinkRawOld   LinkType = 14  // DLT_RAW as numbered on OpenBSD: raw IP
	LinkPPPHDLC  LinkType = 50  // PPP in HDLC-like framing, RFC 1662
	LinkRaw      LinkType = 101 // raw IP, version nibble decides
	LinkLoop     LinkType = 108 // OpenBSD loopback: 4-byte address family in network order
	LinkSLL      LinkType = 113 // Linux cooked capture v1
	LinkIPv4     LinkType = 228 // raw IPv4 only
	LinkIPv6     LinkType = 229 // raw IPv6 only
	LinkSLL2     LinkType = 276 // Linux cooked capture v2
)

// Record is one captured frame as the file holds it. Data aliases the
// reader's buffer and is valid only until the next call to Next.
type Record struct {
	Frame     uint64   // 1-based record number, as Wireshark numbers frames
	Interface int      // pcapng interface index within its section; 0 for pcap
	LinkType  LinkType // link type of the interface the record came from
	Timestamp int64    // nanoseconds since 1970-01-01T00:00:00Z
	Precision uint8    // decimal digits of the interface's resolution (6 for µs, 9 for ns)
	CapLen    int      // bytes captured (len(Data))
	OrigLen   int      // bytes on the wire
	Data      []byte
}

// L3 is the network-layer protocol a decoded packet carries.
type L3 uint8

// Network-layer kinds.
const (
	L3None L3 = iota // nothing decodable (unknown link type or cut before the network header)
	L3IPv4
	L3IPv6
	L3ARP
	L3Other // a known link type carrying another protocol (LLC, MPLS, IPX, ...)
)

// L4 is the transport protocol a decoded packet carries.
type L4 uint8

// Transport-layer kinds.
const (
	L4None   L4 = iota // no transport header (non-first fragment, or not decoded)
	L4TCP              // set once the ports are captured (4 bytes), like tshark's "tcp" filter; see tcpDecode
	L4UDP              // set once the ports are captured (4 bytes)
	L4ICMP             // ICMP for IPv4
	L4ICMPv6           // ICMPv6
	L4Other            // another IP protocol; Packet.Proto says which
	L4SCTP             // SCTP (RFC 9260), set once the ports are captured (4 bytes)
)

// Fragment positions of an IP packet.
const (
	FragNone  uint8 = iota // not fragmented
	FragFirst              // offset 0 with more fragments: carries the transport header
	FragLater              // offset > 0: no transport header
)

// TCP flag bits as they appear in byte 13 of the TCP header (RFC 9293);
// TCPFlagNS is the low bit of byte 12 (RFC 3540, historic).
const (
	TCPFlagFIN uint16 = 0x001
	TCPFlagSYN uint16 = 0x002
	TCPFlagRST uint16 = 0x004
	TCPFlagPSH uint16 = 0x008
	TCPFlagACK uint16 = 0x010
	TCPFlagURG uint16 = 0x020
	TCPFlagECE uint16 = 0x040
	TCPFlagCWR uint16 = 0x080
	TCPFlagNS  uint16 = 0x100
)

// Anomaly bits record what the decoder met and stopped at. They are counted
// in the capture report so that "no scan found" is a qualified answer.
const (
	AnomalySnapTruncated uint32 = 1 << iota // CapLen < OrigLen
	AnomalyUnknownLink                      // link type not decoded
	AnomalyLinkTruncated                    // cut inside the link header
	AnomalyTagLimit                         // more VLAN/MPLS tags than MaxLinkTags
	AnomalyBadIPHeader                      // IP version/IHL/length inconsistent
	AnomalyIPTruncated                      // cut inside the IP header or extension chain
	AnomalyExtLimit                         // more IPv6 extension headers than MaxIPv6ExtHeaders, or GTP-U ones than MaxGTPUExtHeaders
	AnomalyL4Truncated                      // cut inside the transport header
	AnomalyBadL4Header                      // TCP data offset < 5 or beyond the segment; an SCTP chunk length outside the packet
	AnomalyTunnelDepth                      // a tunnel inside MaxTunnelDepth others: left encapsulated
)

// Packet is the decoded summary of one record: every field the scan engine
// needs, as values (no aliasing of packet bytes), so it can be kept or
// copied freely. The zero value means "nothing decoded".
type Packet struct {
	Frame     uint64
	Timestamp int64 // nanoseconds since the Unix epoch, UTC
	Precision uint8 // decimal digits of the capture's resolution
	Interface int
	CapLen    int
	OrigLen   int
	Link      LinkType
	Anomalies uint32 // Anomaly* bits

	L3       L3
	Src, Dst netip.Addr
	TTL      uint8  // IPv4 TTL or IPv6 hop limit
	IPID     uint32 // IPv4 identification, or IPv6 fragment identification
	DF       bool   // IPv4 don't-fragment bit
	Frag     uint8  // Frag* position
	Proto    uint8  // IP protocol number of the transport (after IPv6 extension headers)
	IPLen    int    // IP total length from the header (IPv6: 40 + payload length)
	VLANTags uint8  // 802.1Q/802.1ad tags seen

	L4               L4
	SrcPort, DstPort uint16 // TCP/UDP/SCTP ports; zero otherwise
	PayloadLen       int    // transport payload bytes per the IP length (not the capture)

	// TCP
	TCPFlags uint16 // TCPFlag* bits
	// TCPReserved holds the three reserved bits between the data offset
	// and NS (RFC 9293 §3.1), right-aligned; nonzero only in crafted
	// segments. Kept apart from TCPFlags so that flag comparisons stay
	// exact, and available to tell "SYN only" the way Wireshark does
	// (all 12 bits equal 0x002).
	TCPReserved uint8
	Seq, Ack    uint32
	Window      uint16
	DataOffset  uint8  // TCP header length in bytes
	MSS         uint16 // MSS option value, 0 when absent
	WScale      uint8  // window-scale shift, 0xff when absent (set for L4TCP only; 0 otherwise)
	OptKinds    uint64 // option kinds in order, one per byte, first option in the low byte (up to 8)
	OptCount    uint8  // options present (may exceed 8)

	// ICMP and ICMPv6
	ICMPType, ICMPCode uint8
	ICMPID, ICMPSeq    uint16 // echo identifier and sequence

	// The offending datagram quoted in an ICMP or ICMPv6 error (RFC 792,
	// RFC 4443): enough to attribute the error to the probe that caused it.
	Quoted     bool
	QSrc, QDst netip.Addr
	QProto     uint8
	QSrcPort   uint16 // TCP/UDP/SCTP ports of the quoted datagram, when present
	QDstPort   uint16
	QSeq       uint32 // TCP sequence number of the quoted segment, when present
	QHasPorts  bool
	QHasSeq    bool

	// SCTP (RFC 9260), for L4SCTP: the verification tag of the common
	// header and the type and flags of the first chunk, which tell an
	// INIT probe (nmap -sY) or a COOKIE ECHO probe (-sZ) and the INIT ACK
	// or ABORT that answers it. As for TCP, a field the capture cut off
	// stays zero and AnomalyL4Truncated says so (chunk type 0 is DATA).
	SCTPVTag       uint32
	SCTPChunk      uint8 // SCTPChunk* type of the first chunk
	SCTPChunkFlags uint8 // its flags (the T bit of an ABORT: SCTPFlagT)

	// Tunnels (tunnel.go). When Decode removed encapsulations, every field
	// above describes the innermost packet, the one the tunnels carried:
	// its addresses, ports, flags and lengths. TunnelDepth counts the
	// layers removed (at most MaxTunnelDepth), TunnelKinds holds the
	// TunnelKind of each, outermost in the low byte (TunnelLayer), and
	// OuterSrc and OuterDst are the IP addresses of the outermost
	// tunnel's packet, the endpoints a capture report names. Nothing else
	// of the outer headers is kept.
	TunnelDepth        uint8
	TunnelKinds        uint32
	OuterSrc, OuterDst netip.Addr

	// NetOffset is where, in the record's Data, the IP header the
	// address fields describe begins: the innermost one when tunnels
	// were removed, so that Reassembler finds a fragment carried in a
	// tunnel. -1 when there is none (no IP layer, or a packet decoded
	// from reassembled bytes rather than a record).
	NetOffset int32
	netBase   int // cap of the record's Data while Decode runs, for NetOffset

	// TCPFlagsUnknown: L4 is L4TCP (the ports were captured) but the
	// flags byte was not, so TCPFlags is 0 without meaning "no flags";
	// the scan engine never classifies such a segment (no NULL scan is
	// read from a header cut short).
	TCPFlagsUnknown bool

	// Set by Reassembler.Add. Reassembled: the packet is a datagram
	// rebuilt from fragments, shown at the fragment that completed it
	// (Frame, Timestamp), its transport fields read from the reassembled
	// header. FragEvasion: FragEvasion* bits of its fragments.
	Reassembled bool
	FragEvasion uint8
}
