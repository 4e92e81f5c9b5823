package scan

import (
	"fmt"
	"slices"
	"testing"

	"porthunter/pcapng"
)

// tcpWith adds a TCP segment whose other fields set fills in first.
func (b *builder) tcpWith(ts int64, src string, sp uint16, dst string, dp uint16, flags uint16, payload int, set func(p *pcapng.Packet)) {
	p := b.base(ts, src, dst)
	p.Proto, p.L4 = protoTCP, pcapng.L4TCP
	p.SrcPort, p.DstPort, p.TCPFlags, p.PayloadLen = sp, dp, flags, payload
	p.Window = 1024
	if set != nil {
		set(&p)
	}
	b.agg.Add(&p)
}

// TestSYNPayloadIsProbe: a SYN that carries payload (nmap --data-length)
// is a probe like any SYN, retransmitted with its payload; only the
// source's completion of the handshake makes a connection.
func TestSYNPayloadIsProbe(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for i := range 40 {
		ts := t0 + int64(i)*sec/100
		port := uint16(1 + i)
		b.tcp(ts, scanner, 45000, victim, port, fS, 40)
		switch {
		case i%10 == 0: // open: SYN/ACK acknowledging the SYN alone, the scanner's kernel resets it
			b.tcp(ts+100, victim, port, scanner, 45000, fS|fA, 0)
			b.tcp(ts+200, scanner, 45000, victim, port, fR, 0)
		case i == 39: // unanswered: retransmitted, payload and all
			b.tcp(ts+sec, scanner, 45001, victim, port, fS, 40)
		default:
			b.tcp(ts+100, victim, port, scanner, 45000, fR|fA, 0)
		}
	}
	an := b.agg.Finish()
	s, ok := listed(an)[scanner]
	if !ok {
		t.Fatalf("SYN scan with payload not listed: %+v", an.Suspects(DefaultThresholds()))
	}
	if s.Kind != "vertical" || !slices.Equal(s.Techniques, []string{"syn_scan"}) || s.Probes != 40 ||
		!slices.Equal(s.OpenPorts, []int{1, 11, 21, 31}) {
		t.Errorf("suspect %+v", s)
	}
	d := mustDetail(t, an, scanner)
	if d.SuccessfulConnections != 0 || d.ProbePkts != 41 || d.TRW.Decision != "scanner" {
		t.Errorf("successful %d, probe packets %d, TRW %+v; want 0, 41, scanner", d.SuccessfulConnections, d.ProbePkts, d.TRW)
	}
}

