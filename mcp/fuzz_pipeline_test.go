package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"porthunter/internal/race"
)

// Bounds of one input of FuzzPipeline. A fixed part pays for the
// analysis's tables (shards, counters, batches: a few MiB whatever the
// capture) and the answers of every tool; the part per byte of capture is generous
// for the densest input (a 16-byte pcap record making a new source and
// target of about 500 bytes of state). A cost that grows faster than the
// input, as the decoy search once did, exceeds it within a few KiB.
const (
	pipelineFixedBytes   = 64 << 20
	pipelineBytesPerByte = 256
	pipelineTime         = 2 * time.Second
)

// FuzzPipeline feeds capture bytes to every tool, as a client names the
// file: each call must end in an answer or a contract error (never a
// panic, which runTool reports as internal_error), within pipelineTime
// for all of them, and allocating at most pipelineFixedBytes plus
// pipelineBytesPerByte per byte of input.
func FuzzPipeline(f *testing.F) {
	for _, dir := range []string{"../fixtures", filepath.Join("../fixtures", "lab")} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range ents {
			if n := e.Name(); strings.HasSuffix(n, ".pcap") || strings.HasSuffix(n, ".pcapng") || strings.HasSuffix(n, ".gz") {
				if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil && len(b) <= 64<<10 {
					f.Add(b)
				}
			}
		}
	}
	f.Add(manyInterfaces(f, 100))
	dir := f.TempDir()
	cfg := testConfig(f, dir, map[string]string{"PORT_HUNTER_REQUIRE_TOKEN": "false"})
	s, err := newServer(cfg, "test", io.Discard, io.Discard)
	if err != nil {
		f.Fatal(err)
	}
	defer s.close()
	n := 0
	f.Fuzz(func(t *testing.T, data []byte) {
		// A new name for each input: the cache knows a file by name,
		// size, inode and time, which a rewrite can leave unchanged.
		n++
		name := fmt.Sprintf("in%d.pcap", n)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(p)
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		start := time.Now()
		ip := "10.0.0.1"
		for _, tl := range s.tools {
			args := map[string]any{}
			if hasArg(tl, "path") {
				args["path"] = name
			}
			if hasArg(tl, "ip") {
				args["ip"] = ip
			}
			if hasArg(tl, "ips") {
				args["ips"] = []string{ip, "203.0.113.9"}
			}
			raw, _ := json.Marshal(args)
			res := s.runTool(context.Background(), tl, &call{}, raw)
			sc, _ := res["structuredContent"].(json.RawMessage)
			var m map[string]any
			if err := json.Unmarshal(sc, &m); err != nil {
				t.Fatalf("%s: structuredContent not an object: %q", tl.name, sc)
			}
			if m["error"] == "internal_error" {
				t.Fatalf("%s: %v", tl.name, m)
			}
			// The next tools ask about the first suspect, if any.
			if sus, ok := m["suspects"].([]any); ok && len(sus) > 0 {
				if first, ok := sus[0].(map[string]any); ok {
					ip, _ = first["ip"].(string)
				}
			}
		}
		el := time.Since(start)
		runtime.ReadMemStats(&m1)
		if el > pipelineTime*race.Slowdown {
			t.Errorf("%d bytes: the tools took %v", len(data), el)
		}
		if a, limit := m1.TotalAlloc-m0.TotalAlloc, uint64(pipelineFixedBytes+pipelineBytesPerByte*len(data)); a > limit {
			t.Errorf("%d bytes: the tools allocated %d bytes, limit %d", len(data), a, limit)
		}
	})
}
