package pcapng

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"net/netip"
	"testing"
)

// Fuzz targets for the header views and Decode. Seeds are the hand-built
// packets of decode_test.go; each target asserts no panic, zero results on
// error, accessors in range, and agreement with a simple reference read of
// the raw bytes.

// seedCases calls add with every hand-built case and its bytes.
func seedCases(f *testing.F, add func(c decodeCase, data []byte)) {
	for _, c := range decodeCases() {
		add(c, h(f, c.data))
	}
}

// networkLayer returns the bytes after the case's link header.
func networkLayer(c decodeCase, data []byte) []byte {
	var p Packet
	return linkDecode(&p, c.link, data)
}

// transportLayer returns the captured transport bytes of a case and the
// protocol that carries them, or nil.
func transportLayer(c decodeCase, data []byte) (uint8, []byte) {
	b := networkLayer(c, data)
	if ip, err := ParseIPv4(b); err == nil && ip.FragmentOffset() == 0 {
		return ip.Protocol(), ip.Payload()
	}
	if ip, err := ParseIPv6(b); err == nil {
		w := ip6Walk(ip.NextHeader(), ip.Payload(), len(ip.Payload()))
		if w.done && w.frag != FragLater {
			return w.proto, w.rest
		}
	}
	return 0, nil
}

func FuzzEthernet(f *testing.F) {
	seedCases(f, func(c decodeCase, data []byte) {
		if c.link == LinkEthernet {
			f.Add(data)
		}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEthernet(data)
		if err != nil {
			if e != nil || len(data) >= EthernetLen {
				t.Fatalf("ParseEthernet(%x) = %x, %v", data, []byte(e), err)
			}
		} else {
			if e.EtherType() != binary.BigEndian.Uint16(data[12:]) || len(e.Payload()) != len(data)-EthernetLen ||
				e.Destination() != [6]byte(data[:6]) || e.Source() != [6]byte(data[6:12]) {
				t.Fatalf("Ethernet accessors disagree with the bytes %x", data)
			}
		}
		p := decodeFuzz(t, LinkEthernet, data)
		if len(data) < EthernetLen && p.Anomalies&AnomalyLinkTruncated == 0 {
			t.Fatalf("short frame %x without AnomalyLinkTruncated", data)
		}
	})
}

func FuzzIPv4(f *testing.F) {
	seedCases(f, func(c decodeCase, data []byte) {
		if b := networkLayer(c, data); len(b) > 0 && b[0]>>4 == 4 {
			f.Add(b)
		}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		ip, err := ParseIPv4(data)
		p := decodeFuzz(t, LinkIPv4, data)
		if err != nil {
			if ip != nil || p.L3 != L3None {
				t.Fatalf("ParseIPv4(%x) = %v with view %x, Decode L3 %d", data, err, []byte(ip), p.L3)
			}
			return
		}
		hl := ip.HeaderLen()
		if hl < IPv4MinLen || hl > 60 || hl > len(data) || len(ip.Options()) != hl-IPv4MinLen ||
			ip.Length() < hl || len(ip.Payload()) > len(data)-hl || len(ip.Payload()) > ip.Length()-hl {
			t.Fatalf("ParseIPv4(%x) accepted with out-of-range lengths", data)
		}
		if ip.Source() != netip.AddrFrom4([4]byte(data[12:16])) || ip.Destination() != netip.AddrFrom4([4]byte(data[16:20])) {
			t.Fatalf("IPv4 addresses disagree with the bytes %x", data)
		}
		if p.TunnelDepth > 0 {
			// The packet carried a tunnel: the view is its outermost packet.
			if p.OuterSrc != ip.Source() || p.OuterDst != ip.Destination() || ip.FragmentOffset() != 0 || ip.MoreFragments() {
				t.Fatalf("Decode(%x) = %+v: tunnel endpoints disagree with the view", data, p)
			}
			return
		}
		if p.L3 != L3IPv4 || p.Src != ip.Source() || p.Dst != ip.Destination() || p.TTL != data[8] ||
			p.Proto != data[9] || p.IPID != uint32(binary.BigEndian.Uint16(data[4:])) || p.IPLen != ip.Length() {
			t.Fatalf("Decode(%x) = %+v disagrees with the view", data, p)
		}
		if later := binary.BigEndian.Uint16(data[6:])&0x1fff != 0; later != (p.Frag == FragLater) {
			t.Fatalf("Decode(%x): fragment offset vs Frag %d", data, p.Frag)
		}
	})
}

