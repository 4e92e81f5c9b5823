package pcapng

import "encoding/binary"

// TCP header (RFC 9293 §3.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	|          Source Port          |       Destination Port        |
//	|                        Sequence Number                        |
//	|                    Acknowledgment Number                      |
//	|  Data |       |C|E|U|A|P|R|S|F|                               |
//	| Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//	|           Checksum            |         Urgent Pointer        |
//	|                           [Options]                           |
const (
	tcpSrcPort = 0
	tcpDstPort = 2
	tcpSeq     = 4
	tcpAck     = 8
	tcpOffset  = 12
	tcpFlags   = 13
	tcpWindow  = 14
	tcpCsum    = 16
	tcpUrgent  = 18

	// How many captured bytes each field needs, for a header cut by the
	// snaplen: Decode fills what is there.
	tcpNeedPorts  = 4
	tcpNeedSeq    = 8
	tcpNeedAck    = 12
	tcpNeedFlags  = 14
	tcpNeedWindow = 16

	tcpOptEOL    = 0
	tcpOptNOP    = 1
	tcpOptMSS    = 2 // RFC 9293 §3.2, length 4
	tcpOptWScale = 3 // RFC 7323 §2.2, length 3
	tcpOptKinds  = 8 // kinds recorded in Packet.OptKinds (one per byte of a uint64)
)

// TCPMinLen is the length of a TCP header without options.
const TCPMinLen = 20

// TCPMaxLen is the longest TCP header (data offset 15 words).
const TCPMaxLen = 60

// TCP is a view of a TCP segment, obtained from ParseTCP.
type TCP []byte

// ParseTCP checks the 20-byte fixed header and that the data offset is at
// least 5 words and within b.
func ParseTCP(b []byte) (TCP, error) {
	if len(b) < TCPMinLen {
		return nil, ErrHeaderTruncated
	}
	t := TCP(b)
	if t.DataOffset() < TCPMinLen {
		return nil, ErrHeaderInvalid
	}
	if len(b) < t.DataOffset() {
		return nil, ErrHeaderTruncated
	}
	return t, nil
}

// SourcePort is the source port.
func (t TCP) SourcePort() uint16 { return binary.BigEndian.Uint16(t[tcpSrcPort:]) }

// DestinationPort is the destination port.
func (t TCP) DestinationPort() uint16 { return binary.BigEndian.Uint16(t[tcpDstPort:]) }

// SequenceNumber is the sequence number.
func (t TCP) SequenceNumber() uint32 { return binary.BigEndian.Uint32(t[tcpSeq:]) }

// AcknowledgmentNumber is the acknowledgment field (set even without ACK).
func (t TCP) AcknowledgmentNumber() uint32 { return binary.BigEndian.Uint32(t[tcpAck:]) }

// DataOffset is the header length in bytes (the field times 4).
func (t TCP) DataOffset() int { return int(t[tcpOffset]>>4) * 4 }

// Flags are the TCPFlag* bits, NS included.
func (t TCP) Flags() uint16 { return tcpFlagBits(t) }

// Window is the unscaled receive window.
func (t TCP) Window() uint16 { return binary.BigEndian.Uint16(t[tcpWindow:]) }

// Checksum is the checksum as written (not verified).
func (t TCP) Checksum() uint16 { return binary.BigEndian.Uint16(t[tcpCsum:]) }

// UrgentPointer is the urgent pointer.
func (t TCP) UrgentPointer() uint16 { return binary.BigEndian.Uint16(t[tcpUrgent:]) }

// Options are the header bytes after the fixed 20.
func (t TCP) Options() []byte { return t[TCPMinLen:t.DataOffset()] }

// Payload is the captured data after the header.
func (t TCP) Payload() []byte { return t[t.DataOffset():] }

// tcpFlagBits reads the flags from a slice of at least tcpNeedFlags bytes.
func tcpFlagBits(b []byte) uint16 {
	return uint16(b[tcpOffset]&1)<<8 | uint16(b[tcpFlags])
}

// UDP header (RFC 768): source port, destination port, length, checksum.
const (
	udpSrcPort = 0
	udpDstPort = 2
	udpLength  = 4
	udpCsum    = 6
)

// UDPLen is the length of the UDP header.
const UDPLen = 8

// UDP is a view of a UDP datagram, obtained from ParseUDP.
type UDP []byte

