package pcapng

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// h decodes hand-written hex; spaces separate fields for the reader.
func h(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// Hand-written headers. Addresses: 192.168.1.10 -> 192.168.1.20 for the
// TCP probes, 10.0.0.1 -> 10.0.0.2 for UDP/ICMP, 2001:db8::1 -> ::2.
const (
	hEthSrcDst = "001122334455 66778899aabb "
	hEthV4     = hEthSrcDst + "0800 "
	hEthV6     = hEthSrcDst + "86dd "
	// IPv4, total length 44, ID 0xabcd, TTL 59, TCP.
	hIP4TCP = "45 00 002c abcd 0000 3b 06 0000 c0a8010a c0a80114 "
	// nmap SYN: 33333 -> 80, seq 0x11223344, data offset 24, SYN,
	// window 1024, MSS 1460.
	hTCPSyn = "8235 0050 11223344 00000000 60 02 0400 0000 0000 020405b4 "
	// IPv4, total length 36, ID 1, TTL 64, UDP; UDP 54321 -> 53 with 8 bytes.
	hIP4UDP = "45 00 0024 0001 0000 40 11 0000 0a000001 0a000002 "
	hUDP    = "d431 0035 0010 0000 0102030405060708 "
	hSrc6   = "20010db8000000000000000000000001 "
	hDst6   = "20010db8000000000000000000000002 "
	// IPv6, payload length 24, TCP, hop limit 64.
	hIP6TCP = "60000000 0018 06 40 " + hSrc6 + hDst6
)

var (
	addrSrc4 = netip.MustParseAddr("192.168.1.10")
	addrDst4 = netip.MustParseAddr("192.168.1.20")
	addrA    = netip.MustParseAddr("10.0.0.1")
	addrB    = netip.MustParseAddr("10.0.0.2")
	addrSrc6 = netip.MustParseAddr("2001:db8::1")
	addrDst6 = netip.MustParseAddr("2001:db8::2")
)

// synV4 is what hIP4TCP+hTCPSyn decodes to.
var synV4 = Packet{
	L3: L3IPv4, Src: addrSrc4, Dst: addrDst4, TTL: 59, IPID: 0xabcd, Proto: 6, IPLen: 44,
	L4: L4TCP, SrcPort: 33333, DstPort: 80, Seq: 0x11223344, TCPFlags: TCPFlagSYN,
	Window: 1024, DataOffset: 24, MSS: 1460, WScale: 0xff, OptKinds: 2, OptCount: 1,
}

// synV6 is what hIP6TCP+hTCPSyn decodes to.
var synV6 = Packet{
	L3: L3IPv6, Src: addrSrc6, Dst: addrDst6, TTL: 64, Proto: 6, IPLen: 64,
	L4: L4TCP, SrcPort: 33333, DstPort: 80, Seq: 0x11223344, TCPFlags: TCPFlagSYN,
	Window: 1024, DataOffset: 24, MSS: 1460, WScale: 0xff, OptKinds: 2, OptCount: 1,
}

var udpV4 = Packet{
	L3: L3IPv4, Src: addrA, Dst: addrB, TTL: 64, IPID: 1, Proto: 17, IPLen: 36,
	L4: L4UDP, SrcPort: 54321, DstPort: 53, PayloadLen: 8,
}

func with(p Packet, f func(*Packet)) Packet {
	f(&p)
	return p
}

type decodeCase struct {
	name string
	link LinkType
	data string
	orig int // OrigLen when larger than the data; 0 means len(data)
	want Packet
}

func decodeCases() []decodeCase {
	return []decodeCase{
		{"eth/ipv4/tcp-syn", LinkEthernet, hEthV4 + hIP4TCP + hTCPSyn, 0, synV4},
		{"eth/ipv6/tcp-syn", LinkEthernet, hEthV6 + hIP6TCP + hTCPSyn, 0, synV6},
		{"eth/ipv4/udp", LinkEthernet, hEthV4 + hIP4UDP + hUDP, 0, udpV4},
		{"eth/802.1q", LinkEthernet, hEthSrcDst + "8100 0064 0800 " + hIP4TCP + hTCPSyn, 0,
			with(synV4, func(p *Packet) { p.VLANTags = 1 })},
		{"eth/qinq-88a8", LinkEthernet, hEthSrcDst + "88a8 00c8 8100 0064 86dd " + hIP6TCP + hTCPSyn, 0,
			with(synV6, func(p *Packet) { p.VLANTags = 2 })},
		{"eth/qinq-9100", LinkEthernet, hEthSrcDst + "9100 00c8 8100 0064 0800 " + hIP4TCP + hTCPSyn, 0,
			with(synV4, func(p *Packet) { p.VLANTags = 2 })},
		{"eth/tag-limit", LinkEthernet, hEthSrcDst + strings.Repeat("8100 0001 ", 9) + "0800 " + hIP4TCP + hTCPSyn, 0,
			Packet{VLANTags: 8, Anomalies: AnomalyTagLimit}},
		{"eth/tag-cut", LinkEthernet, hEthSrcDst + "8100 00", 0,
			Packet{Anomalies: AnomalyLinkTruncated}},
		{"eth/pppoe/ipv4", LinkEthernet, hEthSrcDst + "8864 11 00 0001 002e 0021 " + hIP4TCP + hTCPSyn, 0, synV4},
		{"eth/pppoe/ipv6", LinkEthernet, hEthSrcDst + "8864 11 00 0001 0042 0057 " + hIP6TCP + hTCPSyn, 0, synV6},
		{"eth/pppoe/lcp", LinkEthernet, hEthSrcDst + "8864 11 00 0001 0006 c021 01010004", 0, Packet{L3: L3Other}},
		{"eth/arp", LinkEthernet, hEthSrcDst + "0806 0001 0800 06 04 0001", 0, Packet{L3: L3ARP}},
		{"eth/802.3-llc", LinkEthernet, hEthSrcDst + "0026 424203 0000 0000 0000", 0, Packet{L3: L3Other}},
		{"eth/802.3-llc-short", LinkEthernet, hEthSrcDst + "0026 424203 0000", 0, Packet{Anomalies: AnomalyLinkTruncated}},
		{"eth/short", LinkEthernet, "001122334455 66778899aa", 0, Packet{Anomalies: AnomalyLinkTruncated}},
		{"eth/mpls/ipv4", LinkEthernet, hEthSrcDst + "8847 00010 0ff 00011 1ff " + hIP4TCP + hTCPSyn, 0, synV4},
		{"eth/vlan/mpls/ipv6", LinkEthernet, hEthSrcDst + "8100 0064 8847 00011 1ff " + hIP6TCP + hTCPSyn, 0,
			with(synV6, func(p *Packet) { p.VLANTags = 1 })},
		{"eth/mpls/control-word", LinkEthernet, hEthSrcDst + "8847 00011 1ff 00000000 " + hEthV4, 0, Packet{L3: L3Other}},
		{"eth/mpls/label-limit", LinkEthernet, hEthSrcDst + "8847 " + strings.Repeat("00010 0ff ", 9) + hIP4TCP, 0,
			Packet{Anomalies: AnomalyTagLimit}},
		{"eth/mpls/cut", LinkEthernet, hEthSrcDst + "8847 00010 0ff 0001", 0, Packet{Anomalies: AnomalyLinkTruncated}},
		{"eth/802.3-snap/ipv4", LinkEthernet, hEthSrcDst + "0034 aaaa03 000000 0800 " + hIP4TCP + hTCPSyn, 0, synV4},
		{"eth/802.3-snap/length-inside", LinkEthernet, hEthSrcDst + "0034 aaaa03 000000 0034 aaaa03 000000 0800", 0,
			Packet{L3: L3Other}},
		{"eth/vlan/arp", LinkEthernet, hEthSrcDst + "8100 0064 0806 0001", 0, Packet{L3: L3ARP, VLANTags: 1}},
		{"sll/ipv4", LinkSLL, "0000 0001 0006 001122334455 0000 0800 " + hIP4TCP + hTCPSyn, 0, synV4},
		{"sll/vlan/ipv6", LinkSLL, "0000 0001 0006 001122334455 0000 8100 0064 86dd " + hIP6TCP + hTCPSyn, 0,
			with(synV6, func(p *Packet) { p.VLANTags = 1 })},
		{"sll/short", LinkSLL, "0000 0001 0006 001122334455 0000 08", 0, Packet{Anomalies: AnomalyLinkTruncated}},
		{"sll2/ipv6", LinkSLL2, "86dd 0000 00000002 0001 00 06 0011223344550000 " + hIP6TCP + hTCPSyn, 0, synV6},
		{"sll2/ipv4", LinkSLL2, "0800 0000 00000002 0001 04 06 0011223344550000 " + hIP4TCP + hTCPSyn, 0, synV4},
		{"null/le/ipv4", LinkNull, "02000000 " + hIP4TCP + hTCPSyn, 0, synV4},
		{"null/be/ipv4", LinkNull, "00000002 " + hIP4TCP + hTCPSyn, 0, synV4},
		{"null/le/ipv6-24", LinkNull, "18000000 " + hIP6TCP + hTCPSyn, 0, synV6},
		{"null/le/ipv6-28", LinkNull, "1c000000 " + hIP6TCP + hTCPSyn, 0, synV6},
		{"null/be/ipv6-30", LinkNull, "0000001e " + hIP6TCP + hTCPSyn, 0, synV6},
		{"null/other-af", LinkNull, "07000000 0102030405", 0, Packet{L3: L3Other}},
		{"null/short", LinkNull, "020000", 0, Packet{Anomalies: AnomalyLinkTruncated}},
		{"loop/ipv4", LinkLoop, "00000002 " + hIP4TCP + hTCPSyn, 0, synV4},
		{"loop/ipv6", LinkLoop, "00000018 " + hIP6TCP + hTCPSyn, 0, synV6},
		{"loop/le-is-not-ipv4", LinkLoop, "02000000 " + hIP4TCP + hTCPSyn, 0, Packet{L3: L3Other}},
		{"raw101/ipv4", LinkRaw, hIP4TCP + hTCPSyn, 0, synV4},
		{"raw101/ipv6", LinkRaw, hIP6TCP + hTCPSyn, 0, synV6},
		{"raw12/ipv4", LinkRawBSD, hIP4TCP + hTCPSyn, 0, synV4},
		{"raw14/ipv6", LinkRawOld, hIP6TCP + hTCPSyn, 0, synV6},
		{"raw/version5", LinkRaw, "55 00 002c", 0, Packet{Anomalies: AnomalyBadIPHeader}},
		{"raw/empty", LinkRaw, "", 0, Packet{Anomalies: AnomalyIPTruncated}},
		{"ipv4-228", LinkIPv4, hIP4TCP + hTCPSyn, 0, synV4},
		{"ipv6-229", LinkIPv6, hIP6TCP + hTCPSyn, 0, synV6},
		{"ipv4-228/holds-ipv6", LinkIPv4, hIP6TCP + hTCPSyn, 0, Packet{Anomalies: AnomalyBadIPHeader}},
		{"ppp9/ff03/ipv4", LinkPPP, "ff03 0021 " + hIP4TCP + hTCPSyn, 0, synV4},
		{"ppp9/pfc/ipv4", LinkPPP, "21 " + hIP4TCP + hTCPSyn, 0, synV4},
		{"ppp50/ipv6", LinkPPPHDLC, "0057 " + hIP6TCP + hTCPSyn, 0, synV6},
		{"ppp50/ff03/pfc/ipv6", LinkPPPHDLC, "ff03 57 " + hIP6TCP + hTCPSyn, 0, synV6},
		{"ppp/lcp", LinkPPP, "ff03 c021 01010004", 0, Packet{L3: L3Other}},
		{"ppp/short", LinkPPP, "ff03 00", 0, Packet{Anomalies: AnomalyLinkTruncated}},
		{"ppp/ff-alone", LinkPPP, "ff", 0, Packet{Anomalies: AnomalyLinkTruncated}},
		{"unknown-link", LinkType(147), hIP4TCP + hTCPSyn, 0, Packet{Anomalies: AnomalyUnknownLink}},

		// IPv4 details.
		{"ipv4/df", LinkRaw, "45 00 002c abcd 4000 3b 06 0000 c0a8010a c0a80114 " + hTCPSyn, 0,
			with(synV4, func(p *Packet) { p.DF = true })},
		{"ipv4/options/udp", LinkRaw, "46 00 0028 0001 0000 40 11 0000 0a000001 0a000002 01010100 " + hUDP, 0,
			with(udpV4, func(p *Packet) { p.IPLen = 40 })},
		{"ipv4/frag-first", LinkRaw, "45 00 002c abcd 2000 3b 06 0000 c0a8010a c0a80114 " + hTCPSyn, 0,
			with(synV4, func(p *Packet) { p.Frag = FragFirst })},
		{"ipv4/frag-later", LinkRaw, "45 00 0024 abcd 20b9 3b 06 0000 c0a8010a c0a80114 " + hTCPSyn[:len(hTCPSyn)-10] + "0000", 0,
			Packet{L3: L3IPv4, Src: addrSrc4, Dst: addrDst4, TTL: 59, IPID: 0xabcd, Proto: 6, IPLen: 36, Frag: FragLater, PayloadLen: 16}},
		{"ipv4/ethernet-padding", LinkEthernet, hEthV4 + "45 00 0028 0005 0000 40 06 0000 c0a80114 c0a8010a " +
			"0050 8235 00000000 11223345 50 14 0000 0000 0000 " + "000000000000", 0,
			Packet{L3: L3IPv4, Src: addrDst4, Dst: addrSrc4, TTL: 64, IPID: 5, Proto: 6, IPLen: 40,
				L4: L4TCP, SrcPort: 80, DstPort: 33333, Ack: 0x11223345, TCPFlags: TCPFlagRST | TCPFlagACK,
				DataOffset: 20, WScale: 0xff}},
		{"ipv4/tso-zero-length", LinkRaw, "45 00 0000 0005 0000 40 06 0000 c0a80114 c0a8010a " +
			"0050 8235 00000000 11223345 50 10 0100 0000 0000 " + "00112233445566778899", 0,
			Packet{L3: L3IPv4, Src: addrDst4, Dst: addrSrc4, TTL: 64, IPID: 5, Proto: 6, IPLen: 50,
				L4: L4TCP, SrcPort: 80, DstPort: 33333, Ack: 0x11223345, TCPFlags: TCPFlagACK,
				Window: 256, DataOffset: 20, WScale: 0xff, PayloadLen: 10}},
		{"ipv4/ihl-4", LinkRaw, "44 00 002c abcd 0000 3b 06 0000 c0a8010a c0a80114 " + hTCPSyn, 0,
			Packet{Anomalies: AnomalyBadIPHeader}},
		{"ipv4/total-below-ihl", LinkRaw, "45 00 0010 abcd 0000 3b 06 0000 c0a8010a c0a80114 " + hTCPSyn, 0,
			Packet{Anomalies: AnomalyBadIPHeader}},
		{"ipv4/ihl-beyond-capture", LinkRaw, "4f 00 002c abcd 0000 3b 06 0000 c0a8010a c0a80114 0101", 0,
			Packet{Anomalies: AnomalyIPTruncated}},
		{"ipv4/other-proto", LinkRaw, "45 00 0020 0007 0000 40 2f 0000 0a000001 0a000002 0000 0800 00000000", 0,
			Packet{L3: L3IPv4, Src: addrA, Dst: addrB, TTL: 64, IPID: 7, Proto: 47, IPLen: 32, L4: L4Other, PayloadLen: 12}},
		{"ipv4/snaplen-cut-payload", LinkRaw, "45 00 0064 abcd 0000 3b 06 0000 c0a8010a c0a80114 " +
			"8235 0050 11223344 00000000 50 18 0400 0000 0000 0102", 100,
			with(synV4, func(p *Packet) {
				p.Anomalies, p.IPLen, p.TCPFlags, p.DataOffset = AnomalySnapTruncated, 100, TCPFlagPSH|TCPFlagACK, 20
				p.MSS, p.OptKinds, p.OptCount, p.PayloadLen = 0, 0, 0, 60
			})},

		// IPv6 extension headers.
		{"ipv6/hop-by-hop", LinkRaw, "60000000 0020 00 40 " + hSrc6 + hDst6 + "06 00 0104 00000000 " + hTCPSyn, 0,
			with(synV6, func(p *Packet) { p.IPLen = 72 })},
		{"ipv6/dest-routing-frag-first/udp", LinkRaw, "60000000 0028 3c 40 " + hSrc6 + hDst6 +
			"2b 00 0104 00000000 " + "2c 00 00 00 00000000 " + "11 00 0001 deadbeef " + hUDP, 0,
			Packet{L3: L3IPv6, Src: addrSrc6, Dst: addrDst6, TTL: 64, IPID: 0xdeadbeef, Frag: FragFirst,
				Proto: 17, IPLen: 80, L4: L4UDP, SrcPort: 54321, DstPort: 53, PayloadLen: 8}},
		{"ipv6/frag-later", LinkRaw, "60000000 0018 2c 40 " + hSrc6 + hDst6 + "06 00 00b9 deadbeef " +
			"00112233445566778899aabbccddeeff", 0,
			Packet{L3: L3IPv6, Src: addrSrc6, Dst: addrDst6, TTL: 64, IPID: 0xdeadbeef, Frag: FragLater,
				Proto: 6, IPLen: 64, PayloadLen: 16}},
		{"ipv6/ah", LinkRaw, "60000000 0030 33 40 " + hSrc6 + hDst6 +
			"06 04 0000 00000100 00000001 000000000000000000000000 " + hTCPSyn, 0,
			with(synV6, func(p *Packet) { p.IPLen = 88 })},
		{"ipv6/ext-limit", LinkRaw, "60000000 0048 3c 40 " + hSrc6 + hDst6 + strings.Repeat("3c 00 0104 00000000 ", 9), 0,
			Packet{L3: L3IPv6, Src: addrSrc6, Dst: addrDst6, TTL: 64, Proto: 60, IPLen: 112, Anomalies: AnomalyExtLimit}},
		{"ipv6/ext-beyond-payload-length", LinkRaw, "60000000 0008 00 40 " + hSrc6 + hDst6 + "06 01 0104 00000000 " + "0000000000000000", 0,
			Packet{L3: L3IPv6, Src: addrSrc6, Dst: addrDst6, TTL: 64, Proto: 0, IPLen: 48, Anomalies: AnomalyBadIPHeader}},
		{"ipv6/ext-cut-by-snaplen", LinkRaw, "60000000 0020 00 40 " + hSrc6 + hDst6 + "06 00 0104", 72,
			Packet{L3: L3IPv6, Src: addrSrc6, Dst: addrDst6, TTL: 64, Proto: 0, IPLen: 72,
				Anomalies: AnomalyIPTruncated | AnomalySnapTruncated}},
		{"ipv6/no-next-header", LinkRaw, "60000000 0000 3b 40 " + hSrc6 + hDst6, 0,
			Packet{L3: L3IPv6, Src: addrSrc6, Dst: addrDst6, TTL: 64, Proto: 59, IPLen: 40, L4: L4Other}},

		// TCP details.
		{"tcp/linux-syn-options", LinkRaw, "45 00 003c abcd 4000 40 06 0000 c0a8010a c0a80114 " +
			"8235 0050 11223344 00000000 a0 02 faf0 0000 0000 020405b4 0402 080a 0000000100000000 01 030307", 0,
			with(synV4, func(p *Packet) {
				p.DF, p.TTL, p.IPLen, p.Window, p.DataOffset = true, 64, 60, 64240, 40
				p.WScale, p.OptKinds, p.OptCount = 7, 0x0301080402, 5
			})},
		{"tcp/xmas-ns", LinkRaw, "45 00 0028 abcd 0000 3b 06 0000 c0a8010a c0a80114 " +
			"8235 0050 11223344 00000000 51 29 0400 0000 0000", 0,
			with(synV4, func(p *Packet) {
				p.IPLen, p.TCPFlags, p.DataOffset = 40, TCPFlagNS|TCPFlagFIN|TCPFlagPSH|TCPFlagURG, 20
				p.MSS, p.OptKinds, p.OptCount = 0, 0, 0
			})},
		{"tcp/reserved-bits", LinkRaw, "45 00 0028 abcd 0000 3b 06 0000 c0a8010a c0a80114 " +
			"8235 0050 11223344 00000000 5e 02 0400 0000 0000", 0,
			with(synV4, func(p *Packet) {
				p.IPLen, p.DataOffset, p.TCPReserved, p.MSS, p.OptKinds, p.OptCount = 40, 20, 7, 0, 0, 0
			})},
		{"tcp/data-offset-16", LinkRaw, "45 00 0028 abcd 0000 3b 06 0000 c0a8010a c0a80114 " +
			"8235 0050 11223344 00000000 40 02 0400 0000 0000", 0,
			with(synV4, func(p *Packet) {
				p.IPLen, p.DataOffset, p.Anomalies = 40, 16, AnomalyBadL4Header
				p.MSS, p.OptKinds, p.OptCount = 0, 0, 0
			})},
		{"tcp/data-offset-beyond-ip-length", LinkRaw, "45 00 0028 abcd 0000 3b 06 0000 c0a8010a c0a80114 " +
			"8235 0050 11223344 00000000 60 02 0400 0000 0000 020405b4", 0,
			with(synV4, func(p *Packet) {
				p.IPLen, p.Anomalies = 40, AnomalyBadL4Header
				p.MSS, p.OptKinds, p.OptCount = 0, 0, 0
			})},
		{"tcp/option-length-0", LinkRaw, "45 00 002c abcd 0000 3b 06 0000 c0a8010a c0a80114 " +
			"8235 0050 11223344 00000000 60 02 0400 0000 0000 02000000", 0,
			with(synV4, func(p *Packet) { p.MSS, p.Anomalies = 0, AnomalyBadL4Header })},
		{"tcp/eol-stops-walk", LinkRaw, "45 00 002c abcd 0000 3b 06 0000 c0a8010a c0a80114 " +
			"8235 0050 11223344 00000000 60 02 0400 0000 0000 00 020405", 0,
			with(synV4, func(p *Packet) { p.MSS, p.OptKinds = 0, 0 })},
		{"tcp/options-cut-by-snaplen", LinkRaw, hIP4TCP + "8235 0050 11223344 00000000 60 02 0400 0000 0000 0204", 44,
			with(synV4, func(p *Packet) {
				p.MSS, p.Anomalies = 0, AnomalySnapTruncated|AnomalyL4Truncated
			})},
		{"tcp/cut-after-ports", LinkRaw, hIP4TCP + "8235 0050", 44,
			Packet{L3: L3IPv4, Src: addrSrc4, Dst: addrDst4, TTL: 59, IPID: 0xabcd, Proto: 6, IPLen: 44,
				L4: L4TCP, SrcPort: 33333, DstPort: 80, WScale: 0xff, TCPFlagsUnknown: true,
				Anomalies: AnomalySnapTruncated | AnomalyL4Truncated}},
		// nmap -f's first fragment holds 8 TCP bytes: ports and sequence,
		// no flags. Flags 0 here are unknown, not a NULL probe.
		{"tcp/cut-before-flags", LinkRaw, hIP4TCP + "8235 0050 11223344 00000000 60", 44,
			Packet{L3: L3IPv4, Src: addrSrc4, Dst: addrDst4, TTL: 59, IPID: 0xabcd, Proto: 6, IPLen: 44,
				L4: L4TCP, SrcPort: 33333, DstPort: 80, Seq: 0x11223344, WScale: 0xff, TCPFlagsUnknown: true,
				Anomalies: AnomalySnapTruncated | AnomalyL4Truncated}},
		{"tcp/cut-inside-ports", LinkRaw, hIP4TCP + "8235 00", 44,
			Packet{L3: L3IPv4, Src: addrSrc4, Dst: addrDst4, TTL: 59, IPID: 0xabcd, Proto: 6, IPLen: 44,
				Anomalies: AnomalySnapTruncated | AnomalyL4Truncated}},
		{"tcp/cut-after-flags", LinkRaw, hIP4TCP + "8235 0050 11223344 00000000 60 02", 44,
			Packet{L3: L3IPv4, Src: addrSrc4, Dst: addrDst4, TTL: 59, IPID: 0xabcd, Proto: 6, IPLen: 44,
				L4: L4TCP, SrcPort: 33333, DstPort: 80, Seq: 0x11223344, TCPFlags: TCPFlagSYN,
				DataOffset: 24, WScale: 0xff, Anomalies: AnomalySnapTruncated | AnomalyL4Truncated}},
		{"udp/cut-after-ports", LinkRaw, hIP4UDP + "d431 0035 00", 36,
			with(udpV4, func(p *Packet) { p.Anomalies = AnomalySnapTruncated | AnomalyL4Truncated })},

		// ICMP and ICMPv6.
		{"icmp/echo", LinkRaw, "45 00 001c 0003 0000 40 01 0000 0a000001 0a000002 " + "08 00 0000 1234 0001", 0,
			Packet{L3: L3IPv4, Src: addrA, Dst: addrB, TTL: 64, IPID: 3, Proto: 1, IPLen: 28,
				L4: L4ICMP, ICMPType: 8, ICMPID: 0x1234, ICMPSeq: 1}},
		{"icmp/port-unreachable/udp-probe", LinkRaw, "45 00 0038 0002 0000 40 01 0000 0a000002 0a000001 " +
			"03 03 0000 00000000 " + hIP4UDP + hUDP[:len(hUDP)-17], 0,
			Packet{L3: L3IPv4, Src: addrB, Dst: addrA, TTL: 64, IPID: 2, Proto: 1, IPLen: 56,
				L4: L4ICMP, ICMPType: 3, ICMPCode: 3, PayloadLen: 28,
				Quoted: true, QSrc: addrA, QDst: addrB, QProto: 17, QSrcPort: 54321, QDstPort: 53, QHasPorts: true}},
		{"icmp/admin-prohibited/tcp-probe", LinkRaw, "45 00 0038 0002 0000 40 01 0000 0a000002 0a000001 " +
			"03 0d 0000 00000000 " + hIP4TCP + "8235 0050 11223344", 0,
			Packet{L3: L3IPv4, Src: addrB, Dst: addrA, TTL: 64, IPID: 2, Proto: 1, IPLen: 56,
				L4: L4ICMP, ICMPType: 3, ICMPCode: 13, PayloadLen: 28,
				Quoted: true, QSrc: addrSrc4, QDst: addrDst4, QProto: 6, QSrcPort: 33333, QDstPort: 80,
				QHasPorts: true, QSeq: 0x11223344, QHasSeq: true}},
		{"icmp/time-exceeded/quote-without-l4", LinkRaw, "45 00 0030 0002 0000 40 01 0000 0a000002 0a000001 " +
			"0b 00 0000 00000000 " + hIP4TCP, 0,
			Packet{L3: L3IPv4, Src: addrB, Dst: addrA, TTL: 64, IPID: 2, Proto: 1, IPLen: 48,
				L4: L4ICMP, ICMPType: 11, PayloadLen: 20, Quoted: true, QSrc: addrSrc4, QDst: addrDst4, QProto: 6}},
		{"icmp/unreachable/quote-too-short", LinkRaw, "45 00 0020 0002 0000 40 01 0000 0a000002 0a000001 " +
			"03 01 0000 00000000 45000024", 0,
			Packet{L3: L3IPv4, Src: addrB, Dst: addrA, TTL: 64, IPID: 2, Proto: 1, IPLen: 32,
				L4: L4ICMP, ICMPType: 3, ICMPCode: 1, PayloadLen: 4}},
		{"icmp/cut-after-type-code", LinkRaw, "45 00 001c 0003 0000 40 01 0000 0a000001 0a000002 " + "08 00", 28,
			Packet{L3: L3IPv4, Src: addrA, Dst: addrB, TTL: 64, IPID: 3, Proto: 1, IPLen: 28,
				L4: L4ICMP, ICMPType: 8, Anomalies: AnomalySnapTruncated | AnomalyL4Truncated}},
		{"icmpv6/echo", LinkRaw, "60000000 0008 3a 40 " + hSrc6 + hDst6 + "80 00 0000 1234 0002", 0,
			Packet{L3: L3IPv6, Src: addrSrc6, Dst: addrDst6, TTL: 64, Proto: 58, IPLen: 48,
				L4: L4ICMPv6, ICMPType: 128, ICMPID: 0x1234, ICMPSeq: 2}},
		{"icmpv6/port-unreachable/udp-probe", LinkRaw, "60000000 0038 3a 40 " + hDst6 + hSrc6 +
			"01 04 0000 00000000 " + "60000000 0010 11 40 " + hSrc6 + hDst6 + "d431 0035 0010 0000", 0,
			Packet{L3: L3IPv6, Src: addrDst6, Dst: addrSrc6, TTL: 64, Proto: 58, IPLen: 96,
				L4: L4ICMPv6, ICMPType: 1, ICMPCode: 4, PayloadLen: 48,
				Quoted: true, QSrc: addrSrc6, QDst: addrDst6, QProto: 17, QSrcPort: 54321, QDstPort: 53, QHasPorts: true}},
		{"icmpv6/time-exceeded/hbh-tcp-probe", LinkRaw, "60000000 0040 3a 40 " + hDst6 + hSrc6 +
			"03 00 0000 00000000 " + "60000000 0020 00 01 " + hSrc6 + hDst6 + "06 00 0104 00000000 " + "8235 0050 11223344", 0,
			Packet{L3: L3IPv6, Src: addrDst6, Dst: addrSrc6, TTL: 64, Proto: 58, IPLen: 104,
				L4: L4ICMPv6, ICMPType: 3, PayloadLen: 56,
				Quoted: true, QSrc: addrSrc6, QDst: addrDst6, QProto: 6, QSrcPort: 33333, QDstPort: 80,
				QHasPorts: true, QSeq: 0x11223344, QHasSeq: true}},
		{"icmpv6/echo-in-ipv4-proto-1-is-icmp", LinkRaw, "45 00 001c 0003 0000 40 01 0000 0a000001 0a000002 " + "00 00 0000 0001 0002", 0,
			Packet{L3: L3IPv4, Src: addrA, Dst: addrB, TTL: 64, IPID: 3, Proto: 1, IPLen: 28,
				L4: L4ICMP, ICMPID: 1, ICMPSeq: 2}},
	}
}

// record builds the Record the cases decode; metadata is arbitrary but
// distinct so that the copy into Packet is checked.
func record(lt LinkType, data []byte, orig int) Record {
	if orig < len(data) {
		orig = len(data)
	}
	return Record{Frame: 7, Interface: 2, LinkType: lt, Timestamp: 1_700_000_000_123_456_789,
		Precision: 9, CapLen: len(data), OrigLen: orig, Data: data}
}

func TestDecode(t *testing.T) {
	for _, tc := range decodeCases() {
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
		})
	}
}

