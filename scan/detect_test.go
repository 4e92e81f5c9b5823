package scan

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"porthunter/pcapng"
	"slices"
	"strings"
	"sync"
	"testing"
)

const (
	scanner = "203.0.113.66"
	victim  = "10.0.0.5"
)

// TestProbeClasses sends one kind of probe to several ports and checks the
// class, technique and listing.
func TestProbeClasses(t *testing.T) {
	tests := []struct {
		name      string
		flags     uint16
		payload   int
		ports     int
		reply     uint16 // flags of the target's answer, 0 for none
		class     string
		technique string
		listed    bool
	}{
		{"syn", fS, 0, 12, fR | fA, "SYN", "syn_scan", true},
		{"syn ecn", fS | 0x40 | 0x80, 0, 12, fR | fA, "SYN", "syn_scan", true},
		{"syn below threshold", fS, 0, 9, fR | fA, "SYN", "syn_scan", false},
		{"fin", fF, 0, 3, fR | fA, "FIN", "fin_scan", true},
		{"null", 0, 0, 3, 0, "NULL", "null_scan", true},
		{"xmas", fF | fP | fU, 0, 3, fR | fA, "XMAS", "xmas_scan", true},
		{"maimon", fF | fA, 0, 3, fR, "MAIMON", "maimon_scan", true},
		{"stealth below threshold", fF, 0, 2, fR | fA, "FIN", "fin_scan", false},
		{"syn fin", fS | fF, 0, 3, 0, "OTHER", "illegal_flags_scan", true},
		{"ack", fA, 0, 12, fR, "ACK", "ack_scan", true},
		// ACK probes are not stealth: three are not enough.
		{"ack few", fA, 0, 3, fR, "ACK", "ack_scan", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(DefaultConfig())
			for i := range tc.ports {
				ts := t0 + int64(i)*sec/20
				port := uint16(1000 + i)
				b.tcp(ts, scanner, 45000, victim, port, tc.flags, tc.payload)
				if tc.reply != 0 {
					b.tcp(ts+sec/1000, victim, port, scanner, 45000, tc.reply, 0)
				}
			}
			an := b.agg.Finish()
			s, ok := listed(an)[scanner]
			if ok != tc.listed {
				t.Fatalf("listed = %v, want %v (suspects %v)", ok, tc.listed, an.Suspects(DefaultThresholds()))
			}
			d := mustDetail(t, an, scanner)
			if d.FlagStats[tc.class] != tc.ports || len(d.FlagStats) != 1 {
				t.Errorf("flag_stats = %v, want %s: %d", d.FlagStats, tc.class, tc.ports)
			}
			if !slices.Equal(d.Techniques, []string{tc.technique}) {
				t.Errorf("techniques = %v, want [%s]", d.Techniques, tc.technique)
			}
			if ok && s.Kind != "vertical" && tc.ports >= 6 {
				t.Errorf("kind = %s, want vertical", s.Kind)
			}
		})
	}
}

// TestICMPAttribution checks outcomes learnt from ICMP errors through the
// quoted header.
func TestICMPAttribution(t *testing.T) {
	b := newBuilder(DefaultConfig())
	const router = "10.0.0.1"
	for i := range 12 {
		ts := t0 + int64(i)*sec/10
		port := uint16(100 + i)
		b.udp(ts, scanner, 50000, victim, port, 0)
		q := quoteUDP(scanner, 50000, victim, port)
		switch {
		case i < 6: // closed: port unreachable from the target itself
			b.icmp(ts+1000, victim, scanner, 3, 3, q)
		case i < 8: // filtered: port unreachable from a router
			b.icmp(ts+1000, router, scanner, 3, 3, q)
		case i < 9: // filtered: administratively prohibited
			b.icmp(ts+1000, router, scanner, 3, 13, q)
		case i < 10: // open: the service answers
			b.udp(ts+1000, victim, port, scanner, 50000, 20)
		}
	}
	// A TCP probe answered by port unreachable is filtered (nmap), not closed.
	b.tcp(t0+2*sec, scanner, 45000, victim, 443, fS, 0)
	b.icmp(t0+2*sec+1000, victim, scanner, 3, 3, quoteTCP(scanner, 45000, victim, 443))
	// An error quoting nothing we sent is ignored.
	b.icmp(t0+3*sec, victim, scanner, 3, 3, quoteUDP(scanner, 1, victim, 9999))
	an := b.agg.Finish()
	d := mustDetail(t, an, scanner)
	want := Outcomes{Open: 1, Closed: 6, Filtered: 4, Unanswered: 2}
	if d.Outcomes != want {
		t.Errorf("outcomes = %+v, want %+v", d.Outcomes, want)
	}
	if !slices.Equal(d.OpenPorts, []int{109}) {
		t.Errorf("open_ports = %v, want [109]", d.OpenPorts)
	}
	if !slices.Equal(d.UnansweredPorts, []int{110, 111}) {
		t.Errorf("unanswered_ports = %v, want [110 111]", d.UnansweredPorts)
	}
	if _, ok := listed(an)[scanner]; !ok {
		t.Errorf("UDP scan not listed")
	}
	if _, ok := listed(an)[router]; ok {
		t.Errorf("router listed")
	}
}

