package intel

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// fullRows is the size of the full-size synthetic iptoasn file: 545 000
// rows, of which 43 600 are "Not routed", leave 501 400 ranges (392 400
// IPv4, 109 000 IPv6), the size of the real combined file.
const fullRows = 545_000

// synthIP2ASN writes n synthetic iptoasn rows (80% IPv4 /22-sized ranges
// from 1.0.0.0, 20% IPv6 /32s from 2a00::), every tenth "Not routed", with
// documentation-range-sized AS numbers cycling over 60 000 ASes.
func synthIP2ASN(n int) []byte {
	var b bytes.Buffer
	b.WriteString("# SYNTHETIC TEST DATA\n")
	v4 := n * 8 / 10
	start := key4(netip.MustParseAddr("1.0.0.0"))
	for i := 0; i < v4; i++ {
		s, e := start+uint32(i)*1024, start+uint32(i)*1024+1023
		asn := 64496 + i%60000
		if i%10 == 9 {
			fmt.Fprintf(&b, "%s\t%s\t0\tNone\tNot routed\n", addr4(s), addr4(e))
			continue
		}
		fmt.Fprintf(&b, "%s\t%s\t%d\tDE\tEXAMPLE-AS-%d Example Holder %d\n", addr4(s), addr4(e), asn, asn, asn)
	}
	for i := 0; i < n-v4; i++ {
		s := u128{hi: 0x2a00000000000000 + uint64(i)<<32}
		e := u128{hi: s.hi | 0xffffffff, lo: ^uint64(0)}
		fmt.Fprintf(&b, "%s\t%s\t%d\tJP\tEXAMPLE-AS-V6-%d\n", addr6(s), addr6(e), 65536+i%16, i%16)
	}
	return b.Bytes()
}

func loadSynth(tb testing.TB, data []byte) *asnTable {
	var st loadStats
	t, err := loadIP2ASN(context.Background(), &lineReader{r: bufio.NewReaderSize(bytes.NewReader(data), MaxLineLen)}, &st)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// BenchmarkLoadIP2ASN500k: load time (ns/op, also as ms/load) and retained
// heap (runtime.MemStats.HeapAlloc after minus before, after a GC, in MiB)
// of a full-size combined file. The timer is stopped around the GCs so
// they are not counted as load time.
func BenchmarkLoadIP2ASN500k(b *testing.B) {
	data := synthIP2ASN(fullRows)
	b.SetBytes(int64(len(data)))
	var ms0, ms1 runtime.MemStats
	var retained uint64
	ranges := 0
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		b.StartTimer()
		t := loadSynth(b, data)
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&ms1)
		if ms1.HeapAlloc > ms0.HeapAlloc {
			retained = ms1.HeapAlloc - ms0.HeapAlloc
		}
		ranges = t.set.len()
		runtime.KeepAlive(t)
		b.StartTimer()
	}
	b.ReportMetric(float64(retained)/(1<<20), "MiB")
	b.ReportMetric(float64(ranges), "ranges")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/load")
}