// checkNetOffset checks that p.NetOffset points at the IP header p's
// addresses come from, in rec's bytes (-1 when p has no IP layer, or the
// header is cut before its addresses), and returns it.
func checkNetOffset(t *testing.T, rec *Record, p *Packet) int32 {
	t.Helper()
	if p.NetOffset < 0 {
		if p.L3 != L3None && p.Src.IsValid() {
			t.Errorf("NetOffset %d for an IP packet from %s", p.NetOffset, p.Src)
		}
		return p.NetOffset
	}
	if int(p.NetOffset) > len(rec.Data) {
		t.Fatalf("NetOffset %d past the record's %d bytes", p.NetOffset, len(rec.Data))
	}
	b := rec.Data[p.NetOffset:]
	var src netip.Addr
	switch p.L3 {
	case L3IPv4:
		if ip, err := ParseIPv4(b); err == nil {
			src = ip.Source()
		}
	case L3IPv6:
		if ip, err := ParseIPv6(b); err == nil {
			src = ip.Source()
		}
	default:
		return p.NetOffset
	}
	if src.IsValid() && src != p.Src {
		t.Errorf("the IP header at NetOffset %d is from %s, the packet's source is %s", p.NetOffset, src, p.Src)
	}
	return p.NetOffset
}

// TestDecodeResets checks that Decode clears fields of a previous packet.
func TestDecodeResets(t *testing.T) {
	full := record(LinkRaw, h(t, hIP4TCP+hTCPSyn), 0)
	empty := record(LinkType(999), nil, 0)
	var p Packet
	Decode(&full, &p)
	Decode(&empty, &p)
	want := Packet{Frame: 7, Interface: 2, Link: LinkType(999), Timestamp: empty.Timestamp, Precision: 9,
		Anomalies: AnomalyUnknownLink, NetOffset: -1}
	if p != want {
		t.Errorf("Decode after reuse = %+v, want %+v", p, want)
	}
	Decode(nil, &p)
	if p != (Packet{}) {
		t.Errorf("Decode(nil) = %+v, want zero", p)
	}
	Decode(&full, nil) // must not panic
}