// TestMidstreamNotACKScan: flows already running when the capture starts
// show bare ACKs and data both ways; none of it is an ACK scan.
func TestMidstreamNotACKScan(t *testing.T) {
	b := newBuilder(DefaultConfig())
	const client = "10.0.0.20"
	for round := range 5 {
		for i := range 40 {
			ts := t0 + int64(round)*sec/2 + int64(i)*sec/1000
			srv := fmt.Sprintf("198.51.100.%d", 1+i)
			sp := uint16(40000 + i)
			b.tcp(ts, srv, 443, client, sp, fA, 0) // the server's ACK comes first
			b.tcp(ts+10, client, sp, srv, 443, fA|fP, 200)
			b.tcp(ts+20, srv, 443, client, sp, fA|fP, 1400)
			b.tcp(ts+30, client, sp, srv, 443, fA, 0)
		}
	}
	// Closing flows: FIN+ACK both ways, not a Maimon scan.
	for i := range 40 {
		ts := t0 + 3*sec + int64(i)*sec/1000
		srv := fmt.Sprintf("192.0.2.%d", 1+i)
		sp := uint16(41000 + i)
		b.tcp(ts, client, sp, srv, 80, fF|fA, 0)
		b.tcp(ts+10, srv, 80, client, sp, fF|fA, 0)
		b.tcp(ts+20, client, sp, srv, 80, fA, 0)
	}
	an := b.agg.Finish()
	if s := an.Suspects(DefaultThresholds()); len(s) != 0 {
		t.Errorf("suspects = %+v, want none", s)
	}
	if d := mustDetail(t, an, client); d.Probes != 0 {
		t.Errorf("client probes = %d (%v), want 0", d.Probes, d.FlagStats)
	}
}

// TestBareACKStreamNotProbe: a flow seen from one side only (the data went
// another way) is a long run of bare ACKs: not a probe.
func TestBareACKStreamNotProbe(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for i := range 30 {
		for k := range 20 {
			b.tcp(t0+int64(k)*sec/10+int64(i)*1000, "10.0.0.20", uint16(40000+i), fmt.Sprintf("198.51.100.%d", i+1), 443, fA, 0)
		}
	}
	// Some other traffic answers, so the capture has return traffic.
	b.tcp(t0, "10.0.0.30", 5000, "10.0.0.31", 22, fS, 0)
	b.tcp(t0+1, "10.0.0.31", 22, "10.0.0.30", 5000, fS|fA, 0)
	an := b.agg.Finish()
	if s := an.Suspects(DefaultThresholds()); len(s) != 0 {
		t.Errorf("suspects = %+v, want none", s)
	}
}

// TestWebClientNotScanner: a client whose connections succeed is not a
// scanner, even with a few failures among them; nor is its busy server.
func TestWebClientNotScanner(t *testing.T) {
	b := newBuilder(DefaultConfig())
	const client = "10.0.0.20"
	for i := range 60 {
		ts := t0 + int64(i)*sec/20
		srv := fmt.Sprintf("198.51.100.%d", 1+i)
		sp := uint16(40000 + i)
		b.tcp(ts, client, sp, srv, 443, fS, 0)
		if i%10 == 9 { // a few refused
			b.tcp(ts+100, srv, 443, client, sp, fR|fA, 0)
			continue
		}
		b.tcp(ts+100, srv, 443, client, sp, fS|fA, 0)
		b.tcp(ts+200, client, sp, srv, 443, fA, 0)
		b.tcp(ts+300, client, sp, srv, 443, fA|fP, 300)
		b.tcp(ts+400, srv, 443, client, sp, fA|fP, 1400)
	}
	// A busy server: 50 clients connect to it.
	for i := range 50 {
		ts := t0 + int64(i)*sec/50
		cli := fmt.Sprintf("10.0.3.%d", 1+i)
		b.tcp(ts, cli, 33000, "10.0.0.80", 80, fS, 0)
		b.tcp(ts+100, "10.0.0.80", 80, cli, 33000, fS|fA, 0)
		b.tcp(ts+200, cli, 33000, "10.0.0.80", 80, fA|fP, 100)
		b.tcp(ts+300, "10.0.0.80", 80, cli, 33000, fA|fP, 1000)
	}
	an := b.agg.Finish()
	if s := an.Suspects(DefaultThresholds()); len(s) != 0 {
		t.Errorf("suspects = %+v, want none", s)
	}
	d := mustDetail(t, an, client)
	if d.SuccessfulConnections != 54 || d.Probes != 6 {
		t.Errorf("client successes/probes = %d/%d, want 54/6", d.SuccessfulConnections, d.Probes)
	}
	if d.TRW.Decision != "benign" {
		t.Errorf("client TRW = %+v, want benign", d.TRW)
	}
}

