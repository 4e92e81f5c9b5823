package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"testing"

	"porthunter/pcapng"
	"porthunter/scan"
)

// TestFeedHandsOver: a flood spends the source budget, three scanners
// outweigh the tracked senders (the first reading starts Counting, and
// hands its packets to another goroutine from its next check on, in a
// second flood), and the second reading, Filtering from its start, does
// too. The answers are those of a budget that tracks every sender, read
// once on one goroutine.
func TestFeedHandsOver(t *testing.T) {
	data, err := os.ReadFile(floodThenScanPcap(t, t.TempDir(), 3*checkEvery, 2*checkEvery))
	if err != nil {
		t.Fatal(err)
	}
	read := func(sc scan.Config) *Result {
		t.Helper()
		in := []captureInput{{r: bytes.NewReader(data), size: int64(len(data)),
			reopen: func() io.Reader { return bytes.NewReader(data) }}}
		res, err := readCaptures(context.Background(), in, pcapng.DefaultLimits(), sc, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	got := read(scan.Config{MemoryBudgetBytes: 256_000, Workers: 2}) // 98 sources
	want := read(scan.Config{Workers: 2})
	if st := got.Report.Stats; !st.HeaviestSources || want.Report.Stats.LimitHit {
		t.Fatalf("small budget: heaviest sources %v; large: limit hit %v", st.HeaviestSources, want.Report.Stats.LimitHit)
	}
	th := scan.DefaultThresholds()
	gs, ws := got.Analysis.Suspects(th), want.Analysis.Suspects(th)
	gj, _ := json.Marshal(gs)
	wj, _ := json.Marshal(ws)
	if len(gs) != 3 || string(gj) != string(wj) {
		t.Fatalf("suspects\n%s\nwant the 3 scanners, as a budget for all reads them\n%s", gj, wj)
	}
	for _, s := range ws {
		g, _ := got.Analysis.Detail(s.IP)
		w, _ := want.Analysis.Detail(s.IP)
		gd, _ := json.Marshal(g)
		wd, _ := json.Marshal(w)
		if string(gd) != string(wd) {
			t.Errorf("detail of %s\n%s\nwant\n%s", s.IP, gd, wd)
		}
	}
}

// TestAdderPanic: a panic of Add on the adding goroutine is raised again
// on the reading's, where the server's recovery can catch it.
func TestAdderPanic(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic reached the caller")
		}
	}()
	a := startAdder(nil) // Add of a nil aggregator panics
	a.next()
	a.stop()
}