// ParseUDP checks the 8-byte header.
func ParseUDP(b []byte) (UDP, error) {
	if len(b) < UDPLen {
		return nil, ErrHeaderTruncated
	}
	return UDP(b), nil
}

// SourcePort is the source port.
func (u UDP) SourcePort() uint16 { return binary.BigEndian.Uint16(u[udpSrcPort:]) }

// DestinationPort is the destination port.
func (u UDP) DestinationPort() uint16 { return binary.BigEndian.Uint16(u[udpDstPort:]) }

// Length is the length field as written, header included.
func (u UDP) Length() uint16 { return binary.BigEndian.Uint16(u[udpLength:]) }

// Checksum is the checksum as written (not verified).
func (u UDP) Checksum() uint16 { return binary.BigEndian.Uint16(u[udpCsum:]) }

// Payload is the captured data after the header.
func (u UDP) Payload() []byte { return u[UDPLen:] }

// ICMP and ICMPv6 share their first 8 bytes (RFC 792, RFC 4443 §2.1):
// type, code, checksum, then 4 bytes that echo messages split into
// identifier and sequence and error messages leave unused (or use for an
// MTU or pointer) before the quoted datagram.
const (
	icmpType = 0
	icmpCode = 1
	icmpCsum = 2
	icmpID   = 4
	icmpSeq  = 6

	icmpNeedTypeCode = 2
)

// ICMPLen is the length of the ICMP and ICMPv6 header.
const ICMPLen = 8

// ICMP message types the decoder interprets.
const (
	ICMPEchoReply      = 0
	ICMPUnreachable    = 3
	ICMPSourceQuench   = 4
	ICMPRedirect       = 5
	ICMPEcho           = 8
	ICMPTimeExceeded   = 11
	ICMPParamProblem   = 12
	ICMPTimestamp      = 13
	ICMPTimestampReply = 14

	ICMPv6Unreachable  = 1
	ICMPv6PacketTooBig = 2
	ICMPv6TimeExceeded = 3
	ICMPv6ParamProblem = 4
	ICMPv6EchoRequest  = 128
	ICMPv6EchoReply    = 129
	ipProtoICMP        = 1
	ipProtoTCP         = 6
	ipProtoUDP         = 17
	ipProtoICMPv6      = 58
)

// ICMP is a view of an ICMP or ICMPv6 message, obtained from ParseICMP.
type ICMP []byte

// ParseICMP checks the 8-byte header.
func ParseICMP(b []byte) (ICMP, error) {
	if len(b) < ICMPLen {
		return nil, ErrHeaderTruncated
	}
	return ICMP(b), nil
}

// Type is the message type.
func (c ICMP) Type() uint8 { return c[icmpType] }

// Code is the message code.
func (c ICMP) Code() uint8 { return c[icmpCode] }

// Checksum is the checksum as written (not verified).
func (c ICMP) Checksum() uint16 { return binary.BigEndian.Uint16(c[icmpCsum:]) }

// Identifier is the echo identifier (bytes 4-5).
func (c ICMP) Identifier() uint16 { return binary.BigEndian.Uint16(c[icmpID:]) }

// SequenceNumber is the echo sequence number (bytes 6-7).
func (c ICMP) SequenceNumber() uint16 { return binary.BigEndian.Uint16(c[icmpSeq:]) }

// Body is the captured data after the 8-byte header: the quoted datagram
// of an error message.
func (c ICMP) Body() []byte { return c[ICMPLen:] }

// transportDecode fills the L4 fields from the captured transport bytes b;
// declared is their length per the IP header (for PayloadLen).
func transportDecode(p *Packet, proto uint8, b []byte, declared int) {
	switch proto {
	case ipProtoTCP:
		tcpDecode(p, b, declared)
	case ipProtoUDP:
		udpDecode(p, b, declared)
	case ipProtoICMP:
		icmpDecode(p, L4ICMP, b, declared)
	case ipProtoICMPv6:
		icmpDecode(p, L4ICMPv6, b, declared)
	case ipProtoSCTP:
		sctpDecode(p, b, declared)
	default:
		if p.Frag == FragNone && ipTunnelDecode(p, proto, b, declared) {
			return
		}
		p.L4 = L4Other
		p.PayloadLen = max(declared, 0)
	}
}

