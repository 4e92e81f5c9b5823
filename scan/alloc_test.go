package scan

import (
	"strconv"
	"testing"

	"porthunter/pcapng"
)

// steadyPackets is a connection's worth of segments of flows already seen,
// in both directions, plus a UDP exchange.
func steadyPackets(n int) []pcapng.Packet {
	b := newBuilder(DefaultConfig())
	var ps []pcapng.Packet
	for i := range n {
		ts := t0 + int64(i)*1000
		ps = append(ps,
			*b.tcp(ts, "10.0.0.1", 40000, "10.0.0.2", 80, fA|fP, 100),
			*b.tcp(ts+1, "10.0.0.2", 80, "10.0.0.1", 40000, fA, 0))
	}
	// A DNS exchange, an echo and its reply, an ICMP error quoting a
	// known probe, over IPv4 and IPv6.
	for _, pair := range [][2]string{{"10.0.0.1", "10.0.0.53"}, {"2001:db8::1", "2001:db8::53"}} {
		c, s := pair[0], pair[1]
		u := b.base(t0, c, s)
		u.Proto, u.L4, u.SrcPort, u.DstPort, u.PayloadLen = protoUDP, pcapng.L4UDP, 5353, 53, 30
		r := b.base(t0+1, s, c)
		r.Proto, r.L4, r.SrcPort, r.DstPort, r.PayloadLen = protoUDP, pcapng.L4UDP, 53, 5353, 90
		e := b.base(t0+2, c, s)
		e.Proto, e.L4, e.ICMPType = protoICMP, pcapng.L4ICMP, icmpEcho
		er := b.base(t0+3, s, c)
		er.Proto, er.L4, er.ICMPType = protoICMP, pcapng.L4ICMP, icmpEchoReply
		if u.L3 == pcapng.L3IPv6 {
			e.Proto, e.L4, e.ICMPType = protoICMPv6, pcapng.L4ICMPv6, icmp6EchoRequest
			er.Proto, er.L4, er.ICMPType = protoICMPv6, pcapng.L4ICMPv6, icmp6EchoReply
		}
		q := b.base(t0+4, s, c)
		q.Proto, q.L4, q.ICMPType, q.ICMPCode = er.Proto, er.L4, icmpUnreachable, icmpPortUnreach
		if u.L3 == pcapng.L3IPv6 {
			q.ICMPType, q.ICMPCode = icmp6Unreachable, icmp6PortUnreach
		}
		q.Quoted, q.QSrc, q.QDst, q.QProto, q.QSrcPort, q.QDstPort, q.QHasPorts = true, u.Src, u.Dst, protoUDP, 5353, 53, true
		ps = append(ps, u, r, e, er, q)
	}
	return ps
}

func TestAddAllocs(t *testing.T) {
	agg := NewAggregator(DefaultConfig())
	ps := steadyPackets(64)
	for i := range ps { // first contact creates the state
		agg.Add(&ps[i])
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		agg.Add(&ps[i%len(ps)])
		i++
	})
	if allocs != 0 {
		t.Errorf("Add on known flows allocates %v times per packet, want 0", allocs)
	}
}

// BenchmarkAdd measures Add on a mix of known flows and new probes.
func BenchmarkAdd(b *testing.B) {
	ps := steadyPackets(512)
	// A vertical scan: 4096 new targets, then their RSTs.
	sb := newBuilder(DefaultConfig())
	for port := range 4096 {
		ps = append(ps, *sb.tcp(t0+int64(port), "203.0.113.66", 45000, "10.0.0.5", uint16(port+1), fS, 0))
		ps = append(ps, *sb.tcp(t0+int64(port)+50, "10.0.0.5", uint16(port+1), "203.0.113.66", 45000, fR|fA, 0))
	}
	b.ReportAllocs()
	b.ResetTimer()
	agg := NewAggregator(DefaultConfig())
	for i := 0; i < b.N; i++ {
		agg.Add(&ps[i%len(ps)])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/packet")
}

// BenchmarkAnalyze measures Add and Finish over a generated capture of
// every kind of traffic (mixedPackets), per packet, on one goroutine and
// with two workers.
func BenchmarkAnalyze(b *testing.B) {
	ps := mixedPackets(1, 200_000)
	for _, workers := range []int{1, 2} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				agg := NewAggregator(Config{Workers: workers})
				for i := range ps {
					agg.Add(&ps[i])
				}
				agg.Finish()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ps)), "ns/packet")
		})
	}
}
