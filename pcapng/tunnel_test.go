package pcapng

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// Hand-built tunnelled packets. The carried packets are decode_test.go's
// nmap SYN (hIP4TCP+hTCPSyn, 192.168.1.10:33333 > 192.168.1.20:80, and
// its IPv6 twin); the outer IPv4 packets go 10.0.0.1 > 10.0.0.2 with ID
// 0x0101 and TTL 64, the outer IPv6 ones 2001:db8:ffff::1 > ::2. Lengths
// are computed from the hex by the helpers below; every header byte is
// written by hand.
const (
	hIn4     = hIP4TCP + hTCPSyn // 44 bytes
	hIn6     = hIP6TCP + hTCPSyn // 64 bytes
	hOutSrc6 = "20010db8ffff00000000000000000001 "
	hOutDst6 = "20010db8ffff00000000000000000002 "
	hVXLAN   = "08 000000 00002a 00 " // I flag, VNI 42
)

var (
	outSrc6 = netip.MustParseAddr("2001:db8:ffff::1")
	outDst6 = netip.MustParseAddr("2001:db8:ffff::2")
)

// hexLen is the byte length of hand-written hex.
func hexLen(s string) int { return len(strings.ReplaceAll(s, " ", "")) / 2 }

// tIP4 is an outer IPv4 header 10.0.0.1 > 10.0.0.2 of protocol proto
// before payload.
func tIP4(proto int, payload string) string {
	return fmt.Sprintf("45 00 %04x 0101 0000 40 %02x 0000 0a000001 0a000002 ", IPv4MinLen+hexLen(payload), proto) + payload
}

// tIP6 is an outer IPv6 header 2001:db8:ffff::1 > ::2 before payload.
func tIP6(nh int, payload string) string {
	return fmt.Sprintf("60000000 %04x %02x 40 ", hexLen(payload), nh) + hOutSrc6 + hOutDst6 + payload
}

// tUDP is a UDP header before payload.
func tUDP(sp, dp int, payload string) string {
	return fmt.Sprintf("%04x %04x %04x 0000 ", sp, dp, UDPLen+hexLen(payload)) + payload
}

// tGTPU is a GTP-U G-PDU (TEID 1) with the given flags and optional part
// before the carried packet.
func tGTPU(flags int, opt, payload string) string {
	return fmt.Sprintf("%02x ff %04x 00000001 ", flags, hexLen(opt)+hexLen(payload)) + opt + payload
}

// tunnelled is p as carried inside the given tunnels, outermost first,
// whose outermost packet went src > dst.
func tunnelled(p Packet, src, dst netip.Addr, kinds ...TunnelKind) Packet {
	p.TunnelDepth = uint8(len(kinds))
	p.TunnelKinds = 0
	for i, k := range kinds {
		p.TunnelKinds |= uint32(k) << (8 * i)
	}
	p.OuterSrc, p.OuterDst = src, dst
	return p
}

// outerUDP4 is what tIP4(17, tUDP(sp, dp, payload)) decodes to when no
// tunnel is entered.
func outerUDP4(sp, dp uint16, payload string) Packet {
	return Packet{L3: L3IPv4, Src: addrA, Dst: addrB, TTL: 64, IPID: 0x0101, Proto: 17,
		IPLen: IPv4MinLen + UDPLen + hexLen(payload), L4: L4UDP, SrcPort: sp, DstPort: dp, PayloadLen: hexLen(payload)}
}

// outerIP4 is what tIP4(proto, payload) decodes to when no tunnel is
// entered: an IP packet of another protocol.
func outerIP4(proto uint8, payload string) Packet {
	return Packet{L3: L3IPv4, Src: addrA, Dst: addrB, TTL: 64, IPID: 0x0101, Proto: proto,
		IPLen: IPv4MinLen + hexLen(payload), L4: L4Other, PayloadLen: hexLen(payload)}
}

// tunnelCase is a decodeCase that TestTunnelsTshark checks against tshark
// too, unless differs says why Wireshark decodes it differently.
type tunnelCase struct {
	decodeCase
	differs string
}