func FuzzIPv6(f *testing.F) {
	seedCases(f, func(c decodeCase, data []byte) {
		if b := networkLayer(c, data); len(b) > 0 && b[0]>>4 == 6 {
			f.Add(b)
		}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		ip, err := ParseIPv6(data)
		p := decodeFuzz(t, LinkIPv6, data)
		if err != nil {
			if ip != nil || p.L3 != L3None {
				t.Fatalf("ParseIPv6(%x) = %v with view %x, Decode L3 %d", data, err, []byte(ip), p.L3)
			}
			return
		}
		if ip.Source() != netip.AddrFrom16([16]byte(data[8:24])) || ip.Destination() != netip.AddrFrom16([16]byte(data[24:40])) ||
			len(ip.Payload()) > len(data)-IPv6Len || ip.Length() < IPv6Len {
			t.Fatalf("IPv6 view disagrees with the bytes %x", data)
		}
		if p.TunnelDepth > 0 {
			if p.OuterSrc != ip.Source() || p.OuterDst != ip.Destination() {
				t.Fatalf("Decode(%x) = %+v: tunnel endpoints disagree with the view", data, p)
			}
			return
		}
		if p.L3 != L3IPv6 || p.Src != ip.Source() || p.TTL != data[7] || p.IPLen != ip.Length() {
			t.Fatalf("Decode(%x) = %+v disagrees with the view", data, p)
		}
		if p.Anomalies&AnomalyExtLimit != 0 && p.L4 != L4None {
			t.Fatalf("Decode(%x): extension limit hit yet L4 %d", data, p.L4)
		}
	})
}

func FuzzTCP(f *testing.F) {
	seedCases(f, func(c decodeCase, data []byte) {
		if proto, b := transportLayer(c, data); proto == ipProtoTCP {
			f.Add(b)
		}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		tcp, err := ParseTCP(data)
		// The same bytes behind an IPv4 header whose total length covers them.
		pkt := make([]byte, IPv4MinLen+len(data))
		copy(pkt, []byte{0x45, 0, 0, 0, 0, 1, 0, 0, 64, ipProtoTCP, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2})
		binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
		copy(pkt[IPv4MinLen:], data)
		if len(pkt) > 0xffff {
			return
		}
		p := decodeFuzz(t, LinkIPv4, pkt)
		if (len(data) >= tcpNeedPorts) != (p.L4 == L4TCP) {
			t.Fatalf("TCP of %d bytes decoded as L4 %d", len(data), p.L4)
		}
		if p.L4 == L4TCP && (p.SrcPort != binary.BigEndian.Uint16(data) || p.DstPort != binary.BigEndian.Uint16(data[2:])) {
			t.Fatalf("ports %d > %d disagree with %x", p.SrcPort, p.DstPort, data)
		}
		if got := len(FlagString(p.TCPFlags)); got != bits.OnesCount16(p.TCPFlags&0x1ff) {
			t.Fatalf("FlagString(%#x) = %q: %d letters for %d bits", p.TCPFlags, FlagString(p.TCPFlags), got, bits.OnesCount16(p.TCPFlags))
		}
		if err != nil {
			if tcp != nil {
				t.Fatalf("ParseTCP(%x) = %v with view %x", data, err, []byte(tcp))
			}
			if len(data) >= TCPMinLen && p.Anomalies&(AnomalyBadL4Header|AnomalyL4Truncated) == 0 {
				t.Fatalf("ParseTCP(%x) = %v but Decode reported no anomaly", data, err)
			}
			return
		}
		doff := tcp.DataOffset()
		if doff < TCPMinLen || doff > TCPMaxLen || doff > len(data) || len(tcp.Options()) != doff-TCPMinLen ||
			len(tcp.Payload()) != len(data)-doff {
			t.Fatalf("ParseTCP(%x) accepted with out-of-range lengths", data)
		}
		if p.TCPFlags != tcp.Flags() || p.Seq != tcp.SequenceNumber() || p.Ack != tcp.AcknowledgmentNumber() ||
			p.Window != tcp.Window() || int(p.DataOffset) != doff || p.PayloadLen != len(data)-doff {
			t.Fatalf("Decode = %+v disagrees with the TCP view of %x", p, data)
		}
		if p.OptCount > MaxTCPOptions || (p.MSS != 0 && !hasOption(tcp.Options(), tcpOptMSS)) {
			t.Fatalf("options of %x: count %d, MSS %d", tcp.Options(), p.OptCount, p.MSS)
		}
	})
}

// hasOption is an unoptimised reference: does kind appear as a byte at all.
func hasOption(opts []byte, kind byte) bool {
	for _, b := range opts {
		if b == kind {
			return true
		}
	}
	return false
}

