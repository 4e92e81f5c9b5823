package scan

import (
	"fmt"
	"slices"
	"testing"
)

// TestHostDiscoveryWhateverReplies: echo, timestamp and address-mask
// requests, and ICMPv6 echo, to 10 or more hosts are a sweep however many
// answer (DETECTION.md §6.10); 9 hosts are not.
func TestHostDiscoveryWhateverReplies(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		hosts   int
		types   []uint8 // requests sent to each host; each answered
		listed  bool
		answers bool
	}{
		{"echo and timestamp, all answered", scanner, 30, []uint8{icmpEcho, icmpTimestamp}, true, true},
		{"address mask, all answered", scanner, 10, []uint8{icmpMaskRequest}, true, true},
		{"icmpv6 echo, all answered", "2001:db8::66", 32, []uint8{icmp6EchoRequest}, true, true},
		{"nine hosts", scanner, 9, []uint8{icmpEcho, icmpTimestamp}, false, true},
		{"echo, none answered", scanner, 12, []uint8{icmpEcho}, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(DefaultConfig())
			for i := range tc.hosts {
				h := fmt.Sprintf("10.3.0.%d", 1+i)
				if tc.src != scanner {
					h = fmt.Sprintf("2001:db8:3::%x", 1+i)
				}
				for k, typ := range tc.types {
					ts := t0 + int64(i*len(tc.types)+k)*sec/1000
					b.icmp(ts, tc.src, h, typ, 0, nil)
					if tc.answers {
						b.icmp(ts+100, h, tc.src, replyType(typ), 0, nil)
					}
				}
			}
			an := b.agg.Finish()
			s, ok := listed(an)[ip(tc.src).String()]
			if ok != tc.listed {
				t.Fatalf("listed = %v, want %v (%+v)", ok, tc.listed, s)
			}
			if !ok {
				return
			}
			if s.Kind != "horizontal" || !slices.Equal(s.Techniques, []string{"ping_sweep"}) || s.DistinctHosts != tc.hosts ||
				!slices.Contains(s.Reasons, "sweep_hosts") {
				t.Errorf("suspect %+v", s)
			}
		})
	}
}

// replyType is the ICMP type answering request typ.
func replyType(typ uint8) uint8 {
	switch typ {
	case icmpTimestamp:
		return icmpTimestampReply
	case icmpMaskRequest:
		return icmpMaskReply
	case icmp6EchoRequest:
		return icmp6EchoReply
	}
	return icmpEchoReply
}

// TestMixedDiscoveryOneSweep: nmap -sn from outside sends, per host, an
// echo, a SYN to 443, an ACK to 80 and a timestamp request, and stops
// once the host answers. Hosts reached by any of them make one sweep:
// here 4 hosts get an echo, 4 a timestamp request, 4 a timestamp request,
// the SYN and the ACK; every part stays under 10 hosts and every host
// answers, yet together they are a sweep of 12 hosts, called ping_sweep
// and nothing else.
func TestMixedDiscoveryOneSweep(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for i := range 12 {
		ts, h := t0+int64(i)*sec/100, fmt.Sprintf("10.4.0.%d", 1+i)
		switch {
		case i < 4:
			b.icmp(ts, scanner, h, icmpEcho, 0, nil)
			b.icmp(ts+100, h, scanner, icmpEchoReply, 0, nil)
		case i < 8:
			b.icmp(ts, scanner, h, icmpTimestamp, 0, nil)
			b.icmp(ts+200, h, scanner, icmpTimestampReply, 0, nil)
		default:
			b.tcp(ts, scanner, 45000, h, 443, fS, 0)
			b.tcp(ts+100, scanner, 45000, h, 80, fA, 0)
			b.icmp(ts+200, scanner, h, icmpTimestamp, 0, nil)
			b.tcp(ts+300, h, 443, scanner, 45000, fS|fA, 0)
			b.tcp(ts+400, scanner, 45000, h, 443, fR, 0)
			b.tcp(ts+500, h, 80, scanner, 45000, fR, 0)
			b.icmp(ts+600, h, scanner, icmpTimestampReply, 0, nil)
		}
	}
	an := b.agg.Finish()
	s, ok := listed(an)[scanner]
	if !ok {
		t.Fatal("mixed discovery not listed")
	}
	if s.Kind != "horizontal" || !slices.Equal(s.Techniques, []string{"ping_sweep"}) || s.DistinctHosts != 12 ||
		!slices.Equal(s.Reasons, []string{"rate", "sweep_hosts"}) {
		t.Errorf("suspect %+v", s)
	}
	d := mustDetail(t, an, scanner)
	if d.FlagStats["SYN"] != 4 || d.FlagStats["ACK"] != 4 || d.FlagStats["ICMP"] != 12 {
		t.Errorf("flag_stats %v", d.FlagStats)
	}
	if d.FirstOpen == nil || d.FirstOpen.Technique != "ping_sweep" {
		t.Errorf("first_open %+v", d.FirstOpen)
	}
	// SYN 443 and ACK 80 without any ICMP request are a scan of their own.
	b = newBuilder(DefaultConfig())
	for i := range 12 {
		ts, h := t0+int64(i)*sec/100, fmt.Sprintf("10.4.0.%d", 1+i)
		b.tcp(ts, scanner, 45000, h, 443, fS, 0)
		b.tcp(ts+100, h, 443, scanner, 45000, fR|fA, 0)
	}
	if s, ok := listed(b.agg.Finish())[scanner]; !ok || !slices.Equal(s.Techniques, []string{"syn_scan"}) {
		t.Errorf("SYN 443 sweep: listed %v %+v", ok, s)
	}
}