// BenchmarkOpenIP2ASN500kGzip is the production path for the same data:
// a gzip file in a temporary directory, sniffed, decompressed and loaded
// by Open.
func BenchmarkOpenIP2ASN500kGzip(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ip2asn-combined.tsv.gz"), gz(b, synthIP2ASN(fullRows)), 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		db, err := Open(context.Background(), Options{Dir: os.DirFS(dir)})
		if err != nil {
			b.Fatal(err)
		}
		if s := db.Sources(); len(s) == 0 || s[0].Provider != "ip2asn" || s[0].Status != "loaded" || s[0].Entries == 0 {
			b.Fatalf("sources %+v", s)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/load")
}

// BenchmarkLookupIP2ASN500k: one lookup per op (ns/op = ns/lookup) over
// 4096 random addresses, 80% IPv4 and 20% IPv6, most of them hits.
func BenchmarkLookupIP2ASN500k(b *testing.B) {
	t := loadSynth(b, synthIP2ASN(fullRows))
	r := rand.New(rand.NewPCG(3, 4))
	addrs := make([]netip.Addr, 4096)
	for i := range addrs {
		if i%5 == 0 {
			addrs[i] = addr6(u128{hi: 0x2a00000000000000 + uint64(r.IntN(100_000))<<32 | uint64(r.Uint32()), lo: r.Uint64()})
		} else {
			addrs[i] = addr4(key4(netip.MustParseAddr("1.0.0.0")) + r.Uint32N(400_000*1024))
		}
	}
	hits, n := 0, 0
	for i := 0; b.Loop(); i++ {
		if _, _, _, ok := t.lookup(addrs[i&4095]); ok {
			hits++
		}
		n++
	}
	if hits == 0 {
		b.Fatal("no hits")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/lookup")
	b.ReportMetric(float64(hits)/float64(n), "hit-ratio")
}

func BenchmarkEnrichOffline(b *testing.B) {
	db, err := Open(context.Background(), Options{Dir: os.DirFS(intelDir(b, nil))})
	if err != nil {
		b.Fatal(err)
	}
	a := netip.MustParseAddr("31.0.4.7")
	for b.Loop() {
		db.Enrich(b.Context(), a)
	}
}

func TestSynthIP2ASN(t *testing.T) {
	// The benchmark's generator and loader agree on a small size.
	tbl := loadSynth(t, synthIP2ASN(1000))
	if tbl.set.len() != 720+200 {
		t.Errorf("%d ranges, want 920 (800 v4 minus 80 unrouted, 200 v6)", tbl.set.len())
	}
	f, s, e, ok := tbl.lookup(netip.MustParseAddr("1.0.4.5"))
	if !ok || f.asn != 64497 || s.String() != "1.0.4.0" || e.String() != "1.0.7.255" {
		t.Errorf("lookup = %+v %v %v %v", f, s, e, ok)
	}
}

// BenchmarkCorrelate1000Full: correlate 1000 addresses over the full-size
// iptoasn file plus the fixture directory.
func BenchmarkCorrelate1000Full(b *testing.B) {
	db, err := Open(context.Background(), Options{Dir: os.DirFS(intelDir(b, map[string][]byte{"ip2asn-full.tsv": synthIP2ASN(fullRows)}))})
	if err != nil {
		b.Fatal(err)
	}
	ips := make([]string, MaxCorrelateIPs)
	for i := range ips {
		ips[i] = fmt.Sprintf("1.%d.%d.%d", i%200, (i*7)%256, i%250+1)
	}
	for b.Loop() {
		c, err := db.Correlate(b.Context(), ips, nil)
		if err != nil || c.Summary.OK != MaxCorrelateIPs {
			b.Fatal(err, c.Summary)
		}
	}
}

// realisticOTX is an OTX page of pulses with inds IPv4 indicators each,
// with every field the service writes.
func realisticOTX(pulses, inds int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"count":1,"next":null,"results":[`)
	for p := 0; p < pulses; p++ {
		if p > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id":"%024x","name":"Campaign %d scanning","description":"Some description of the pulse that is moderately long, a few hundred bytes in reality.","author_name":"someone","modified":"2026-01-01T00:00:00.000000","created":"2025-12-01T00:00:00.000000","revision":3,"tlp":"white","public":1,"adversary":"","targeted_countries":[],"malware_families":["Mirai"],"attack_ids":[],"industries":[],"tags":["scanner","ssh","bruteforce"],"references":["https://example.com/report"],"indicators":[`, p, p)
		for i := 0; i < inds; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"id":%d,"indicator":"31.%d.%d.%d","type":"IPv4","created":"2025-12-01T00:00:00","content":"","title":"","description":"","expiration":"2027-01-01T00:00:00","is_active":1,"role":null}`, p*inds+i, p%200, i/250, i%250+1)
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// BenchmarkLoadOTX: an export of 50 pulses of 2000 indicators each, of the
// shape OTX writes (18.6 MB), read by the streaming loader.
func BenchmarkLoadOTX(b *testing.B) {
	data := realisticOTX(50, 2000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var st loadStats
		if _, err := loadOTXImport(context.Background(), bytes.NewReader(data), testNow, &st); err != nil {
			b.Fatal(err)
		}
	}
}