// TestConnectionNeedsHandshake: what makes a SYN target a connection, one
// target per case (each a client's single connection, so nothing lists).
func TestConnectionNeedsHandshake(t *testing.T) {
	const srv = "10.0.0.80"
	tests := []struct {
		name string
		// after the SYN at ts (source port 40000, to srv:443)
		then    func(b *builder, ts int64)
		success bool
	}{
		{"syn data, synack, kernel rst", func(b *builder, ts int64) {
			b.tcp(ts+100, srv, 443, "10.0.0.20", 40000, fS|fA, 0)
			b.tcp(ts+200, "10.0.0.20", 40000, srv, 443, fR, 0)
		}, false},
		{"syn data, synack, ack, data (fast open)", func(b *builder, ts int64) {
			b.tcp(ts+100, srv, 443, "10.0.0.20", 40000, fS|fA, 0)
			b.tcp(ts+200, "10.0.0.20", 40000, srv, 443, fA, 0)
			b.tcp(ts+300, "10.0.0.20", 40000, srv, 443, fA|fP, 100)
		}, true},
		{"handshake, graceful close without data", func(b *builder, ts int64) {
			b.tcp(ts+100, srv, 443, "10.0.0.20", 40000, fS|fA, 0)
			b.tcp(ts+200, "10.0.0.20", 40000, srv, 443, fA, 0)
			b.tcp(ts+300, "10.0.0.20", 40000, srv, 443, fF|fA, 0)
		}, true},
		{"handshake, banner, client fin", func(b *builder, ts int64) {
			b.tcp(ts+100, srv, 443, "10.0.0.20", 40000, fS|fA, 0)
			b.tcp(ts+200, "10.0.0.20", 40000, srv, 443, fA, 0)
			b.tcp(ts+300, srv, 443, "10.0.0.20", 40000, fA|fP, 30)
			b.tcp(ts+400, "10.0.0.20", 40000, srv, 443, fF|fA, 0)
		}, true},
		{"handshake then rst at once (connect scan)", func(b *builder, ts int64) {
			b.tcp(ts+100, srv, 443, "10.0.0.20", 40000, fS|fA, 0)
			b.tcp(ts+200, "10.0.0.20", 40000, srv, 443, fA, 0)
			b.tcp(ts+300, "10.0.0.20", 40000, srv, 443, fR|fA, 0)
		}, false},
		{"rst answer, then ack with data", func(b *builder, ts int64) {
			b.tcp(ts+100, srv, 443, "10.0.0.20", 40000, fR|fA, 0)
			b.tcp(ts+200, "10.0.0.20", 40000, srv, 443, fA|fP, 100)
		}, false},
		{"one-sided capture: data after the syn", func(b *builder, ts int64) {
			b.tcp(ts+200, "10.0.0.20", 40000, srv, 443, fA, 0)
			b.tcp(ts+300, "10.0.0.20", 40000, srv, 443, fA|fP, 100)
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(DefaultConfig())
			payload := 0
			if tc.name[:8] == "syn data" {
				payload = 40
			}
			b.tcp(t0, "10.0.0.20", 40000, srv, 443, fS, payload)
			tc.then(b, t0)
			d := mustDetail(t, b.agg.Finish(), "10.0.0.20")
			if got := d.SuccessfulConnections == 1 && d.Probes == 0; got != tc.success {
				t.Errorf("successful %d, probes %d; want a connection: %v", d.SuccessfulConnections, d.Probes, tc.success)
			}
		})
	}
}

// connectTo makes a client connect() to dst:port from sport and end the
// connection with end (after the server's banner when banner is set).
func connectTo(b *builder, ts int64, src string, sport uint16, dst string, port uint16, banner bool, end uint16) {
	b.tcp(ts, src, sport, dst, port, fS, 0)
	b.tcp(ts+100, dst, port, src, sport, fS|fA, 0)
	b.tcp(ts+200, src, sport, dst, port, fA, 0)
	if banner {
		b.tcp(ts+300, dst, port, src, sport, fA|fP, 30)
	}
	b.tcp(ts+400, src, sport, dst, port, end, 0)
}