// TestDecodeEveryCut decodes every prefix of every case: no panic, the
// snaplen anomaly set, and whatever was decoded agrees with the full packet.
func TestDecodeEveryCut(t *testing.T) {
	for _, tc := range decodeCases() {
		data := h(t, tc.data)
		fullRec := record(tc.link, data, 0)
		var full Packet
		Decode(&fullRec, &full)
		for n := 0; n < len(data); n++ {
			rec := record(tc.link, data[:n], len(data))
			var p Packet
			Decode(&rec, &p)
			if p.Anomalies&AnomalySnapTruncated == 0 {
				t.Errorf("%s cut at %d: AnomalySnapTruncated not set", tc.name, n)
			}
			checkConsistent(t, &p)
			if p.L3 != L3None && p.L3 != full.L3 {
				t.Errorf("%s cut at %d: L3 = %d, full packet %d", tc.name, n, p.L3, full.L3)
			}
			if p.L3 == L3IPv4 || p.L3 == L3IPv6 {
				if p.Src != full.Src || p.Dst != full.Dst {
					t.Errorf("%s cut at %d: %v > %v, full packet %v > %v", tc.name, n, p.Src, p.Dst, full.Src, full.Dst)
				}
			}
			if p.L4 == L4TCP || p.L4 == L4UDP {
				if p.SrcPort != full.SrcPort || p.DstPort != full.DstPort {
					t.Errorf("%s cut at %d: ports %d > %d, full packet %d > %d", tc.name, n,
						p.SrcPort, p.DstPort, full.SrcPort, full.DstPort)
				}
			}
			if p.TCPFlags != 0 && p.TCPFlags != full.TCPFlags {
				t.Errorf("%s cut at %d: flags %#x, full packet %#x", tc.name, n, p.TCPFlags, full.TCPFlags)
			}
			if p.QHasPorts && (p.QSrcPort != full.QSrcPort || p.QDstPort != full.QDstPort) {
				t.Errorf("%s cut at %d: quoted ports differ from the full packet", tc.name, n)
			}
		}
	}
}

