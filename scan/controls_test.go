package scan

import (
	"fmt"
	"testing"

	"porthunter/pcapng"
)

// TestNATGatewayNotScanner: one address standing for a whole office (a
// NAT gateway) opens hundreds of connections to hundreds of servers on
// the usual ports, some refused or unanswered; it is not a scanner.
func TestNATGatewayNotScanner(t *testing.T) {
	b := newBuilder(DefaultConfig())
	const nat = "192.0.2.1"
	ports := []uint16{443, 443, 443, 80, 80, 22, 993, 5222}
	for i := range 600 {
		ts := t0 + int64(i)*sec/10
		srv := fmt.Sprintf("198.51.%d.%d", 100+i%3, 1+i%250)
		dp := ports[i%len(ports)]
		sp := uint16(20000 + i)
		b.tcp(ts, nat, sp, srv, dp, fS, 0)
		switch {
		case i%25 == 0: // refused
			b.tcp(ts+sec/100, srv, dp, nat, sp, fR|fA, 0)
		case i%33 == 0: // unanswered
		default:
			b.tcp(ts+sec/100, srv, dp, nat, sp, fS|fA, 0)
			b.tcp(ts+2*sec/100, nat, sp, srv, dp, fA, 0)
			b.tcp(ts+3*sec/100, nat, sp, srv, dp, fA|fP, 200)
			b.tcp(ts+4*sec/100, srv, dp, nat, sp, fA|fP, 1200)
		}
	}
	an := b.agg.Finish()
	if s := an.Suspects(DefaultThresholds()); len(s) != 0 {
		t.Errorf("suspects = %+v, want none", s)
	}
	d := mustDetail(t, an, nat)
	if d.TRW.Decision != "benign" {
		t.Errorf("NAT gateway TRW = %+v, want benign", d.TRW)
	}
}

// TestDecoys: nmap -D sends every probe from the real address and from
// each decoy with identical headers; the overview names the group.
func TestDecoys(t *testing.T) {
	b := newBuilder(DefaultConfig())
	srcs := []string{"203.0.113.5", "198.51.100.77", "192.0.2.99", "203.0.113.200"}
	for port := uint16(1); port <= 30; port++ {
		ts := t0 + int64(port)*sec/10
		for i, s := range srcs {
			p := b.base(ts+int64(i)*1000, s, "10.0.0.9")
			p.Proto, p.L4 = protoTCP, pcapng.L4TCP
			p.SrcPort, p.DstPort, p.TCPFlags, p.Window = 55555, port, fS, 1024
			p.Seq, p.IPID = 0xdeadbeef, 4242
			b.agg.Add(&p)
		}
		b.tcp(ts+sec/100, "10.0.0.9", port, srcs[0], 55555, fR|fA, 0)
	}
	an := b.agg.Finish()
	ov := an.Overview(DefaultThresholds(), 60, 20)
	if len(ov.Decoys) != 1 || len(ov.Decoys[0].Sources) != len(srcs) || ov.Decoys[0].Shared < 30 {
		t.Fatalf("decoys = %+v, want one group of %d sources sharing 30 probes", ov.Decoys, len(srcs))
	}
	found := false
	for _, p := range ov.SuspectedPatterns {
		found = found || p == "decoy"
	}
	if !found {
		t.Errorf("suspected_patterns %v lack decoy", ov.SuspectedPatterns)
	}
}
