package scan

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"

	"porthunter/pcapng"
)

// floodThenScan is a spoofed SYN flood of n single-packet senders on a
// victim, then three scanners that each probe 40 of its ports (every
// probe answered by RST/ACK).
func floodThenScan(n int) []pcapng.Packet {
	b := newBuilder(DefaultConfig())
	var ps []pcapng.Packet
	ts := t0
	for i := range n {
		src := netip.AddrFrom4([4]byte{100, 64, byte(i >> 8), byte(i)}).String()
		ps = append(ps, *b.tcp(ts, src, 40000, victim, 80, fS, 0))
		ts += 1000
	}
	for k := range 3 {
		src := fmt.Sprintf("198.51.100.%d", 10+k)
		for port := range uint16(40) {
			ts += 10_000_000
			ps = append(ps, *b.tcp(ts, src, 45000, victim, 1+port, fS, 0))
			ps = append(ps, *b.tcp(ts+100_000, victim, 1+port, src, 45000, fR|fA, 0))
		}
	}
	return ps
}

// TestHeaviestSources: a flood spends the source budget before three
// scanners start, so a first reading tracks none of them; it names them
// among the heaviest senders, and a second reading with that set tracks
// each exactly as an unlimited budget does, with the flood's senders
// counted (estimated) as dropped.
func TestHeaviestSources(t *testing.T) {
	ps := floodThenScan(500)
	full := analyzePackets(ps, DefaultConfig())
	want := full.Suspects(DefaultThresholds())
	if len(want) != 3 {
		t.Fatalf("unlimited budget: %d suspects, want the 3 scanners", len(want))
	}
	small := Config{MemoryBudgetBytes: 256_000} // 100 sources, 333 addresses
	first := analyzePackets(ps, small)
	if s := first.Suspects(DefaultThresholds()); len(s) != 0 || !first.Capture().LimitHit {
		t.Fatalf("first reading: %d suspects, limit_hit %v; want the scanners lost to the flood", len(s), first.Capture().LimitHit)
	}
	set := first.HeaviestSources()
	if set == nil || set.Len() != 100 {
		t.Fatalf("heaviest set: %v, want 100 senders", set != nil && set.Len() == 100)
	}
	for _, s := range want {
		if !set.has(ipOf(s.IP)) {
			t.Errorf("scanner %s not among the heaviest", s.IP)
		}
	}
	for _, workers := range []int{0, 2} {
		c := small
		c.Admit, c.Workers = set, workers
		second := analyzePackets(ps, c)
		got := second.Suspects(DefaultThresholds())
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if string(gj) != string(wj) {
			t.Errorf("workers %d: second reading lists\n%s\nwant (unlimited budget)\n%s", workers, gj, wj)
		}
		for _, s := range want {
			g, _ := second.Detail(s.IP)
			w, _ := full.Detail(s.IP)
			gd, _ := json.Marshal(g)
			wd, _ := json.Marshal(w)
			if string(gd) != string(wd) {
				t.Errorf("workers %d: detail of %s\n%s\nwant\n%s", workers, s.IP, gd, wd)
			}
		}
		st := second.Capture()
		// Not tracked: the 403 flood senders left out, and the victim,
		// whose packets only answer the scanners.
		if !st.LimitHit || !st.HeaviestSources || !near(st.DroppedSources, 404) || st.Sources != 100 || second.HeaviestSources() != nil {
			t.Errorf("workers %d: stats %+v; want limit_hit, heaviest_sources, 404 dropped sources, 100 sources", workers, st)
		}
	}
}

// TestHeaviestSourcesFloodOnly: when no refused sender surely sent
// heavyMinPackets packets, the tracked sources stand (no second reading).
func TestHeaviestSourcesFloodOnly(t *testing.T) {
	ps := floodThenScan(500)[:500]
	an := analyzePackets(ps, Config{MemoryBudgetBytes: 256_000})
	if set := an.HeaviestSources(); set != nil {
		t.Errorf("flood only: heaviest set of %d, want none", set.Len())
	}
	if st := an.Capture(); !st.LimitHit || st.HeaviestSources || !near(st.DroppedSources, 400) {
		t.Errorf("stats %+v; want limit_hit and 400 dropped sources", st)
	}
	if an := analyzePackets(ps, DefaultConfig()); an.HeaviestSources() != nil || an.Capture().DroppedSources != 0 {
		t.Errorf("unlimited budget: %+v", an.Capture())
	}
}