// TestBackscatter: SYN/ACKs and RSTs answering spoofed SYNs we never saw
// are backscatter; neither their sender nor their receivers scan.
func TestBackscatter(t *testing.T) {
	b := newBuilder(DefaultConfig())
	const victimOfDoS = "192.0.2.80"
	for i := range 100 {
		ts := t0 + int64(i)*sec/100
		dst := fmt.Sprintf("10.%d.%d.%d", i%7, i%11, 1+i%250)
		b.tcp(ts, victimOfDoS, 80, dst, uint16(1024+i*37), fS|fA, 0)
		b.tcp(ts+1, victimOfDoS, 80, dst, uint16(2024+i*37), fR|fA, 0)
	}
	an := b.agg.Finish()
	if s := an.Suspects(DefaultThresholds()); len(s) != 0 {
		t.Errorf("suspects = %+v, want none", s)
	}
	if d := mustDetail(t, an, victimOfDoS); d.BackscatterPkts != 200 || d.Probes != 0 {
		t.Errorf("backscatter/probes = %d/%d, want 200/0", d.BackscatterPkts, d.Probes)
	}
}

// TestEpisodes: a gap longer than the idle gap splits a source's probes;
// the first event is the first probe of the earliest qualifying episode.
func TestEpisodes(t *testing.T) {
	b := newBuilder(DefaultConfig())
	// Episode 1: 3 probes (not enough). Episode 2, 20 min later: 12 probes.
	// Episode 3, 40 min later: 12 more.
	starts := []struct {
		at, n int64
	}{{0, 3}, {20 * 60, 12}, {40 * 60, 12}}
	port := uint16(1)
	for _, e := range starts {
		for i := range e.n {
			ts := t0 + e.at*sec + i*sec/10
			b.tcp(ts, scanner, 45000, victim, port, fS, 0)
			b.tcp(ts+1000, victim, port, scanner, 45000, fR|fA, 0)
			port++
		}
	}
	an := b.agg.Finish()
	s, ok := listed(an)[scanner]
	if !ok {
		t.Fatal("not listed")
	}
	if s.Episodes != 3 {
		t.Errorf("episodes = %d, want 3", s.Episodes)
	}
	if s.RatePPS == nil || *s.RatePPS != 10.91 {
		t.Errorf("rate_pps = %v, want 10.91 (12 probes over 1.1 s)", s.RatePPS)
	}
	fe := an.FirstEvent(DefaultThresholds())
	if fe == nil || fe.Port != 4 || fe.TS.NS != t0+20*60*sec {
		t.Errorf("first event = %+v, want port 4 at +20 min", fe)
	}
	if fe != nil && fe.DetectedAt.NS != t0+20*60*sec+9*sec/10 {
		t.Errorf("detected_at = %v, want the 10th probe of episode 2", fe.DetectedAt)
	}
	d := mustDetail(t, an, scanner)
	if len(d.Episodes) != 3 || d.Episodes[0].Qualifies || !d.Episodes[1].Qualifies {
		t.Errorf("episodes = %+v", d.Episodes)
	}
	// With a 30-minute idle gap the first two merge.
	c := DefaultConfig()
	c.IdleGapNS = 30 * 60 * sec
	b2 := newBuilder(c)
	port = 1
	for _, e := range starts {
		for i := range e.n {
			b2.tcp(t0+e.at*sec+i*sec/10, scanner, 45000, victim, port, fS, 0)
			port++
		}
	}
	if d := mustDetail(t, b2.agg.Finish(), scanner); len(d.Episodes) != 1 {
		t.Errorf("episodes with a 30 min gap = %d, want 1", len(d.Episodes))
	}
}

// TestRateNullSingleTimestamp: all probes at one instant have no rate;
// the source passes the rate test and JSON says null.
func TestRateNullSingleTimestamp(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for i := range 12 {
		b.tcp(t0, scanner, 45000, victim, uint16(i+1), fS, 0)
	}
	an := b.agg.Finish()
	s, ok := listed(an)[scanner]
	if !ok {
		t.Fatal("not listed")
	}
	if s.RatePPS != nil {
		t.Errorf("rate = %v, want nil", *s.RatePPS)
	}
	j, _ := json.Marshal(s)
	if !strings.Contains(string(j), `"rate_pps":null`) {
		t.Errorf("JSON %s lacks rate_pps null", j)
	}
	if !slices.Contains(s.Reasons, "single_timestamp") {
		t.Errorf("reasons = %v", s.Reasons)
	}
}

