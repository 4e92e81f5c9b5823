package intel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"porthunter/internal/race"
)

// The intel files are hostile: these tests hold loading and lookups to
// bounds in time and memory that the honest cost meets with a wide margin
// and the attacks they stand for (a gzip bomb, a zeroed MMDB, one address
// in thousands of copies of a pulse) pass by far.

// measure runs f and returns the bytes allocated meanwhile and the time.
func measure(f func()) (alloc uint64, took time.Duration) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	took = time.Since(start)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, took
}

// slow scales a time bound for the race detector.
func slow(d time.Duration) time.Duration { return race.Slowdown * d }

// emptyIndicators is an OTX page of one pulse with n empty indicator
// objects: 3 bytes each, and a struct of 64 bytes each when decoded whole.
func emptyIndicators(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"results":[{"id":"x","indicators":[`)
	b.WriteString(strings.Repeat("{},", n))
	b.WriteString(`{}]}]}`)
	return b.Bytes()
}

// TestOTXGzipBomb: 2 MB of empty indicators gzip to 2 KB. Decoded whole
// they took 200 MiB and 0.6 s (12 MB: 1.25 GiB and 4 s); now the stream
// stops at MaxGzipRatio times the file and reports why.
func TestOTXGzipBomb(t *testing.T) {
	data := gz(t, emptyIndicators(650_000))
	var st SourceStatus
	alloc, took := measure(func() { _, st = load(t, "otx-bomb.json", data) })
	if st.Status != "error" || !strings.Contains(deref(st.Error), "times its") {
		t.Errorf("status %+v error %s, want the gzip ratio error", st, deref(st.Error))
	}
	if alloc > 16<<20 || took > slow(time.Second) {
		t.Errorf("a %d-byte file allocated %d MiB in %v, want under 16 MiB and 1 s", len(data), alloc>>20, took)
	}
}

// TestOTXStreamed: a plain export is walked, not decoded whole: 200 000
// empty indicators (0.6 MB) cost no memory, and one 16 MB string stops at
// MaxJSONToken instead of being held.
func TestOTXStreamed(t *testing.T) {
	data := emptyIndicators(200_000)
	var st SourceStatus
	alloc, took := measure(func() { _, st = load(t, "otx-empty.json", data) })
	if st.Status != "error" || deref(st.Error) != ErrNoEntries.Error() {
		t.Errorf("status %+v error %s", st, deref(st.Error))
	}
	if alloc > 4<<20 || took > slow(time.Second) {
		t.Errorf("0.6 MB of empty indicators allocated %d MiB in %v, want under 4 MiB and 1 s", alloc>>20, took)
	}

	long := []byte(`{"id":"x","name":"` + strings.Repeat("a", 16<<20) + `","indicators":[]}`)
	alloc, _ = measure(func() { _, st = load(t, "otx-long.json", long) })
	if st.Status != "error" || !strings.Contains(deref(st.Error), "JSON value longer than") {
		t.Errorf("status %+v error %s", st, deref(st.Error))
	}
	if alloc > 8<<20 {
		t.Errorf("a 16 MiB string allocated %d MiB, want under 8 MiB", alloc>>20)
	}

	deep := []byte(`{"id":"x","tags":` + strings.Repeat("[", 100_000) + `]}`)
	if _, st = load(t, "otx-deep.json", deep); st.Status != "error" || !strings.Contains(deref(st.Error), "nested deeper") {
		t.Errorf("deep: status %+v error %s", st, deref(st.Error))
	}
}

// zeroMMDB is an MMDB whose search tree is size bytes of zeros: it
// compresses 1000:1.
func zeroMMDB(size int) []byte {
	meta := buildMMDBMeta(map[string]any{"binary_format_major_version": mmdbU16(2), "node_count": mmdbU32(uint32((size - 16) / 6)),
		"record_size": mmdbU16(24), "ip_version": mmdbU16(6)})
	return append(make([]byte, size), meta...)
}

// TestMMDBZeroTree: four gzip'd 4 MiB zero trees (4 KB each) took 38 MiB
// and the time to inflate them (0.5 MB files: 3.5 GiB and 20 s);
// now each stops at MaxGzipRatio times its size, and a plain one past the
// budget is refused before it is read.
func TestMMDBZeroTree(t *testing.T) {
	bomb := gz(t, zeroMMDB(4<<20))
	dir := fstest.MapFS{}
	for i := range 4 {
		dir[fmt.Sprintf("zero-%d.mmdb", i)] = &fstest.MapFile{Data: bomb}
	}
	var db *DB
	alloc, took := measure(func() { db = openTest(t, Options{Dir: dir}) })
	for _, s := range db.Sources()[:4] {
		if s.Status != "error" || !strings.Contains(deref(s.Error), "times its") {
			t.Errorf("%s: %s %s, want the gzip ratio error", s.File, s.Status, deref(s.Error))
		}
	}
	if alloc > 16<<20 || took > slow(200*time.Millisecond) {
		t.Errorf("four %d-byte files allocated %d MiB in %v, want under 16 MiB and 200 ms", len(bomb), alloc>>20, took)
	}

	plain := fstest.MapFS{"zero.mmdb": &fstest.MapFile{Data: zeroMMDB(8 << 20)}}
	alloc, _ = measure(func() { db = openTest(t, Options{Dir: plain, MaxMemory: 4 << 20}) })
	if s := db.Sources()[0]; s.Status != "refused" || !strings.Contains(deref(s.Error), ErrOverBudget.Error()) {
		t.Errorf("plain zero tree: %+v %s, want refused", s, deref(s.Error))
	}
	if alloc > 1<<20 {
		t.Errorf("refusing an 8 MiB MMDB allocated %d KiB", alloc>>10)
	}
}

// TestBudgetShared: the files share the budget in lexical order; the one
// that does not fit is refused, said in the sources and the log, and its
// memory is not kept.
func TestBudgetShared(t *testing.T) {
	var list bytes.Buffer
	for i := range 10_000 {
		fmt.Fprintf(&list, "31.%d.%d.0/24\n", i>>8, i&255)
	}
	dir := fstest.MapFS{"a-list.txt": {Data: list.Bytes()}, "b-list.txt": {Data: list.Bytes()}, "c-list.txt": {Data: []byte("31.255.0.1\n")}}
	var log bytes.Buffer
	db := openTest(t, Options{Dir: dir, MaxMemory: 5 << 19, Log: &log})
	got := map[string]SourceStatus{}
	var used int64
	for _, s := range db.Sources() {
		got[s.File] = s
		used += s.Bytes
	}
	a, b, c := got["a-list.txt"], got["b-list.txt"], got["c-list.txt"]
	if a.Status != "loaded" || a.Bytes < 10_000*listEntryBytes || b.Status != "refused" || c.Status != "loaded" || used > 5<<19 {
		t.Errorf("a %+v\nb %+v %s\nc %+v, %d bytes used", a, b, deref(b.Error), c, used)
	}
	if !strings.Contains(log.String(), `intel: loaded 2 of 3 files`) || !strings.Contains(log.String(), `intel: refused "b-list.txt": intel: over the intel memory budget`) {
		t.Errorf("log:\n%s", log.String())
	}
	if e := enriched(t)(db.Enrich(context.Background(), ip("31.255.0.1"))); !e.Threat.Listed {
		t.Error("the file after the refused one did not load")
	}
}

// dupPulses is an OTX array of n pulses naming 31.0.9.9; distinct gives
// each its own id, else they are n copies of one pulse.
func dupPulses(n int, distinct bool) []byte {
	var b bytes.Buffer
	b.WriteString("[")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		id := 0
		if distinct {
			id = i
		}
		fmt.Fprintf(&b, `{"id":"%x","indicators":[{"indicator":"31.0.9.9","type":"IPv4"},{"indicator":"31.0.9.0/24","type":"CIDR"}]}`, id)
	}
	b.WriteString("]")
	return b.Bytes()
}

// TestOTXDuplicates: one address in 20 000 copies of one pulse made every
// lookup quadratic (150 to 200 ms here, 36.6 s from a 48 KB gzip'd file)
// and answered 20 000 pulses. Copies are merged at load: one pulse, two
// networks, and a lookup in microseconds. 20 000 distinct pulses naming
// the address cost n log n.
func TestOTXDuplicates(t *testing.T) {
	n := 20_000
	if race.Enabled {
		n /= race.Slowdown // the load, not the lookup, would take seconds
	}
	for _, distinct := range []bool{false, true} {
		data := dupPulses(n, distinct)
		db := openTest(t, Options{Dir: fstest.MapFS{"otx-dups.json": {Data: data}}})
		st := db.Sources()[0]
		want := 1
		if distinct {
			want = n
		}
		if st.Status != "loaded" || st.Entries != 2*want || st.Dropped != 2*n-2*want {
			t.Errorf("distinct %v: status %+v", distinct, st)
		}
		var e Enrichment
		_, took := measure(func() { e = enriched(t)(db.Enrich(context.Background(), ip("31.0.9.9"))) })
		if n := e.Threat.OTX.PulseCount; n == nil || *n != want || len(e.Threat.OTX.Pulses) != min(want, MaxPulsesShown) {
			t.Errorf("distinct %v: pulse_count %v, %d shown, want %d", distinct, n, len(e.Threat.OTX.Pulses), want)
		}
		if took > slow(10*time.Millisecond) {
			t.Errorf("distinct %v: enrich took %v, want under 10 ms", distinct, took)
		}
	}
}

// BenchmarkOTXDuplicates grows one address in n copies of one pulse (and
// in n distinct pulses) 1x to 8x: load and one lookup. The cost must grow
// linearly (n log n for the distinct pulses' lookup).
func BenchmarkOTXDuplicates(b *testing.B) {
	for _, kind := range []string{"copies", "distinct"} {
		for _, n := range []int{10_000, 20_000, 40_000, 80_000} {
			data := dupPulses(n, kind == "distinct")
			b.Run(fmt.Sprintf("%s/n=%d", kind, n), func(b *testing.B) {
				dir := fstest.MapFS{"otx.json": {Data: data}}
				for b.Loop() {
					db, err := Open(b.Context(), Options{Dir: dir, Now: func() time.Time { return testNow }})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := db.Enrich(b.Context(), ip("31.0.9.9")); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// bigIP2ASN is a directory holding a synthetic iptoasn file of n rows.
func bigIP2ASN(t testing.TB, n int) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ip2asn-big.tsv"), synthIP2ASN(n), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// cancelFS cancels a load once one of its files was read up to at bytes
// (at its end when at is negative), and notes when: the cancellation
// lands at a chosen point of the work, whatever the machine's speed.
type cancelFS struct {
	fs.StatFS
	at     int64
	cancel context.CancelFunc
	fired  time.Time
}

func (c *cancelFS) Open(name string) (fs.File, error) {
	f, err := c.StatFS.Open(name)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || fi.IsDir() {
		return f, err
	}
	return &cancelFile{File: f, fs: c}, nil
}

type cancelFile struct {
	fs.File
	fs   *cancelFS
	read int64
}

func (f *cancelFile) Read(p []byte) (int, error) {
	n, err := f.File.Read(p)
	f.read += int64(n)
	if c := f.fs; c.fired.IsZero() && ((c.at >= 0 && f.read >= c.at) || (c.at < 0 && err == io.EOF)) {
		c.fired = time.Now()
		c.cancel()
	}
	return n, err
}

// TestLoadCancel: a load stops within milliseconds of its context ending,
// whether it is reading lines (a quarter into the file, three quarters of
// the work left) or building the table (the file read to its end).
func TestLoadCancel(t *testing.T) {
	rows := 200_000
	if race.Enabled {
		rows /= race.Scale // the same work takes ten times longer
	}
	dir := bigIP2ASN(t, rows)
	fi, err := os.Stat(filepath.Join(dir, "ip2asn-big.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []int64{fi.Size() / 4, -1} {
		ctx, cancel := context.WithCancel(context.Background())
		cfs := &cancelFS{StatFS: os.DirFS(dir).(fs.StatFS), at: at, cancel: cancel}
		db, err := Open(ctx, Options{Dir: cfs})
		cancel()
		if !errors.Is(err, context.Canceled) || db != nil || cfs.fired.IsZero() {
			t.Errorf("cancelled at byte %d: %v, %v", at, db, err)
			continue
		}
		if late := time.Since(cfs.fired); late > slow(50*time.Millisecond) {
			t.Errorf("cancelled at byte %d: returned %v later", at, late)
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
	if err := os.WriteFile(filepath.Join(dir, "ip2asn-big.tsv"), synthIP2ASN(10_000), 0o644); err != nil {
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
	spans := make([]span, 2*sortRun)
	for i := range spans {
		a := addr4(uint32(i) << 8)
		spans[i] = span{start: a, end: a, id: int32(i)}
	}
	if _, err := buildRanges(ctx, spans, len(spans)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled build: %v", err)
	}
}

// TestSizeHonest: what the budget is charged for a large table is within
// a factor of the heap it keeps.
func TestSizeHonest(t *testing.T) {
	data := synthIP2ASN(20_000)
	ds, _ := mustLoad(t, "ip2asn.tsv", data)
	size, working := ds.size(), ds.stats.bytes
	var with, without runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&with)
	runtime.KeepAlive(ds)
	ds = nil
	runtime.GC()
	runtime.ReadMemStats(&without)
	kept := int64(with.HeapAlloc) - int64(without.HeapAlloc)
	if size < kept/2 || size > 2*kept || working < kept {
		t.Errorf("charged %d bytes (working set %d) for %d bytes kept", size, working, kept)
	}
}
