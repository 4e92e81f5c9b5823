package scan

import (
	"slices"
	"strings"
	"testing"

	"porthunter/pcapng"
)

// decoyScan is nmap -sS -D <decoys>,ME of ports 1-30 of 10.0.0.9, port 22
// and 80 open, as a sensor sees it: every probe from each source with one
// header; answers to sources in answered; the SYN/ACKs of open ports reset
// by the sources in resets (the scanner's kernel, or a live host behind a
// decoy address).
func decoyScan(srcs, answered, resets []string) *Analysis {
	b := newBuilder(DefaultConfig())
	const dst = "10.0.0.9"
	for port := uint16(1); port <= 30; port++ {
		ts := t0 + int64(port)*sec/10
		for i, s := range srcs {
			p := b.base(ts+int64(i)*1000, s, dst)
			p.Proto, p.L4 = protoTCP, pcapng.L4TCP
			p.SrcPort, p.DstPort, p.TCPFlags, p.Window = 55555, port, fS, 1024
			p.Seq, p.IPID = 0xdeadbeef, 4242
			b.agg.Add(&p)
		}
		for i, s := range answered {
			at := ts + sec/100 + int64(i)*1000
			if port == 22 || port == 80 {
				b.tcp(at, dst, port, s, 55555, fS|fA, 0)
				if slices.Contains(resets, s) {
					b.tcp(at+500, s, 55555, dst, port, fR, 0)
				}
			} else {
				b.tcp(at, dst, port, s, 55555, fR|fA, 0)
			}
		}
	}
	return b.agg.Finish()
}

// TestDecoyRoles: the wire tells the real scanner of a decoy group by
// what came back, whichever side the sensor is on, and says so when it
// cannot (a live host behind a decoy address resets as the scanner does).
func TestDecoyRoles(t *testing.T) {
	const real = "203.0.113.5"
	srcs := []string{real, "198.51.100.77", "192.0.2.99", "203.0.113.200"}
	tests := []struct {
		name               string
		answered, resets   []string
		likelyReal, reason string
	}{
		{"scanner side", []string{real}, []string{real}, real, "only 203.0.113.5 reset"},
		{"scanner side, closed ports only", []string{real}, nil, real, "only 203.0.113.5 drew answers"},
		{"target side", srcs, []string{real}, real, "only 203.0.113.5 reset"},
		{"target side, live decoy", srcs, []string{real, "192.0.2.99"}, "", "undetermined: 2 members reset"},
		{"nothing came back", nil, nil, "", "undetermined: no member"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			an := decoyScan(srcs, tc.answered, tc.resets)
			ov := an.Overview(DefaultThresholds(), 60, 20)
			if len(ov.Decoys) != 1 {
				t.Fatalf("decoy groups %+v, want one", ov.Decoys)
			}
			g := ov.Decoys[0]
			if g.LikelyReal != tc.likelyReal || len(g.Evidence) == 0 || !strings.HasPrefix(g.Evidence[0], tc.reason) {
				t.Errorf("likely real %q, evidence %q; want %q, %q...", g.LikelyReal, g.Evidence, tc.likelyReal, tc.reason)
			}
			sus := listed(an)
			if len(sus) != len(srcs) {
				t.Fatalf("%d suspects, want every source of the group", len(sus))
			}
			for _, s := range srcs {
				want := ""
				switch {
				case tc.likelyReal == s:
					want = "likely_real"
				case tc.likelyReal != "":
					want = "decoy"
				}
				if got := sus[s].DecoyRole; got != want {
					t.Errorf("%s: decoy_role %q, want %q", s, got, want)
				}
				if d := mustDetail(t, an, s); d.DecoyRole != want || len(d.DecoyEvidence) == 0 {
					t.Errorf("%s: detail decoy_role %q evidence %q", s, d.DecoyRole, d.DecoyEvidence)
				}
			}
			fe := an.FirstEvent(DefaultThresholds())
			if tc.likelyReal != "" && fe.Src.String() != real {
				t.Errorf("first event from %s, want the likely real %s (the decoys' copies give way)", fe.Src, real)
			}
		})
	}
}

// TestDecoyOwnProbes: when several members reset alike, probes no other
// member sent (nmap's -sV connections are never decoyed) single out the
// scanner.
func TestDecoyOwnProbes(t *testing.T) {
	const real, live = "203.0.113.5", "192.0.2.99"
	srcs := []string{real, "198.51.100.77", live}
	b := newBuilder(DefaultConfig())
	for port := uint16(1); port <= 30; port++ {
		ts := t0 + int64(port)*sec/10
		for i, s := range srcs {
			p := b.base(ts+int64(i)*1000, s, "10.0.0.9")
			p.Proto, p.L4 = protoTCP, pcapng.L4TCP
			p.SrcPort, p.DstPort, p.TCPFlags, p.Window = 55555, port, fS, 1024
			p.Seq, p.IPID = 0xdeadbeef, 4242
			b.agg.Add(&p)
			if port == 22 && s != "198.51.100.77" {
				b.tcp(ts+int64(i)*1000+500, "10.0.0.9", 22, s, 55555, fS|fA, 0)
				b.tcp(ts+int64(i)*1000+600, s, 55555, "10.0.0.9", 22, fR, 0)
			}
		}
	}
	b.tcp(t0+5*sec, real, 40001, "10.0.0.9", 8443, fS, 0) // its own probe
	an := b.agg.Finish()
	ov := an.Overview(DefaultThresholds(), 60, 20)
	if len(ov.Decoys) != 1 || ov.Decoys[0].LikelyReal != real || !strings.HasPrefix(ov.Decoys[0].Evidence[0], "only 203.0.113.5 sent probes") {
		t.Errorf("decoys %+v, want %s by its own probes", ov.Decoys, real)
	}
}
