//go:build harness

package scan

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// The two tests below, skipped unless their variables are set, write
// every answer of an analysis (dumpAll) to files, so that two builds can
// be compared byte for byte, e.g. before and after an optimisation:
//
//	SCAN_DUMPALL=../fixtures/demo.pcapng SCAN_DUMPALL_OUT=/tmp/a.json go test -run TestDumpAll ./scan
//	SCAN_DUMPMIXED_DIR=/tmp/a go test -run TestDumpMixed ./scan
//
// SCAN_DUMPALL_BUDGET sets the memory budget, SCAN_DUMPALL_WORKERS the workers.

// TestDumpAll writes dumpAll of SCAN_DUMPALL (a capture) to
// SCAN_DUMPALL_OUT, to compare the answers of two builds.
func TestDumpAll(t *testing.T) {
	in, out := os.Getenv("SCAN_DUMPALL"), os.Getenv("SCAN_DUMPALL_OUT")
	if in == "" || out == "" {
		t.Skip("SCAN_DUMPALL and SCAN_DUMPALL_OUT not set")
	}
	c := DefaultConfig()
	if b := os.Getenv("SCAN_DUMPALL_BUDGET"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		c.MemoryBudgetBytes = n
	}
	if w := os.Getenv("SCAN_DUMPALL_WORKERS"); w != "" {
		n, err := strconv.Atoi(w)
		if err != nil {
			t.Fatal(err)
		}
		c.Workers = n
	}
	an := analyzeFile(t, in, c)
	if err := os.WriteFile(out, dumpAll(t, an), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDumpMixed writes dumpAll of mixedPackets(seed) for seeds 1 to 6 to
// SCAN_DUMPMIXED_DIR, to compare the answers of two builds.
func TestDumpMixed(t *testing.T) {
	dir := os.Getenv("SCAN_DUMPMIXED_DIR")
	if dir == "" {
		t.Skip("SCAN_DUMPMIXED_DIR not set")
	}
	workers, _ := strconv.Atoi(os.Getenv("SCAN_DUMPALL_WORKERS"))
	for seed := uint64(1); seed <= 6; seed++ {
		ps := mixedPackets(seed, 30000)
		for _, budget := range []int64{0, 200000} {
			an := analyzePackets(ps, Config{MemoryBudgetBytes: budget, Workers: workers})
			name := filepath.Join(dir, "mixed-"+strconv.Itoa(int(seed))+"-"+strconv.Itoa(int(budget))+".json")
			if err := os.WriteFile(name, dumpAll(t, an), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