// checkConsistent asserts the invariants the scan engine relies on.
func checkConsistent(t testing.TB, p *Packet) {
	t.Helper()
	switch p.L3 {
	case L3IPv4:
		if !p.Src.Is4() || !p.Dst.Is4() {
			t.Errorf("L3IPv4 with addresses %v, %v", p.Src, p.Dst)
		}
	case L3IPv6:
		if !p.Src.Is6() || !p.Dst.Is6() {
			t.Errorf("L3IPv6 with addresses %v, %v", p.Src, p.Dst)
		}
	default:
		if p.Src.IsValid() || p.L4 != L4None {
			t.Errorf("L3 %d with Src %v, L4 %d", p.L3, p.Src, p.L4)
		}
	}
	if p.L4 != L4None && p.Frag == FragLater {
		t.Errorf("later fragment with L4 %d", p.L4)
	}
	if p.L4 != L4TCP && (p.TCPFlags != 0 || p.Seq != 0 || p.OptCount != 0) {
		t.Errorf("L4 %d with TCP fields %+v", p.L4, p)
	}
	if p.L4 != L4ICMP && p.L4 != L4ICMPv6 && (p.Quoted || p.ICMPType != 0) {
		t.Errorf("L4 %d with ICMP fields %+v", p.L4, p)
	}
	if p.PayloadLen < 0 || p.IPLen < 0 {
		t.Errorf("negative lengths %d, %d", p.PayloadLen, p.IPLen)
	}
	if p.DataOffset%4 != 0 || p.DataOffset > TCPMaxLen {
		t.Errorf("DataOffset %d", p.DataOffset)
	}
	if p.VLANTags > MaxLinkTags {
		t.Errorf("VLANTags %d > %d", p.VLANTags, MaxLinkTags)
	}
	if p.QHasSeq && !p.QHasPorts || p.QHasPorts && !p.Quoted {
		t.Errorf("quoted flags inconsistent: %+v", p)
	}
	if p.CapLen < p.OrigLen && p.Anomalies&AnomalySnapTruncated == 0 {
		t.Errorf("CapLen %d < OrigLen %d without AnomalySnapTruncated", p.CapLen, p.OrigLen)
	}
	if p.L4 != L4SCTP && (p.SCTPVTag != 0 || p.SCTPChunk != 0 || p.SCTPChunkFlags != 0) {
		t.Errorf("L4 %d with SCTP fields %+v", p.L4, p)
	}
	checkTunnelFields(t, p)
}