// TestSlowScanTRW: 12 ports over 11 minutes is far under 5 pps, but every
// first contact fails, so TRW calls it a scanner and it is listed.
func TestSlowScanTRW(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for i := range 12 {
		ts := t0 + int64(i)*60*sec
		b.tcp(ts, scanner, 45000, victim, uint16(i+1), fS, 0)
		b.tcp(ts+1000, victim, uint16(i+1), scanner, 45000, fR|fA, 0)
	}
	an := b.agg.Finish()
	s, ok := listed(an)[scanner]
	if !ok {
		t.Fatal("slow scan not listed")
	}
	if !slices.Contains(s.Reasons, "trw") || slices.Contains(s.Reasons, "rate") {
		t.Errorf("reasons = %v, want trw without rate", s.Reasons)
	}
	// A strict rate floor does not drop it: TRW is rate-free by design.
	th := DefaultThresholds()
	th.MinRatePPS = 1000
	if len(an.Suspects(th)) != 1 {
		t.Errorf("slow scan dropped by the rate floor")
	}
	// Under the count thresholds TRW alone lists nobody.
	th = DefaultThresholds()
	th.MinPorts = 20
	if s := an.Suspects(th); len(s) != 0 {
		t.Errorf("listed under the count thresholds: %+v", s)
	}
}

// TestNoReturnTraffic: a one-way capture; attempts are counted and the
// capture and suspect say so.
func TestNoReturnTraffic(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for i := range 30 {
		b.tcp(t0+int64(i)*sec/100, scanner, 45000, fmt.Sprintf("10.1.0.%d", i+1), 445, fS, 0)
	}
	an := b.agg.Finish()
	st := an.Capture()
	if !st.NoReturnTraffic || st.HasReturnTraffic {
		t.Errorf("capture return traffic = %v/%v, want none", st.HasReturnTraffic, st.NoReturnTraffic)
	}
	s, ok := listed(an)[scanner]
	if !ok {
		t.Fatal("not listed")
	}
	if !s.NoReturnTraffic || s.Kind != "horizontal" || s.Unanswered != 30 {
		t.Errorf("suspect = %+v", s)
	}
	if d := mustDetail(t, an, scanner); d.TRW.Ran {
		t.Errorf("TRW ran without return traffic")
	}
}

// TestUDPClientNotScanner: answered DNS and NTP queries to many servers
// are client chatter; unanswered datagrams to many ports are a scan.
func TestUDPClientNotScanner(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for i := range 40 {
		ts := t0 + int64(i)*sec/100
		srv := fmt.Sprintf("198.51.100.%d", i+1)
		b.udp(ts, "10.0.0.53", uint16(30000+i), srv, 53, 40)
		b.udp(ts+1000, srv, 53, "10.0.0.53", uint16(30000+i), 120)
		b.udp(ts+2000, "10.0.0.123", 123, srv, 123, 48)
		b.udp(ts+3000, srv, 123, "10.0.0.123", 123, 48)
	}
	an := b.agg.Finish()
	if s := an.Suspects(DefaultThresholds()); len(s) != 0 {
		t.Errorf("suspects = %+v, want none", s)
	}
}

// TestConnectScan: full handshakes reset at once, with no data, are
// connect() probes.
func TestConnectScan(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for i := range 15 {
		ts := t0 + int64(i)*sec/100
		port, sp := uint16(20+i), uint16(40000+2*i)
		b.tcp(ts, scanner, sp, victim, port, fS, 0)
		if i < 3 {
			b.tcp(ts+100, victim, port, scanner, sp, fS|fA, 0)
			b.tcp(ts+200, scanner, sp, victim, port, fA, 0)
			b.tcp(ts+300, scanner, sp, victim, port, fR|fA, 0)
		} else {
			b.tcp(ts+100, victim, port, scanner, sp, fR|fA, 0)
		}
	}
	an := b.agg.Finish()
	s, ok := listed(an)[scanner]
	if !ok {
		t.Fatal("not listed")
	}
	if !slices.Equal(s.Techniques, []string{"connect_scan"}) || !slices.Equal(s.OpenPorts, []int{20, 21, 22}) {
		t.Errorf("techniques %v open %v", s.Techniques, s.OpenPorts)
	}
}

// TestScanFollowedByUse: a port found open and later used with data.
func TestScanFollowedByUse(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for i := range 12 {
		ts := t0 + int64(i)*sec/100
		port := uint16(20 + i)
		b.tcp(ts, scanner, 45000, victim, port, fS, 0)
		if port == 22 {
			b.tcp(ts+100, victim, port, scanner, 45000, fS|fA, 0)
			b.tcp(ts+200, scanner, 45000, victim, port, fR, 0)
		} else {
			b.tcp(ts+100, victim, port, scanner, 45000, fR|fA, 0)
		}
	}
	ts := t0 + 10*sec
	b.tcp(ts, scanner, 50000, victim, 22, fS, 0)
	b.tcp(ts+100, victim, 22, scanner, 50000, fS|fA, 0)
	b.tcp(ts+200, scanner, 50000, victim, 22, fA, 0)
	b.tcp(ts+300, scanner, 50000, victim, 22, fA|fP, 40)
	d := mustDetail(t, b.agg.Finish(), scanner)
	if !d.FollowedByUse || !slices.Equal(d.UsedPorts, []int{22}) || d.Probes != 12 || d.ProbePkts != 12 {
		t.Errorf("followed_by_use %v used %v probes %d/%d", d.FollowedByUse, d.UsedPorts, d.Probes, d.ProbePkts)
	}
	if d.FirstOpen == nil || d.FirstOpen.Port != 22 {
		t.Errorf("first_open = %+v", d.FirstOpen)
	}
}

