package sketch

import (
	"math/rand/v2"
	"testing"

	"porthunter/internal/race"
)

// capacity is the summary size of the tests: the scan aggregator's
// largest.
const capacity = 1 << 16

// TestSpaceSaving: heavy senders hidden in a stream of single packets
// from three times as many senders as the summary holds keep a sure
// count close to their true one; singletons never count more than one.
func TestSpaceSaving(t *testing.T) {
	s := NewSummary(capacity)
	heavy := []Key{{Lo: 1}, {Lo: 2}, {Hi: 7, Lo: 3, V6: true}}
	n := 3 * capacity
	for i := range n {
		s.Add(Key{Lo: uint64(1000 + i)})
		if i%200 == 0 {
			for _, h := range heavy {
				s.Add(h)
			}
		}
	}
	perHeavy := uint64((n + 199) / 200)
	bound := uint64((n + len(heavy)*int(perHeavy)) / capacity) // the summary's least count is at most N/k
	for _, h := range heavy {
		i, ok := s.lookup(h)
		if !ok {
			t.Fatalf("%+v lost", h)
		}
		e := s.e[i]
		if e.count < perHeavy || e.count-e.err > perHeavy || e.count-e.err+bound < perHeavy {
			t.Errorf("%+v: count %d err %d, true %d (excess bound %d)", h, e.count, e.err, perHeavy, bound)
		}
	}
	for _, e := range s.e {
		if e.addr.Lo >= 1000 && e.count-e.err > 1 {
			t.Fatalf("singleton %+v has sure count %d", e.addr, e.count-e.err)
		}
	}
}

// TestSpaceSavingInvariants checks the summary against exact counts over
// a skewed stream of 3 million packets (a quarter under the race
// detector: race.Scale) from 400,000 senders: the counts
// sum to the stream's length, every kept sender's count-err <= true count
// <= count, every sender of more than N/capacity packets is kept,
// and the buckets are in increasing count order with their entries.
func TestSpaceSavingInvariants(t *testing.T) {
	s := NewSummary(capacity)
	r := rand.New(rand.NewPCG(5, 6))
	z := rand.NewZipf(r, 1.2, 1, 400_000-1)
	truth := map[Key]uint64{}
	const n = 3_000_000 / race.Scale
	for range n {
		x := Key{Lo: z.Uint64()}
		truth[x]++
		s.Add(x)
	}
	var sum uint64
	for _, e := range s.e {
		sum += e.count
		if tc := truth[e.addr]; e.count-e.err > tc || tc > e.count {
			t.Fatalf("%+v: count %d err %d, true %d", e.addr, e.count, e.err, tc)
		}
		if got, ok := s.lookup(e.addr); !ok || s.e[got].addr != e.addr {
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
		if _, ok := s.lookup(x); !ok && c > n/capacity {
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
	s := NewSummary(capacity)
	i := uint64(0)
	for b.Loop() {
		x := Key{Lo: 1<<32 | i}
		if i%100 == 0 {
			x = Key{Lo: i / 100 % 10}
		}
		s.Add(x)
		i++
	}
}

// TestSummaryEach: Each gives every entry once, with the count and
// excess the summary holds.
func TestSummaryEach(t *testing.T) {
	s := NewSummary(4)
	for _, x := range []uint64{1, 1, 1, 2, 3, 4, 5} { // 5 evicts one of the singletons
		s.Add(Key{Lo: x})
	}
	got := map[uint64][2]uint64{}
	s.Each(func(x Key, count, err uint64) { got[x.Lo] = [2]uint64{count, err} })
	if len(got) != 4 || got[1] != [2]uint64{3, 0} || got[5] != [2]uint64{2, 1} {
		t.Fatalf("entries %v; want 4, with 1: count 3 err 0 and 5: count 2 err 1", got)
	}
}

// lookup returns the entry of x, as Add finds it.
func (s *Summary) lookup(x Key) (int32, bool) { return s.pos.get(x, s.pos.hash(x), s.e) }

// TestSummaryAddSure: what Add returns is the entry's count less its
// excess, as Each reports it, and never above the true count.
func TestSummaryAddSure(t *testing.T) {
	s := NewSummary(8)
	r := rand.New(rand.NewPCG(5, 6))
	truth := map[Key]uint64{}
	for i := range 5000 {
		x := Key{Lo: uint64(r.IntN(3))} // three heavy addresses
		if i%2 == 0 {
			x = Key{Lo: uint64(100 + r.IntN(40))} // and a crowd of light ones
		}
		truth[x]++
		sure := s.Add(x)
		var count, excess uint64
		s.Each(func(y Key, c, e uint64) {
			if y == x {
				count, excess = c, e
			}
		})
		if sure != count-excess || sure > truth[x] || sure == 0 {
			t.Fatalf("add %d of %v: Add says %d; the entry %d-%d; true count %d", i, x, sure, count, excess, truth[x])
		}
	}
}