// checkTunnelFields asserts the tunnel fields agree with each other: a
// known kind per layer removed and nothing beyond, outer endpoints exactly
// when a layer was removed, and a carried packet with addresses.
func checkTunnelFields(t testing.TB, p *Packet) {
	t.Helper()
	d := int(p.TunnelDepth)
	if d > MaxTunnelDepth {
		t.Errorf("TunnelDepth %d > %d", d, MaxTunnelDepth)
	}
	for i := range 4 {
		k := TunnelKind(p.TunnelKinds >> (8 * i))
		if (i < d) != (k != TunnelNone) || k >= NumTunnelKinds {
			t.Errorf("depth %d, layer %d of kind %d (TunnelKinds %#x)", d, i, k, p.TunnelKinds)
		}
	}
	if (d > 0) != p.OuterSrc.IsValid() || (d > 0) != p.OuterDst.IsValid() {
		t.Errorf("depth %d with outer endpoints %v > %v", d, p.OuterSrc, p.OuterDst)
	}
	if d > 0 && p.L3 != L3IPv4 && p.L3 != L3IPv6 {
		t.Errorf("depth %d carrying L3 %d", d, p.L3)
	}
}

func TestFlagString(t *testing.T) {
	tests := []struct {
		flags uint16
		want  string
	}{
		{0, ""},
		{TCPFlagSYN, "S"},
		{TCPFlagFIN, "F"},
		{TCPFlagACK, "A"},
		{TCPFlagFIN | TCPFlagACK, "FA"},
		{TCPFlagFIN | TCPFlagPSH | TCPFlagURG, "FPU"},
		{TCPFlagSYN | TCPFlagACK, "SA"},
		{TCPFlagRST | TCPFlagACK, "RA"},
		{TCPFlagSYN | TCPFlagECE | TCPFlagCWR, "SEW"},
		{TCPFlagSYN | TCPFlagFIN | TCPFlagRST | TCPFlagPSH | TCPFlagURG, "FSRPU"}, // built, not a constant
		{TCPFlagNS | TCPFlagSYN, "SN"},
		{0x1ff, "FSRPAUEWN"},
		{0xfe00 | TCPFlagSYN, "S"}, // bits above NS ignored
	}
	for _, tc := range tests {
		if got := FlagString(tc.flags); got != tc.want {
			t.Errorf("FlagString(%#x) = %q, want %q", tc.flags, got, tc.want)
		}
	}
	// Every value agrees with the letter-by-letter reference.
	for f := 0; f < 0x200; f++ {
		var ref []byte
		for _, l := range flagLetters {
			if uint16(f)&l.bit != 0 {
				ref = append(ref, l.letter)
			}
		}
		if got := FlagString(uint16(f)); got != string(ref) {
			t.Errorf("FlagString(%#x) = %q, want %q", f, got, ref)
		}
	}
}

