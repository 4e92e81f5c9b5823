package scan

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// labTunnel is the tunnel part of a fixtures/lab/tun_*.labels.json
// (record_tunnels.sh): what carried the scan, between which outer
// addresses, and the twin capture of the same scan.
type labTunnel struct {
	labLabels
	OpenPorts  []int `json:"open_ports"`
	ProbesSeen int   `json:"probes_seen"` // scanner probes tshark found
	Tunnel     *struct {
		Kind      string `json:"kind"`
		Endpoints []struct {
			Src string `json:"src"`
			Dst string `json:"dst"`
		} `json:"endpoints"`
		TsharkProtocols string `json:"tshark_protocols"`
		IPPacketsInside uint64 `json:"ip_packets_inside"` // frames tshark decodes to an IP packet inside the tunnel
	} `json:"tunnel"`
	InnerTwin string `json:"inner_twin"`
}

// TestLabTunnels runs each scan recorded inside a tunnel or mirror
// (fixtures/lab/record_tunnels.sh) through the decoder and the analysis,
// and checks it against its labels, written from what was run: the
// scanner is listed with the labelled kind, technique, ports, targets
// and open ports, nobody else is; the capture report counts the tunnel's
// layers and names its endpoints exactly. Then the same scan captured at
// the same time without the tunnel (the inner twin) must give the same
// suspects. TestLab checks the first event of both against tshark's.
func TestLabTunnels(t *testing.T) {
	files, _ := filepath.Glob("../fixtures/lab/tun_*.labels.json")
	if len(files) == 0 {
		t.Fatal("no tunnel lab captures")
	}
	var table []string
	for _, lf := range files {
		var l labTunnel
		b, err := os.ReadFile(lf)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatalf("%s: %v", lf, err)
		}
		if l.Tunnel == nil {
			continue // an inner twin: checked beside its tunnelled capture
		}
		t.Run(l.File, func(t *testing.T) {
			an := analyzeFile(t, filepath.Join("../fixtures/lab", l.File), DefaultConfig())
			sus := checkLabSuspect(t, an, &l)
			st := an.Capture().Tunnels
			if st == nil {
				t.Fatalf("no tunnels in the capture report")
			}
			row := fmt.Sprintf("%-34s %-10s packets=%d layers=%d endpoints=%d", l.File, l.Tunnel.Kind, st.Packets,
				tunnelLayers(st, l.Tunnel.Kind), st.EndpointsTotal)
			defer func() { table = append(table, row) }()
			// Exactly the packets tshark decodes to IP inside the tunnel
			// were decapsulated, through one layer of the labelled kind.
			if got := tunnelLayers(st, l.Tunnel.Kind); got != st.Packets || st.Packets != l.Tunnel.IPPacketsInside ||
				st.Packets < uint64(l.ProbesSeen) || st.DepthExceeded != 0 {
				t.Errorf("tunnels %+v: %d %s layers; tshark: %d IP packets inside, %d probes", *st, got, l.Tunnel.Kind,
					l.Tunnel.IPPacketsInside, l.ProbesSeen)
			}
			var want, got []string
			for _, e := range l.Tunnel.Endpoints {
				want = append(want, l.Tunnel.Kind+" "+e.Src+">"+e.Dst)
			}
			for _, e := range st.Endpoints {
				got = append(got, e.Kind+" "+e.Src.String()+">"+e.Dst.String())
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) || st.EndpointsTotal != len(want) || st.EndpointsTruncated {
				t.Errorf("endpoints %v (total %d), label %v", got, st.EndpointsTotal, want)
			}

			twin := analyzeFile(t, filepath.Join("../fixtures/lab", l.InnerTwin), DefaultConfig())
			if twin.Capture().Tunnels != nil {
				t.Errorf("inner twin %s: tunnels %+v", l.InnerTwin, *twin.Capture().Tunnels)
			}
			if a, b := suspectSummary(sus), suspectSummary(twin.Suspects(DefaultThresholds())); a != b {
				t.Errorf("suspects differ from the capture without the tunnel:\n tunnelled %s\n inner     %s", a, b)
			}
			row += " same suspects as " + l.InnerTwin
		})
	}
	t.Logf("tunnel lab results:\n%s", strings.Join(table, "\n"))
}

// checkLabSuspect asserts the labelled scanner is the only suspect, with
// the labelled kind, technique, ports, targets and open ports.
func checkLabSuspect(t *testing.T, an *Analysis, l *labTunnel) []Suspect {
	t.Helper()
	sus := an.Suspects(DefaultThresholds())
	if len(sus) != 1 || l.Scanner == nil || sus[0].IP != netip.MustParseAddr(*l.Scanner) {
		t.Fatalf("suspects %v, label scanner %s", suspectSummary(sus), deref(l.Scanner))
	}
	s := sus[0]
	if s.Kind != deref(l.Kind) || !slices.Contains(s.Techniques, deref(l.Technique)) ||
		s.DistinctPorts != l.PortsScanned || s.DistinctHosts != len(l.Targets) || !slices.Equal(s.OpenPorts, l.OpenPorts) {
		t.Errorf("suspect %s kind %s techniques %v ports %d hosts %d open %v; label %s %s %d ports, targets %v, open %v",
			s.IP, s.Kind, s.Techniques, s.DistinctPorts, s.DistinctHosts, s.OpenPorts,
			deref(l.Kind), deref(l.Technique), l.PortsScanned, l.Targets, l.OpenPorts)
	}
	d, ok := an.Detail(s.IP)
	if !ok {
		t.Fatalf("no detail for %s", s.IP)
	}
	var targets []string
	for _, tg := range d.Targets {
		targets = append(targets, tg.IP.String())
	}
	if !slices.Equal(targets, l.Targets) {
		t.Errorf("targets %v, label %v", targets, l.Targets)
	}
	return sus
}

// suspectSummary is what two captures of one scan must agree on: who, what
// kind and techniques, how many ports, hosts and probes, what was open,
// and the tool.
func suspectSummary(sus []Suspect) string {
	var parts []string
	for _, s := range sus {
		parts = append(parts, fmt.Sprintf("%s %s %v ports=%d hosts=%d probes=%d open=%v flags=%v tool=%s",
			s.IP, s.Kind, s.Techniques, s.DistinctPorts, s.DistinctHosts, s.Probes, s.OpenPorts, s.FlagsSeen, toolName(s.Tool)))
	}
	return strings.Join(parts, "; ")
}

// tunnelLayers is the report's count of layers of the kind named.
func tunnelLayers(st *TunnelStats, kind string) uint64 {
	return map[string]uint64{"vxlan": st.VXLAN, "geneve": st.GENEVE, "gre": st.GRE, "nvgre": st.NVGRE,
		"erspan_i": st.ERSPANI, "erspan_ii": st.ERSPANII, "erspan_iii": st.ERSPANIII, "ipip": st.IPIP,
		"6in4": st.SixInFour, "4in6": st.FourInSix, "6in6": st.SixInSix, "teredo": st.Teredo, "gtpu": st.GTPU}[kind]
}