// TestTRWBenignNotOverruled: a source whose first contacts mostly succeed
// is benign by TRW; the count rules do not list it unless its failures
// dominate. Half-open SYN probes count as failures there: no client
// leaves a SYN/ACK unanswered.
func TestTRWBenignNotOverruled(t *testing.T) {
	// 40 services, each connected to once and reset at once without data
	// (a poller closing with SO_LINGER 0, or nmap -sT of a farm whose
	// every port is open): connect probes, all open.
	b := newBuilder(DefaultConfig())
	for i := range 40 {
		connectTo(b, t0+int64(i)*sec/50, "10.0.0.20", uint16(40000+i), fmt.Sprintf("10.0.1.%d", 1+i%8), uint16(20+i/8), false, fR|fA)
	}
	an := b.agg.Finish()
	if s := an.Suspects(DefaultThresholds()); len(s) != 0 {
		t.Errorf("listed though TRW says benign: %+v", s)
	}
	if d := mustDetail(t, an, "10.0.0.20"); d.TRW.Decision != "benign" || d.Probes != 40 || len(d.Episodes) != 1 || d.Episodes[0].Qualifies {
		t.Errorf("TRW %+v, probes %d, episodes %+v", d.TRW, d.Probes, d.Episodes)
	}

	// The same with 30 closed ports besides: failures dominate, listed.
	b = newBuilder(DefaultConfig())
	for i := range 40 {
		connectTo(b, t0+int64(i)*sec/50, scanner, uint16(40000+i), victim, uint16(1000+i), false, fR|fA)
	}
	for i := range 50 {
		ts := t0 + sec + int64(i)*sec/50
		b.tcp(ts, scanner, uint16(41000+i), victim, uint16(2000+i), fS, 0)
		b.tcp(ts+100, victim, uint16(2000+i), scanner, uint16(41000+i), fR|fA, 0)
	}
	if s, ok := listed(b.agg.Finish())[scanner]; !ok || !slices.Equal(s.Techniques, []string{"connect_scan"}) {
		t.Errorf("connect scan with failures dominating: listed %v %+v", ok, s)
	}

	// A SYN scan of a web farm whose every host answers SYN/ACK: TRW calls
	// the source benign (every first contact succeeds in its sense), but
	// the half-open probes are failures of a scanner, listed.
	b = newBuilder(DefaultConfig())
	for i := range 30 {
		ts, h := t0+int64(i)*sec/50, fmt.Sprintf("10.0.2.%d", 1+i)
		b.tcp(ts, scanner, 45000, h, 80, fS, 0)
		b.tcp(ts+100, h, 80, scanner, 45000, fS|fA, 0)
		b.tcp(ts+200, scanner, 45000, h, 80, fR, 0)
	}
	an = b.agg.Finish()
	if s, ok := listed(an)[scanner]; !ok || s.Kind != "horizontal" {
		t.Errorf("SYN sweep of open web servers: listed %v %+v", ok, s)
	}
	if d := mustDetail(t, an, scanner); d.TRW.Decision != "benign" {
		t.Errorf("TRW %+v, want benign (the guard is what is tested)", d.TRW)
	}
}

// masscanSYN sets the fields of a masscan 1.3.2 SYN (DETECTION.md §5).
func masscanSYN(p *pcapng.Packet) {
	p.TTL, p.Window, p.Seq = 255, 1024, uint32(p.DstPort)*2654435761+12345
	d := p.Dst.As4()
	p.IPID = (uint32(d[0])<<24 | uint32(d[1])<<16 | uint32(d[2])<<8 | uint32(d[3])) ^ uint32(p.DstPort) ^ p.Seq
	p.IPID &= 0xffff
}

// TestBannerGrabsAfterRawSYN: masscan --banners completes the handshake of
// each open port from its own stack and reads the banner. The probes are
// raw SYNs, a syn_scan; the banner grabs are use following it, not
// connections or connect() probes.
func TestBannerGrabsAfterRawSYN(t *testing.T) {
	b := newBuilder(DefaultConfig())
	open := []int{21, 22, 53}
	for i := range 60 {
		ts, port := t0+int64(i)*sec/100, uint16(1+i)
		b.tcpWith(ts, scanner, 61000, victim, port, fS, 0, masscanSYN)
		if !slices.Contains(open, int(port)) {
			b.tcp(ts+100, victim, port, scanner, 61000, fR|fA, 0)
			continue
		}
		b.tcp(ts+100, victim, port, scanner, 61000, fS|fA, 0)
		b.tcp(ts+200, scanner, 61000, victim, port, fA, 0)
		if port == 53 {
			b.tcp(ts+300, scanner, 61000, victim, port, fA|fP, 60) // its request
		}
		b.tcp(ts+400, victim, port, scanner, 61000, fA|fP, 200) // the banner
		if port == 22 {
			b.tcp(ts+500, scanner, 61000, victim, port, fF|fA, 0)
		} else {
			b.tcp(ts+500, scanner, 61000, victim, port, fR|fA, 0)
		}
	}
	an := b.agg.Finish()
	s, ok := listed(an)[scanner]
	if !ok || !slices.Equal(s.Techniques, []string{"syn_scan"}) || s.Tool == nil || s.Tool.Name != "masscan" || s.Probes != 60 {
		t.Fatalf("listed %v suspect %+v", ok, s)
	}
	d := mustDetail(t, an, scanner)
	if d.BannerGrabs != 3 || !d.FollowedByUse || !slices.Equal(d.UsedPorts, open) || d.SuccessfulConnections != 0 ||
		!slices.Equal(d.OpenPorts, []int{21, 22, 53}) {
		t.Errorf("banner grabs %d, used %v %v, successful %d, open %v", d.BannerGrabs, d.FollowedByUse, d.UsedPorts, d.SuccessfulConnections, d.OpenPorts)
	}
}