func TestFlagStringCommonNoAlloc(t *testing.T) {
	common := []uint16{0, TCPFlagSYN, TCPFlagFIN, TCPFlagACK, TCPFlagRST, TCPFlagFIN | TCPFlagACK,
		TCPFlagFIN | TCPFlagPSH | TCPFlagURG, TCPFlagSYN | TCPFlagACK, TCPFlagRST | TCPFlagACK,
		TCPFlagPSH | TCPFlagACK, TCPFlagFIN | TCPFlagPSH | TCPFlagACK}
	for _, f := range common {
		if n := testing.AllocsPerRun(100, func() { _ = FlagString(f) }); n != 0 {
			t.Errorf("FlagString(%#x) allocates %v times", f, n)
		}
	}
}

func TestDecodeNoAlloc(t *testing.T) {
	var recs []Record
	for _, tc := range decodeCases() {
		recs = append(recs, record(tc.link, h(t, tc.data), tc.orig))
	}
	var p Packet
	n := testing.AllocsPerRun(100, func() {
		for i := range recs {
			Decode(&recs[i], &p)
		}
	})
	if n != 0 {
		t.Errorf("Decode allocates %v times per run of %d records", n, len(recs))
	}
}

func TestViews(t *testing.T) {
	ip4, err := ParseIPv4(h(t, "46 b8 0030 abcd 7fff 3b 06 1234 c0a8010a c0a80114 01010100 "+hTCPSyn))
	if err != nil {
		t.Fatalf("ParseIPv4 = %v", err)
	}
	if ip4.Version() != 4 || ip4.IHLWords() != 6 || ip4.HeaderLen() != 24 || ip4.TOS() != 0xb8 ||
		ip4.TotalLength() != 48 || ip4.Identification() != 0xabcd || !ip4.DontFragment() ||
		!ip4.MoreFragments() || ip4.FragmentOffset() != 0x1fff || ip4.TTL() != 59 || ip4.Protocol() != 6 ||
		ip4.Checksum() != 0x1234 || ip4.Source() != addrSrc4 || ip4.Destination() != addrDst4 ||
		len(ip4.Options()) != 4 || len(ip4.Payload()) != 24 || ip4.Length() != 48 {
		t.Errorf("IPv4 accessors wrong for %x", []byte(ip4))
	}
	ip6, err := ParseIPv6(h(t, "6abcdef1 0018 06 40 "+hSrc6+hDst6+hTCPSyn+"ffff"))
	if err != nil {
		t.Fatalf("ParseIPv6 = %v", err)
	}
	if ip6.Version() != 6 || ip6.TrafficClass() != 0xab || ip6.FlowLabel() != 0xcdef1 ||
		ip6.PayloadLength() != 24 || ip6.NextHeader() != 6 || ip6.HopLimit() != 64 ||
		ip6.Source() != addrSrc6 || ip6.Destination() != addrDst6 || len(ip6.Payload()) != 24 {
		t.Errorf("IPv6 accessors wrong for %x", []byte(ip6))
	}
	tcp, err := ParseTCP(h(t, hTCPSyn+"abcd"))
	if err != nil {
		t.Fatalf("ParseTCP = %v", err)
	}
	if tcp.SourcePort() != 33333 || tcp.DestinationPort() != 80 || tcp.SequenceNumber() != 0x11223344 ||
		tcp.AcknowledgmentNumber() != 0 || tcp.DataOffset() != 24 || tcp.Flags() != TCPFlagSYN ||
		tcp.Window() != 1024 || tcp.Checksum() != 0 || tcp.UrgentPointer() != 0 ||
		string(tcp.Options()) != "\x02\x04\x05\xb4" || string(tcp.Payload()) != "\xab\xcd" {
		t.Errorf("TCP accessors wrong for %x", []byte(tcp))
	}
	udp, err := ParseUDP(h(t, hUDP))
	if err != nil {
		t.Fatalf("ParseUDP = %v", err)
	}
	if udp.SourcePort() != 54321 || udp.DestinationPort() != 53 || udp.Length() != 16 || udp.Checksum() != 0 ||
		len(udp.Payload()) != 8 {
		t.Errorf("UDP accessors wrong for %x", []byte(udp))
	}
	icmp, err := ParseICMP(h(t, "03 03 beef 00000000 45"))
	if err != nil {
		t.Fatalf("ParseICMP = %v", err)
	}
	if icmp.Type() != 3 || icmp.Code() != 3 || icmp.Checksum() != 0xbeef || icmp.Identifier() != 0 ||
		icmp.SequenceNumber() != 0 || string(icmp.Body()) != "\x45" {
		t.Errorf("ICMP accessors wrong for %x", []byte(icmp))
	}
	eth, err := ParseEthernet(h(t, hEthV4+"45"))
	if err != nil {
		t.Fatalf("ParseEthernet = %v", err)
	}
	if eth.Destination() != [6]byte{0, 0x11, 0x22, 0x33, 0x44, 0x55} ||
		eth.Source() != [6]byte{0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb} || eth.EtherType() != EtherTypeIPv4 ||
		string(eth.Payload()) != "\x45" {
		t.Errorf("Ethernet accessors wrong for %x", []byte(eth))
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"ethernet short", second(ParseEthernet(make([]byte, 13))), ErrHeaderTruncated},
		{"ipv4 short", second(ParseIPv4(make([]byte, 19))), ErrHeaderTruncated},
		{"ipv4 version 6", second(ParseIPv4(h(t, hIP6TCP))), ErrHeaderInvalid},
		{"ipv4 ihl 15 in 20 bytes", second(ParseIPv4(h(t, "4f 00 002c abcd 0000 3b 06 0000 c0a8010a c0a80114"))), ErrHeaderTruncated},
		{"ipv6 short", second(ParseIPv6(make([]byte, 39))), ErrHeaderTruncated},
		{"ipv6 version 4", second(ParseIPv6(h(t, hIP4TCP+hTCPSyn))), ErrHeaderInvalid},
		{"tcp short", second(ParseTCP(make([]byte, 19))), ErrHeaderTruncated},
		{"tcp offset 4 words", second(ParseTCP(h(t, "8235 0050 11223344 00000000 40 02 0400 0000 0000"))), ErrHeaderInvalid},
		{"tcp offset beyond", second(ParseTCP(h(t, "8235 0050 11223344 00000000 60 02 0400 0000 0000"))), ErrHeaderTruncated},
		{"udp short", second(ParseUDP(make([]byte, 7))), ErrHeaderTruncated},
		{"icmp short", second(ParseICMP(make([]byte, 7))), ErrHeaderTruncated},
	}
	for _, tc := range tests {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func BenchmarkDecode(b *testing.B) {
	var recs []Record
	total := 0
	for _, tc := range decodeCases() {
		r := record(tc.link, h(b, tc.data), tc.orig)
		recs = append(recs, r)
		total += len(r.Data)
	}
	var p Packet
	b.SetBytes(int64(total / len(recs)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Decode(&recs[i%len(recs)], &p)
	}
}

func ExampleDecode() {
	// An nmap SYN probe in raw IPv4 (link type 101).
	frame := []byte{
		0x45, 0x00, 0x00, 0x2c, 0xab, 0xcd, 0x00, 0x00, 0x3b, 0x06, 0x00, 0x00,
		192, 168, 1, 10, 192, 168, 1, 20,
		0x82, 0x35, 0x00, 0x50, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0,
		0x60, 0x02, 0x04, 0x00, 0, 0, 0, 0, 0x02, 0x04, 0x05, 0xb4,
	}
	rec := Record{Frame: 1, LinkType: LinkRaw, CapLen: len(frame), OrigLen: len(frame), Data: frame}
	var p Packet
	Decode(&rec, &p)
	fmt.Printf("%v:%d > %v:%d flags %s ttl %d win %d mss %d\n",
		p.Src, p.SrcPort, p.Dst, p.DstPort, FlagString(p.TCPFlags), p.TTL, p.Window, p.MSS)
	// Output: 192.168.1.10:33333 > 192.168.1.20:80 flags S ttl 59 win 1024 mss 1460
}
