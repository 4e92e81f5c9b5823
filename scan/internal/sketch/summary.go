package sketch

import "porthunter/scan/internal/hashtab"

// Summary ranks a stream of addresses by count in a fixed number of
// entries (Metwally, Agrawal and El Abbadi, 2005): a new address, when the
// summary is full, replaces one with the least count and inherits that
// count as its possible excess (err), so count-err never exceeds the true
// count. The entries hang in buckets of equal count, the buckets in a list
// by increasing count (the paper's Stream-Summary), so every packet costs
// one table look-up and a few index updates.
type Summary struct {
	cap   int     // entries at most
	pos   ssIndex // address → entry
	e     []ssEntry
	b     []ssBucket
	freeB int32 // a free bucket (linked through next), or -1
	minB  int32 // the bucket of least count, or -1
}

type ssEntry struct {
	addr       Key
	count, err uint64
	bucket     int32
	prev, next int32 // siblings in the bucket, -1 at the ends
}

type ssBucket struct {
	count      uint64
	head       int32 // first entry
	prev, next int32 // buckets of the next lower and higher counts, -1 at the ends
}

// NewSummary returns an empty summary of capacity entries.
func NewSummary(capacity int) *Summary {
	s := &Summary{cap: capacity, freeB: -1, minB: -1}
	s.pos.slots = make([]ssSlot, 2*capacity)
	s.pos.seed = hashtab.Seed()
	return s
}

// Add counts one occurrence of x and returns what x surely counts now:
// its count less its possible excess, never above its true count.
func (s *Summary) Add(x Key) (sure uint64) {
	h := s.pos.hash(x)
	if i, ok := s.pos.get(x, h, s.e); ok {
		s.bump(i)
		return s.e[i].count - s.e[i].err
	}
	if len(s.e) < s.cap {
		i := int32(len(s.e))
		s.e = append(s.e, ssEntry{addr: x, bucket: -1, prev: -1, next: -1})
		s.pos.put(h, i)
		if s.minB < 0 || s.b[s.minB].count != 1 {
			nb := s.newBucket(1, -1, s.minB)
			s.minB = nb
		}
		s.attach(i, s.minB)
		s.e[i].count = 1
		return 1
	}
	i := s.b[s.minB].head
	s.pos.del(s.pos.hash(s.e[i].addr), i)
	s.e[i].addr, s.e[i].err = x, s.e[i].count
	s.pos.put(h, i)
	s.bump(i)
	return 1
}

// ssIndex maps the summary's addresses to their entries: an open-addressing
// table of twice the summary's capacity (never fuller than half), with
// deletion by backward shift (Knuth, TAOCP 6.4, algorithm R). A slot holds
// 32 bits of its address's hash, which also give its home, and the entry's
// index: a hash that matches is confirmed on the entry. At 8 bytes a slot,
// the index of the largest summary is 1 MiB, so that the look-up of a new
// sender, most of a flood's packets, mostly stays in the cache.
type ssIndex struct {
	slots []ssSlot
	seed  uint64
}

type ssSlot struct {
	h  uint32 // low 32 bits of the address's hash
	e1 int32  // entry + 1; 0: empty
}

func (t *ssIndex) hash(x Key) uint32 {
	return uint32(hashtab.Hash2(x.Hi^boolBit(x.V6), x.Lo, t.seed))
}

// get returns the entry of x, whose hash is h, among entries e.
func (t *ssIndex) get(x Key, h uint32, e []ssEntry) (int32, bool) {
	mask := uint32(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s.e1 == 0 {
			return 0, false
		}
		if s.h == h && e[s.e1-1].addr == x {
			return s.e1 - 1, true
		}
	}
}

// put adds entry e, of hash h (its address not present).
func (t *ssIndex) put(h uint32, e int32) {
	mask := uint32(len(t.slots) - 1)
	i := h & mask
	for t.slots[i].e1 != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = ssSlot{h, e + 1}
}

// del removes entry e, of hash h (present), moving back the slots after it
// that its slot was keeping from their homes.
func (t *ssIndex) del(h uint32, e int32) {
	mask := uint32(len(t.slots) - 1)
	i := h & mask
	for t.slots[i].e1 != e+1 {
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; t.slots[j].e1 != 0; j = (j + 1) & mask {
		// The slot at j may fill the hole at i unless its home lies
		// cyclically in (i, j].
		if home := t.slots[j].h & mask; (j-home)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = ssSlot{}
}

// bump adds one to entry i's count, moving it to the next bucket.
func (s *Summary) bump(i int32) {
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
func (s *Summary) newBucket(c uint64, prev, next int32) int32 {
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
func (s *Summary) dropBucket(k int32) {
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

func (s *Summary) attach(i, k int32) {
	h := s.b[k].head
	s.e[i].bucket, s.e[i].prev, s.e[i].next = k, -1, h
	if h >= 0 {
		s.e[h].prev = i
	}
	s.b[k].head = i
}

func (s *Summary) detach(i int32) {
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

// Len is the number of addresses the summary holds.
func (s *Summary) Len() int { return len(s.e) }

// Each calls f with every address the summary holds, its count and the
// count's possible excess (count-err never exceeds the address's true
// count), in no particular order.
func (s *Summary) Each(f func(x Key, count, err uint64)) {
	for _, e := range s.e {
		f(e.addr, e.count, e.err)
	}
}
