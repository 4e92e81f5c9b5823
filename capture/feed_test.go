package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/netip"
	"os"
	"path/filepath"
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
	const syn, rstAck = 0x02, 0x14
	victim := netip.MustParseAddr("10.0.0.5")
	var recs []pcapng.Record
	ts := int64(1_700_000_000) * 1e9
	add := func(data []byte) {
		recs = append(recs, pcapng.Record{LinkType: pcapng.LinkIPv4, Timestamp: ts, Precision: 6, Data: data, OrigLen: len(data)})
		ts += 1000
	}
	flood := func(from, n int) {
		for i := from; i < from+n; i++ {
			add(ipv4TCP(netip.AddrFrom4([4]byte{100, 64 + byte(i>>16), byte(i >> 8), byte(i)}), victim, 40000, 80, syn))
		}
	}
	flood(0, 3*checkEvery)
	for k := range 3 {
		src := netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + k)})
		for port := range uint16(40) {
			ts += 10_000_000
			add(ipv4TCP(src, victim, 45000, 1+port, syn))
			add(ipv4TCP(victim, src, 1+port, 45000, rstAck))
		}
	}
	flood(3*checkEvery, 2*checkEvery)
	path := filepath.Join(t.TempDir(), "flood.pcap")
	writeCapture(t, path, recs)
	data, err := os.ReadFile(path)
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
