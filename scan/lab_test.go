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

// labLabels is the hand-written part of fixtures/lab/X.labels.json (what
// was run, by whom, against what) plus the first probe as tshark found it.
type labLabels struct {
	File         string   `json:"file"`
	Tool         string   `json:"tool"`
	Scanner      *string  `json:"scanner"`
	Technique    *string  `json:"technique"`
	Kind         *string  `json:"kind"`
	Targets      []string `json:"targets"`
	PortsScanned int      `json:"ports_scanned"`
	Benign       []string `json:"benign"`
	FirstProbe   *struct {
		Frame uint64 `json:"frame"`
		TS    string `json:"ts"`
		Dst   string `json:"dst"`
		Port  int    `json:"port"`
	} `json:"first_probe"`

	// record_detect2.sh: an idle scan's zombie (listed as the on-wire
	// scanner), a decoy scan's decoys (listed, marked decoy) and those of
	// them that are live hosts, a protocol scan's protocols.
	OpenPorts         []int    `json:"open_ports"`
	Zombie            *string  `json:"zombie"`
	Decoys            []string `json:"decoys"`
	LiveDecoys        []string `json:"live_decoys"`
	ProtocolsScanned  int      `json:"protocols_scanned"`
	ProtocolsAnswered []int    `json:"protocols_answered"`
	ProtocolsClosed   []int    `json:"protocols_closed"`
}

// mayList reports whether the labels allow a to be listed: the scanner,
// an idle scan's zombie, a decoy.
func (l *labLabels) mayList(a string) bool {
	return l.Scanner != nil && a == *l.Scanner || l.Zombie != nil && a == *l.Zombie || slices.Contains(l.Decoys, a)
}

// TestLab checks the captures of real scanners recorded in network
// namespaces (fixtures/lab/README.md) against their labels: the scanner is
// listed with its kind and technique, nobody else is, and the first event
// is the first probe tshark finds, to the capture's precision.
func TestLab(t *testing.T) {
	t.Parallel() // no time or memory bound: runs beside the other such tests
	files, _ := filepath.Glob("../fixtures/lab/*.labels.json")
	if len(files) == 0 {
		t.Fatal("no lab captures")
	}
	var table []string
	for _, lf := range files {
		b, err := os.ReadFile(lf)
		if err != nil {
			t.Fatal(err)
		}
		var l labLabels
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatalf("%s: %v", lf, err)
		}
		t.Run(l.File, func(t *testing.T) {
			an := analyzeFile(t, filepath.Join("../fixtures/lab", l.File), DefaultConfig())
			sus := an.Suspects(DefaultThresholds())
			var listed []string
			for _, s := range sus {
				listed = append(listed, s.IP.String())
			}
			row := fmt.Sprintf("%-24s %-8s %-12s listed=%v", l.File, l.Tool, deref(l.Technique), listed)
			defer func() { table = append(table, row) }()
			for _, s := range sus {
				if !l.mayList(s.IP.String()) {
					t.Errorf("false positive: %s listed (%s %v)", s.IP, s.Kind, s.Techniques)
				}
			}
			for _, bn := range append(l.Benign, l.Targets...) {
				if slices.Contains(listed, netip.MustParseAddr(bn).String()) {
					t.Errorf("benign or target %s listed", bn)
				}
			}
			if l.Scanner == nil {
				if fe := an.FirstEvent(DefaultThresholds()); fe != nil {
					t.Errorf("first event %+v in a benign capture", fe)
				}
				return
			}
			i := slices.Index(listed, *l.Scanner)
			if i < 0 {
				t.Fatalf("scanner %s not listed", *l.Scanner)
			}
			s := sus[i]
			row += fmt.Sprintf(" kind=%s techniques=%v ports=%d hosts=%d tool=%v", s.Kind, s.Techniques, s.DistinctPorts, s.DistinctHosts, toolName(s.Tool))
			if s.Kind != deref(l.Kind) {
				t.Errorf("kind %s, label %s", s.Kind, deref(l.Kind))
			}
			tech := deref(l.Technique)
			if tech == "window_scan" && !slices.Contains(s.Techniques, tech) {
				// Linux answers a window scan exactly like an ACK scan
				// (RST with window 0 on every port), so the probes are
				// byte-identical to -sA and only "ack_scan" can be said.
				tech = "ack_scan"
			}
			if !slices.Contains(s.Techniques, tech) {
				t.Errorf("techniques %v lack %s", s.Techniques, tech)
			}
			switch {
			case tech == "ip_protocol_scan":
				if s.DistinctProtocols != l.ProtocolsScanned {
					t.Errorf("distinct protocols %d, label %d", s.DistinctProtocols, l.ProtocolsScanned)
				}
			case deref(l.Kind) == "vertical" && s.DistinctPorts != l.PortsScanned:
				t.Errorf("distinct ports %d, label %d", s.DistinctPorts, l.PortsScanned)
			}
			fe := an.FirstEvent(DefaultThresholds())
			if fe == nil || l.FirstProbe == nil {
				t.Fatalf("first event %v, label %v", fe, l.FirstProbe)
			}
			ts, _ := json.Marshal(fe.TS)
			if len(l.LiveDecoys) > 0 {
				// A live host behind a decoy address answers as the
				// scanner does: the first event may be any member's copy
				// of the first probe, sent no later than the scanner's.
				if !l.mayList(fe.Src.String()) || string(ts) > `"`+l.FirstProbe.TS+`"` {
					t.Errorf("first event %s frame %d from %s, label %s frame %d from the scanner or a decoy", ts, fe.Frame, fe.Src, l.FirstProbe.TS, l.FirstProbe.Frame)
				}
			} else if string(ts) != `"`+l.FirstProbe.TS+`"` || fe.Frame != l.FirstProbe.Frame || fe.Src.String() != *l.Scanner {
				t.Errorf("first event %s frame %d from %s, label %s frame %d", ts, fe.Frame, fe.Src, l.FirstProbe.TS, l.FirstProbe.Frame)
			}
		})
	}
	t.Logf("lab results:\n%s", strings.Join(table, "\n"))
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

func toolName(tl *Tool) string {
	if tl == nil {
		return "-"
	}
	return tl.Name
}
