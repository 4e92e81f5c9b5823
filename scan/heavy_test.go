package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"slices"
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
	// The aggregator names the same set before Finish, so that a caller
	// that reads again need not finish the first reading.
	agg := NewAggregator(small)
	for i := range ps {
		agg.Add(&ps[i])
	}
	before := agg.HeaviestSources()
	if before == nil || before.Len() != set.Len() {
		t.Fatalf("aggregator's heaviest set before Finish: %v senders, want %d", before != nil && before.Len() == set.Len(), set.Len())
	}
	for _, s := range want {
		if !before.has(ipOf(s.IP)) {
			t.Errorf("scanner %s not among the heaviest the aggregator named", s.IP)
		}
	}
	if an := agg.Finish(); an.HeaviestSources() != before {
		t.Error("Finish made another heaviest set than the aggregator named before it")
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

// TestSourceSetFilter: every member is found, IPv4 and IPv6 alike, no
// other address is, and the bit array in front of the tables answers most
// non-members by itself (about one in eight passes it).
func TestSourceSetFilter(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n = 20_000
	addr := func(i uint64) ipAddr {
		if i%4 == 0 {
			return ipAddr{hi: 0x20010db8<<32 | i, lo: i * 0x9e3779b97f4a7c15, v6: true}
		}
		return ipAddr{lo: uint64(uint32(i * 0x9e3779b1))}
	}
	set := newSourceSet(n)
	for i := range uint64(n) {
		set.add(addr(i))
	}
	if set.Len() != n {
		t.Fatalf("%d members, want %d", set.Len(), n)
	}
	for i := range uint64(n) {
		if !set.has(addr(i)) {
			t.Fatalf("member %v not found", addr(i))
		}
	}
	passed := 0
	for range n {
		x := addr(n + r.Uint64N(1<<30))
		if set.has(x) {
			t.Fatalf("non-member %v found", x)
		}
		if w, m := set.bit(x); set.filter[w]&m != 0 {
			passed++
		}
	}
	if passed > n/4 {
		t.Errorf("%d of %d non-members passed the bit array, want about an eighth", passed, n)
	}
}

// TestSelectFirst: selectFirst leaves in front the same n elements a sort
// would, for inputs random, sorted, reversed and of few distinct primary
// keys (ties broken by a second key, as heaviest breaks them by address),
// and for n at and near the ends.
func TestSelectFirst(t *testing.T) {
	type pair struct{ k, id int }
	less := func(a, b pair) int {
		if a.k != b.k {
			return b.k - a.k // descending, as packets are
		}
		return a.id - b.id
	}
	r := rand.New(rand.NewPCG(11, 12))
	for _, size := range []int{1, 2, 17, 100, 5000} {
		for shape := range 4 {
			s := make([]pair, size)
			for i := range s {
				switch shape {
				case 0:
					s[i] = pair{r.IntN(1 << 20), i}
				case 1:
					s[i] = pair{size - i, i} // already in order
				case 2:
					s[i] = pair{i, i} // reversed
				default:
					s[i] = pair{r.IntN(3), i} // few distinct counts: the address decides
				}
			}
			r.Shuffle(len(s), func(i, j int) {
				if shape == 0 || shape == 3 {
					s[i], s[j] = s[j], s[i]
				}
			})
			sorted := slices.Clone(s)
			slices.SortFunc(sorted, less)
			for _, n := range []int{0, 1, size / 3, size - 1, size} {
				got := slices.Clone(s)
				selectFirst(got, n, less)
				front := slices.Clone(got[:max(n, 0)])
				slices.SortFunc(front, less)
				if !slices.Equal(front, sorted[:max(n, 0)]) {
					t.Fatalf("size %d, shape %d, n %d: the first n differ from a sort's", size, shape, n)
				}
				rest := slices.Clone(got[max(n, 0):])
				slices.SortFunc(rest, less)
				if !slices.Equal(rest, sorted[max(n, 0):]) {
					t.Fatalf("size %d, shape %d, n %d: elements lost or duplicated", size, shape, n)
				}
			}
		}
	}
}

// TestCounting: a first reading of a capture that can be read again stops
// collecting targets once a refused scanner outweighs a tracked sender,
// and names the same heaviest senders as a reading that went on; it has
// no analysis to give.
func TestCounting(t *testing.T) {
	for _, flood := range []int{150, 500} { // the scanners' addresses tracked, or past the address budget
		for _, workers := range []int{0, 2} {
			testCounting(t, flood, workers)
		}
	}
}

func testCounting(t *testing.T, flood, workers int) {
	ps := floodThenScan(flood)
	small := Config{MemoryBudgetBytes: 256_000} // 100 sources, 333 addresses
	want := analyzePackets(ps, small).HeaviestSources()
	c := small
	c.Rereadable, c.Workers = true, workers
	agg := NewAggregator(c)
	for i := range ps {
		agg.Add(&ps[i])
	}
	got := agg.HeaviestSources()
	if !agg.Counting() || got == nil || got.Len() != want.Len() {
		t.Fatalf("flood %d, workers %d: counting %v, heaviest %v; want counting and %d senders", flood, workers, agg.Counting(), got != nil, want.Len())
	}
	for _, s := range ps {
		if x := ipOf(s.Src); want.has(x) != got.has(x) {
			t.Errorf("flood %d, workers %d: %s in the heaviest: %v, want %v", flood, workers, s.Src, got.has(x), want.has(x))
		}
	}
	if an, err := agg.FinishContext(context.Background()); an != nil || !errors.Is(err, errCounting) {
		t.Errorf("flood %d, workers %d: Finish of a counting aggregator: %v, %v", flood, workers, an != nil, err)
	}
}

// TestCountingNot: refused senders that surely sent heavyMinPackets but
// never more than the lightest tracked source (all of them sending in
// rounds) leave the first reading collecting, and the aggregator looks at
// its tracked sources a logarithmic number of times, not once a round.
func TestCountingNot(t *testing.T) {
	b := newBuilder(DefaultConfig())
	var ps []pcapng.Packet
	ts := t0
	const tracked, refused, rounds = 100, 50, 400
	for r := range rounds {
		for i := range tracked + refused {
			src := netip.AddrFrom4([4]byte{100, 64, byte(i >> 8), byte(i)}).String()
			ps = append(ps, *b.tcp(ts, src, 40000, victim, uint16(1+r), fS, 0))
			ts += 1000
		}
	}
	c := Config{MemoryBudgetBytes: 256_000, Rereadable: true} // 100 sources
	agg := NewAggregator(c)
	for i := range ps {
		agg.Add(&ps[i])
	}
	if agg.Counting() || agg.HeaviestSources() != nil {
		t.Fatalf("counting %v, heaviest %v; want neither", agg.Counting(), agg.HeaviestSources() != nil)
	}
	if limit := bits.Len(uint(refused * rounds)); agg.checks == 0 || agg.checks > limit {
		t.Errorf("%d looks at the tracked sources over %d refused packets; want 1 to %d", agg.checks, refused*rounds, limit)
	}
	got, want := agg.Finish(), analyzePackets(ps, Config{MemoryBudgetBytes: 256_000})
	gj, _ := json.Marshal(got.Suspects(DefaultThresholds()))
	wj, _ := json.Marshal(want.Suspects(DefaultThresholds()))
	if len(got.Suspects(DefaultThresholds())) != tracked || string(gj) != string(wj) {
		t.Errorf("suspects of the reading that may be read again differ, or are not the %d tracked:\n%s\nwant\n%s", tracked, gj, wj)
	}
}

// TestSourceSetMember: members are numbered in the order added, IPv4 and
// IPv6 alike, once each; others are not members.
func TestSourceSetMember(t *testing.T) {
	s := newSourceSet(3)
	xs := []ipAddr{ipOf(netip.MustParseAddr("192.0.2.1")), ipOf(netip.MustParseAddr("2001:db8::1")), ipOf(netip.MustParseAddr("192.0.2.2"))}
	for _, x := range xs {
		s.add(x)
		s.add(x) // again: no new member
	}
	if s.Len() != 3 {
		t.Fatalf("%d members, want 3", s.Len())
	}
	for i, x := range xs {
		if m, ok := s.member(x); !ok || m != int32(i) {
			t.Errorf("member(%v) = %d, %v; want %d", x.addr(), m, ok, i)
		}
	}
	if _, ok := s.member(ipOf(netip.MustParseAddr("192.0.2.3"))); ok {
		t.Error("a non-member is a member")
	}
}
