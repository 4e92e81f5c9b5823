package capture

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"porthunter/internal/race"
	"porthunter/internal/testcap"
	"porthunter/pcapng"
	"porthunter/policy"
	"porthunter/scan"
)

func testAnalyzer(t *testing.T, dir string) *Analyzer {
	t.Helper()
	cfg := testConfig(t, dir, map[string]string{"PORT_HUNTER_MAX_PCAP_MB": "1024"})
	sb, err := policy.NewSandbox(dir, cfg.MaxPcapBytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return NewAnalyzer(cfg, sb)
}

// TestCacheRepeatedCalls: a second question about an unchanged file is
// answered from the cache in milliseconds; a changed file is read again.
func TestCacheRepeatedCalls(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.pcap")
	writeBigCapture(t, path, 100_000)
	z := testAnalyzer(t, dir)
	ctx := context.Background()
	start := time.Now()
	r1, err := z.Analyze(ctx, "big.pcap", nil)
	if err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	start = time.Now()
	r2, err := z.Analyze(ctx, "big.pcap", nil)
	if err != nil {
		t.Fatal(err)
	}
	second := time.Since(start)
	if r1 != r2 {
		t.Error("unchanged file read again")
	}
	if second > 20*time.Millisecond*race.Slowdown {
		t.Errorf("cached answer took %v (first read %v)", second, first)
	}
	t.Logf("first read %v, cached %v", first, second)

	// Same size, new content and modification time: read again.
	writeBigCapture(t, path, 100_000)
	later := time.Now().Add(2 * time.Second)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	r3, err := z.Analyze(ctx, "big.pcap", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r3 == r1 {
		t.Error("a modified file was answered from the cache")
	}
	// A different file is a different entry.
	writeBigCapture(t, filepath.Join(dir, "small.pcap"), 1000)
	r4, err := z.Analyze(ctx, "small.pcap", nil)
	if err != nil || r4 == r3 || r4.Analysis.Capture().TotalPackets != 1000 {
		t.Errorf("small.pcap: %v", err)
	}
}

// TestCancelStopsReading: cancelling a call stops the reading within
// 100 ms (scaled under -race).
func TestCancelStopsReading(t *testing.T) {
	dir := t.TempDir()
	writeBigCapture(t, filepath.Join(dir, "big.pcap"), 2_000_000)
	z := testAnalyzer(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var once bool
	done := make(chan error, 1)
	go func() {
		_, err := z.Analyze(ctx, "big.pcap", func(done, total int64) {
			if !once {
				once = true
				close(started)
			}
		})
		done <- err
	}()
	<-started
	time.Sleep(20 * time.Millisecond)
	cancel()
	at := time.Now()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the analysis finished before the cancellation: make the capture larger")
		}
		if el := time.Since(at); el > 100*time.Millisecond*race.Slowdown {
			t.Errorf("stopped %v after the cancellation", el)
		} else {
			t.Logf("stopped %v after the cancellation", el)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the analysis did not stop")
	}
}

// TestFileChangedWhileRead: a capture is read as the size it had when it
// was opened. Bytes appended while it is read (tcpdump still writing)
// are not read, so the answer, the size and the hash describe one
// snapshot; a file that ends early (it shrank) is reported truncated
// where it ended, even when the cut falls between two records.
func TestFileChangedWhileRead(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "fixtures", "horizontal.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	whole, err := readCaptures(ctx, []captureInput{{r: bytes.NewReader(data), size: int64(len(data))}}, pcapng.DefaultLimits(), scan.DefaultConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	frames := whole.Analysis.Capture().TotalPackets
	sum := sha256.Sum256(data)

	grown := append(append([]byte(nil), data...), data[24:]...) // every record once more
	g, err := readCaptures(ctx, []captureInput{{r: bytes.NewReader(grown), size: int64(len(data))}}, pcapng.DefaultLimits(), scan.DefaultConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := g.Analysis.Capture().TotalPackets; n != frames || g.Report.Truncated != nil {
		t.Errorf("grown file: %d frames (want %d), truncated %+v", n, frames, g.Report.Truncated)
	}
	if g.Report.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("grown file: hash %s is not the hash of the bytes opened", g.Report.SHA256)
	}

	// Cut after the third record, on a record boundary.
	cut := 24
	for range 3 {
		cut += 16 + int(binary.LittleEndian.Uint32(data[cut+8:]))
	}
	s, err := readCaptures(ctx, []captureInput{{r: bytes.NewReader(data[:cut]), size: int64(len(data))}}, pcapng.DefaultLimits(), scan.DefaultConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := s.Report.Truncated
	if tr == nil || tr.AfterFrame != 3 || !strings.Contains(tr.Reason, "shrank") || s.Report.SHA256 != "" {
		t.Errorf("shrunk file: truncated %+v, hash %q; want after frame 3, shrank, no hash", tr, s.Report.SHA256)
	}
}

// writeScanCapture writes a capture of one source sending a SYN to each of
// hosts×ports targets, 1 ms apart.
func writeScanCapture(t *testing.T, path string, hosts, ports int) {
	t.Helper()
	src := netip.MustParseAddr("198.51.100.7")
	recs := make([]pcapng.Record, 0, hosts*ports)
	ts := int64(1_700_000_000) * 1e9
	for h := range hosts {
		dst := netip.AddrFrom4([4]byte{10, 0, byte(h >> 8), byte(h)})
		for p := range ports {
			data := ipv4TCP(src, dst, 40000, uint16(1+p), 0x02)
			recs = append(recs, pcapng.Record{LinkType: pcapng.LinkIPv4, Timestamp: ts, Precision: 6, Data: data, OrigLen: len(data)})
			ts += 1e6
		}
	}
	writeCapture(t, path, recs)
}

// cacheBytes is the estimated heap of the cached analyses.
func cacheBytes(z *Analyzer) int64 {
	z.mu.Lock()
	defer z.mu.Unlock()
	var n int64
	for _, r := range z.cache {
		n += r.Analysis.RetainedBytes()
	}
	return n
}

// TestCacheMemoryBudget: cached analyses count against the memory budget.
// With PORT_HUNTER_MEMORY_MB=16 and two analyses at a time (8 MiB each),
// seven captures of about 1.7 MiB of analysis each are read one after the
// other: while one is read, the cached ones and its 8 MiB share stay
// within 16 MiB, by the estimate and by the live heap (MemStats after a
// collection), where the cache kept them all (17.9 MiB with the seventh
// read's share). Each analysis dropped is reported; the most recent one
// stays cached.
func TestCacheMemoryBudget(t *testing.T) {
	dir := t.TempDir()
	const files = 7
	for i := range files {
		writeScanCapture(t, filepath.Join(dir, fmt.Sprintf("c%d.pcap", i)), 240, 100)
	}
	cfg := testConfig(t, dir, map[string]string{"PORT_HUNTER_MEMORY_MB": "16", "PORT_HUNTER_MAX_ANALYSES": "2"})
	sb, err := policy.NewSandbox(dir, cfg.MaxPcapBytes)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	var log bytes.Buffer
	z := NewAnalyzer(cfg, sb).LogTo(&log)
	budget, share := cfg.MemoryBudgetBytes, z.scanConfig().MemoryBudgetBytes
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	base := int64(m.HeapAlloc)
	var last *Result
	var maxLive int64
	for i := range files {
		checked, worst := false, int64(0)
		check := func(done, total int64) {
			checked = true
			c := cacheBytes(z)
			runtime.GC()
			runtime.ReadMemStats(&m)
			worst = max(worst, c+share, int64(m.HeapAlloc)-base)
		}
		last, err = z.Analyze(context.Background(), fmt.Sprintf("c%d.pcap", i), check)
		if err != nil {
			t.Fatal(err)
		}
		if !checked {
			t.Fatalf("read %d: no progress call", i)
		}
		if worst > budget {
			t.Errorf("read %d: cached analyses and the running one's share, or the live heap: %.1f MiB > budget %.1f MiB",
				i, float64(worst)/(1<<20), float64(budget)/(1<<20))
		}
		maxLive = max(maxLive, int64(m.HeapAlloc)-base)
	}
	if r, err := z.Analyze(context.Background(), fmt.Sprintf("c%d.pcap", files-1), nil); err != nil || r != last {
		t.Errorf("the last analysis is not cached (%v)", err)
	}
	if c := cacheBytes(z); c > budget {
		t.Errorf("after the reads: cached %.1f MiB > budget", float64(c)/(1<<20))
	}
	if n := strings.Count(log.String(), "porthunter: cache: dropped the analysis of "); n == 0 || uint64(n) != z.dropped {
		t.Errorf("%d analyses dropped, %d reported:\n%s", z.dropped, n, log.String())
	}
	t.Logf("analysis of %.1f MiB; %d cached; live heap at most %.1f MiB", float64(last.Analysis.RetainedBytes())/(1<<20), len(z.cache), float64(maxLive)/(1<<20))
}

// TestHashOfWholeFile: the capture report's SHA-256 is that of the file's
// bytes, for captures that span many of the reader's buffers (the hash
// reads them as the parser does, without a copy: pcapng.Tap), plain and
// gzip-compressed, and however the file's reads arrive.
func TestHashOfWholeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.pcapng")
	n := 60_000 / race.Scale // about 4.3 MB, or 1.1 MB: more buffers than the reader's four
	if err := testcap.WriteBigSYN(path, n); err != nil {
		t.Fatal(err)
	}
	plain, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"pcapng": plain, "pcapng.gz": gzipped(t, plain)} {
		for reads, r := range map[string]io.Reader{"whole": bytes.NewReader(data), "halves": iotest.HalfReader(bytes.NewReader(data))} {
			res, err := readCaptures(context.Background(), []captureInput{{r: r, size: int64(len(data))}}, pcapng.DefaultLimits(), scan.DefaultConfig(), nil, nil)
			if err != nil {
				t.Fatalf("%s, %s reads: %v", name, reads, err)
			}
			sum := sha256.Sum256(data)
			if got := res.Report.SHA256; got != hex.EncodeToString(sum[:]) {
				t.Errorf("%s, %s reads: sha256 %s, want the file's %x", name, reads, got, sum)
			}
			if got := res.Analysis.Capture().TotalPackets; got != uint64(n) {
				t.Errorf("%s, %s reads: %d packets, want %d", name, reads, got, n)
			}
		}
	}
}

// gzipped is b compressed with gzip.
func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return gz.Bytes()
}
