package scan

import (
	"fmt"
	"slices"
	"testing"

	"porthunter/pcapng"
)

// proto adds an IP packet of protocol p with n bytes of payload and no
// transport header the decoder reads (as Decode leaves it: L4Other, or
// L4None for an IPv6 extension header cut short).
func (b *builder) proto(ts int64, src, dst string, p uint8, n int) *pcapng.Packet {
	q := b.base(ts, src, dst)
	q.Proto, q.L4, q.PayloadLen = p, pcapng.L4Other, n
	if q.L3 == pcapng.L3IPv6 && (p == 0 || p == 43 || p == 44 || p == 60) {
		q.L4 = pcapng.L4None
	}
	b.agg.Add(&q)
	return &q
}

// quoteProto is the header of a packet of protocol p, for ICMP errors.
func quoteProto(src, dst string, p uint8) *pcapng.Packet {
	return &pcapng.Packet{Src: ip(src), Dst: ip(dst), Proto: p}
}

// icmpNoPorts adds an ICMP error quoting a header without ports.
func (b *builder) icmpNoPorts(ts int64, src, dst string, typ, code uint8, q *pcapng.Packet) {
	p := b.base(ts, src, dst)
	p.Proto, p.L4 = protoICMP, pcapng.L4ICMP
	if p.L3 == pcapng.L3IPv6 {
		p.Proto, p.L4 = protoICMPv6, pcapng.L4ICMPv6
	}
	p.ICMPType, p.ICMPCode = typ, code
	p.Quoted, p.QSrc, p.QDst, p.QProto = true, q.Src, q.Dst, q.Proto
	b.agg.Add(&p)
}

// protoSweep is nmap -sO of protocols 0-63 on one host as a Linux target
// answers it: protocol unreachable for every protocol it lacks, silence
// for IGMP, a GRE answer (a GRE endpoint), a RST to the TCP ACK, ICMP port
// unreachable to the UDP datagram, an echo reply. v6 answers with
// parameter problem 4/1 instead of 3/2.
func protoSweep(b *builder, src, dst string, v6 bool) {
	icmpP := uint8(protoICMP)
	if v6 {
		icmpP = protoICMPv6
	}
	for p := range 64 {
		ts := t0 + int64(p)*sec/100
		switch uint8(p) {
		case protoTCP:
			b.tcp(ts, src, 46786, dst, 80, fA, 0)
			b.tcp(ts+1000, dst, 80, src, 46786, fR, 0)
		case protoUDP:
			b.udp(ts, src, 46786, dst, 40125, 0)
			if v6 {
				b.icmp(ts+1000, dst, src, icmp6Unreachable, icmp6PortUnreach, quoteUDP(src, 46786, dst, 40125))
			} else {
				b.icmp(ts+1000, dst, src, icmpUnreachable, icmpPortUnreach, quoteUDP(src, 46786, dst, 40125))
			}
		case icmpP:
			e := b.base(ts, src, dst)
			r := b.base(ts+1000, dst, src)
			if v6 {
				e.Proto, e.L4, e.ICMPType = protoICMPv6, pcapng.L4ICMPv6, icmp6EchoRequest
				r.Proto, r.L4, r.ICMPType = protoICMPv6, pcapng.L4ICMPv6, icmp6EchoReply
			} else {
				e.Proto, e.L4, e.ICMPType = protoICMP, pcapng.L4ICMP, icmpEcho
				r.Proto, r.L4, r.ICMPType = protoICMP, pcapng.L4ICMP, icmpEchoReply
			}
			b.agg.Add(&e)
			b.agg.Add(&r)
		case 2: // IGMP: a handler, no answer
			b.proto(ts, src, dst, 2, 8)
		case 47: // GRE: answered in GRE
			b.proto(ts, src, dst, 47, 0)
			b.proto(ts+1000, dst, src, 47, 4)
		default:
			b.proto(ts, src, dst, uint8(p), 0)
			if v6 {
				b.icmpNoPorts(ts+1000, dst, src, icmp6ParamProblem, icmp6UnknownNextHeader, quoteProto(src, dst, uint8(p)))
			} else {
				b.icmpNoPorts(ts+1000, dst, src, icmpUnreachable, icmpProtoUnreach, quoteProto(src, dst, uint8(p)))
			}
		}
	}
}