func tunnelCases() []tunnelCase {
	eth4 := hEthV4 + hIn4
	eth6 := hEthV6 + hIn6
	s4 := func(kinds ...TunnelKind) Packet { return tunnelled(synV4, addrA, addrB, kinds...) }
	s6 := func(kinds ...TunnelKind) Packet { return tunnelled(synV6, addrA, addrB, kinds...) }
	gtpExt := "0001 00 85 " + "01 0009 00 " // sequence 1, N-PDU 0, next 0x85 (PDU session container), one 4-byte extension, next 0
	teredoOrigin := "0000 f227 3ffffffe "   // origin port 3544 and 192.0.0.1, obfuscated (RFC 4380 §5.1.1)
	teredoAuth := "0001 00 00 0102030405060708 00 "
	gtpuEcho := "32 01 0004 00000000 0001 0000"
	badIPLen := hEthV4 + "45 00 00c8 abcd 0000 3b 06 0000 c0a8010a c0a80114 " + hTCPSyn // total length 200 in 44 bytes
	init := "b2ac 0050 00000000 a1b2c3d4 " + "01 00 0014 0badcafe 00010000 000a ffff 12345678 "
	sctp := func(p Packet) Packet {
		p.L3, p.Src, p.Dst, p.TTL, p.IPID, p.Proto = L3IPv4, addrA, addrB, 64, 0x0101, ipProtoSCTP
		p.L4 = L4SCTP
		return p
	}
	nest5 := hIn4
	for range MaxTunnelDepth + 1 {
		nest5 = tIP4(4, nest5)
	}
	deepest := outerIP4(4, hIn4)
	deepest = tunnelled(deepest, addrA, addrB, TunnelIPIP, TunnelIPIP, TunnelIPIP, TunnelIPIP)
	deepest.Anomalies = AnomalyTunnelDepth

	c := func(name, data string, want Packet) tunnelCase {
		return tunnelCase{decodeCase{name, LinkEthernet, data, 0, want}, ""}
	}
	differs := func(why string, tc tunnelCase) tunnelCase { tc.differs = why; return tc }
	return []tunnelCase{
		// UDP tunnels.
		c("vxlan/syn", hEthV4+tIP4(17, tUDP(54321, PortVXLAN, hVXLAN+eth4)), s4(TunnelVXLAN)),
		c("vxlan/outer-ipv6/syn6", hEthV6+tIP6(17, tUDP(54321, PortVXLAN, hVXLAN+eth6)),
			tunnelled(synV6, outSrc6, outDst6, TunnelVXLAN)),
		c("vxlan/inner-vlan", hEthV4+tIP4(17, tUDP(54321, PortVXLAN, hVXLAN+hEthSrcDst+"8100 0064 0800 "+hIn4)),
			with(s4(TunnelVXLAN), func(p *Packet) { p.VLANTags = 1 })),
		c("vxlan/outer-vlan-not-kept", hEthSrcDst+"8100 0064 0800 "+tIP4(17, tUDP(54321, PortVXLAN, hVXLAN+eth4)), s4(TunnelVXLAN)),
		c("geneve/ethernet", hEthV4+tIP4(17, tUDP(12345, PortGENEVE, "00 00 6558 00002a 00 "+eth4)), s4(TunnelGENEVE)),
		c("geneve/option/ipv4", hEthV4+tIP4(17, tUDP(12345, PortGENEVE, "02 00 0800 00002a 00 0101 80 01 00000000 "+hIn4)), s4(TunnelGENEVE)),
		c("teredo/bare/from-3544", hEthV4+tIP4(17, tUDP(PortTeredo, 40000, hIn6)), s6(TunnelTeredo)),
		c("teredo/origin", hEthV4+tIP4(17, tUDP(40000, PortTeredo, teredoOrigin+hIn6)), s6(TunnelTeredo)),
		c("teredo/auth+origin", hEthV4+tIP4(17, tUDP(40000, PortTeredo, teredoAuth+teredoOrigin+hIn6)), s6(TunnelTeredo)),
		c("gtpu/gpdu", hEthV4+tIP4(17, tUDP(PortGTPU, PortGTPU, tGTPU(0x30, "", hIn4))), s4(TunnelGTPU)),
		c("gtpu/seq+extension/ipv6", hEthV4+tIP4(17, tUDP(40000, PortGTPU, tGTPU(0x36, gtpExt, hIn6))), s6(TunnelGTPU)),
		c("gtpu/seq-only-next-type-ignored", hEthV4+tIP4(17, tUDP(PortGTPU, 40000, tGTPU(0x32, "0001 00 85 ", hIn4))), s4(TunnelGTPU)),

		// GRE and ERSPAN.
		c("gre/ipv4", hEthV4+tIP4(47, "0000 0800 "+hIn4), s4(TunnelGRE)),
		c("gre/checksum+key+seq/ipv6", hEthV4+tIP4(47, "b000 86dd 0000 0000 00001234 00000001 "+hIn6), s6(TunnelGRE)),
		c("gre/teb-without-key", hEthV4+tIP4(47, "0000 6558 "+eth4), s4(TunnelGRE)),
		c("gre/teb-key+seq-is-not-nvgre", hEthV4+tIP4(47, "3000 6558 00006401 00000007 "+eth4), s4(TunnelGRE)),
		c("nvgre", hEthV4+tIP4(47, "2000 6558 00006401 "+eth4), s4(TunnelNVGRE)),
		c("gre/over-ipv6", hEthV6+tIP6(47, "0000 0800 "+hIn4), tunnelled(synV4, outSrc6, outDst6, TunnelGRE)),
		c("erspan-i", hEthV4+tIP4(47, "0000 88be "+eth4), s4(TunnelERSPAN1)),
		c("erspan-ii", hEthV4+tIP4(47, "1000 88be 00000001 1064 0001 00000000 "+eth4), s4(TunnelERSPAN2)),
		c("erspan-iii", hEthV4+tIP4(47, "1000 22eb 00000001 2064 0001 00000000 0000 0000 "+eth4), s4(TunnelERSPAN3)),
		c("erspan-iii/platform-subheader", hEthV4+tIP4(47, "1000 22eb 00000001 2064 0001 00000000 0000 0001 1c000000 00000000 "+eth4),
			s4(TunnelERSPAN3)),
		differs("Wireshark 4.0 ignores the frame type and reads Ethernet", c("erspan-iii/frame-type-ip", hEthV4+tIP4(47, "1000 22eb 00000001 2064 0001 00000000 0000 0800 "+hIn4), s4(TunnelERSPAN3))),

		// IP in IP.
		c("ipip", hEthV4+tIP4(4, hIn4), s4(TunnelIPIP)),
		c("6in4", hEthV4+tIP4(41, hIn6), s6(Tunnel6in4)),
		c("4in6", hEthV6+tIP6(4, hIn4), tunnelled(synV4, outSrc6, outDst6, Tunnel4in6)),
		c("6in6", hEthV6+tIP6(41, hIn6), tunnelled(synV6, outSrc6, outDst6, Tunnel6in6)),

		// Nested, and the depth limit.
		c("vxlan-in-gre", hEthV4+tIP4(47, "0000 6558 "+hEthV4+tIP4(17, tUDP(1, PortVXLAN, hVXLAN+eth4))), s4(TunnelGRE, TunnelVXLAN)),
		c("gtpu-in-ipip-in-erspan-ii", hEthV4+tIP4(47, "1000 88be 00000001 1064 0001 00000000 "+hEthV4+
			tIP4(4, tIP4(17, tUDP(PortGTPU, PortGTPU, tGTPU(0x30, "", hIn4))))), s4(TunnelERSPAN2, TunnelIPIP, TunnelGTPU)),
		c("ipip-5-deep", hEthV4+nest5, deepest),

		// Not tunnels: these stay the packet they are.
		differs("Wireshark ignores the I flag RFC 7348 §5 requires", c("udp-4789/i-flag-clear", hEthV4+tIP4(17, tUDP(54321, PortVXLAN, "00000000 00002a00 "+eth4)),
			outerUDP4(54321, PortVXLAN, "00000000 00002a00 "+eth4))),
		differs("Wireshark registers VXLAN on either port; senders use it as the destination", c("udp-4789/source-port-only",
			hEthV4+tIP4(17, tUDP(PortVXLAN, 40000, hVXLAN+eth4)), outerUDP4(PortVXLAN, 40000, hVXLAN+eth4))),
		c("vxlan/arp-inside", hEthV4+tIP4(17, tUDP(54321, PortVXLAN, hVXLAN+hEthSrcDst+"0806 0001 0800 0604 0001")),
			outerUDP4(54321, PortVXLAN, hVXLAN+hEthSrcDst+"0806 0001 0800 0604 0001")),
		differs("Wireshark decodes the carried packet and flags its length", c("vxlan/inner-length-beyond-datagram",
			hEthV4+tIP4(17, tUDP(54321, PortVXLAN, hVXLAN+badIPLen)), outerUDP4(54321, PortVXLAN, hVXLAN+badIPLen))),
		differs("Wireshark decodes unknown versions with a warning; RFC 8926 §3.4 says drop", c("geneve/version-1",
			hEthV4+tIP4(17, tUDP(12345, PortGENEVE, "40 00 6558 00002a 00 "+eth4)), outerUDP4(12345, PortGENEVE, "40 00 6558 00002a 00 "+eth4))),
		c("gtpu/echo-request", hEthV4+tIP4(17, tUDP(40000, PortGTPU, gtpuEcho)), outerUDP4(40000, PortGTPU, gtpuEcho)),
		c("teredo/not-ipv6", hEthV4+tIP4(17, tUDP(40000, PortTeredo, hIn4)), outerUDP4(40000, PortTeredo, hIn4)),
		c("gre/version-1-pptp", hEthV4+tIP4(47, "3001 880b 0004 0001 00000001"), outerIP4(47, "3001 880b 0004 0001 00000001")),
		differs("Wireshark reads RFC 1701 routing; RFC 2784 §2.3 says discard", c("gre/routing-bit",
			hEthV4+tIP4(47, "4000 0800 "+hIn4), outerIP4(47, "4000 0800 "+hIn4))),
		c("ipip/empty-nmap-sO", hEthV4+tIP4(4, ""), outerIP4(4, "")),
		c("ipv6-in-ipv4/empty-nmap-sO", hEthV4+tIP4(41, ""), outerIP4(41, "")),
		c("gre/empty-nmap-sO", hEthV4+tIP4(47, ""), outerIP4(47, "")),
		differs("Wireshark follows the version nibble whatever the protocol says", c("ipip/carrying-ipv6",
			hEthV4+tIP4(4, hIn6), outerIP4(4, hIn6))),
		c("ip-proto-103/empty-nmap-sO", hEthV4+tIP4(103, ""), outerIP4(103, "")),
		c("ipip/first-fragment", hEthV4+"45 00 0040 0101 2000 40 04 0000 0a000001 0a000002 "+hIn4,
			with(outerIP4(4, hIn4), func(p *Packet) { p.Frag = FragFirst })),

		// SCTP: nmap -sY's INIT, the INIT ACK or ABORT that answers it,
		// -sZ's COOKIE ECHO, and ICMP errors quoting SCTP.
		c("sctp/init", hEthV4+tIP4(132, init), sctp(Packet{IPLen: 52, SrcPort: 45740, DstPort: 80,
			SCTPChunk: SCTPChunkInit, PayloadLen: 20})),
		c("sctp/init-ack", hEthV4+tIP4(132, "0050 b2ac 0badcafe 00000000 02 00 0018 11223344 00010000 000a ffff 00000001 0007 0004 "),
			sctp(Packet{IPLen: 56, SrcPort: 80, DstPort: 45740, SCTPVTag: 0x0badcafe, SCTPChunk: SCTPChunkInitAck, PayloadLen: 24})),
		c("sctp/abort-t", hEthV4+tIP4(132, "0050 b2ac 00000000 00000000 06 01 0004 "),
			sctp(Packet{IPLen: 36, SrcPort: 80, DstPort: 45740, SCTPChunk: SCTPChunkAbort, SCTPChunkFlags: SCTPFlagT, PayloadLen: 4})),
		c("sctp/cookie-echo", hEthV4+tIP4(132, "b2ac 0050 0badcafe 00000000 0a 00 0008 deadbeef "),
			sctp(Packet{IPLen: 40, SrcPort: 45740, DstPort: 80, SCTPVTag: 0x0badcafe, SCTPChunk: SCTPChunkCookieEcho, PayloadLen: 8})),
		c("sctp/chunk-length-past-packet", hEthV4+tIP4(132, "b2ac 0050 00000000 00000000 01 00 0100 0badcafe "),
			sctp(Packet{IPLen: 40, SrcPort: 45740, DstPort: 80, SCTPChunk: SCTPChunkInit, PayloadLen: 8, Anomalies: AnomalyBadL4Header})),
		c("sctp/no-chunk", hEthV4+tIP4(132, "b2ac 0050 00000000 00000000 "),
			sctp(Packet{IPLen: 32, SrcPort: 45740, DstPort: 80, Anomalies: AnomalyBadL4Header})),
		c("icmp/protocol-unreachable-quoting-sctp", hEthV4+"45 00 0038 0002 0000 40 01 0000 0a000002 0a000001 "+
			"03 02 0000 00000000 "+"45 00 0034 0101 0000 40 84 0000 0a000001 0a000002 b2ac 0050 00000000",
			Packet{L3: L3IPv4, Src: addrB, Dst: addrA, TTL: 64, IPID: 2, Proto: 1, IPLen: 56,
				L4: L4ICMP, ICMPType: 3, ICMPCode: 2, PayloadLen: 28,
				Quoted: true, QSrc: addrA, QDst: addrB, QProto: 132, QSrcPort: 45740, QDstPort: 80, QHasPorts: true}),
		c("icmpv6/unreachable-quoting-sctp", hEthV6+"60000000 0038 3a 40 "+hDst6+hSrc6+
			"01 04 0000 00000000 "+"60000000 0020 84 40 "+hSrc6+hDst6+"b2ac 0050 00000000",
			Packet{L3: L3IPv6, Src: addrDst6, Dst: addrSrc6, TTL: 64, Proto: 58, IPLen: 96,
				L4: L4ICMPv6, ICMPType: 1, ICMPCode: 4, PayloadLen: 48,
				Quoted: true, QSrc: addrSrc6, QDst: addrDst6, QProto: 132, QSrcPort: 45740, QDstPort: 80, QHasPorts: true}),
		c("sctp/in-vxlan", hEthV4+tIP4(17, tUDP(54321, PortVXLAN, hVXLAN+hEthV4+tIP4(132, init))),
			tunnelled(sctp(Packet{IPLen: 52, SrcPort: 45740, DstPort: 80, SCTPChunk: SCTPChunkInit, PayloadLen: 20}),
				addrA, addrB, TunnelVXLAN)),
	}
}

