package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"porthunter/internal/testcap"
	"porthunter/pcapng"
	"porthunter/policy"
	"porthunter/scan"
)

// readRecords reads every record of a capture, their data copied.
func readRecords(t *testing.T, path string) []pcapng.Record {
	t.Helper()
	recs, err := testcap.ReadAll(path)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// splitFixture writes horizontal.pcap (109 packets) as a tcpdump -C set
// of three files into dir: h.pcap, h.pcap1, h.pcap2.
func splitFixture(t *testing.T, dir string) []pcapng.Record {
	t.Helper()
	recs := readRecords(t, "../fixtures/horizontal.pcap")
	writeCapture(t, filepath.Join(dir, "h.pcap"), recs[:40])
	writeCapture(t, filepath.Join(dir, "h.pcap1"), recs[40:80])
	writeCapture(t, filepath.Join(dir, "h.pcap2"), recs[80:])
	writeCapture(t, filepath.Join(dir, "whole.pcap"), recs)
	return recs
}

func testAnalyzerEnv(t *testing.T, dir string, env map[string]string) *Analyzer {
	t.Helper()
	cfg := testConfig(t, dir, env)
	sb, err := policy.NewSandbox(dir, cfg.MaxPcapBytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return NewAnalyzer(cfg, sb)
}

// TestAnalyzeSetIsTheWhole: a rotated set, named in any order, is read
// as the capture it was cut from: the same packets, suspects and first
// event, frames numbered on across the files.
func TestAnalyzeSetIsTheWhole(t *testing.T) {
	dir := t.TempDir()
	splitFixture(t, dir)
	z := testAnalyzer(t, dir)
	ctx := context.Background()
	whole, err := z.AnalyzeSet(ctx, Request{Paths: []string{"whole.pcap"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	set, err := z.AnalyzeSet(ctx, Request{Paths: []string{"h.pcap2", "h.pcap", "h.pcap1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	th := scan.DefaultThresholds()
	if a, b := whole.Report.Stats.TotalPackets, set.Report.Stats.TotalPackets; a != b || a != 109 {
		t.Errorf("packets: whole %d, set %d", a, b)
	}
	ja, _ := json.Marshal(whole.Analysis.Suspects(th))
	jb, _ := json.Marshal(set.Analysis.Suspects(th))
	if a, b := string(ja), string(jb); a != b {
		t.Errorf("suspects differ:\n%s\n%s", a, b)
	}
	if a, b := whole.Analysis.FirstEvent(th), set.Analysis.FirstEvent(th); a == nil || b == nil || a.Frame != b.Frame {
		t.Errorf("first events %+v, %+v", a, b)
	}
	var names []string
	for _, f := range set.Report.Files {
		names = append(names, fmt.Sprintf("%s@%d+%d", f.Name, f.FirstFrame, f.Frames))
	}
	if got := fmt.Sprint(names); got != "[h.pcap@1+40 h.pcap1@41+40 h.pcap2@81+29]" {
		t.Errorf("files %s", got)
	}
	again, _ := z.AnalyzeSet(ctx, Request{Paths: []string{"h.pcap", "h.pcap1", "h.pcap2"}}, nil)
	if again != set {
		t.Error("the same set in another order was read again")
	}
	if one, _ := z.Analyze(ctx, "whole.pcap", nil); one != whole {
		t.Error("Analyze and AnalyzeSet of one whole file do not share the cache")
	}
}

// TestAnalyzeSetDuplicates: the same file named twice, and a copy of a
// file beside it, are read once and reported.
func TestAnalyzeSetDuplicates(t *testing.T) {
	dir := t.TempDir()
	splitFixture(t, dir)
	b, _ := os.ReadFile(filepath.Join(dir, "h.pcap1"))
	os.WriteFile(filepath.Join(dir, "copy-of-h.pcap1"), b, 0o644)
	os.Symlink("h.pcap2", filepath.Join(dir, "link.pcap"))
	z := testAnalyzer(t, dir)
	r, err := z.AnalyzeSet(context.Background(), Request{Paths: []string{"h.pcap", "h.pcap1", "h.pcap", "copy-of-h.pcap1", "h.pcap2", "link.pcap"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := r.Report.Stats.TotalPackets; n != 109 {
		t.Errorf("%d packets, want 109 (duplicates counted?)", n)
	}
	var got []string
	for _, d := range r.Report.Duplicates {
		got = append(got, d.Name+"="+d.SameAs+":"+d.Reason)
		if d.Reason == "same_content" && len(d.SHA256) != 64 {
			t.Errorf("%s: sha256 %q", d.Name, d.SHA256)
		}
	}
	slices.Sort(got)
	if want := "[copy-of-h.pcap1=h.pcap1:same_content h.pcap=h.pcap:same_file link.pcap=h.pcap2:same_file]"; fmt.Sprint(got) != want {
		t.Errorf("duplicates %v, want %s", got, want)
	}
	if len(r.Report.Files) != 3 {
		t.Errorf("files %+v", r.Report.Files)
	}
}

// TestAnalyzeSetWindow: a window analyses only its records, keeps their
// frame numbers, says how many it left out, and is cached apart.
func TestAnalyzeSetWindow(t *testing.T) {
	dir := t.TempDir()
	recs := splitFixture(t, dir)
	z := testAnalyzer(t, dir)
	ctx := context.Background()
	since := time.Unix(0, recs[50].Timestamp)
	until := time.Unix(0, recs[90].Timestamp)
	req := Request{Paths: []string{"h.pcap", "h.pcap1", "h.pcap2"}, Window: Window{Since: since, Until: until}}
	r, err := z.AnalyzeSet(ctx, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	before, after := 0, 0
	for _, rec := range recs {
		switch {
		case rec.Timestamp < since.UnixNano():
			before++
		case rec.Timestamp >= until.UnixNano():
			after++
		}
	}
	w := r.Report.Window
	if w == nil || w.RecordsBefore != uint64(before) || w.RecordsAfter != uint64(after) || w.Since == "" || w.Until == "" {
		t.Fatalf("window report %+v, want %d before, %d after", w, before, after)
	}
	if got, want := r.Report.Stats.TotalPackets, uint64(len(recs)-before-after); got != want {
		t.Errorf("%d packets analysed, want %d", got, want)
	}
	if fe := r.Analysis.FirstEvent(scan.DefaultThresholds()); fe != nil && fe.Frame <= uint64(before) {
		t.Errorf("first event frame %d is before the window (its frames must keep their numbers)", fe.Frame)
	}
	whole, _ := z.AnalyzeSet(ctx, Request{Paths: req.Paths}, nil)
	if whole == r || whole.Report.Window != nil {
		t.Error("the window and the whole set share a cache entry")
	}
	open, _ := z.AnalyzeSet(ctx, Request{Paths: req.Paths, Window: Window{Since: since}}, nil)
	if open.Report.Window.Until != "" || open.Report.Window.RecordsAfter != 0 || open.Report.Stats.TotalPackets != uint64(len(recs)-before) {
		t.Errorf("open-ended window: %+v, %d packets", open.Report.Window, open.Report.Stats.TotalPackets)
	}
}

// TestAnalyzeSetLimits: the file count, the set's size and its records
// are bounded, each with its own error.
func TestAnalyzeSetLimits(t *testing.T) {
	dir := t.TempDir()
	splitFixture(t, dir)
	ctx := context.Background()
	paths := []string{"h.pcap", "h.pcap1", "h.pcap2"}
	z := testAnalyzerEnv(t, dir, map[string]string{"PORT_HUNTER_MAX_SET_FILES": "2"})
	if _, err := z.AnalyzeSet(ctx, Request{Paths: paths}, nil); !errors.Is(err, ErrTooManyFiles) {
		t.Errorf("3 files over a limit of 2: %v", err)
	}
	z = testAnalyzerEnv(t, dir, map[string]string{"PORT_HUNTER_MAX_PACKETS": "100"})
	if _, err := z.AnalyzeSet(ctx, Request{Paths: paths}, nil); !errors.Is(err, ErrTooManyPackets) {
		t.Errorf("109 records over a limit of 100: %v", err)
	}
	if _, err := z.AnalyzeSet(ctx, Request{Paths: paths[:2]}, nil); err != nil {
		t.Errorf("80 records under a limit of 100: %v", err)
	}
	z = testAnalyzerEnv(t, dir, map[string]string{"PORT_HUNTER_MAX_PACKETS": "109"})
	if _, err := z.AnalyzeSet(ctx, Request{Paths: paths}, nil); err != nil {
		t.Errorf("109 records at a limit of 109: %v", err)
	}
	// The size limit applies to the set as a whole: each file is under
	// it, the three together are not.
	cfg := testConfig(t, dir, nil)
	cfg.MaxPcapBytes = 5000
	sb, _ := policy.NewSandbox(dir, cfg.MaxPcapBytes)
	defer sb.Close()
	z = NewAnalyzer(cfg, sb)
	if _, err := z.AnalyzeSet(ctx, Request{Paths: paths}, nil); !errors.Is(err, policy.ErrFileTooLarge) {
		t.Errorf("a set over the size limit: %v", err)
	}
	if _, err := z.AnalyzeSet(ctx, Request{Paths: []string{"h.pcap", "nope.pcap"}}, nil); !errors.Is(err, policy.ErrPathNotFound) {
		t.Errorf("a missing member: %v", err)
	}
}

func TestCarveSet(t *testing.T) {
	dir := t.TempDir()
	recs := splitFixture(t, dir)
	z := testAnalyzer(t, dir)
	addr := netip.MustParseAddr("10.1.0.7")
	var want []uint64
	for i, r := range recs {
		var p pcapng.Packet
		pcapng.Decode(&r, &p)
		if involves(&p, addr) {
			want = append(want, uint64(i))
		}
	}
	if len(want) == 0 {
		t.Fatal("the fixture has no packet of 10.1.0.7")
	}
	var out bytes.Buffer
	res, err := z.Carve(context.Background(), Request{Paths: []string{"h.pcap2", "h.pcap1", "h.pcap"}}, addr, &out, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if res.Kept != uint64(len(want)) || res.Read != uint64(len(recs)) || fmt.Sprint(res.Files) != "[h.pcap h.pcap1 h.pcap2]" {
		t.Errorf("carve %+v, want %d kept of %d", res, len(want), len(recs))
	}
	os.WriteFile(filepath.Join(dir, "out.pcapng"), out.Bytes(), 0o644)
	got := readRecords(t, filepath.Join(dir, "out.pcapng"))
	if len(got) != len(want) {
		t.Fatalf("%d packets in the carve, want %d", len(got), len(want))
	}
	for i, r := range got {
		src := recs[want[i]]
		if r.Timestamp != src.Timestamp || !bytes.Equal(r.Data, src.Data) || r.OrigLen != src.OrigLen {
			t.Errorf("packet %d differs from frame %d", i, want[i]+1)
		}
	}
	// Too large for the cap: an error, nothing to keep.
	out.Reset()
	if _, err := z.Carve(context.Background(), Request{Paths: []string{"whole.pcap"}}, addr, &out, 100); !errors.Is(err, ErrCarveTooLarge) {
		t.Errorf("carve over its cap: %v", err)
	}
	// A window keeps only its packets.
	out.Reset()
	w := Window{Since: time.Unix(0, recs[want[0]].Timestamp+1)}
	res, err = z.Carve(context.Background(), Request{Paths: []string{"whole.pcap"}, Window: w}, addr, &out, 1<<20)
	if err != nil || res.Kept >= uint64(len(want)) {
		t.Errorf("windowed carve: %+v, %v", res, err)
	}
}

// TestCarveBroken: a capture cut after some records is carved up to the
// cut, which the result reports; a gzip file holding no capture, or one
// broken before its first record, fails as an analysis does.
func TestCarveBroken(t *testing.T) {
	dir := t.TempDir()
	splitFixture(t, dir)
	b, _ := os.ReadFile(filepath.Join(dir, "whole.pcap"))
	os.WriteFile(filepath.Join(dir, "cut.pcap"), b[:len(b)/2+7], 0o644)
	os.WriteFile(filepath.Join(dir, "head.pcap"), b[:24+10], 0o644)
	os.WriteFile(filepath.Join(dir, "text.gz"), gzipped(t, []byte("not a capture, compressed")), 0o644)
	z := testAnalyzer(t, dir)
	addr := netip.MustParseAddr("192.0.2.200")
	var out bytes.Buffer
	res, err := z.Carve(context.Background(), Request{Paths: []string{"cut.pcap"}}, addr, &out, 1<<20)
	if err != nil || res.Truncated == nil || res.Kept == 0 || res.Read == 0 {
		t.Errorf("cut capture: %+v, %v", res, err)
	}
	for name, want := range map[string]error{"head.pcap": ErrMalformed, "text.gz": policy.ErrUnsupportedFileType} {
		out.Reset()
		if _, err := z.Carve(context.Background(), Request{Paths: []string{name}}, addr, &out, 1<<20); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
}
