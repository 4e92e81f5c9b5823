package scan

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// truth is the part of fixtures/X.truth.json the scan engine answers for.
// The generator that wrote it does not import this module (fixtures/README.md).
type truth struct {
	Packets        int             `json:"packets"`
	FirstTS        string          `json:"first_ts"`
	LastTS         string          `json:"last_ts"`
	Scanners       *[]truthScanner `json:"scanners"` // absent: the file makes no claim about scanning
	BelowThreshold []truthScanner  `json:"below_threshold"`
	Benign         []string        `json:"benign"`
	Distributed    []struct {
		Target        string   `json:"target"`
		Sources       []string `json:"sources"`
		DistinctPorts int      `json:"distinct_ports"`
	} `json:"distributed"`
}

type truthScanner struct {
	IP            string   `json:"ip"`
	Kind          string   `json:"kind"`
	Techniques    []string `json:"techniques"`
	DistinctPorts int      `json:"distinct_ports"`
	DistinctHosts int      `json:"distinct_hosts"`
	Probes        int      `json:"probes"`
	ProbePackets  int      `json:"probe_packets"`
	OpenPorts     []int    `json:"open_ports"`
	Unanswered    int      `json:"unanswered"`
	FirstProbe    struct {
		TS    string `json:"ts"`
		Frame uint64 `json:"frame"`
		Src   string `json:"src"`
		Dst   string `json:"dst"`
		Port  uint16 `json:"port"`
		Proto string `json:"proto"`
		Flags string `json:"flags"`
	} `json:"first_probe"`
	LastProbeTS string `json:"last_probe_ts"`
}

const fixtureDir = "../fixtures"

// analyzeFile reads a capture through the product reader and decoder.
func analyzeFile(t testing.TB, path string, c Config) *Analysis {
	t.Helper()
	return analyzePackets(decodeFile(t, path), c)
}