// TestWindowScan: ACK probes whose RSTs differ in window are nmap -sW.
func TestWindowScan(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for i := range 12 {
		ts := t0 + int64(i)*sec/100
		port := uint16(1 + i)
		b.tcp(ts, scanner, 45000, victim, port, fA, 0)
		r := b.base(ts+100, victim, scanner)
		r.Proto, r.L4, r.SrcPort, r.DstPort, r.TCPFlags = protoTCP, 1, port, 45000, fR
		if i%4 == 0 {
			r.Window = 5840
		}
		b.agg.Add(&r)
	}
	s, ok := listed(b.agg.Finish())[scanner]
	if !ok || !slices.Equal(s.Techniques, []string{"ack_scan", "window_scan"}) {
		t.Errorf("listed %v techniques %v", ok, s.Techniques)
	}
}

// TestPingSweep: echo requests to many hosts, answered, are a sweep.
func TestPingSweep(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for i := range 20 {
		ts := t0 + int64(i)*sec/100
		h := fmt.Sprintf("10.2.0.%d", i+1)
		b.icmp(ts, scanner, h, 8, 0, nil)
		if i%2 == 0 {
			b.icmp(ts+100, h, scanner, 0, 0, nil)
		}
	}
	an := b.agg.Finish()
	s, ok := listed(an)[scanner]
	if !ok || !slices.Equal(s.Techniques, []string{"ping_sweep"}) || s.Kind != "horizontal" || s.DistinctHosts != 20 || s.DistinctPorts != 0 {
		t.Errorf("listed %v suspect %+v", ok, s)
	}
	fe := an.FirstEvent(DefaultThresholds())
	if fe == nil || fe.Proto != "icmp" || fe.Flags != nil {
		t.Errorf("first event = %+v", fe)
	}
}

// TestIPv6 treats IPv6 like IPv4, ICMPv6 errors included.
func TestIPv6(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for i := range 12 {
		ts := t0 + int64(i)*sec/100
		b.udp(ts, "2001:db8::66", 50000, "2001:db8:1::5", uint16(100+i), 0)
		b.icmp(ts+100, "2001:db8:1::5", "2001:db8::66", 1, 4, quoteUDP("2001:db8::66", 50000, "2001:db8:1::5", uint16(100+i)))
	}
	an := b.agg.Finish()
	if _, ok := listed(an)["2001:db8::66"]; !ok {
		t.Fatal("IPv6 UDP scan not listed")
	}
	if d := mustDetail(t, an, "2001:db8::66"); d.Outcomes.Closed != 12 {
		t.Errorf("outcomes = %+v, want 12 closed", d.Outcomes)
	}
}

// TestDistributed: several sources each under threshold jointly probe
// one host.
func TestDistributed(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for k := range 6 {
		src := fmt.Sprintf("203.0.113.%d", 101+k)
		for j := range 3 {
			port := uint16(1000 + k*3 + j)
			ts := t0 + int64(k*3+j)*sec
			b.tcp(ts, src, 45000, victim, port, fS, 0)
			b.tcp(ts+100, victim, port, src, 45000, fR|fA, 0)
		}
	}
	an := b.agg.Finish()
	sus := an.Suspects(DefaultThresholds())
	if len(sus) != 6 {
		t.Fatalf("suspects = %d, want 6", len(sus))
	}
	for _, s := range sus {
		if s.Kind != "distributed" || s.DistributedTarget != victim {
			t.Errorf("%s kind %s target %s", s.IP, s.Kind, s.DistributedTarget)
		}
	}
	ov := an.Overview(DefaultThresholds(), 60, 20)
	if len(ov.Distributed) != 1 || ov.Distributed[0].DistinctPorts != 18 || !slices.Contains(ov.SuspectedPatterns, "distributed") {
		t.Errorf("overview distributed = %+v patterns %v", ov.Distributed, ov.SuspectedPatterns)
	}
	// Four sources are not enough.
	b = newBuilder(DefaultConfig())
	for k := range 4 {
		for j := range 4 {
			b.tcp(t0+int64(k*4+j)*sec, fmt.Sprintf("203.0.113.%d", 101+k), 45000, victim, uint16(1000+k*4+j), fS, 0)
		}
	}
	if s := b.agg.Finish().Suspects(DefaultThresholds()); len(s) != 0 {
		t.Errorf("4 sources listed: %+v", s)
	}
}

