package intel

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// slow scales a time bound for the race detector.
func slow(d time.Duration) time.Duration { return raceSlowdown * d }

// bigIP2ASN is a directory holding a synthetic iptoasn file of n rows.
func bigIP2ASN(t testing.TB, n int) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ip2asn-big.tsv"), synthIP2ASN(n), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLoadCancel: a load stops within milliseconds of its context ending,
// whether it is reading lines or building the table.
func TestLoadCancel(t *testing.T) {
	rows := 200_000
	if raceOn {
		rows /= 4 // the same work takes ten times longer
	}
	dir := os.DirFS(bigIP2ASN(t, rows))
	full := time.Now()
	if _, err := Open(context.Background(), Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	whole := time.Since(full)
	for _, after := range []time.Duration{0, whole / 4, whole / 2} {
		ctx, cancel := context.WithCancel(context.Background())
		timer := time.AfterFunc(after, cancel)
		start := time.Now()
		db, err := Open(ctx, Options{Dir: dir})
		late := time.Since(start) - after
		timer.Stop()
		cancel()
		if !errors.Is(err, context.Canceled) || db != nil {
			t.Errorf("cancelled after %v of %v: %v, %v", after, whole, db, err)
			continue
		}
		if late > slow(50*time.Millisecond) {
			t.Errorf("cancelled after %v of %v: returned %v later", after, whole, late)
		}
	}
}

// TestRefreshCancel: a reload cut short keeps the old tables and answers
// ctx's error; the next call reloads.
func TestRefreshCancel(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "old.txt"), []byte("31.0.12.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	now := testNow
	db := openTest(t, Options{Dir: os.DirFS(dir), Now: func() time.Time { return now }})
	if err := os.WriteFile(filepath.Join(dir, "ip2asn-big.tsv"), synthIP2ASN(50_000), 0o644); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * RefreshInterval)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if _, err := db.Enrich(ctx, ip("1.0.4.5")); !errors.Is(err, context.Canceled) {
		t.Errorf("Enrich with a cancelled context: %v", err)
	}
	if took := time.Since(start); took > slow(20*time.Millisecond) {
		t.Errorf("cancelled reload took %v", took)
	}
	if n := len(db.Sources()); n != 3 { // old.txt and the two online providers
		t.Errorf("after a cancelled reload: %d sources, want the old 3", n)
	}
	if e := enriched(t)(db.Enrich(context.Background(), ip("1.0.4.5"))); e.ASN == nil {
		t.Error("the next call did not reload")
	}
}

// TestLookupCancel: lookups end with ctx's error, and correlate stops at
// the first address that finds ctx ended.
func TestLookupCancel(t *testing.T) {
	db := openTest(t, Options{Dir: os.DirFS(intelDir(t, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.Enrich(ctx, ip("31.0.4.7")); !errors.Is(err, context.Canceled) {
		t.Errorf("Enrich: %v", err)
	}
	if _, err := db.EnrichInput(ctx, "31.0.4.7"); !errors.Is(err, context.Canceled) {
		t.Errorf("EnrichInput: %v", err)
	}
	if _, err := db.Correlate(ctx, []string{"31.0.4.7", "31.0.9.9"}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Correlate: %v", err)
	}
}

// TestSortCtx: the interruptible sort agrees with slices.SortFunc across
// run boundaries, and a cancelled one stops.
func TestSortCtx(t *testing.T) {
	for _, n := range []int{0, 1, sortRun, sortRun + 1, 3*sortRun + 7, 8 * sortRun} {
		s := make([]uint32, n)
		for i := range s {
			s[i] = rand.Uint32() % uint32(n+1)
		}
		want := slices.Clone(s)
		slices.Sort(want)
		if err := sortCtx(context.Background(), s, func(a, b uint32) int { return int(a) - int(b) }); err != nil || !slices.Equal(s, want) {
			t.Errorf("n=%d: sorted wrong (%v)", n, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sortCtx(ctx, make([]uint32, 4*sortRun), func(a, b uint32) int { return int(a) - int(b) }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled sort: %v", err)
	}
}