func TestDecodeTunnels(t *testing.T) {
	for _, tc := range tunnelCases() {
		t.Run(tc.name, func(t *testing.T) {
			rec := record(tc.link, h(t, tc.data), tc.orig)
			want := tc.want
			want.Frame, want.Interface, want.Link, want.Timestamp = 7, 2, tc.link, rec.Timestamp
			want.Precision, want.CapLen, want.OrigLen = 9, rec.CapLen, rec.OrigLen
			var got Packet
			Decode(&rec, &got)
			want.NetOffset = checkNetOffset(t, &rec, &got)
			if got != want {
				t.Errorf("Decode(%s) =\n %+v\nwant\n %+v", tc.name, got, want)
			}
			checkConsistent(t, &got)
		})
	}
}

// TestDecodeTunnelsEveryCut decodes every prefix of every tunnel case: no
// panic, the invariants hold, and a cut packet is either the full one at
// the same depth (the carried headers were captured) or one of the
// packets outside it.
func TestDecodeTunnelsEveryCut(t *testing.T) {
	for _, tc := range tunnelCases() {
		data := h(t, tc.data)
		fullRec := record(tc.link, data, 0)
		var full Packet
		Decode(&fullRec, &full)
		for n := range len(data) {
			rec := record(tc.link, data[:n], len(data))
			var p Packet
			Decode(&rec, &p)
			checkConsistent(t, &p)
			if p.TunnelDepth > full.TunnelDepth {
				t.Errorf("%s cut at %d: depth %d, full packet %d", tc.name, n, p.TunnelDepth, full.TunnelDepth)
			}
			for i := range int(p.TunnelDepth) {
				if p.TunnelLayer(i) != full.TunnelLayer(i) {
					t.Errorf("%s cut at %d: layer %d is %v, full packet %v", tc.name, n, i, p.TunnelLayer(i), full.TunnelLayer(i))
				}
			}
			if p.TunnelDepth == full.TunnelDepth && (p.L3 == L3IPv4 || p.L3 == L3IPv6) && (p.Src != full.Src || p.Dst != full.Dst) {
				t.Errorf("%s cut at %d: %v > %v at depth %d, full packet %v > %v", tc.name, n, p.Src, p.Dst, p.TunnelDepth, full.Src, full.Dst)
			}
		}
	}
}

