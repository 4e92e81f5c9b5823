package scan

import (
	"fmt"
	"slices"
	"testing"

	"porthunter/pcapng"
)

// tcpID adds a TCP segment with an IP ID.
func (b *builder) tcpID(ts int64, src string, sp uint16, dst string, dp uint16, flags uint16, ipid uint16) {
	p := b.base(ts, src, dst)
	p.Proto, p.L4 = protoTCP, pcapng.L4TCP
	p.SrcPort, p.DstPort, p.TCPFlags, p.IPID, p.Window = sp, dp, flags, uint32(ipid), 1024
	b.agg.Add(&p)
}

// idleScan is nmap -sI zombie:80 target -p 1-ports as idle_scan.cc sends
// it: six IP ID probes of the zombie, its spoofing self-test (four
// SYN/ACKs from the target's address and one source port), then batches
// of SYNs from zombie:80 to the target, each followed by a probe of the
// zombie. The zombie has one IP ID counter; open ports' SYN/ACKs make it
// send a RST to the target, which the next probe sees.
func idleScan(b *builder, prober, zombie, target string, ports int, open []uint16) {
	ipid := uint16(4096)
	ts := t0
	sport := uint16(51190)
	probe := func() {
		b.tcpID(ts, prober, sport, zombie, 80, fS|fA, 0)
		ipid++
		b.tcpID(ts+100_000, zombie, 80, prober, sport, fR, ipid)
		sport++
		ts += sec / 30
	}
	for range 6 {
		probe()
	}
	for range 4 {
		b.tcpID(ts, target, 51189, zombie, 80, fS|fA, 0)
		ipid++
		b.tcpID(ts+100_000, zombie, 80, target, 51189, fR, ipid)
		ts += sec / 20
	}
	probe()
	for port := uint16(1); port <= uint16(ports); port++ {
		b.tcpID(ts, zombie, 80, target, port, fS, 0)
		if slices.Contains(open, port) {
			b.tcpID(ts+1000, target, port, zombie, 80, fS|fA, 0)
			ipid++
			b.tcpID(ts+2000, zombie, 80, target, port, fR, ipid)
		} else {
			b.tcpID(ts+1000, target, port, zombie, 80, fR|fA, 0)
		}
		ts += sec / 100
		if port%10 == 0 {
			probe()
		}
	}
	probe()
}

// TestIdleScan: the zombie is listed as the on-wire scanner and names its
// prober; the prober is listed with the zombie's scan, technique
// idle_scan, and its scan begins with its first IP ID probe; the target,
// whose address the self-test spoofed towards the zombie, is no prober.
func TestIdleScan(t *testing.T) {
	const prober, zombie, target = "198.51.100.10", "10.66.0.50", "10.66.0.20"
	b := newBuilder(DefaultConfig())
	idleScan(b, prober, zombie, target, 40, []uint16{22, 25})
	an := b.agg.Finish()
	sus := listed(an)
	z, p := sus[zombie], sus[prober]
	if len(sus) != 2 || z.IdleScanBy != prober || p.Zombie != zombie {
		t.Fatalf("suspects %+v, want zombie %s (idle_scan_by %s) and prober %s (zombie %s)", sus, zombie, prober, prober, zombie)
	}
	if !slices.Equal(z.Techniques, []string{"syn_scan"}) || z.Kind != "vertical" || z.DistinctPorts != 40 || !slices.Equal(z.OpenPorts, []int{22, 25}) {
		t.Errorf("zombie %+v, want a vertical syn_scan of 40 ports, 22 and 25 open", z)
	}
	if !slices.Equal(p.Techniques, []string{"idle_scan"}) || p.Kind != "vertical" || p.DistinctPorts != 40 ||
		!slices.Equal(p.Reasons, []string{"idle_scan"}) || p.Zombie != zombie || p.IdleScanBy != "" {
		t.Errorf("prober %+v, want a vertical idle_scan of 40 ports through %s", p, zombie)
	}
	fe := an.FirstEvent(DefaultThresholds())
	if fe == nil || fe.Src.String() != prober || fe.Dst.String() != zombie || fe.Port != 80 || fe.Frame != 1 ||
		fe.Technique != "idle_scan" || *fe.Flags != "SA" {
		t.Errorf("first event %+v, want the prober's first SYN/ACK to %s:80, frame 1", fe, zombie)
	}
	d := mustDetail(t, an, prober)
	is := d.IdleScan
	if is == nil || is.Zombie.String() != zombie || is.ZombiePort != 80 || is.IPIDProbes != 12 || is.SpoofedProbes != 40 ||
		is.SpoofedHosts != 1 || is.FirstIPID != 4097 || is.LastIPID <= is.FirstIPID {
		t.Errorf("prober's idle scan %+v", is)
	}
	if !d.Suspect || d.BackscatterPkts != 12 || !slices.Equal(d.Techniques, []string{"idle_scan"}) {
		t.Errorf("prober detail: suspect %v, backscatter %d (its SYN/ACKs), techniques %v", d.Suspect, d.BackscatterPkts, d.Techniques)
	}
	if dz := mustDetail(t, an, zombie); dz.IdleScanBy != prober || dz.BackscatterPkts != 0 {
		t.Errorf("zombie detail: idle_scan_by %q, backscatter %d (its RSTs answer probes)", dz.IdleScanBy, dz.BackscatterPkts)
	}
	ov := an.Overview(DefaultThresholds(), 60, 20)
	if len(ov.Targets) != 1 || ov.Targets[0].Scanners != 1 || ov.Targets[0].Pkts != 40 || !slices.Contains(ov.SuspectedPatterns, "idle_scan") {
		t.Errorf("overview targets %+v, patterns %v: the zombie's probes count once", ov.Targets, ov.SuspectedPatterns)
	}
	if act := an.Activity(ip(prober)); !act.Suspect || !slices.Contains(act.Techniques, "idle_scan") {
		t.Errorf("prober activity %+v", act)
	}
}

