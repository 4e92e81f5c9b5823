package scan

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// labFor reads the labels of the lab captures of technique tech.
func labFor(t *testing.T, tech string) []labLabels {
	t.Helper()
	files, _ := filepath.Glob("../fixtures/lab/*.labels.json")
	var out []labLabels
	for _, lf := range files {
		b, err := os.ReadFile(lf)
		if err != nil {
			t.Fatal(err)
		}
		var l labLabels
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatalf("%s: %v", lf, err)
		}
		if deref(l.Technique) == tech {
			out = append(out, l)
		}
	}
	return out
}

// TestLabProtocolScan: nmap -sO of a Linux target, over IPv4 and IPv6, is
// a vertical ip_protocol_scan of every protocol number, with the
// protocols the target answered open and those it declared unsupported
// (as tshark reads the quoted protocol of its errors) closed.
func TestLabProtocolScan(t *testing.T) {
	labs := labFor(t, "ip_protocol_scan")
	if len(labs) < 2 {
		t.Fatalf("%d protocol scan captures, want IPv4 and IPv6", len(labs))
	}
	for _, l := range labs {
		t.Run(l.File, func(t *testing.T) {
			an := analyzeFile(t, filepath.Join("../fixtures/lab", l.File), DefaultConfig())
			s, ok := listed(an)[*l.Scanner]
			if !ok || s.Kind != "vertical" || !slices.Contains(s.Techniques, "ip_protocol_scan") || s.DistinctProtocols != l.ProtocolsScanned {
				t.Fatalf("suspect %+v, want a vertical ip_protocol_scan of %d protocols", s, l.ProtocolsScanned)
			}
			d := mustDetail(t, an, *l.Scanner)
			if !slices.Equal(d.OpenProtocols, l.ProtocolsAnswered) {
				t.Errorf("open protocols %v, label %v", d.OpenProtocols, l.ProtocolsAnswered)
			}
			if !slices.Equal(d.ClosedProtocols, l.ProtocolsClosed) {
				t.Errorf("closed protocols (%d) %v, label (%d) %v", len(d.ClosedProtocols), d.ClosedProtocols, len(l.ProtocolsClosed), l.ProtocolsClosed)
			}
			if n := len(d.Protocols) - len(d.OpenProtocols) - len(d.ClosedProtocols); n != d.Outcomes.Unanswered+d.Outcomes.Filtered {
				t.Errorf("%d protocols neither open nor closed, outcomes %+v", n, d.Outcomes)
			}
		})
	}
}

// TestLabIdleScan: nmap -sI, seen from the LAN and from the uplink: the
// zombie is the on-wire scanner and names the prober, which is listed with
// technique idle_scan and its zombie, never as backscatter alone.
func TestLabIdleScan(t *testing.T) {
	labs := labFor(t, "idle_scan")
	if len(labs) == 0 {
		t.Fatal("no idle scan capture")
	}
	for _, l := range labs {
		t.Run(l.File, func(t *testing.T) {
			an := analyzeFile(t, filepath.Join("../fixtures/lab", l.File), DefaultConfig())
			sus := listed(an)
			z, p := sus[*l.Zombie], sus[*l.Scanner]
			if z.IdleScanBy != *l.Scanner || !slices.Equal(z.Techniques, []string{"syn_scan"}) || z.Kind != "vertical" ||
				z.DistinctPorts != l.PortsScanned {
				t.Errorf("zombie %+v, want the on-wire vertical syn_scan of %d ports, idle_scan_by %s", z, l.PortsScanned, *l.Scanner)
			}
			if p.Zombie != *l.Zombie || !slices.Equal(p.Techniques, []string{"idle_scan"}) || p.Kind != "vertical" {
				t.Errorf("prober %+v, want idle_scan through %s", p, *l.Zombie)
			}
			d := mustDetail(t, an, *l.Scanner)
			if d.IdleScan == nil || d.IdleScan.Zombie.String() != *l.Zombie || d.IdleScan.IPIDProbes < idleMinProbes ||
				d.IdleScan.SpoofedProbes != l.PortsScanned || d.IdleScan.LastIPID <= d.IdleScan.FirstIPID {
				t.Errorf("prober's idle scan %+v", d.IdleScan)
			}
			if !d.Suspect || d.BackscatterPkts == 0 {
				t.Errorf("prober: suspect %v, backscatter %d (its SYN/ACKs are still counted)", d.Suspect, d.BackscatterPkts)
			}
			if strings.Contains(l.File, "uplink") {
				return // the target's answers to the zombie stay on the LAN
			}
			if !slices.Equal(z.OpenPorts, l.OpenPorts) || !slices.Equal(p.OpenPorts, l.OpenPorts) {
				t.Errorf("open ports: zombie %v, prober %v, label %v", z.OpenPorts, p.OpenPorts, l.OpenPorts)
			}
		})
	}
}

// TestLabDecoys: nmap -D RND:5,ME seen from the uplink and from the LAN:
// one group of the scanner and its decoys, the scanner marked likely_real
// with evidence and the decoys decoy; with a live host among the decoys,
// seen from the LAN, the group says it cannot tell.
func TestLabDecoys(t *testing.T) {
	n := 0
	for _, l := range labFor(t, "syn_scan") {
		if len(l.Decoys) == 0 {
			continue
		}
		n++
		t.Run(l.File, func(t *testing.T) {
			an := analyzeFile(t, filepath.Join("../fixtures/lab", l.File), DefaultConfig())
			ov := an.Overview(DefaultThresholds(), DefaultWindowS, 20)
			if len(ov.Decoys) != 1 {
				t.Fatalf("decoy groups %+v, want one", ov.Decoys)
			}
			g := ov.Decoys[0]
			var members []string
			for _, a := range g.Sources {
				members = append(members, a.String())
			}
			want := append(slices.Clone(l.Decoys), *l.Scanner)
			slices.Sort(want)
			slices.Sort(members)
			if !slices.Equal(members, want) {
				t.Errorf("group %v, want %v", members, want)
			}
			sus := listed(an)
			if len(l.LiveDecoys) > 0 {
				if g.LikelyReal != "" || len(g.Evidence) == 0 || !strings.HasPrefix(g.Evidence[0], "undetermined") {
					t.Errorf("likely real %q, evidence %q: want undetermined", g.LikelyReal, g.Evidence)
				}
				for _, m := range want {
					if sus[m].DecoyRole != "" {
						t.Errorf("%s marked %s in an undetermined group", m, sus[m].DecoyRole)
					}
				}
				return
			}
			if g.LikelyReal != *l.Scanner || len(g.Evidence) == 0 {
				t.Errorf("likely real %q, evidence %q; want %s", g.LikelyReal, g.Evidence, *l.Scanner)
			}
			if sus[*l.Scanner].DecoyRole != "likely_real" {
				t.Errorf("scanner's decoy_role %q", sus[*l.Scanner].DecoyRole)
			}
			for _, dec := range l.Decoys {
				if s, ok := sus[dec]; !ok || s.DecoyRole != "decoy" {
					t.Errorf("decoy %s: listed %v, decoy_role %q", dec, ok, s.DecoyRole)
				}
			}
		})
	}
	if n < 3 {
		t.Errorf("%d decoy captures, want uplink, LAN and live-decoy", n)
	}
}