// ipTunnelDecode enters an IP-in-IP or GRE tunnel (tunnel.go) and reports
// whether it did; any other protocol, or a payload that is not a tunnel
// this decoder validates, stays the IP packet's (L4Other, Proto).
func ipTunnelDecode(p *Packet, proto uint8, b []byte, declared int) bool {
	switch proto {
	case ipProtoIPIP, ipProtoIPv6:
		return ipTunnel(p, proto, b, declared)
	case ipProtoGRE:
		return greTunnel(p, b, declared)
	}
	return false
}

// tcpDecode fills the TCP fields. L4TCP is set as soon as the ports are
// captured (4 bytes): tshark 4.0's "tcp" filter matches exactly then (a
// test capture cut after 0-3 TCP bytes does not match, 4 or more does),
// and the corpus test compares our TCP counts with tshark's. Fields beyond
// the captured bytes stay zero and AnomalyL4Truncated says so.
func tcpDecode(p *Packet, b []byte, declared int) {
	if len(b) < tcpNeedPorts {
		p.Anomalies |= AnomalyL4Truncated
		return
	}
	p.L4 = L4TCP
	p.WScale = 0xff
	p.SrcPort = binary.BigEndian.Uint16(b[tcpSrcPort:])
	p.DstPort = binary.BigEndian.Uint16(b[tcpDstPort:])
	if len(b) >= tcpNeedSeq {
		p.Seq = binary.BigEndian.Uint32(b[tcpSeq:])
	}
	if len(b) >= tcpNeedAck {
		p.Ack = binary.BigEndian.Uint32(b[tcpAck:])
	}
	if len(b) >= tcpNeedFlags {
		p.TCPFlags = tcpFlagBits(b)
		p.TCPReserved = b[tcpOffset] >> 1 & 0x07
		p.DataOffset = (b[tcpOffset] >> 4) * 4
	}
	p.TCPFlagsUnknown = len(b) < tcpNeedFlags
	if len(b) >= tcpNeedWindow {
		p.Window = binary.BigEndian.Uint16(b[tcpWindow:])
	}
	if len(b) < TCPMinLen {
		p.Anomalies |= AnomalyL4Truncated
		return
	}
	doff := int(p.DataOffset)
	if doff < TCPMinLen || doff > declared {
		p.Anomalies |= AnomalyBadL4Header
		return
	}
	p.PayloadLen = declared - doff
	opts := b[TCPMinLen:]
	if len(b) < doff {
		p.Anomalies |= AnomalyL4Truncated
	} else {
		opts = b[TCPMinLen:doff]
	}
	tcpOptions(p, opts, len(b) < doff)
}

// tcpOptions walks the option list (RFC 9293 §3.2): EOL ends it, NOP is
// one byte, every other kind has a length byte ≥ 2 that must fit. The
// walk advances at least one byte per step and is capped by MaxTCPOptions.
// cut says the captured bytes end before the data offset, so an option
// running off the end is a snaplen cut rather than a malformed header.
func tcpOptions(p *Packet, b []byte, cut bool) {
	for i := 0; len(b) > 0 && i < MaxTCPOptions; i++ {
		kind := b[0]
		if p.OptCount < tcpOptKinds {
			p.OptKinds |= uint64(kind) << (8 * p.OptCount)
		}
		p.OptCount++
		if kind == tcpOptEOL {
			return
		}
		if kind == tcpOptNOP {
			b = b[1:]
			continue
		}
		if len(b) < 2 || int(b[1]) < 2 || int(b[1]) > len(b) {
			if cut {
				p.Anomalies |= AnomalyL4Truncated
			} else {
				p.Anomalies |= AnomalyBadL4Header
			}
			return
		}
		n := int(b[1])
		switch {
		case kind == tcpOptMSS && n == 4:
			p.MSS = binary.BigEndian.Uint16(b[2:])
		case kind == tcpOptWScale && n == 3:
			p.WScale = b[2]
		}
		b = b[n:]
	}
}