// TestIdleScanNeedsItsZombie: the zombie's SYNs must leave from the port
// the prober probes, in the same stretch of time; IP ID probing alone, or
// a zombie scanning from another port, names no prober.
func TestIdleScanNeedsItsZombie(t *testing.T) {
	const prober, zombie, target = "198.51.100.10", "10.66.0.50", "10.66.0.20"
	t.Run("other port", func(t *testing.T) {
		b := newBuilder(DefaultConfig())
		for i := range 10 {
			ts := t0 + int64(i)*sec/10
			b.tcpID(ts, prober, uint16(50000+i), zombie, 80, fS|fA, 0)
			b.tcpID(ts+1000, zombie, 80, prober, uint16(50000+i), fR, uint16(100+i))
		}
		for port := uint16(1); port <= 30; port++ { // a scan of its own, from 443
			b.tcp(t0+int64(port)*sec/100, zombie, 443, target, port, fS, 0)
		}
		an := b.agg.Finish()
		if s, ok := listed(an)[prober]; ok || listed(an)[zombie].IdleScanBy != "" {
			t.Errorf("prober listed %+v, zombie %+v", s, listed(an)[zombie])
		}
	})
	t.Run("hours apart", func(t *testing.T) {
		b := newBuilder(DefaultConfig())
		for i := range 10 {
			ts := t0 + int64(i)*sec/10
			b.tcpID(ts, prober, uint16(50000+i), zombie, 80, fS|fA, 0)
			b.tcpID(ts+1000, zombie, 80, prober, uint16(50000+i), fR, uint16(100+i))
		}
		for port := uint16(1); port <= 30; port++ {
			b.tcp(t0+3*3600*sec+int64(port)*sec/100, zombie, 80, target, port, fS, 0)
		}
		an := b.agg.Finish()
		if _, ok := listed(an)[prober]; ok {
			t.Errorf("prober listed three hours before the zombie's SYNs")
		}
	})
	t.Run("retransmissions", func(t *testing.T) {
		// One source port repeated (a server's SYN/ACK retries) is no
		// IP ID probing, however many times.
		b := newBuilder(DefaultConfig())
		for i := range 10 {
			ts := t0 + int64(i)*sec/10
			b.tcpID(ts, prober, 50000, zombie, 80, fS|fA, 0)
			b.tcpID(ts+1000, zombie, 80, prober, 50000, fR, uint16(100+i))
		}
		for port := uint16(1); port <= 30; port++ {
			b.tcp(t0+int64(port)*sec/100, zombie, 80, target, port, fS, 0)
		}
		an := b.agg.Finish()
		if _, ok := listed(an)[prober]; ok {
			t.Errorf("prober listed for retransmissions")
		}
	})
}

// TestBackscatterIsNotIdle: a SYN-flooded server's SYN/ACKs to the spoofed
// sources, some of which reset them, stay backscatter: counted, never a
// prober, never a probe.
func TestBackscatterIsNotIdle(t *testing.T) {
	b := newBuilder(DefaultConfig())
	const server = "192.0.2.80"
	for i := range 300 {
		ts := t0 + int64(i)*sec/100
		dst := fmt.Sprintf("203.0.%d.%d", 113+i%3, 1+i%200)
		dp := uint16(1024 + i*7)
		for try := range 3 { // the server retries its SYN/ACK
			b.tcpID(ts+int64(try)*sec, server, 80, dst, dp, fS|fA, 0)
		}
		if i%4 == 0 {
			b.tcpID(ts+1000, dst, dp, server, 80, fR, uint16(i))
		}
	}
	an := b.agg.Finish()
	if s := an.Suspects(lowThresholds); len(s) != 0 {
		t.Errorf("suspects %+v, want none", s)
	}
	d := mustDetail(t, an, server)
	if d.BackscatterPkts != 900 || d.Probes != 0 || d.IdleScan != nil {
		t.Errorf("server: backscatter %d (want 900), probes %d, idle %+v", d.BackscatterPkts, d.Probes, d.IdleScan)
	}
}
