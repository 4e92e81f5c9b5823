package scan

import (
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"porthunter/internal/race"
)

// genTruth is the part of ../shared/bench/gen's expected.json the test
// reads: every source with its exact per-source aggregates.
type genTruth struct {
	Top []struct {
		IP    string `json:"ip"`
		Ports int    `json:"distinct_dst_ports"`
		Hosts int    `json:"distinct_dst_hosts"`
		SYN   uint64 `json:"syn"`
		FIN   uint64 `json:"fin"`
		NULL  uint64 `json:"null"`
		XMAS  uint64 `json:"xmas"`
	} `json:"top"`
	Sources int `json:"sources"`
}

// TestGeneratedCapture runs the benchmark generator, whose ground truth is
// exact, and checks every fast scanner in it is listed and no background
// host (clients, servers, resolvers: all of 10/8 and 2001:db8::/32 except
// the scan targets) is, but for the generator's ICMP "monitor". That host
// pings about 1500 distinct hosts once each, at 170 a second, within the
// capture's 8.6 s, and never comes back to any on a schedule: host
// discovery, which DETECTION.md §6.10 calls a sweep whatever the replies
// (issue 18). Its replies alone hid it before; it must be listed as a
// ping sweep and nothing else.
func TestGeneratedCapture(t *testing.T) {
	t.Parallel() // no time or memory bound: runs beside the other such tests
	gen := "../../shared/bench/gen"
	if _, err := os.Stat(gen); err != nil {
		t.Skip("../shared/bench/gen absent")
	}
	if testing.Short() {
		t.Skip("builds the generator")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "gen")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = gen
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("cannot build the generator: %v\n%s", err, out)
	}
	capture, exp := filepath.Join(dir, "g.pcap"), filepath.Join(dir, "g.json")
	if out, err := exec.Command(bin, "-o", capture, "-size", strconv.Itoa(40/race.Scale)+"M", "-seed", "7", "-expected", exp, "-top", "1000000").CombinedOutput(); err != nil {
		t.Fatalf("gen: %v\n%s", err, out)
	}
	b, err := os.ReadFile(exp)
	if err != nil {
		t.Fatal(err)
	}
	var tr genTruth
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	if len(tr.Top) != tr.Sources {
		t.Fatalf("truth lists %d of %d sources", len(tr.Top), tr.Sources)
	}
	an := analyzeFile(t, capture, DefaultConfig())
	listed := map[netip.Addr]Suspect{}
	for _, s := range an.Suspects(DefaultThresholds()) {
		listed[s.IP] = s
	}
	pinger := netip.MustParseAddr("10.1.0.5") // gen's monitor4()
	internal4 := netip.MustParsePrefix("10.0.0.0/8")
	internal6 := netip.MustParsePrefix("2001:db8::/32")
	slow := netip.MustParsePrefix("45.0.0.0/8")
	var fast, background, found int
	for _, s := range tr.Top {
		a := netip.MustParseAddr(s.IP)
		probes := s.SYN + s.FIN + s.NULL + s.XMAS
		switch {
		case a == pinger:
			if l, ok := listed[a]; !ok || l.Kind != "horizontal" || !slices.Equal(l.Techniques, []string{"ping_sweep"}) || l.DistinctPorts != 0 {
				t.Errorf("the generator's pinger %s: listed %v as %+v, want a ping sweep", a, ok, l)
			}
		case internal4.Contains(a) || internal6.Contains(a):
			background++
			if l, ok := listed[a]; ok {
				t.Errorf("background host %s listed: %s %v", a, l.Kind, l.Techniques)
			}
		case slow.Contains(a):
			// slow scanners: one probe at a time, a handful each here
		case probes >= 25 && (s.Ports >= 10 || s.Hosts >= 10):
			fast++
			if _, ok := listed[a]; ok {
				found++
			} else {
				t.Errorf("fast scanner %s (%d probes, %d ports, %d hosts) not listed", a, probes, s.Ports, s.Hosts)
			}
		}
	}
	t.Logf("generated capture: %d sources, %d fast scanners (%d listed), %d background hosts (none listed), %d suspects",
		tr.Sources, fast, found, background, len(listed))
	if fast == 0 || background == 0 {
		t.Fatal("the generated capture has no fast scanner or no background host")
	}
}