// TestDistributedTwoHosts: the same six sources jointly scan two hosts,
// each under every threshold alone. Both groups list all six; each source's
// verdict names the first host in address order, whatever the number of
// workers searching the hosts.
func TestDistributedTwoHosts(t *testing.T) {
	hosts := []string{"10.0.0.9", "10.0.0.7"} // probed in this order, listed by address
	for _, workers := range []int{1, 2, 3} {
		b := newBuilder(Config{Workers: workers})
		for k := range 6 {
			src := fmt.Sprintf("203.0.113.%d", 101+k)
			for hi, h := range hosts {
				for j := range 3 {
					port := uint16(1000 + k*3 + j)
					ts := t0 + int64(hi*100+k*3+j)*sec
					b.tcp(ts, src, 45000, h, port, fS, 0)
					b.tcp(ts+100, h, port, src, 45000, fR|fA, 0)
				}
			}
		}
		an := b.agg.Finish()
		sus := an.Suspects(DefaultThresholds())
		if len(sus) != 6 {
			t.Fatalf("workers %d: suspects = %d, want 6", workers, len(sus))
		}
		for i, s := range sus {
			if want := fmt.Sprintf("203.0.113.%d", 101+i); s.IP.String() != want || s.Kind != "distributed" || s.DistributedTarget != "10.0.0.7" {
				t.Errorf("workers %d: suspect %d = %s kind %s target %s; want %s distributed 10.0.0.7", workers, i, s.IP, s.Kind, s.DistributedTarget, want)
			}
		}
		ov := an.Overview(DefaultThresholds(), 60, 20)
		if len(ov.Distributed) != 2 || ov.Distributed[0].Target.String() != "10.0.0.7" || ov.Distributed[1].Target.String() != "10.0.0.9" ||
			len(ov.Distributed[0].Sources) != 6 || len(ov.Distributed[1].Sources) != 6 || ov.Distributed[1].DistinctPorts != 18 {
			t.Errorf("workers %d: overview distributed = %+v", workers, ov.Distributed)
		}
	}
}

// TestCaptureStats counts layers, order and the memory limit.
func TestCaptureStats(t *testing.T) {
	c := DefaultConfig()
	c.MemoryBudgetBytes = 1 // room for one source, address and target
	b := newBuilder(c)
	b.tcp(t0+2*sec, scanner, 45000, victim, 1, fS, 0)
	b.tcp(t0+1*sec, scanner, 45000, victim, 2, fS, 0) // earlier: out of order
	b.tcp(t0+3*sec, "10.9.9.9", 45000, victim, 3, fS, 0)
	arp := b.base(t0+4*sec, scanner, victim)
	arp.L3 = 3 // L3ARP
	b.agg.Add(&arp)
	an := b.agg.Finish()
	st := an.Capture()
	if st.TotalPackets != 4 || st.IPv4 != 3 || st.ARP != 1 || st.OutOfOrder != 1 {
		t.Errorf("stats = %+v", st)
	}
	if st.FirstTS.NS != t0+sec || st.LastTS.NS != t0+4*sec || st.DurationS != 3 {
		t.Errorf("first/last/duration = %v/%v/%v", st.FirstTS, st.LastTS, st.DurationS)
	}
	if !st.LimitHit || st.DroppedTargets+st.DroppedAddrs+st.DroppedSources == 0 {
		t.Errorf("limit not reported: %+v", st)
	}
}

// TestEmptyJSON: an empty capture answers with empty arrays and nulls,
// never a null array.
func TestEmptyJSON(t *testing.T) {
	an := NewAggregator(DefaultConfig()).Finish()
	ov := an.Overview(DefaultThresholds(), 60, 20)
	j, _ := json.Marshal(ov)
	for _, k := range []string{`"scanners":[]`, `"targets":[]`, `"port_distribution":[]`, `"suspected_patterns":[]`, `"timeline":[]`} {
		if !strings.Contains(string(j), k) {
			t.Errorf("overview %s lacks %s", j, k)
		}
	}
	if s := an.Suspects(DefaultThresholds()); s == nil || len(s) != 0 {
		t.Errorf("Suspects = %#v, want empty", s)
	}
	if fe := an.FirstEvent(DefaultThresholds()); fe != nil {
		t.Errorf("FirstEvent = %+v", fe)
	}
	if a := an.Activity(ip(victim)); a != nil {
		t.Errorf("Activity = %+v, want nil", a)
	}
	if _, ok := an.Detail(ip(victim)); ok {
		t.Errorf("Detail found")
	}
	j, _ = json.Marshal(an.Capture())
	if !strings.Contains(string(j), `"first_ts":null`) {
		t.Errorf("capture %s", j)
	}
}