// udpDecode fills the UDP ports; like TCP, L4UDP needs the 4 port bytes.
func udpDecode(p *Packet, b []byte, declared int) {
	if len(b) < tcpNeedPorts {
		p.Anomalies |= AnomalyL4Truncated
		return
	}
	p.L4 = L4UDP
	p.SrcPort = binary.BigEndian.Uint16(b[udpSrcPort:])
	p.DstPort = binary.BigEndian.Uint16(b[udpDstPort:])
	p.PayloadLen = max(declared-UDPLen, 0)
	if len(b) < UDPLen {
		p.Anomalies |= AnomalyL4Truncated
		return
	}
	if isUDPTunnelPort(p.SrcPort, p.DstPort) && p.Frag == FragNone {
		// The room for a tunnel is what both the IP and the UDP length
		// fields grant (a UDP length of 0 is an IPv6 jumbogram's).
		room := p.PayloadLen
		if ul := int(binary.BigEndian.Uint16(b[udpLength:])); ul >= UDPLen {
			room = min(room, ul-UDPLen)
		}
		udpTunnel(p, b[UDPLen:], room)
	}
}

// icmpDecode fills type and code (needs 2 bytes), echo identifier and
// sequence, and for error messages the quoted datagram's addresses and
// ports, so a later stage can attribute the error to its probe.
func icmpDecode(p *Packet, kind L4, b []byte, declared int) {
	if len(b) < icmpNeedTypeCode {
		p.Anomalies |= AnomalyL4Truncated
		return
	}
	p.L4 = kind
	p.ICMPType, p.ICMPCode = b[icmpType], b[icmpCode]
	p.PayloadLen = max(declared-ICMPLen, 0)
	c, err := ParseICMP(b)
	if err != nil {
		p.Anomalies |= AnomalyL4Truncated
		return
	}
	if icmpIsEcho(kind, c.Type()) {
		p.ICMPID, p.ICMPSeq = c.Identifier(), c.SequenceNumber()
		return
	}
	if icmpIsError(kind, c.Type()) {
		icmpQuoted(p, kind, c.Body())
	}
}

func icmpIsEcho(kind L4, typ uint8) bool {
	if kind == L4ICMPv6 {
		return typ == ICMPv6EchoRequest || typ == ICMPv6EchoReply
	}
	switch typ {
	case ICMPEchoReply, ICMPEcho, ICMPTimestamp, ICMPTimestampReply:
		return true
	}
	return false
}

func icmpIsError(kind L4, typ uint8) bool {
	if kind == L4ICMPv6 {
		return typ >= ICMPv6Unreachable && typ <= ICMPv6ParamProblem
	}
	switch typ {
	case ICMPUnreachable, ICMPSourceQuench, ICMPRedirect, ICMPTimeExceeded, ICMPParamProblem:
		return true
	}
	return false
}

// icmpQuoted decodes the datagram quoted in an ICMP error: an IPv4 header
// in ICMP, an IPv6 header (and extension chain) in ICMPv6. The quote is
// usually shorter than the original's declared length, so only captured
// bytes are used. A quote too short for the addresses leaves Quoted false.
func icmpQuoted(p *Packet, kind L4, b []byte) {
	var l4 []byte
	if kind == L4ICMP {
		ip, err := ParseIPv4(b)
		if err != nil {
			return
		}
		p.Quoted = true
		p.QSrc, p.QDst, p.QProto = ip.Source(), ip.Destination(), ip.Protocol()
		if ip.FragmentOffset() != 0 {
			return
		}
		l4 = b[ip.HeaderLen():]
	} else {
		ip, err := ParseIPv6(b)
		if err != nil {
			return
		}
		p.Quoted = true
		p.QSrc, p.QDst = ip.Source(), ip.Destination()
		// The quote is cut by the ICMPv6 size limit (RFC 4443 §2.4 c), not
		// by the original's length, so the declared length is the capture.
		w := ip6Walk(ip.NextHeader(), b[IPv6Len:], len(b)-IPv6Len)
		p.QProto = w.proto
		if !w.done || w.frag == FragLater {
			return
		}
		l4 = w.rest
	}
	if p.QProto != ipProtoTCP && p.QProto != ipProtoUDP && p.QProto != ipProtoSCTP {
		return
	}
	if len(l4) >= tcpNeedPorts {
		p.QSrcPort = binary.BigEndian.Uint16(l4[tcpSrcPort:])
		p.QDstPort = binary.BigEndian.Uint16(l4[tcpDstPort:])
		p.QHasPorts = true
	}
	if p.QProto == ipProtoTCP && len(l4) >= tcpNeedSeq {
		p.QSeq = binary.BigEndian.Uint32(l4[tcpSeq:])
		p.QHasSeq = true
	}
}
