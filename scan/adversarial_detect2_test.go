package scan

import (
	"net/netip"
	"strconv"
	"testing"
	"time"

	"porthunter/internal/race"
	"porthunter/pcapng"
)

// Adversarial patterns of the idle-scan link and the protocol sweep: what
// a hostile capture can multiply there is probers of one zombie, zombies
// of one prober, and hosts swept with protocols.

func synAck(frame uint64, ts int64, src, dst netip4, sp, dp uint16, flags uint16, ipid uint16) pcapng.Packet {
	return pcapng.Packet{Frame: frame, Timestamp: ts, Precision: 6, Src: src.addr(), Dst: dst.addr(), TTL: 64, WScale: 0xff,
		L3: pcapng.L3IPv4, Proto: protoTCP, L4: pcapng.L4TCP, SrcPort: sp, DstPort: dp, TCPFlags: flags, IPID: uint32(ipid), Window: 1024}
}

// netip4 numbers the generated addresses: addrN(n).
type netip4 int

func (n netip4) addr() netip.Addr { return addrN(int(n)) }

// idleProbersFlood is n probers of one zombie (address 0), each on a port
// of its own, each with idleMinProbes IP ID probes answered by RST, and
// the zombie's SYNs from each of those ports to a host of its own: n idle
// scans of one zombie.
func idleProbersFlood(n int) []pcapng.Packet {
	var ps []pcapng.Packet
	frame := uint64(0)
	add := func(p pcapng.Packet) {
		frame++
		p.Frame = frame
		ps = append(ps, p)
	}
	const zombie = netip4(0)
	for i := range n {
		prober, host := netip4(1+i), netip4(1+n+i)
		port := uint16(1000 + i%60000)
		ts := t0 + int64(i)*sec/1000
		for k := range idleMinProbes {
			add(synAck(0, ts+int64(k)*1000, prober, zombie, uint16(40000+k), port, fS|fA, 0))
			add(synAck(0, ts+int64(k)*1000+10, zombie, prober, port, uint16(40000+k), fR, uint16(i*idleMinProbes+k)))
		}
		add(synAck(0, ts+int64(idleMinProbes)*1000, zombie, host, port, 80, fS, 0))
	}
	return ps
}

// idleZombiesFlood is one prober (address 0) of n zombies, each scanning
// eleven ports of a host from port 80 after idleMinProbes IP ID probes.
func idleZombiesFlood(n int) []pcapng.Packet {
	var ps []pcapng.Packet
	frame := uint64(0)
	add := func(p pcapng.Packet) {
		frame++
		p.Frame = frame
		ps = append(ps, p)
	}
	const prober = netip4(0)
	for i := range n {
		zombie, host := netip4(1+i), netip4(1+n+i%1000)
		ts := t0 + int64(i)*sec/100
		for k := range idleMinProbes {
			add(synAck(0, ts+int64(k)*1000, prober, zombie, uint16(40000+k), 80, fS|fA, 0))
			add(synAck(0, ts+int64(k)*1000+10, zombie, prober, 80, uint16(40000+k), fR, uint16(k)))
		}
		for port := range uint16(11) {
			add(synAck(0, ts+int64(idleMinProbes+int(port))*1000, zombie, host, 80, 1+port, fS, 0))
		}
	}
	return ps
}

// protoHostsFlood is one source sweeping protoSweepMin protocols on each
// of n hosts, every probe answered with protocol unreachable.
func protoHostsFlood(n int) []pcapng.Packet {
	var ps []pcapng.Packet
	frame := uint64(0)
	src := netip4(0)
	for h := range n {
		dst := netip4(1 + h)
		for k := range protoSweepMin {
			frame++
			ts := t0 + int64(h*protoSweepMin+k)*sec/1000
			p := uint8(100 + k)
			ps = append(ps, pcapng.Packet{Frame: frame, Timestamp: ts, Precision: 6, Src: src.addr(), Dst: dst.addr(), TTL: 64,
				L3: pcapng.L3IPv4, Proto: p, L4: pcapng.L4Other})
			frame++
			ps = append(ps, pcapng.Packet{Frame: frame, Timestamp: ts + 1000, Precision: 6, Src: dst.addr(), Dst: src.addr(), TTL: 64,
				L3: pcapng.L3IPv4, Proto: protoICMP, L4: pcapng.L4ICMP, ICMPType: icmpUnreachable, ICMPCode: icmpProtoUnreach,
				Quoted: true, QSrc: src.addr(), QDst: dst.addr(), QProto: p})
		}
	}
	return ps
}

