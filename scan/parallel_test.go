package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"porthunter/internal/race"
	"porthunter/pcapng"
)

// dumpAll renders every answer an analysis gives as JSON: the capture
// statistics, overviews, suspects and first events under several
// thresholds, the detail of every source and the activity of every known
// address. Two analyses answer identically exactly when their dumps are
// equal.
func dumpAll(t testing.TB, an *Analysis) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	put := func(name string, v any) {
		buf.WriteString(name)
		buf.WriteByte(' ')
		if err := enc.Encode(v); err != nil {
			t.Fatalf("encode %s: %v", name, err)
		}
	}
	put("capture", an.Capture())
	ths := []Thresholds{
		DefaultThresholds(),
		{MinPorts: 3, MinHosts: 3, MinTargets: 5, MinStealthTargets: 1, MinRatePPS: 0.5},
		{MinPorts: 100, MinHosts: 50, MinTargets: 200, MinStealthTargets: 20, MinRatePPS: 50},
	}
	for _, th := range ths {
		put("overview", an.Overview(th, 60, 1<<20))
		put("overview10", an.Overview(th, 10, 5))
		put("suspects", an.Suspects(th))
		put("first", an.FirstEvent(th))
	}
	for _, a := range an.addrs {
		x := a.addr()
		if d, ok := an.Detail(x); ok {
			put("detail", d)
		}
		put("activity", an.Activity(x))
	}
	return buf.Bytes()
}

// TestParallelEqualsSequential checks that the answers do not depend on
// the number of workers: every fixture, and generated captures that
// exercise every rule (with and without a memory budget small enough to
// drop state), give byte-identical JSON for every view and address.
func TestParallelEqualsSequential(t *testing.T) {
	t.Parallel() // no time or memory bound: runs beside the other such tests
	type capture struct {
		name string
		ps   []pcapng.Packet
		cfg  Config
	}
	var caps []capture
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.pcap*"))
	lab, _ := filepath.Glob(filepath.Join(fixtureDir, "lab", "*.pcap*"))
	for _, f := range append(files, lab...) {
		if strings.HasSuffix(f, ".json") {
			continue
		}
		caps = append(caps, capture{filepath.Base(f), decodeFile(t, f), DefaultConfig()})
	}
	if len(caps) == 0 {
		t.Fatal("no fixtures")
	}
	n := 40000 / race.Scale // lists that cross chunks are TestGroupTargets'
	if testing.Short() {
		n = 5000
	}
	for seed := uint64(1); seed <= 2; seed++ {
		ps := mixedPackets(seed, n)
		caps = append(caps, capture{"mixed", ps, DefaultConfig()},
			capture{"mixed-budget", ps, Config{MemoryBudgetBytes: 100000}})
	}
	for _, c := range caps {
		t.Run(c.name, func(t *testing.T) {
			var want []byte
			workers := []int{0, 2, 3, 4}
			if race.Enabled {
				// Under the race detector one sequential and one uneven
				// parallel run per capture: three workers split two shards'
				// worth of sources unevenly, the case the others add
				// little to, and the detector checks the sharing itself.
				workers = []int{0, 3}
			}
			for _, workers := range workers {
				cfg := c.cfg
				cfg.Workers = workers
				got := dumpAll(t, analyzePackets(c.ps, cfg))
				if want == nil {
					want = got
					continue
				}
				if !bytes.Equal(got, want) {
					t.Errorf("answers with %d workers differ from one: %s", workers, firstDiff(got, want))
				}
			}
		})
	}
}

// decodeFile reads and decodes every record of a capture.
func decodeFile(t testing.TB, path string) []pcapng.Packet {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := pcapng.NewReader(f)
	if err != nil {
		t.Fatalf("NewReader(%s): %v", path, err)
	}
	var ps []pcapng.Packet
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return ps
		}
		if err != nil {
			t.Fatalf("Next(%s): %v", path, err)
		}
		ps = append(ps, pcapng.Packet{})
		pcapng.Decode(rec, &ps[len(ps)-1])
	}
}

// firstDiff shows where two dumps part.
func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(i-200, 0)
	return "at byte " + strconv.Itoa(i) + ":\n" + string(a[lo:min(i+200, len(a))]) + "\nwant\n" + string(b[lo:min(i+200, len(b))])
}

// TestSuspectsTop: the cut list is the full one's limit suspects with the
// most probes (ties: the lower address), in address order, built alike.
func TestSuspectsTop(t *testing.T) {
	t.Parallel() // no time or memory bound: runs beside the other such tests
	an := analyzePackets(mixedPackets(1, 20000), DefaultConfig())
	th := Thresholds{MinPorts: 3, MinHosts: 3, MinTargets: 5, MinStealthTargets: 1, MinRatePPS: 0.5}
	all := an.Suspects(th)
	if len(all) < 5 {
		t.Fatalf("%d suspects: too few to cut", len(all))
	}
	for _, limit := range []int{1, 2, len(all) / 2, len(all) - 1, len(all), len(all) + 1} {
		rank := slices.Clone(all)
		sort.SliceStable(rank, func(i, j int) bool { return rank[i].Probes > rank[j].Probes })
		want := rank[:min(limit, len(rank))]
		sort.Slice(want, func(i, j int) bool { return want[i].IP.Less(want[j].IP) })
		got, total, _ := an.SuspectsTop(context.Background(), th, limit)
		if total != len(all) {
			t.Errorf("limit %d: total %d, want %d", limit, total, len(all))
		}
		wj, _ := json.Marshal(want)
		gj, _ := json.Marshal(got)
		if !bytes.Equal(wj, gj) {
			t.Errorf("limit %d: got %d suspects\n%s\nwant %d\n%s", limit, len(got), gj, len(want), wj)
		}
	}
}
