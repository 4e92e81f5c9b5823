package scan

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
)

// Past the source budget (a capture of millions of spoofed senders), the
// senders tracked are the first ones seen. A scanner that starts after the
// flood would be lost, so the aggregator also ranks the senders it refuses
// by their packets (Space-Saving, a fixed-size summary), and Finish names
// the heaviest senders of the whole capture when some refused sender
// outweighs a tracked one (HeaviestSources). Reading the capture again
// with Config.Admit set to them tracks exactly those, each from its first
// packet; the senders left out are counted (estimated, HyperLogLog) in
// CaptureStats.DroppedSources.

const (
	// heavyCapacity is the most refused senders the summary ranks (about
	// 8 MiB of state); smaller budgets rank as many as they track sources
	// (summaryCapacity). Space-Saving keeps every sender of more than
	// refused/capacity packets: among ten million spoofed packets, with
	// the default budget, any sender of more than 153.
	heavyCapacity = 1 << 16

	// heavyMinCapacity is the fewest refused senders the summary ranks.
	heavyMinCapacity = 1 << 10

	// heavyMinPackets is how many packets a refused sender must surely
	// have sent (its count less the summary's possible excess) before it
	// is worth reading the capture again: the fewest probes the default
	// thresholds list (MinPorts), so senders of a packet or two, the bulk
	// of any spoofed flood, never cause a second reading.
	heavyMinPackets = 10
)

// SourceSet is a set of addresses: the senders a second reading tracks.
type SourceSet struct {
	v4 idTable4
	v6 idTable6
}

func (s *SourceSet) add(x ipAddr) {
	if s.has(x) {
		return
	}
	if x.v6 {
		s.v6.put(x.hi, x.lo, 0)
	} else {
		s.v4.put(uint32(x.lo), 0)
	}
}

func (s *SourceSet) has(x ipAddr) bool {
	var ok bool
	if x.v6 {
		_, ok = s.v6.get(x.hi, x.lo)
	} else {
		_, ok = s.v4.get(uint32(x.lo))
	}
	return ok
}

// Len is the number of addresses in the set.
func (s *SourceSet) Len() int { return s.v4.n + s.v6.n }

// summaryCapacity is the size of the summary for a budget of maxSources
// sources: no more heavy senders than it tracks, within heavyMinCapacity
// and heavyCapacity, a power of two.
func summaryCapacity(maxSources int64) int {
	c := heavyMinCapacity
	for c < heavyCapacity && int64(c) < maxSources {
		c *= 2
	}
	return c
}

// spaceSaving ranks a stream of addresses by count in a fixed number of
// entries (Metwally, Agrawal and El Abbadi, 2005): a new address, when the
// summary is full, replaces one with the least count and inherits that
// count as its possible excess (err), so count-err never exceeds the true
// count. The entries hang in buckets of equal count, the buckets in a list
// by increasing count (the paper's Stream-Summary), so every packet costs
// one table look-up and a few index updates.
type spaceSaving struct {
	cap   int     // entries at most
	pos   ssIndex // address → entry
	e     []ssEntry
	b     []ssBucket
	freeB int32 // a free bucket (linked through next), or -1
	minB  int32 // the bucket of least count, or -1
}

type ssEntry struct {
	addr       ipAddr
	count, err uint64
	bucket     int32
	prev, next int32 // siblings in the bucket, -1 at the ends
}

type ssBucket struct {
	count      uint64
	head       int32 // first entry
	prev, next int32 // buckets of the next lower and higher counts, -1 at the ends
}

func newSpaceSaving(capacity int) *spaceSaving {
	s := &spaceSaving{cap: capacity, freeB: -1, minB: -1}
	s.pos.slots = make([]ssSlot, 2*capacity)
	s.pos.seed = slotSeed()
	return s
}

func (s *spaceSaving) add(x ipAddr) {
	if i, ok := s.pos.get(x); ok {
		s.bump(i)
		return
	}
	if len(s.e) < s.cap {
		i := int32(len(s.e))
		s.e = append(s.e, ssEntry{addr: x, bucket: -1, prev: -1, next: -1})
		s.pos.put(x, i)
		if s.minB < 0 || s.b[s.minB].count != 1 {
			nb := s.newBucket(1, -1, s.minB)
			s.minB = nb
		}
		s.attach(i, s.minB)
		s.e[i].count = 1
		return
	}
	i := s.b[s.minB].head
	s.pos.del(s.e[i].addr)
	s.e[i].addr, s.e[i].err = x, s.e[i].count
	s.pos.put(x, i)
	s.bump(i)
}

// ssIndex maps the summary's addresses to their entries: an open-addressing
// table of twice the summary's capacity (never fuller than half), with
// deletion by backward shift (Knuth, TAOCP 6.4, algorithm R).
type ssIndex struct {
	slots []ssSlot
	seed  uint64
}

type ssSlot struct {
	addr ipAddr
	e1   int32 // entry + 1; 0: empty
}

func (t *ssIndex) home(x ipAddr) uint64 {
	return hash6(x.hi^boolBit(x.v6), x.lo, t.seed) & uint64(len(t.slots)-1)
}

func (t *ssIndex) get(x ipAddr) (int32, bool) {
	mask := uint64(len(t.slots) - 1)
	for i := t.home(x); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.e1 == 0 {
			return 0, false
		}
		if s.addr == x {
			return s.e1 - 1, true
		}
	}
}

