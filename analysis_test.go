package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"porthunter/pcapng"
	"porthunter/policy"
	"porthunter/scan"
)

func testAnalyzer(t *testing.T, dir string) *analyzer {
	t.Helper()
	cfg := testConfig(t, dir, map[string]string{"PORT_HUNTER_MAX_PCAP_MB": "1024"})
	sb, err := policy.NewSandbox(dir, cfg.MaxPcapBytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return newAnalyzer(cfg, sb)
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
	r1, err := z.analyze(ctx, "big.pcap", nil)
	if err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	start = time.Now()
	r2, err := z.analyze(ctx, "big.pcap", nil)
	if err != nil {
		t.Fatal(err)
	}
	second := time.Since(start)
	if r1 != r2 {
		t.Error("unchanged file read again")
	}
	if second > 20*time.Millisecond*raceSlowdown {
		t.Errorf("cached answer took %v (first read %v)", second, first)
	}
	t.Logf("first read %v, cached %v", first, second)

	// Same size, new content and modification time: read again.
	writeBigCapture(t, path, 100_000)
	later := time.Now().Add(2 * time.Second)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	r3, err := z.analyze(ctx, "big.pcap", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r3 == r1 {
		t.Error("a modified file was answered from the cache")
	}
	// A different file is a different entry.
	writeBigCapture(t, filepath.Join(dir, "small.pcap"), 1000)
	r4, err := z.analyze(ctx, "small.pcap", nil)
	if err != nil || r4 == r3 || r4.an.Capture().TotalPackets != 1000 {
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
		_, err := z.analyze(ctx, "big.pcap", func(done, total int64) {
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
		if el := time.Since(at); el > 100*time.Millisecond*raceSlowdown {
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
	data, err := os.ReadFile(filepath.Join("fixtures", "horizontal.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	whole, err := readCapture(ctx, bytes.NewReader(data), int64(len(data)), pcapng.DefaultLimits(), scan.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	frames := whole.an.Capture().TotalPackets
	sum := sha256.Sum256(data)

	grown := append(append([]byte(nil), data...), data[24:]...) // every record once more
	g, err := readCapture(ctx, bytes.NewReader(grown), int64(len(data)), pcapng.DefaultLimits(), scan.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := g.an.Capture().TotalPackets; n != frames || g.capture.Truncated != nil {
		t.Errorf("grown file: %d frames (want %d), truncated %+v", n, frames, g.capture.Truncated)
	}
	if g.capture.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("grown file: hash %s is not the hash of the bytes opened", g.capture.SHA256)
	}

	// Cut after the third record, on a record boundary.
	cut := 24
	for range 3 {
		cut += 16 + int(binary.LittleEndian.Uint32(data[cut+8:]))
	}
	s, err := readCapture(ctx, bytes.NewReader(data[:cut]), int64(len(data)), pcapng.DefaultLimits(), scan.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := s.capture.Truncated
	if tr == nil || tr.AfterFrame != 3 || !strings.Contains(tr.Reason, "shrank") || s.capture.SHA256 != "" {
		t.Errorf("shrunk file: truncated %+v, hash %q; want after frame 3, shrank, no hash", tr, s.capture.SHA256)
	}
}