// pollRound is one round of a Nagios-like poller from src: a ping to each of
// hosts, then a connection to each service, read and closed with end.
func pollRound(b *builder, ts int64, src string, sport uint16, hosts []string, services [][2]any, end uint16) {
	for i, h := range hosts {
		b.icmp(ts+int64(i)*1000, src, h, icmpEcho, 0, nil)
		b.icmp(ts+int64(i)*1000+500, h, src, icmpEchoReply, 0, nil)
	}
	ts += sec / 10
	for i, sv := range services {
		h, port := sv[0].(string), sv[1].(uint16)
		at := ts + int64(i)*sec/200
		if port >= 3000 { // a service that is down: refused every round
			b.tcp(at, src, sport+uint16(i), h, port, fS, 0)
			b.tcp(at+100, h, port, src, sport+uint16(i), fR|fA, 0)
			continue
		}
		connectTo(b, at, src, sport+uint16(i), h, port, true, end)
	}
}

// TestMonitoringPoller: the same services and hosts polled every 5 s for
// a minute, 2 of 34 services down, is monitoring: not listed, and the
// source says so. Once, the same traffic is a scan (the pings a sweep).
func TestMonitoringPoller(t *testing.T) {
	const src = "10.0.0.30"
	var hosts []string
	var services [][2]any
	for h := range 12 {
		hosts = append(hosts, fmt.Sprintf("10.0.5.%d", 1+h))
	}
	for _, h := range hosts[:4] {
		for _, p := range []uint16{21, 22, 25, 80, 110, 143, 443, 993} {
			services = append(services, [2]any{h, p})
		}
	}
	services = append(services, [2]any{hosts[0], uint16(3389)}, [2]any{hosts[1], uint16(5900)})
	for _, end := range []uint16{fF | fA, fR | fA} { // closed cleanly, or reset (SO_LINGER 0)
		t.Run(pcapng.FlagString(end), func(t *testing.T) {
			b := newBuilder(DefaultConfig())
			for r := range 12 {
				pollRound(b, t0+int64(r)*5*sec, src, uint16(30000+r*100), hosts, services, end)
			}
			an := b.agg.Finish()
			if s := an.Suspects(DefaultThresholds()); len(s) != 0 {
				t.Errorf("poller listed: %+v", s)
			}
			d := mustDetail(t, an, src)
			want := Monitoring{Services: 46, Failing: 2, Hosts: 12, Rounds: 12, PeriodS: 5}
			if d.Monitoring == nil || *d.Monitoring != want {
				t.Errorf("monitoring %+v, want %+v", d.Monitoring, want)
			}
			if d.Probes != 0 || len(d.Techniques) != 0 {
				t.Errorf("probes %d techniques %v, want none", d.Probes, d.Techniques)
			}
		})
	}
	// One round only (a capture shorter than the period): no schedule to
	// see, but its 32 connections outnumber its 14 probes (12 pings, 2
	// refused), as a client's do: not listed.
	b := newBuilder(DefaultConfig())
	pollRound(b, t0, src, 30000, hosts, services, fF|fA)
	an := b.agg.Finish()
	if s := an.Suspects(DefaultThresholds()); len(s) != 0 {
		t.Errorf("one round listed: %+v", s)
	}
	if d := mustDetail(t, an, src); d.Monitoring != nil || d.Probes != 14 || d.SuccessfulConnections != 32 {
		t.Errorf("one round: monitoring %+v, probes %d, successful %d", d.Monitoring, d.Probes, d.SuccessfulConnections)
	}
	// Its pings alone, once: a sweep of 12 hosts, whatever the replies.
	b = newBuilder(DefaultConfig())
	pollRound(b, t0, src, 30000, hosts, nil, fF|fA)
	s, ok := listed(b.agg.Finish())[src]
	if !ok || !slices.Equal(s.Techniques, []string{"ping_sweep"}) || !slices.Equal(s.Reasons, []string{"rate", "sweep_hosts"}) {
		t.Errorf("one round of pings: listed %v %+v", ok, s)
	}
}