// TestProtocolScan: nmap -sO is a vertical scan of protocols: listed as
// ip_protocol_scan, with protocol 3/2 as closed, an answer in the
// protocol (and the UDP probe's port unreachable) as open, silence as
// open|filtered; the sweep's TCP, UDP and ICMP probes are protocol probes.
func TestProtocolScan(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(fmt.Sprintf("ipv6=%v", v6), func(t *testing.T) {
			src, dst, icmpP := "198.51.100.10", "10.66.0.20", protoICMP
			if v6 {
				src, dst, icmpP = "fd00:99::10", "fd00:66::20", protoICMPv6
			}
			b := newBuilder(DefaultConfig())
			protoSweep(b, src, dst, v6)
			an := b.agg.Finish()
			s, ok := listed(an)[src]
			if !ok || len(listed(an)) != 1 {
				t.Fatalf("suspects %v, want only %s", an.Suspects(DefaultThresholds()), src)
			}
			if s.Kind != "vertical" || !slices.Equal(s.Techniques, []string{"ip_protocol_scan"}) || s.DistinctProtocols != 64 ||
				s.DistinctPorts != 0 || !slices.Equal(s.FlagsSeen, []string{"IP"}) {
				t.Errorf("suspect %+v, want a vertical ip_protocol_scan of 64 protocols, no ports", s)
			}
			wantOpen := []int{icmpP, protoTCP, protoUDP, 47}
			slices.Sort(wantOpen)
			if !slices.Equal(s.OpenProtocols, wantOpen) {
				t.Errorf("open protocols %v, want %v", s.OpenProtocols, wantOpen)
			}
			d := mustDetail(t, an, src)
			var wantClosed []int
			for p := range 64 {
				if !slices.Contains(wantOpen, p) && p != 2 {
					wantClosed = append(wantClosed, p)
				}
			}
			if !slices.Equal(d.ClosedProtocols, wantClosed) || len(d.Protocols) != 64 || d.Outcomes.Unanswered != 1 {
				t.Errorf("closed %v (want %v), protocols %d, outcomes %+v", d.ClosedProtocols, wantClosed, len(d.Protocols), d.Outcomes)
			}
			if len(d.OpenPorts) != 0 || len(d.Ports) != 0 {
				t.Errorf("ports %v, open ports %v: protocols are not ports", d.Ports, d.OpenPorts)
			}
			fe := an.FirstEvent(DefaultThresholds())
			if fe == nil || fe.Technique != "ip_protocol_scan" || fe.IPProto == nil || *fe.IPProto != 0 || fe.Proto != "ip" {
				t.Errorf("first event %+v, want protocol 0's probe", fe)
			}
		})
	}
}

// TestProtocolsBesidePortScan: a SYN scan and a protocol sweep of one
// host from one source keep their own techniques: the SYN probes are
// many, so none of them is taken for the sweep's TCP probe.
func TestProtocolsBesidePortScan(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for port := uint16(1); port <= 20; port++ {
		ts := t0 + int64(port)*sec/100
		b.tcp(ts, scanner, 45000, victim, port, fS, 0)
		b.tcp(ts+1000, victim, port, scanner, 45000, fR|fA, 0)
	}
	for p := uint8(100); p < 110; p++ {
		ts := t0 + sec + int64(p)*sec/100
		b.proto(ts, scanner, victim, p, 0)
		b.icmpNoPorts(ts+1000, victim, scanner, icmpUnreachable, icmpProtoUnreach, quoteProto(scanner, victim, p))
	}
	an := b.agg.Finish()
	s := listed(an)[scanner]
	if !slices.Equal(s.Techniques, []string{"ip_protocol_scan", "syn_scan"}) || s.DistinctPorts != 20 || s.DistinctProtocols != 10 {
		t.Errorf("suspect %+v, want syn_scan of 20 ports and ip_protocol_scan of 10 protocols", s)
	}
}

// TestTunnelsAreNotProtocolScans: two routers exchanging GRE, ESP, AH
// and unicast OSPF, a VPN concentrator sending ESP to 40 peers that
// answer and 40 that do not, and multicast routing protocols are not
// protocol sweeps: a handful of protocols per pair never makes one.
func TestTunnelsAreNotProtocolScans(t *testing.T) {
	b := newBuilder(DefaultConfig())
	const r1, r2, vpn = "192.0.2.1", "192.0.2.2", "198.51.100.1"
	for i := range 50 {
		ts := t0 + int64(i)*sec/10
		for _, p := range []uint8{47, 50, 51, 89} {
			b.proto(ts, r1, r2, p, 100)
			b.proto(ts+1000, r2, r1, p, 100)
		}
		b.proto(ts, r1, "224.0.0.5", 89, 40)   // OSPF hello
		b.proto(ts, r2, "224.0.0.18", 112, 20) // VRRP
	}
	for i := range 80 {
		peer := fmt.Sprintf("203.0.113.%d", i+1)
		ts := t0 + int64(i)*sec/50
		b.proto(ts, vpn, peer, 50, 120)
		if i%2 == 0 {
			b.proto(ts+1000, peer, vpn, 50, 120)
		}
	}
	an := b.agg.Finish()
	if s := an.Suspects(DefaultThresholds()); len(s) != 0 {
		t.Errorf("suspects %+v, want none", s)
	}
	if s := an.Suspects(lowThresholds); len(s) != 0 {
		t.Errorf("suspects under thresholds of 3 %+v, want none", s)
	}
	for _, a := range []string{r1, r2, vpn} {
		if d := mustDetail(t, an, a); d.Probes != 0 {
			t.Errorf("%s has %d probes, want none", a, d.Probes)
		}
	}
}

// TestProtoProbeIsNotQuotedTransport: an IPv4 packet of protocol 58
// (ICMPv6) and an IPv6 packet of protocol 1 (ICMP) are foreign protocols
// to their IP version; errors quoting them answer their protocol probes.
func TestProtoProbeIsNotQuotedTransport(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for i, p := range []uint8{58, 3, 4, 5, 7, 8} {
		ts := t0 + int64(i)*sec/100
		b.proto(ts, scanner, victim, p, 0)
		b.icmpNoPorts(ts+1000, victim, scanner, icmpUnreachable, icmpProtoUnreach, quoteProto(scanner, victim, p))
	}
	an := b.agg.Finish()
	d := mustDetail(t, an, scanner)
	if !slices.Equal(d.ClosedProtocols, []int{3, 4, 5, 7, 8, 58}) {
		t.Errorf("closed protocols %v, want 3 4 5 7 8 58", d.ClosedProtocols)
	}
}