// put adds x (not present).
func (t *ssIndex) put(x ipAddr, e int32) {
	mask := uint64(len(t.slots) - 1)
	i := t.home(x)
	for t.slots[i].e1 != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = ssSlot{x, e + 1}
}

// del removes x (present), moving back the entries after it that its slot
// was keeping from their homes.
func (t *ssIndex) del(x ipAddr) {
	mask := uint64(len(t.slots) - 1)
	i := t.home(x)
	for t.slots[i].addr != x || t.slots[i].e1 == 0 {
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; t.slots[j].e1 != 0; j = (j + 1) & mask {
		// The entry at j may fill the hole at i unless its home lies
		// cyclically in (i, j].
		if h := t.home(t.slots[j].addr); (j-h)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = ssSlot{}
}

// bump adds one to entry i's count, moving it to the next bucket.
func (s *spaceSaving) bump(i int32) {
	from := s.e[i].bucket
	c := s.b[from].count + 1
	to := s.b[from].next
	if to < 0 || s.b[to].count != c {
		to = s.newBucket(c, from, to)
	}
	s.detach(i)
	s.attach(i, to)
	s.e[i].count = c
	if s.b[from].head < 0 {
		s.dropBucket(from)
	}
}

// newBucket makes a bucket of count c between buckets prev and next.
func (s *spaceSaving) newBucket(c uint64, prev, next int32) int32 {
	nb := s.freeB
	if nb >= 0 {
		s.freeB = s.b[nb].next
	} else {
		nb = int32(len(s.b))
		s.b = append(s.b, ssBucket{})
	}
	s.b[nb] = ssBucket{count: c, head: -1, prev: prev, next: next}
	if prev >= 0 {
		s.b[prev].next = nb
	}
	if next >= 0 {
		s.b[next].prev = nb
	}
	return nb
}

// dropBucket unlinks an empty bucket and frees it.
func (s *spaceSaving) dropBucket(k int32) {
	prev, next := s.b[k].prev, s.b[k].next
	if prev >= 0 {
		s.b[prev].next = next
	} else {
		s.minB = next
	}
	if next >= 0 {
		s.b[next].prev = prev
	}
	s.b[k].next = s.freeB
	s.freeB = k
}

func (s *spaceSaving) attach(i, k int32) {
	h := s.b[k].head
	s.e[i].bucket, s.e[i].prev, s.e[i].next = k, -1, h
	if h >= 0 {
		s.e[h].prev = i
	}
	s.b[k].head = i
}

func (s *spaceSaving) detach(i int32) {
	e := &s.e[i]
	if e.prev >= 0 {
		s.e[e.prev].next = e.next
	} else {
		s.b[e.bucket].head = e.next
	}
	if e.next >= 0 {
		s.e[e.next].prev = e.prev
	}
	e.prev, e.next = -1, -1
}

// heaviest returns the at most n heaviest senders of the capture when a
// refused sender surely sent at least heavyMinPackets packets and more
// than a tracked source that would make room for it; nil otherwise (the
// tracked sources are as good as any). Tracked sources count with their
// exact packets, refused senders with their sure count; ties keep the
// tracked source, then the lower address.
func (s *spaceSaving) heaviest(recs []addrRec, n int) *SourceSet {
	type cand struct {
		addr    ipAddr
		pkts    uint64
		tracked bool
	}
	var cs []cand
	for i := range recs {
		if r := &recs[i]; r.sends {
			cs = append(cs, cand{ipAddr{r.hi, r.lo, r.v6}, r.pkts, true})
		}
	}
	for _, e := range s.e {
		if sure := e.count - e.err; sure >= heavyMinPackets {
			cs = append(cs, cand{e.addr, sure, false})
		}
	}
	slices.SortFunc(cs, func(x, y cand) int {
		if c := cmp.Compare(y.pkts, x.pkts); c != 0 {
			return c
		}
		if x.tracked != y.tracked {
			if x.tracked {
				return -1
			}
			return 1
		}
		if x.addr.less(y.addr) {
			return -1
		}
		if y.addr.less(x.addr) {
			return 1
		}
		return 0
	})
	cs = cs[:min(n, len(cs))]
	if !slices.ContainsFunc(cs, func(c cand) bool { return !c.tracked }) {
		return nil
	}
	set := new(SourceSet)
	for _, c := range cs {
		set.add(c.addr)
	}
	return set
}

// hll estimates the number of distinct addresses added (HyperLogLog with
// 2^14 registers, Flajolet et al. 2007, with linear counting for small
// numbers: exact for a few, within about 1 % beyond a few hundred).
type hll struct {
	reg *[1 << hllBits]uint8 // nil until the first add
}

const hllBits = 14

func (h *hll) add(x ipAddr) {
	if h.reg == nil {
		h.reg = new([1 << hllBits]uint8)
	}
	v := mix64(x.hi ^ mix64(x.lo^boolBit(x.v6)))
	i := v >> (64 - hllBits)
	rank := uint8(bits.LeadingZeros64(v<<hllBits|1<<(hllBits-1)) + 1)
	h.reg[i] = max(h.reg[i], rank)
}

func boolBit(b bool) uint64 {
	if b {
		return 1 << 63
	}
	return 0
}

func (h *hll) estimate() uint64 {
	if h.reg == nil {
		return 0
	}
	const m = 1 << hllBits
	sum, zeros := 0.0, 0
	for _, r := range h.reg {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	e := 0.7213 / (1 + 1.079/m) * m * m / sum
	if e <= 2.5*m && zeros > 0 {
		e = m * math.Log(float64(m)/float64(zeros))
	}
	return uint64(math.Round(e))
}