func readTruth(t *testing.T, path string) truth {
	t.Helper()
	b, err := os.ReadFile(path + ".truth.json")
	if err != nil {
		t.Fatal(err)
	}
	var tr truth
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestFixtures(t *testing.T) {
	truths, _ := filepath.Glob(filepath.Join(fixtureDir, "*.truth.json"))
	if len(truths) == 0 {
		t.Fatal("no fixtures")
	}
	for _, tf := range truths {
		path := strings.TrimSuffix(tf, ".truth.json")
		t.Run(filepath.Base(path), func(t *testing.T) {
			tr := readTruth(t, path)
			an := analyzeFile(t, path, DefaultConfig())
			checkFixture(t, an, tr)
		})
	}
}

func checkFixture(t *testing.T, an *Analysis, tr truth) {
	st := an.Capture()
	if st.TotalPackets != uint64(tr.Packets) {
		t.Errorf("total_pkts = %d, want %d", st.TotalPackets, tr.Packets)
	}
	if st.FirstTS == nil || st.FirstTS.String() != tr.FirstTS || st.LastTS.String() != tr.LastTS {
		t.Errorf("first/last = %v/%v, want %s/%s", st.FirstTS, st.LastTS, tr.FirstTS, tr.LastTS)
	}
	sus := an.Suspects(DefaultThresholds())
	if tr.Scanners == nil {
		// A format fixture: the conversation ones hold only benign
		// traffic; links.pcapng sends 14 unanswered SYNs to ports
		// 2000-2013 of one host in 18 ms, which is a vertical SYN scan by
		// the contract's rules, so it is only logged.
		for _, s := range sus {
			t.Logf("format fixture lists %s (%s %v)", s.IP, s.Kind, s.Techniques)
		}
		if len(sus) > 0 && !strings.Contains(t.Name(), "links") {
			t.Errorf("format fixture lists %d suspects, want 0", len(sus))
		}
		return
	}
	scanners := *tr.Scanners
	got := map[string]Suspect{}
	for _, s := range sus {
		got[s.IP.String()] = s
	}
	want := map[string]bool{}
	for _, w := range scanners {
		want[w.IP] = true
		s, ok := got[w.IP]
		if !ok {
			t.Errorf("scanner %s not listed", w.IP)
			if d, ok := an.Detail(netip.MustParseAddr(w.IP)); ok {
				b, _ := json.Marshal(d.Episodes)
				t.Logf("detail: probes %d reasons %v trw %+v episodes %s", d.Probes, d.Reasons, d.TRW, b)
			}
			continue
		}
		checkScanner(t, an, s, w)
	}
	for ip, s := range got {
		if !want[ip] {
			t.Errorf("%s listed (%s, %v, reasons %v) but is not a scanner", ip, s.Kind, s.Techniques, s.Reasons)
		}
	}
	fe := an.FirstEvent(DefaultThresholds())
	if len(scanners) == 0 {
		if fe != nil {
			t.Errorf("FirstEvent = %+v, want nil", fe)
		}
	} else {
		w := scanners[0]
		for _, s := range scanners[1:] {
			if s.FirstProbe.Frame < w.FirstProbe.Frame {
				w = s
			}
		}
		switch {
		case fe == nil:
			t.Errorf("FirstEvent = nil, want frame %d", w.FirstProbe.Frame)
		case fe.Frame != w.FirstProbe.Frame || fe.TS.String() != w.FirstProbe.TS || fe.Src.String() != w.FirstProbe.Src ||
			fe.Dst.String() != w.FirstProbe.Dst || fe.Port != w.FirstProbe.Port || fe.Proto != w.FirstProbe.Proto:
			t.Errorf("FirstEvent = %+v, want %+v", fe, w.FirstProbe)
		case fe.Proto == "tcp" && (fe.Flags == nil || *fe.Flags != w.FirstProbe.Flags):
			t.Errorf("FirstEvent flags = %v, want %q", fe.Flags, w.FirstProbe.Flags)
		case fe.Proto != "tcp" && fe.Flags != nil:
			t.Errorf("FirstEvent flags = %q for %s, want absent", *fe.Flags, fe.Proto)
		}
	}
	ov := an.Overview(DefaultThresholds(), 60, 1000)
	if len(ov.Scanners) != len(scanners) {
		t.Errorf("overview lists %d scanners, want %d", len(ov.Scanners), len(scanners))
	}
	if len(tr.Distributed) != len(ov.Distributed) {
		t.Errorf("distributed groups = %d, want %d", len(ov.Distributed), len(tr.Distributed))
	}
	for i := range min(len(tr.Distributed), len(ov.Distributed)) {
		g, w := ov.Distributed[i], tr.Distributed[i]
		var srcs []string
		for _, s := range g.Sources {
			srcs = append(srcs, s.String())
		}
		if g.Target.String() != w.Target || !slices.Equal(srcs, w.Sources) || g.DistinctPorts != w.DistinctPorts {
			t.Errorf("distributed group = %v %v %d, want %v %v %d", g.Target, srcs, g.DistinctPorts, w.Target, w.Sources, w.DistinctPorts)
		}
	}
	if len(tr.Distributed) > 0 && !slices.Contains(ov.SuspectedPatterns, "distributed") {
		t.Errorf("suspected_patterns = %v, want distributed", ov.SuspectedPatterns)
	}
}

func checkScanner(t *testing.T, an *Analysis, s Suspect, w truthScanner) {
	t.Helper()
	if s.Kind != w.Kind {
		t.Errorf("%s kind = %s, want %s", w.IP, s.Kind, w.Kind)
	}
	if !slices.Equal(s.Techniques, w.Techniques) {
		t.Errorf("%s techniques = %v, want %v", w.IP, s.Techniques, w.Techniques)
	}
	if s.DistinctPorts != w.DistinctPorts || s.DistinctHosts != w.DistinctHosts || s.Probes != w.Probes {
		t.Errorf("%s ports/hosts/probes = %d/%d/%d, want %d/%d/%d", w.IP, s.DistinctPorts, s.DistinctHosts, s.Probes,
			w.DistinctPorts, w.DistinctHosts, w.Probes)
	}
	if !slices.Equal(s.OpenPorts, w.OpenPorts) {
		t.Errorf("%s open_ports = %v, want %v", w.IP, s.OpenPorts, w.OpenPorts)
	}
	if s.Unanswered != w.Unanswered {
		t.Errorf("%s unanswered = %d, want %d", w.IP, s.Unanswered, w.Unanswered)
	}
	if s.FirstSeen.String() != w.FirstProbe.TS || s.LastSeen.String() != w.LastProbeTS {
		t.Errorf("%s first/last seen = %s/%s, want %s/%s", w.IP, s.FirstSeen, s.LastSeen, w.FirstProbe.TS, w.LastProbeTS)
	}
	d, ok := an.Detail(s.IP)
	if !ok {
		t.Fatalf("Detail(%s) not found", w.IP)
	}
	fp := d.FirstProbe
	if fp == nil || fp.Frame != w.FirstProbe.Frame || fp.TS.String() != w.FirstProbe.TS || fp.Dst.String() != w.FirstProbe.Dst ||
		fp.Port != w.FirstProbe.Port || fp.Proto != w.FirstProbe.Proto {
		t.Errorf("%s first probe = %+v, want %+v", w.IP, fp, w.FirstProbe)
	} else if fp.Proto == "tcp" && *fp.Flags != w.FirstProbe.Flags {
		t.Errorf("%s first probe flags = %q, want %q", w.IP, *fp.Flags, w.FirstProbe.Flags)
	}
	if d.ProbePkts != uint64(w.ProbePackets) {
		t.Errorf("%s probe packets = %d, want %d", w.IP, d.ProbePkts, w.ProbePackets)
	}
	if a := an.Activity(s.IP); !a.IsSuspect() {
		t.Errorf("Activity(%s) not suspect", w.IP)
	}
}