// TestIdleFloodLinear: linking probers to zombies costs one pass over
// each zombie's probes and a sort of the candidates, however many probers
// share a zombie or zombies a prober; a zombie lends its listing once.
func TestIdleFloodLinear(t *testing.T) {
	linear(t, "idle probers", 2000, time.Second*race.Slowdown, idleProbersFlood, func(n int, ps []pcapng.Packet) {
		an := analyzePackets(ps, DefaultConfig())
		if len(an.idle) != n {
			t.Fatalf("n=%d: %d idle scans linked", n, len(an.idle))
		}
		sus := an.Suspects(lowThresholds)
		probers := 0
		for _, s := range sus {
			if s.Zombie != "" {
				probers++
			}
		}
		if probers != 1 {
			t.Fatalf("n=%d: %d probers listed, want the zombie's one primary prober", n, probers)
		}
		an.Overview(lowThresholds, DefaultWindowS, 20)
		for _, s := range sus {
			an.Detail(s.IP)
		}
	})
	linear(t, "idle zombies", 2000, time.Second*race.Slowdown, idleZombiesFlood, func(n int, ps []pcapng.Packet) {
		an := analyzePackets(ps, DefaultConfig())
		if len(an.idle) != n {
			t.Fatalf("n=%d: %d idle scans linked", n, len(an.idle))
		}
		sus := an.Suspects(DefaultThresholds())
		if len(sus) != n+1 {
			t.Fatalf("n=%d: %d suspects, want the %d zombies and the prober", n, len(sus), n)
		}
		an.Overview(DefaultThresholds(), DefaultWindowS, 20)
		if d, ok := an.Detail(addrN(0)); !ok || d.IdleScan == nil {
			t.Fatalf("n=%d: prober detail %+v", n, d)
		}
	})
}

// TestProtoHostsFloodLinear: a protocol sweep of thousands of hosts
// costs a sort of the source's protocol targets.
func TestProtoHostsFloodLinear(t *testing.T) {
	linear(t, "protocol hosts", 2000, time.Second*race.Slowdown, protoHostsFlood, func(n int, ps []pcapng.Packet) {
		an := analyzePackets(ps, DefaultConfig())
		sus := an.Suspects(DefaultThresholds())
		if len(sus) != 1 || sus[0].DistinctProtocols != protoSweepMin || sus[0].DistinctHosts != n {
			t.Fatalf("n=%d: suspects %+v", n, sus)
		}
	})
}

// BenchmarkAdversarialDetect2 reports the patterns above per packet at
// 1×, 2×, 4× and 8×: a linear cost stays flat.
func BenchmarkAdversarialDetect2(b *testing.B) {
	patterns := []struct {
		name string
		base int
		gen  func(int) []pcapng.Packet
	}{
		{"idle_probers", 2000, idleProbersFlood},
		{"idle_zombies", 2000, idleZombiesFlood},
		{"protocol_hosts", 2000, protoHostsFlood},
	}
	for _, pt := range patterns {
		for _, x := range []int{1, 2, 4, 8} {
			n := pt.base * x
			ps := pt.gen(n)
			b.Run(pt.name+"="+strconv.Itoa(n), func(b *testing.B) {
				for b.Loop() {
					an := analyzePackets(ps, DefaultConfig())
					an.Overview(lowThresholds, DefaultWindowS, 20)
					for _, s := range an.Suspects(lowThresholds) {
						an.Detail(s.IP)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ps)), "ns/packet")
			})
		}
	}
}