func TestActivity(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for i := range 12 {
		b.tcp(t0+int64(i)*sec/100, scanner, 45000, victim, uint16(i+1), fS, 0)
	}
	an := b.agg.Finish()
	a := an.Activity(ip(scanner))
	if !a.IsSuspect() || *a.Kind != "vertical" || a.FirstSeen.NS != t0 {
		t.Errorf("scanner activity = %+v", a)
	}
	v := an.Activity(ip(victim))
	if v == nil || v.IsSuspect() || v.ProbedBy != 1 || v.FirstSeen != nil {
		t.Errorf("victim activity = %+v", v)
	}
	if an.Activity(ip("192.0.2.1")) != nil {
		t.Errorf("unknown address has activity")
	}
	var nilAct *Activity
	if nilAct.IsSuspect() {
		t.Errorf("nil activity is suspect")
	}
	if _, ok := an.Detail(ip(victim)); ok {
		t.Errorf("Detail of an address that sent nothing")
	}
}

// TestConcurrentViews runs every view at once (meaningful under -race).
func TestConcurrentViews(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for i := range 30 {
		b.tcp(t0+int64(i)*sec/100, scanner, 45000, victim, uint16(i+1), fS, 0)
	}
	an := b.agg.Finish()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			an.Overview(DefaultThresholds(), 1, 5)
			an.Suspects(Thresholds{MinPorts: 5, MinHosts: 5, MinTargets: 5, MinStealthTargets: 1, MinRatePPS: 1})
			an.FirstEvent(DefaultThresholds())
			an.Detail(ip(scanner))
			an.Activity(ip(victim))
			an.Capture()
		}()
	}
	wg.Wait()
}

func TestTimeJSON(t *testing.T) {
	tests := []struct {
		tm   Time
		want string
	}{
		{Time{t0 + 591027000, 6}, `"2026-03-14T09:26:53.591027Z"`},
		{Time{t0 + 589793123, 9}, `"2026-03-14T09:26:53.589793123Z"`},
		{Time{t0 + 5, 9}, `"2026-03-14T09:26:53.000000005Z"`},
		{Time{t0, 0}, `"2026-03-14T09:26:53Z"`},
		{Time{t0 + 999000000, 3}, `"2026-03-14T09:26:53.999Z"`},
		{Time{-1, 9}, `"1969-12-31T23:59:59.999999999Z"`},
	}
	for _, tc := range tests {
		j, err := json.Marshal(tc.tm)
		if err != nil || string(j) != tc.want {
			t.Errorf("Marshal(%+v) = %s, %v; want %s", tc.tm, j, err, tc.want)
		}
		var back Time
		if err := json.Unmarshal(j, &back); err != nil || back != tc.tm {
			t.Errorf("Unmarshal(%s) = %+v, %v; want %+v", j, back, err, tc.tm)
		}
	}
}

// TestTraceroute: UDP probes to 33434 and up, answered by time exceeded
// from each router and port unreachable from the destination, trace a
// path; they are not a port scan.
func TestTraceroute(t *testing.T) {
	b := newBuilder(DefaultConfig())
	port := uint16(33434)
	for hop := range 15 {
		for range 3 {
			ts := t0 + int64(port-33434)*sec/50
			b.udp(ts, "10.0.0.20", 40000, "192.0.2.1", port, 32)
			q := quoteUDP("10.0.0.20", 40000, "192.0.2.1", port)
			if hop < 14 {
				b.icmp(ts+1000, fmt.Sprintf("198.51.100.%d", hop+1), "10.0.0.20", 11, 0, q)
			} else {
				b.icmp(ts+1000, "192.0.2.1", "10.0.0.20", 3, 3, q)
			}
			port++
		}
	}
	an := b.agg.Finish()
	if s := an.Suspects(DefaultThresholds()); len(s) != 0 {
		t.Errorf("suspects = %+v, want none", s)
	}
}

func TestOverviewWindows(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for i := range 30 {
		b.tcp(t0+int64(i)*sec/5, scanner, 45000, victim, uint16(i+1), fS, 0)
	}
	an := b.agg.Finish()
	for _, tc := range []struct {
		w    float64
		want int
	}{{1, 6}, {60, 1}, {1e300, 1}, {0, 1}, {-5, 1}} {
		ov := an.Overview(DefaultThresholds(), tc.w, 20)
		total := 0
		for _, w := range ov.Timeline {
			total += w.Probes
		}
		if len(ov.Timeline) != tc.want || total != 30 {
			t.Errorf("window %v: %d windows, %d probes; want %d, 30", tc.w, len(ov.Timeline), total, tc.want)
		}
	}
	ov := an.Overview(DefaultThresholds(), 60, 3)
	if len(ov.PortDistribution) != 3 || ov.PortDistribution[0].Port != 1 || ov.Targets[0].DistinctPorts != 30 || len(ov.Targets[0].PortsHit) != 30 {
		t.Errorf("overview = %+v", ov)
	}
}