func FuzzICMP(f *testing.F) {
	seedCases(f, func(c decodeCase, data []byte) {
		if proto, b := transportLayer(c, data); proto == ipProtoICMP || proto == ipProtoICMPv6 {
			f.Add(proto == ipProtoICMPv6, b)
		}
	})
	f.Fuzz(func(t *testing.T, v6 bool, data []byte) {
		var pkt []byte
		lt := LinkIPv4
		if v6 {
			lt = LinkIPv6
			pkt = make([]byte, IPv6Len+len(data))
			pkt[0], pkt[6], pkt[7] = 0x60, ipProtoICMPv6, 64
			binary.BigEndian.PutUint16(pkt[4:], uint16(len(data)))
			copy(pkt[IPv6Len:], data)
		} else {
			pkt = make([]byte, IPv4MinLen+len(data))
			copy(pkt, []byte{0x45, 0, 0, 0, 0, 1, 0, 0, 64, ipProtoICMP, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2})
			binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
			copy(pkt[IPv4MinLen:], data)
		}
		if len(data) > 0xffff-IPv6Len {
			return
		}
		c, err := ParseICMP(data)
		p := decodeFuzz(t, lt, pkt)
		if (len(data) >= icmpNeedTypeCode) != (p.L4 == L4ICMP || p.L4 == L4ICMPv6) {
			t.Fatalf("ICMP of %d bytes decoded as L4 %d", len(data), p.L4)
		}
		if err != nil {
			if c != nil || p.Quoted {
				t.Fatalf("ParseICMP(%x) = %v with view %x, Quoted %v", data, err, []byte(c), p.Quoted)
			}
			return
		}
		if p.ICMPType != c.Type() || p.ICMPCode != c.Code() || len(c.Body()) != len(data)-ICMPLen {
			t.Fatalf("Decode = %+v disagrees with the ICMP view of %x", p, data)
		}
		if !p.Quoted {
			return
		}
		q := c.Body()
		var src, dst netip.Addr
		if v6 {
			src, dst = netip.AddrFrom16([16]byte(q[8:24])), netip.AddrFrom16([16]byte(q[24:40]))
		} else {
			src, dst = netip.AddrFrom4([4]byte(q[12:16])), netip.AddrFrom4([4]byte(q[16:20]))
		}
		if p.QSrc != src || p.QDst != dst {
			t.Fatalf("quoted %v > %v, bytes say %v > %v", p.QSrc, p.QDst, src, dst)
		}
		if p.QHasPorts && p.QProto != ipProtoTCP && p.QProto != ipProtoUDP && p.QProto != ipProtoSCTP {
			t.Fatalf("quoted ports for protocol %d", p.QProto)
		}
	})
}

func FuzzDecode(f *testing.F) {
	seedCases(f, func(c decodeCase, data []byte) { f.Add(uint16(c.link), data) })
	// One seed per tunnel kind and per way of not being one
	// (tunnel_test.go), so the fuzzer starts inside every decapsulator.
	for _, c := range tunnelCases() {
		f.Add(uint16(c.link), h(f, c.data))
	}
	f.Fuzz(func(t *testing.T, link uint16, data []byte) {
		p := decodeFuzz(t, LinkType(link), data)
		if p.Link != LinkType(link) || p.CapLen != len(data) {
			t.Fatalf("metadata not copied: %+v", p)
		}
		if p.TunnelDepth == 0 {
			return
		}
		// A reference for what decapsulation found: the outer endpoints
		// are in the input as an IP header holds them (source, then
		// destination), and the carried packet's after them.
		outer := pairIndex(data, p.OuterSrc, p.OuterDst, 0)
		if outer < 0 || pairIndex(data, p.Src, p.Dst, outer+1) < 0 {
			t.Fatalf("Decode(%x) = %+v: addresses not where a tunnel puts them", data, p)
		}
	})
}

// pairIndex is the first offset at or after from where the bytes of a
// and then b appear in data, or -1.
func pairIndex(data []byte, a, b netip.Addr, from int) int {
	if from > len(data) {
		return -1
	}
	i := bytes.Index(data[from:], append(a.AsSlice(), b.AsSlice()...))
	if i < 0 {
		return -1
	}
	return from + i
}

// decodeFuzz decodes data twice (into a fresh and a dirty Packet), checks
// that the results match and are consistent, and returns the packet.
func decodeFuzz(t *testing.T, lt LinkType, data []byte) Packet {
	t.Helper()
	rec := Record{Frame: 1, LinkType: lt, CapLen: len(data), OrigLen: len(data), Data: data}
	var p Packet
	Decode(&rec, &p)
	dirty := Packet{L3: L3IPv6, L4: L4TCP, Quoted: true, SrcPort: 9, WScale: 3, OptKinds: ^uint64(0)}
	Decode(&rec, &dirty)
	if p != dirty {
		t.Fatalf("Decode depends on the previous packet:\n %+v\n %+v", p, dirty)
	}
	checkConsistent(t, &p)
	return p
}