// TestDecodeTunnelsNoAlloc: entering tunnels allocates nothing either.
func TestDecodeTunnelsNoAlloc(t *testing.T) {
	var recs []Record
	for _, tc := range tunnelCases() {
		recs = append(recs, record(tc.link, h(t, tc.data), tc.orig))
	}
	var p Packet
	if n := testing.AllocsPerRun(100, func() {
		for i := range recs {
			Decode(&recs[i], &p)
		}
	}); n != 0 {
		t.Errorf("Decode allocates %v times per run of %d tunnelled records", n, len(recs))
	}
}

func TestTunnelViews(t *testing.T) {
	v, err := ParseVXLAN(h(t, hVXLAN+"ab"))
	if err != nil || v.VNI() != 42 || string(v.Payload()) != "\xab" {
		t.Errorf("ParseVXLAN = %x, %v: VNI %d", []byte(v), err, v.VNI())
	}
	g, err := ParseGENEVE(h(t, "02 c0 6558 00abcd 00 0101 80 01 00000000 ab"))
	if err != nil || g.Version() != 0 || g.HeaderLen() != 16 || !g.OAM() || !g.Critical() || g.ProtocolType() != EtherTypeTEB ||
		g.VNI() != 0xabcd || len(g.Options()) != 8 || string(g.Payload()) != "\xab" {
		t.Errorf("ParseGENEVE = %x, %v", []byte(g), err)
	}
	gre, err := ParseGRE(h(t, "b000 86dd 1111 0000 00006401 00000002 ab"))
	if err != nil || !gre.HasChecksum() || !gre.HasKey() || !gre.HasSequence() || gre.HeaderLen() != 16 ||
		gre.Key() != 0x6401 || gre.ProtocolType() != EtherTypeIPv6 || string(gre.Payload()) != "\xab" {
		t.Errorf("ParseGRE = %x, %v", []byte(gre), err)
	}
	if k := GRE(h(t, "0000 0800")).Key(); k != 0 {
		t.Errorf("GRE without K: Key() = %d", k)
	}
	u, err := ParseGTPU(h(t, tGTPU(0x36, "0001 00 85 01 0009 00 ", "45")))
	if err != nil || u.Version() != 1 || u.MessageType() != GTPUMessageGPDU || u.MessageLen() != 17 || u.TEID() != 1 {
		t.Errorf("ParseGTPU = %x, %v", []byte(u), err)
	}
	if n, a := u.payloadOffset(); n != 16 || a != 0 {
		t.Errorf("GTP-U payloadOffset = %d, %#x, want 16, 0", n, a)
	}
	s, err := ParseSCTP(h(t, "b2ac 0050 0badcafe 01020304 0a 05 0008 deadbeef 00"))
	if err != nil || s.SourcePort() != 45740 || s.DestinationPort() != 80 || s.VerificationTag() != 0x0badcafe ||
		s.Checksum() != 0x01020304 || s.ChunkType() != SCTPChunkCookieEcho || s.ChunkFlags() != 5 || s.ChunkLength() != 8 ||
		len(s.Chunk()) != 8 {
		t.Errorf("ParseSCTP = %x, %v", []byte(s), err)
	}
	for k := TunnelNone; k <= NumTunnelKinds; k++ {
		if name := k.String(); (name == "") != (k == TunnelNone || k == NumTunnelKinds) {
			t.Errorf("TunnelKind(%d).String() = %q", k, name)
		}
	}
}

func TestTunnelParseErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"vxlan short", second(ParseVXLAN(make([]byte, 7))), ErrHeaderTruncated},
		{"vxlan without I", second(ParseVXLAN(h(t, "00000000 00002a00"))), ErrHeaderInvalid},
		{"geneve short", second(ParseGENEVE(make([]byte, 7))), ErrHeaderTruncated},
		{"geneve version 1", second(ParseGENEVE(h(t, "40 00 6558 00002a 00"))), ErrHeaderInvalid},
		{"geneve options past the packet", second(ParseGENEVE(h(t, "3f 00 6558 00002a 00 0101 80 01"))), ErrHeaderTruncated},
		{"geneve option past the options", second(ParseGENEVE(h(t, "01 00 6558 00002a 00 0101 80 02"))), ErrHeaderInvalid},
		{"gre short", second(ParseGRE(make([]byte, 3))), ErrHeaderTruncated},
		{"gre routing bit", second(ParseGRE(h(t, "4000 0800"))), ErrHeaderInvalid},
		{"gre strict source route bit", second(ParseGRE(h(t, "0800 0800"))), ErrHeaderInvalid},
		{"gre recursion", second(ParseGRE(h(t, "0400 0800"))), ErrHeaderInvalid},
		{"gre version 1", second(ParseGRE(h(t, "3001 880b 0000 0000 00000000"))), ErrHeaderInvalid},
		{"gre key missing", second(ParseGRE(h(t, "2000 6558 0000"))), ErrHeaderTruncated},
		{"gtpu short", second(ParseGTPU(make([]byte, 7))), ErrHeaderTruncated},
		{"gtpu version 2", second(ParseGTPU(h(t, "50 ff 0000 00000001"))), ErrHeaderInvalid},
		{"gtp prime", second(ParseGTPU(h(t, "20 ff 0000 00000001"))), ErrHeaderInvalid},
		{"gtpu optional fields missing", second(ParseGTPU(h(t, "32 ff 0004 00000001 00"))), ErrHeaderTruncated},
		{"sctp short", second(ParseSCTP(make([]byte, 15))), ErrHeaderTruncated},
		{"sctp chunk length 3", second(ParseSCTP(h(t, "b2ac 0050 00000000 00000000 01 00 0003"))), ErrHeaderInvalid},
		{"sctp chunk past the packet", second(ParseSCTP(h(t, "b2ac 0050 00000000 00000000 01 00 0014 00"))), ErrHeaderTruncated},
	}
	for _, tc := range tests {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
}

func BenchmarkDecodeTunnels(b *testing.B) {
	var recs []Record
	for _, tc := range tunnelCases() {
		recs = append(recs, record(tc.link, h(b, tc.data), tc.orig))
	}
	var p Packet
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Decode(&recs[i%len(recs)], &p)
	}
}
