package scan

import (
	"encoding/json"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// labExtra is what record_detect1.sh's labels say beyond labLabels.
type labExtra struct {
	labLabels
	BannerPorts []int `json:"banner_ports"`
	Monitoring  *struct {
		Source       string  `json:"source"`
		TCPServices  int     `json:"tcp_services"`
		DownServices int     `json:"down_services"`
		PingedHosts  int     `json:"pinged_hosts"`
		Rounds       int     `json:"rounds"`
		PeriodS      float64 `json:"period_s"`
	} `json:"monitoring"`
}

func readLabExtra(t *testing.T, file string) labExtra {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../fixtures/lab", file+".labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	var l labExtra
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return l
}

// TestLabTargets: every lab scanner is listed with exactly the hosts its
// labels name as targets, no more (an answer mistaken for a probe) and no
// fewer (a probe mistaken for an answer or a connection).
func TestLabTargets(t *testing.T) {
	t.Parallel() // no time or memory bound: runs beside the other such tests
	files, _ := filepath.Glob("../fixtures/lab/*.labels.json")
	for _, lf := range files {
		l := readLabExtra(t, filepath.Base(lf[:len(lf)-len(".labels.json")]))
		if l.Scanner == nil {
			continue
		}
		t.Run(l.File, func(t *testing.T) {
			an := analyzeFile(t, filepath.Join("../fixtures/lab", l.File), DefaultConfig())
			d := mustDetail(t, an, *l.Scanner)
			var got, want []netip.Addr
			for _, h := range d.Targets {
				got = append(got, h.IP)
			}
			for _, h := range l.Targets {
				want = append(want, netip.MustParseAddr(h))
			}
			slices.SortFunc(want, netip.Addr.Compare)
			if !d.Suspect || d.DistinctHosts != len(want) || !slices.Equal(got, want) {
				t.Errorf("suspect %v, %d hosts %v; labels %d %v", d.Suspect, d.DistinctHosts, got, len(want), want)
			}
		})
	}
}

// TestLabIssue18: the captures of fixtures/lab/record_detect1.sh, each a
// class of issue 18 that PortHunter missed or misnamed: the scanner is
// listed with exactly its labelled technique, kind and counts; the poller
// is listed nowhere and says it monitors.
func TestLabIssue18(t *testing.T) {
	for _, file := range []string{"nmap_syn_data.pcap", "nmap_sn_pe_pp.pcap", "nmap6_sn_pe.pcapng", "nmap_sn_default.pcap",
		"masscan_banners.pcap"} {
		t.Run(file, func(t *testing.T) {
			l := readLabExtra(t, file)
			an := analyzeFile(t, filepath.Join("../fixtures/lab", file), DefaultConfig())
			sus := an.Suspects(DefaultThresholds())
			if len(sus) != 1 || sus[0].IP.String() != *l.Scanner {
				t.Fatalf("suspects %+v, want %s alone", sus, *l.Scanner)
			}
			s := sus[0]
			if s.Kind != *l.Kind || !slices.Equal(s.Techniques, []string{*l.Technique}) || s.DistinctPorts != l.PortsScanned {
				t.Errorf("kind %s techniques %v ports %d; labels %s [%s] %d", s.Kind, s.Techniques, s.DistinctPorts, *l.Kind, *l.Technique, l.PortsScanned)
			}
			d := mustDetail(t, an, *l.Scanner)
			if d.SuccessfulConnections != 0 {
				t.Errorf("%d successful connections, want none", d.SuccessfulConnections)
			}
			if *l.Kind == "vertical" && d.Probes != l.PortsScanned {
				t.Errorf("%d probes, label %d ports", d.Probes, l.PortsScanned)
			}
			if l.BannerPorts != nil && (d.BannerGrabs != len(l.BannerPorts) || !d.FollowedByUse || !slices.Equal(d.UsedPorts, l.BannerPorts)) {
				t.Errorf("banner grabs %d, used ports %v; labels %v", d.BannerGrabs, d.UsedPorts, l.BannerPorts)
			}
		})
	}
	t.Run("benign_poller.pcap", func(t *testing.T) {
		l := readLabExtra(t, "benign_poller.pcap")
		an := analyzeFile(t, "../fixtures/lab/benign_poller.pcap", DefaultConfig())
		if sus := an.Suspects(DefaultThresholds()); len(sus) != 0 {
			t.Fatalf("suspects %+v, want none", sus)
		}
		m := l.Monitoring
		d := mustDetail(t, an, m.Source)
		// Each pinged host is a service of its own (ICMP echo).
		if d.Monitoring == nil || d.Monitoring.Services != m.TCPServices+m.PingedHosts || d.Monitoring.Failing != m.DownServices ||
			d.Monitoring.Hosts != m.PingedHosts || d.Monitoring.Rounds != m.Rounds || math.Abs(d.Monitoring.PeriodS-m.PeriodS) > m.PeriodS/10 {
			t.Errorf("monitoring %+v, labels %+v", d.Monitoring, *m)
		}
		if d.Probes != 0 || d.TRW.Decision != "benign" || d.SuccessfulConnections != m.TCPServices-m.DownServices {
			t.Errorf("probes %d, TRW %s, successful connections %d", d.Probes, d.TRW.Decision, d.SuccessfulConnections)
		}
	})
}