// TestSpaceSaving: heavy senders hidden in a stream of single packets
// from three times as many senders as the summary holds keep a sure
// count close to their true one; singletons never reach heavyMinPackets.
func TestSpaceSaving(t *testing.T) {
	s := newSpaceSaving(heavyCapacity)
	heavy := []ipAddr{{lo: 1}, {lo: 2}, {hi: 7, lo: 3, v6: true}}
	n := 3 * heavyCapacity
	for i := range n {
		s.add(ipAddr{lo: uint64(1000 + i)})
		if i%200 == 0 {
			for _, h := range heavy {
				s.add(h)
			}
		}
	}
	perHeavy := uint64((n + 199) / 200)
	bound := uint64((n + len(heavy)*int(perHeavy)) / heavyCapacity) // the summary's least count is at most N/k
	for _, h := range heavy {
		i, ok := s.pos.get(h)
		if !ok {
			t.Fatalf("%+v lost", h)
		}
		e := s.e[i]
		if e.count < perHeavy || e.count-e.err > perHeavy || e.count-e.err+bound < perHeavy {
			t.Errorf("%+v: count %d err %d, true %d (excess bound %d)", h, e.count, e.err, perHeavy, bound)
		}
	}
	for _, e := range s.e {
		if e.addr.lo >= 1000 && e.count-e.err > 1 {
			t.Fatalf("singleton %+v has sure count %d", e.addr, e.count-e.err)
		}
	}
}

// near reports whether a distinct-count estimate is within 2 % (at
// least 3) of n.
func near(est uint64, n int) bool {
	return math.Abs(float64(est)-float64(n)) <= max(0.02*float64(n), 3)
}

// TestSummaryCapacity: the summary follows the source budget between its
// bounds.
func TestSummaryCapacity(t *testing.T) {
	for _, c := range []struct {
		maxSources int64
		want       int
	}{{1, 1024}, {1024, 1024}, {1025, 2048}, {6553, 8192}, {209715, 65536}, {1 << 40, 65536}} {
		if got := summaryCapacity(c.maxSources); got != c.want {
			t.Errorf("summaryCapacity(%d) = %d, want %d", c.maxSources, got, c.want)
		}
	}
}

// TestHLL: the distinct-sender estimate is exact for a few senders and
// within 2 % (at least 3) beyond, duplicates aside.
func TestHLL(t *testing.T) {
	for _, n := range []int{0, 1, 2, 10, 404, 5000, 100_000, 1_000_000} {
		var h hll
		for i := range n {
			x := ipAddr{lo: uint64(i)}
			if i%3 == 0 {
				x = ipAddr{hi: uint64(i), lo: 9, v6: true}
			}
			h.add(x)
			h.add(x)
		}
		got := h.estimate()
		if n <= 10 && got != uint64(n) || !near(got, n) {
			t.Errorf("%d distinct: estimate %d", n, got)
		}
	}
}

// TestSpaceSavingInvariants checks the summary against exact counts over
// a skewed stream of 3 million packets from 400,000 senders: the counts
// sum to the stream's length, every kept sender's count-err <= true count
// <= count, every sender of more than N/capacity packets is kept,
// and the buckets are in increasing count order with their entries.
func TestSpaceSavingInvariants(t *testing.T) {
	s := newSpaceSaving(heavyCapacity)
	r := rand.New(rand.NewPCG(5, 6))
	z := rand.NewZipf(r, 1.2, 1, 400_000-1)
	truth := map[ipAddr]uint64{}
	const n = 3_000_000
	for range n {
		x := ipAddr{lo: z.Uint64()}
		truth[x]++
		s.add(x)
	}
	var sum uint64
	for _, e := range s.e {
		sum += e.count
		if tc := truth[e.addr]; e.count-e.err > tc || tc > e.count {
			t.Fatalf("%+v: count %d err %d, true %d", e.addr, e.count, e.err, tc)
		}
		if got, ok := s.pos.get(e.addr); !ok || s.e[got].addr != e.addr {
			t.Fatalf("%+v not indexed", e.addr)
		}
	}
	indexed := 0
	for _, sl := range s.pos.slots {
		if sl.e1 != 0 {
			indexed++
		}
	}
	if sum != n || indexed != len(s.e) {
		t.Fatalf("counts sum to %d (want %d), %d indexed of %d", sum, n, indexed, len(s.e))
	}
	for x, c := range truth {
		if _, ok := s.pos.get(x); !ok && c > n/heavyCapacity {
			t.Errorf("%+v with %d packets lost", x, c)
		}
	}
	seen, last := 0, uint64(0)
	for k := s.minB; k >= 0; k = s.b[k].next {
		if s.b[k].count <= last || s.b[k].head < 0 {
			t.Fatalf("bucket %d: count %d after %d, head %d", k, s.b[k].count, last, s.b[k].head)
		}
		last = s.b[k].count
		for i := s.b[k].head; i >= 0; i = s.e[i].next {
			if s.e[i].count != last || s.e[i].bucket != k {
				t.Fatalf("entry %d in bucket %d has count %d", i, k, s.e[i].count)
			}
			seen++
		}
	}
	if seen != len(s.e) {
		t.Fatalf("%d entries in the buckets, %d in all", seen, len(s.e))
	}
}

// BenchmarkSpaceSaving measures the cost of one refused packet in a flood:
// mostly new senders, every 100th packet from one of ten heavy ones.
func BenchmarkSpaceSaving(b *testing.B) {
	s := newSpaceSaving(heavyCapacity)
	i := uint64(0)
	for b.Loop() {
		x := ipAddr{lo: 1<<32 | i}
		if i%100 == 0 {
			x = ipAddr{lo: i / 100 % 10}
		}
		s.add(x)
		i++
	}
}
