package scan

import (
	"net/netip"
	"testing"

	"porthunter/pcapng"
)

// Flag shorthands for hand-built segments.
const (
	fF = pcapng.TCPFlagFIN
	fS = pcapng.TCPFlagSYN
	fR = pcapng.TCPFlagRST
	fP = pcapng.TCPFlagPSH
	fA = pcapng.TCPFlagACK
	fU = pcapng.TCPFlagURG
)

const sec = int64(1_000_000_000)

// t0 is 2026-03-14T09:26:53Z, the fixtures' epoch.
const t0 = int64(1773480413) * sec

// builder numbers frames and keeps time for hand-built packets.
type builder struct {
	agg   *Aggregator
	frame uint64
}

func newBuilder(c Config) *builder { return &builder{agg: NewAggregator(c)} }

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// analyzePackets aggregates ps, in order, under c.
func analyzePackets(ps []pcapng.Packet, c Config) *Analysis {
	agg := NewAggregator(c)
	for i := range ps {
		agg.Add(&ps[i])
	}
	return agg.Finish()
}

func (b *builder) base(ts int64, src, dst string) pcapng.Packet {
	b.frame++
	p := pcapng.Packet{Frame: b.frame, Timestamp: ts, Precision: 6, Src: ip(src), Dst: ip(dst), TTL: 64, WScale: 0xff}
	p.L3 = pcapng.L3IPv4
	if p.Src.Is6() {
		p.L3 = pcapng.L3IPv6
	}
	return p
}

// tcp adds a TCP segment.
func (b *builder) tcp(ts int64, src string, sp uint16, dst string, dp uint16, flags uint16, payload int) *pcapng.Packet {
	p := b.base(ts, src, dst)
	p.Proto, p.L4 = protoTCP, pcapng.L4TCP
	p.SrcPort, p.DstPort, p.TCPFlags, p.PayloadLen = sp, dp, flags, payload
	p.Window = 1024
	b.agg.Add(&p)
	return &p
}

// udp adds a UDP datagram.
func (b *builder) udp(ts int64, src string, sp uint16, dst string, dp uint16, payload int) {
	p := b.base(ts, src, dst)
	p.Proto, p.L4 = protoUDP, pcapng.L4UDP
	p.SrcPort, p.DstPort, p.PayloadLen = sp, dp, payload
	b.agg.Add(&p)
}

// icmp adds an ICMP message; quote, when given, is the datagram it quotes.
func (b *builder) icmp(ts int64, src, dst string, typ, code uint8, quote *pcapng.Packet) {
	p := b.base(ts, src, dst)
	p.Proto, p.L4 = protoICMP, pcapng.L4ICMP
	if p.L3 == pcapng.L3IPv6 {
		p.Proto, p.L4 = protoICMPv6, pcapng.L4ICMPv6
	}
	p.ICMPType, p.ICMPCode = typ, code
	if quote != nil {
		p.Quoted, p.QSrc, p.QDst, p.QProto = true, quote.Src, quote.Dst, quote.Proto
		p.QSrcPort, p.QDstPort, p.QHasPorts = quote.SrcPort, quote.DstPort, true
	}
	b.agg.Add(&p)
}

// quoteUDP is the header of a UDP datagram, for ICMP errors to quote.
func quoteUDP(src string, sp uint16, dst string, dp uint16) *pcapng.Packet {
	return &pcapng.Packet{Src: ip(src), Dst: ip(dst), Proto: protoUDP, SrcPort: sp, DstPort: dp}
}

func quoteTCP(src string, sp uint16, dst string, dp uint16) *pcapng.Packet {
	return &pcapng.Packet{Src: ip(src), Dst: ip(dst), Proto: protoTCP, SrcPort: sp, DstPort: dp}
}

// listed returns the suspects under the default thresholds by address.
func listed(an *Analysis) map[string]Suspect {
	m := map[string]Suspect{}
	for _, s := range an.Suspects(DefaultThresholds()) {
		m[s.IP.String()] = s
	}
	return m
}

func mustDetail(t *testing.T, an *Analysis, a string) *Detail {
	t.Helper()
	d, ok := an.Detail(ip(a))
	if !ok {
		t.Fatalf("Detail(%s) = false", a)
	}
	return d
}
