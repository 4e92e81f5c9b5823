package capture

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"porthunter/internal/race"
	"porthunter/policy"
)

// catalogTree writes captures named as the rotating writers name them,
// with modification times in the order they would have been written.
func catalogTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	pcap, _ := os.ReadFile("../fixtures/stealth.pcap")
	ng, _ := os.ReadFile("../fixtures/demo.pcapng")
	gz, _ := os.ReadFile("../fixtures/gzip.pcap.gz")
	base := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	n := 0
	write := func(name string, b []byte) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		n++
		mt := base.Add(time.Duration(n) * time.Minute)
		os.Chtimes(p, mt, mt)
	}
	// tcpdump -C 1 -w cap.pcap: cap.pcap, cap.pcap1 ... cap.pcap11
	write("sensor1/cap.pcap", pcap)
	for i := 1; i <= 11; i++ {
		write(fmt.Sprintf("sensor1/cap.pcap%d", i), pcap)
	}
	// dumpcap -b filesize: ring_00001_20260314090000.pcapng ...
	for i := 1; i <= 3; i++ {
		write(fmt.Sprintf("sensor2/ring_%05d_2026031409%02d00.pcapng", i, i), ng)
	}
	// tcpdump -G 3600 -w 'edge-%Y%m%d-%H.pcap.gz'
	write("edge-20260314-09.pcap.gz", gz)
	write("edge-20260314-10.pcap.gz", gz)
	// numbered, written out of order: not a rotation
	write("scan2.pcap", pcap)
	write("scan1.pcap", pcap)
	// numbered, written in order: a rotation
	write("part1.pcapng", ng)
	write("part2.pcapng", ng)
	write("single.pcapng", ng)
	write("notes.txt", []byte("not a capture"))
	write("deep/a/b/c/d/e/f/g/h/i/j/far.pcap", pcap)
	return dir
}

