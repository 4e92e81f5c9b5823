package intel

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"testing"
)

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
	t, err := loadIP2ASN(&lineReader{r: bufio.NewReaderSize(bytes.NewReader(data), MaxLineLen)}, &st)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// BenchmarkLoadIP2ASN500k: load time and retained heap of a full-size file.
func BenchmarkLoadIP2ASN500k(b *testing.B) {
	data := synthIP2ASN(500_000)
	b.SetBytes(int64(len(data)))
	var ms0, ms1 runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		t := loadSynth(b, data)
		runtime.GC()
		runtime.ReadMemStats(&ms1)
		b.ReportMetric(float64(ms1.HeapAlloc-ms0.HeapAlloc)/(1<<20), "retainedMB")
		b.ReportMetric(float64(t.set.len()), "ranges")
		runtime.KeepAlive(t)
	}
}

func BenchmarkLookupIP2ASN500k(b *testing.B) {
	t := loadSynth(b, synthIP2ASN(500_000))
	r := rand.New(rand.NewPCG(3, 4))
	addrs := make([]netip.Addr, 4096)
	for i := range addrs {
		if i%5 == 0 {
			addrs[i] = addr6(u128{hi: 0x2a00000000000000 + uint64(r.IntN(100_000))<<32 | uint64(r.Uint32()), lo: r.Uint64()})
		} else {
			addrs[i] = addr4(key4(netip.MustParseAddr("1.0.0.0")) + r.Uint32N(400_000*1024))
		}
	}
	hits := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, _, _, ok := t.lookup(addrs[i&4095]); ok {
			hits++
		}
	}
	if hits == 0 {
		b.Fatal("no hits")
	}
}

func BenchmarkEnrichOffline(b *testing.B) {
	db, err := Open(Options{Dir: os.DirFS(intelDir(b, nil))})
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

// BenchmarkCorrelate1000Full: correlate 1000 addresses over a 500 000-row
// iptoasn file plus the fixture directory.
func BenchmarkCorrelate1000Full(b *testing.B) {
	db, err := Open(Options{Dir: os.DirFS(intelDir(b, map[string][]byte{"ip2asn-full.tsv": synthIP2ASN(500_000)}))})
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