// TestNotMonitoring: contacts in rounds that are no schedule.
func TestNotMonitoring(t *testing.T) {
	// ping -c 3 to one host after another (1 s apart): each host's
	// rounds span 2 s of a 36 s run, a sweep.
	b := newBuilder(DefaultConfig())
	for h := range 12 {
		for k := range 3 {
			ts, dst := t0+int64(h*3+k)*sec, fmt.Sprintf("10.0.6.%d", 1+h)
			b.icmp(ts, scanner, dst, icmpEcho, 0, nil)
			b.icmp(ts+1000, dst, scanner, icmpEchoReply, 0, nil)
		}
	}
	an := b.agg.Finish()
	d := mustDetail(t, an, scanner)
	if d.Monitoring != nil {
		t.Errorf("ping loop is monitoring: %+v", d.Monitoring)
	}
	// A web client fetching the same pages over and over, 50 ms apart:
	// too fast for a schedule.
	b = newBuilder(DefaultConfig())
	for r := range 20 {
		for i, h := range []string{"10.0.7.1", "10.0.7.2", "10.0.7.3", "10.0.7.4"} {
			connectTo(b, t0+int64(r*4+i)*sec/20, "10.0.0.20", uint16(40000+r*4+i), h, 443, false, fF|fA)
		}
	}
	if d := mustDetail(t, b.agg.Finish(), "10.0.0.20"); d.Monitoring != nil {
		t.Errorf("web client is monitoring: %+v", d.Monitoring)
	}
	// Closed ports probed again and again on a schedule: no live service
	// sets it, so they stay probes.
	b = newBuilder(DefaultConfig())
	for r := range 5 {
		for i := range 30 {
			ts, port := t0+int64(r)*10*sec+int64(i)*sec/100, uint16(100+i)
			b.tcp(ts, scanner, uint16(40000+r), victim, port, fS, 0)
			b.tcp(ts+100, victim, port, scanner, uint16(40000+r), fR|fA, 0)
		}
	}
	an = b.agg.Finish()
	if _, ok := listed(an)[scanner]; !ok {
		t.Errorf("repeated scan of closed ports not listed")
	}
	if d := mustDetail(t, an, scanner); d.Monitoring != nil {
		t.Errorf("repeated scan is monitoring: %+v", d.Monitoring)
	}
}

// TestZeroIOConnectScan: nc -z closes each open port's connection
// gracefully without a byte: connections, not probes; the refused ports
// are its probes, named connect_scan from the connect() calls beside them.
func TestZeroIOConnectScan(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for i := range 30 {
		ts, port, sp := t0+int64(i)*sec/100, uint16(1+i), uint16(40000+i)
		if i%10 == 0 {
			connectTo(b, ts, scanner, sp, victim, port, false, fF|fA)
			continue
		}
		b.tcp(ts, scanner, sp, victim, port, fS, 0)
		b.tcp(ts+100, victim, port, scanner, sp, fR|fA, 0)
	}
	an := b.agg.Finish()
	s, ok := listed(an)[scanner]
	if !ok || !slices.Equal(s.Techniques, []string{"connect_scan"}) || s.Probes != 27 {
		t.Errorf("listed %v suspect %+v", ok, s)
	}
	if d := mustDetail(t, an, scanner); d.SuccessfulConnections != 3 {
		t.Errorf("successful connections %d, want 3", d.SuccessfulConnections)
	}
}