func testSandbox(t *testing.T, dir string) *policy.Sandbox {
	t.Helper()
	sb, err := policy.NewSandbox(dir, 50<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

func TestListCaptures(t *testing.T) {
	dir := catalogTree(t)
	sb := testSandbox(t, dir)
	c, err := ListCaptures(context.Background(), sb, ".", MaxCatalogDepth, MaxCatalogEntries)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Captures) != 22 || c.Other != 1 || !c.DepthLimitHit || c.EntryLimitHit {
		t.Errorf("%d captures, %d other, depth hit %v, entries hit %v", len(c.Captures), c.Other, c.DepthLimitHit, c.EntryLimitHit)
	}
	formats := map[string]string{}
	for _, e := range c.Captures {
		formats[e.Path] = fmt.Sprintf("%s/%v", e.Info.Format(), e.Info.Kind)
	}
	for p, want := range map[string]string{"sensor1/cap.pcap3": "pcap/pcap", "single.pcapng": "pcapng/pcapng", "edge-20260314-09.pcap.gz": "pcap/gzip"} {
		if formats[p] != want {
			t.Errorf("%s: %s, want %s", p, formats[p], want)
		}
	}
	var sets []string
	for _, s := range c.Sets {
		sets = append(sets, fmt.Sprintf("%s|%s|%s|%s|%d|%s..%s", s.Dir, s.Pattern, s.Kind, s.Glob, len(s.Files), s.Files[0], s.Files[len(s.Files)-1]))
	}
	want := []string{
		".|edge-#-#.pcap.gz|timestamped|edge-*-*.pcap.gz|2|edge-20260314-09.pcap.gz..edge-20260314-10.pcap.gz",
		".|part#.pcapng|numbered|part*.pcapng|2|part1.pcapng..part2.pcapng",
		"sensor1|cap.pcap#|tcpdump_count|sensor1/cap.pcap*|12|sensor1/cap.pcap..sensor1/cap.pcap11",
		"sensor2|ring_#_#.pcapng|dumpcap_ring|sensor2/ring_*_*.pcapng|3|sensor2/ring_00001_20260314090100.pcapng..sensor2/ring_00003_20260314090300.pcapng",
	}
	if strings.Join(sets, "\n") != strings.Join(want, "\n") {
		t.Errorf("sets:\n%s\nwant:\n%s", strings.Join(sets, "\n"), strings.Join(want, "\n"))
	}
	for _, e := range c.Captures {
		inSet := e.Set >= 0
		if wantIn := !strings.HasPrefix(e.Path, "scan") && e.Path != "single.pcapng" && !strings.HasPrefix(e.Path, "deep"); inSet != wantIn {
			t.Errorf("%s: in a set %v", e.Path, inSet)
		}
	}
	// Each set's glob selects exactly its files.
	for _, s := range c.Sets {
		got, err := GlobCaptures(sb, s.Glob, 64)
		if err != nil || len(got) != len(s.Files) {
			t.Errorf("GlobCaptures(%q) = %v, %v; want %v", s.Glob, got, err, s.Files)
		}
	}
}

func TestListCapturesBounds(t *testing.T) {
	dir := t.TempDir()
	pcap, _ := os.ReadFile("../fixtures/stealth.pcap")
	for i := range 300 {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("c%03d.pcap", i)), pcap, 0o644)
	}
	os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(dir, "a", "b", "deep.pcap"), pcap, 0o644)
	os.Symlink("..", filepath.Join(dir, "a", "loop")) // a link to a directory: not followed
	os.Symlink("/etc/passwd", filepath.Join(dir, "escape.pcap"))
	sb := testSandbox(t, dir)
	c, err := ListCaptures(context.Background(), sb, "", 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !c.EntryLimitHit || c.Entries > 100 || len(c.Captures) > 100 {
		t.Errorf("entry limit: hit %v, %d entries, %d captures", c.EntryLimitHit, c.Entries, len(c.Captures))
	}
	c, err = ListCaptures(context.Background(), sb, ".", 1, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if !c.DepthLimitHit || len(c.Captures) != 300 || c.Skipped != 2 {
		t.Errorf("depth 1: hit %v, %d captures, %d skipped", c.DepthLimitHit, len(c.Captures), c.Skipped)
	}
	for _, bad := range []string{"..", "/etc", "c000.pcap", "missing"} {
		if _, err := ListCaptures(context.Background(), sb, bad, 1, 10); err == nil {
			t.Errorf("ListCaptures(%q) listed", bad)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ListCaptures(ctx, sb, ".", 8, 10_000); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled listing: %v", err)
	}
}

func TestGlobCaptures(t *testing.T) {
	dir := catalogTree(t)
	sb := testSandbox(t, dir)
	for _, c := range []struct {
		pattern string
		n       int
		err     error
	}{
		{"sensor1/cap.pcap?", 9, nil},
		{"sensor1/cap.pcap[0-9][0-9]", 2, nil},
		{"*.pcap", 2, nil},
		{"*", 7, nil}, // notes.txt is not a capture; directories are not files
		{"sensor*/cap.pcap", 0, ErrBadGlob},
		{"sensor1/cap.pcap[", 0, ErrBadGlob},
		{"sensor1/", 0, ErrBadGlob},
		{strings.Repeat("*", MaxGlobLen+1), 0, ErrBadGlob},
		{"a\x00*", 0, ErrBadGlob},
		{"nothing-*.pcap", 0, policy.ErrPathNotFound},
		{"../*", 0, policy.ErrPathOutsideAllowedDir},
		{"/etc/*", 0, policy.ErrPathOutsideAllowedDir},
		{"sensor1/cap.pcap*", 0, ErrTooManyFiles}, // 12 over a limit of 10
	} {
		got, err := GlobCaptures(sb, c.pattern, 10)
		if !errors.Is(err, c.err) || len(got) != c.n {
			t.Errorf("GlobCaptures(%q) = %d files %v, %v; want %d, %v", c.pattern, len(got), got, err, c.n, c.err)
		}
	}
}

// TestGlobWorstCase: the longest pattern of stars against the longest
// names of a full directory stays fast (path.Match does not backtrack
// exponentially).
func TestGlobWorstCase(t *testing.T) {
	dir := t.TempDir()
	for i := range 2000 {
		name := strings.Repeat("a", 240) + fmt.Sprintf("%05d", i)
		os.WriteFile(filepath.Join(dir, name), nil, 0o644)
	}
	sb := testSandbox(t, dir)
	pattern := strings.Repeat("a*", MaxGlobLen/2-1) + "b"
	start := time.Now()
	_, err := GlobCaptures(sb, pattern, 10)
	if !errors.Is(err, policy.ErrPathNotFound) {
		t.Errorf("%v", err)
	}
	if d := time.Since(start); d > 2*time.Second*race.Slowdown {
		t.Errorf("the worst glob took %v", d)
	}
}

func TestCachedListing(t *testing.T) {
	dir := t.TempDir()
	splitFixture(t, dir)
	z := testAnalyzer(t, dir)
	info, err := z.sandbox.Peek("whole.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if z.Cached(info) != nil {
		t.Error("cached before any analysis")
	}
	r, _ := z.AnalyzeSet(context.Background(), Request{Paths: []string{"whole.pcap"}}, nil)
	if z.Cached(info) != r {
		t.Error("not found in the cache after its analysis")
	}
}