func TestListCaps(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for i := range 2000 {
		b.tcp(t0+int64(i)*sec/1000, scanner, 45000, victim, uint16(i+1), fS, 0)
	}
	an := b.agg.Finish()
	tg := an.Overview(DefaultThresholds(), 60, 20).Targets[0]
	if len(tg.PortsHit) != MaxPortsHit || !tg.PortsHitTruncated || tg.DistinctPorts != 2000 {
		t.Errorf("target ports_hit %d truncated %v total %d", len(tg.PortsHit), tg.PortsHitTruncated, tg.DistinctPorts)
	}
	d := mustDetail(t, an, scanner)
	if len(d.Ports) != MaxDetailList || !d.PortsTruncated || d.PortsTotal != 2000 || len(d.Targets[0].Ports) != MaxDetailList {
		t.Errorf("detail ports %d truncated %v total %d", len(d.Ports), d.PortsTruncated, d.PortsTotal)
	}
}

// TestEpisodeOf: a distributed scan's member is judged in its first
// episode that probed the group's host; a source of one episode (or none)
// in that one.
func TestEpisodeOf(t *testing.T) {
	r := &srcResult{probes: []target{{dst: 1}, {dst: 2}, {dst: 3}, {dst: 2}},
		episodes: []episode{{first: 0, last: 0}, {first: 1, last: 2}, {first: 3, last: 3}}}
	for host, want := range map[int32]int{1: 0, 2: 1, 3: 1, 9: 0} {
		if got := episodeOf(r, host); got != want {
			t.Errorf("host %d: episode %d, want %d", host, got, want)
		}
	}
	one := &srcResult{probes: r.probes, episodes: r.episodes[:1]}
	if got := episodeOf(one, 3); got != 0 {
		t.Errorf("one episode: %d, want 0", got)
	}
}

// TestVerdictAlloc: verdicts made from slabs are distinct, zero when made,
// and keep what is written to them as more are made.
func TestVerdictAlloc(t *testing.T) {
	var vs verdicts
	var made []*verdict
	for i := range 3000 {
		v := vs.alloc()
		if *v != (verdict{}) {
			t.Fatalf("verdict %d not zero: %+v", i, *v)
		}
		v.ep, v.group = int32(i), int32(-i)
		made = append(made, v)
		if cap(vs.slab) > 1024 {
			t.Fatalf("a slab of %d verdicts", cap(vs.slab))
		}
	}
	for i, v := range made {
		if v.ep != int32(i) || v.group != int32(-i) {
			t.Fatalf("verdict %d holds %d, %d", i, v.ep, v.group)
		}
	}
}

// TestHostPorts: the distinct ports, sorted, as a sort of the list with
// repeats gives them, at both ends of the port space too.
func TestHostPorts(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{0, 1, 5, 1000, 200_000} {
		ps := make([]uint16, n)
		for i := range ps {
			ps[i] = uint16(r.IntN(1 << 16))
			if i%7 == 0 {
				ps[i] = []uint16{0, 65535, 80}[i%3]
			}
		}
		want := make([]int, 0, n)
		for _, p := range ps {
			want = append(want, int(p))
		}
		slices.Sort(want)
		want = slices.Compact(want)
		if got := hostPorts(ps); !slices.Equal(got, want) {
			t.Errorf("%d ports: %d distinct, want %d", n, len(got), len(want))
		}
	}
}

// TestOverviewTopScanners: with more scanners than the overview lists,
// it names the largest (by distinct targets), largest first, and counts
// all; the largest have the highest addresses, so the first in address
// order are not they.
func TestOverviewTopScanners(t *testing.T) {
	b := newBuilder(DefaultConfig())
	var ps []pcapng.Packet
	ts := t0
	for k := range 15 {
		src := fmt.Sprintf("198.51.100.%d", 10+k)
		for port := range uint16(20 + k) {
			ts += 1_000_000
			ps = append(ps, *b.tcp(ts, src, 45000, victim, 1+port, fS, 0))
			ps = append(ps, *b.tcp(ts+100_000, victim, 1+port, src, 45000, fR|fA, 0))
		}
	}
	ov := analyzePackets(ps, DefaultConfig()).Overview(DefaultThresholds(), DefaultWindowS, 5)
	if ov.ScannersTotal != 15 || len(ov.Scanners) != 5 {
		t.Fatalf("%d scanners listed of %d; want 5 of 15", len(ov.Scanners), ov.ScannersTotal)
	}
	for i, s := range ov.Scanners {
		if want := netip.AddrFrom4([4]byte{198, 51, 100, byte(24 - i)}); s.IP != want || s.Probes != 34-i {
			t.Errorf("scanner %d: %s with %d probes; want %s with %d", i, s.IP, s.Probes, want, 34-i)
		}
	}
}
