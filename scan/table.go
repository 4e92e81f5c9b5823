package scan

import "math/rand/v2"

// Open-addressing hash tables for the aggregator's hot path.
//
// Why not Go maps: a map hashes every key with AES and keeps its slots in
// groups behind pointers, and the profile of a 1 GB capture spent most of
// Add in map lookups and most of the garbage collector's time scanning
// them. These tables keep pointer-free slots in one array (the collector
// never scans them) and hash integer keys with a multiply-xorshift mixer.
//
// Hostile input: linear probing degrades when many keys share a probe
// sequence, so each table mixes its keys with a random seed that a
// capture's author cannot know. Answers never depend on the seed: nothing
// reads a table in slot order.
//
// Slots hold "index + 1" (or a marker bit), so a zeroed array is empty
// and growing needs no initialisation pass.

const (
	// tableMinSlots is the size of a new table (a power of two).
	tableMinSlots = 1 << 10

	// A table doubles when more than tableLoadNum/tableLoadDen of its
	// slots are used: 3/4 keeps an unsuccessful probe (every new target
	// costs two) within a few neighbouring slots while costing about 21 to
	// 43 bytes of slots per 16-byte entry.
	tableLoadNum = 3
	tableLoadDen = 4
)

// mix64 is the splitmix64 finaliser: every input bit affects every
// output bit, so the low bits make a good slot index.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// slotSeed returns a fresh random seed for one table.
func slotSeed() uint64 { return rand.Uint64() }

// full reports whether a table of size slots holding n entries must grow
// before it takes one more.
func full(n, size int) bool {
	return (n+1)*tableLoadDen > size*tableLoadNum
}

// idTable4 maps IPv4 addresses (as big-endian uint32) to non-negative IDs.
type idTable4 struct {
	slots []slot4
	n     int
	seed  uint64
}

type slot4 struct {
	key uint32
	id1 int32 // ID + 1; 0: empty
}

func (t *idTable4) get(k uint32) (int32, bool) {
	if t.n == 0 {
		return 0, false
	}
	mask := uint64(len(t.slots) - 1)
	for i := mix64(uint64(k)^t.seed) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.id1 == 0 {
			return 0, false
		}
		if s.key == k {
			return s.id1 - 1, true
		}
	}
}

// put adds k (not present) with id.
func (t *idTable4) put(k uint32, id int32) {
	if t.slots == nil || full(t.n, len(t.slots)) {
		t.grow()
	}
	t.insert(slot4{k, id + 1})
	t.n++
}

func (t *idTable4) insert(s slot4) {
	mask := uint64(len(t.slots) - 1)
	i := mix64(uint64(s.key)^t.seed) & mask
	for t.slots[i].id1 != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

func (t *idTable4) grow() {
	old := t.slots
	if old == nil {
		t.seed = slotSeed()
	}
	t.slots = make([]slot4, max(2*len(old), tableMinSlots))
	adviseHuge(t.slots)
	for _, s := range old {
		if s.id1 != 0 {
			t.insert(s)
		}
	}
}

// idTable6 maps IPv6 addresses (as two big-endian halves) to IDs.
type idTable6 struct {
	slots []slot6
	n     int
	seed  uint64
}

type slot6 struct {
	hi, lo uint64
	id1    int32 // ID + 1; 0: empty
}

func hash6(hi, lo, seed uint64) uint64 {
	return mix64(hi ^ seed ^ mix64(lo))
}

func (t *idTable6) get(hi, lo uint64) (int32, bool) {
	if t.n == 0 {
		return 0, false
	}
	mask := uint64(len(t.slots) - 1)
	for i := hash6(hi, lo, t.seed) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.id1 == 0 {
			return 0, false
		}
		if s.hi == hi && s.lo == lo {
			return s.id1 - 1, true
		}
	}
}

// put adds an address (not present) with id.
func (t *idTable6) put(hi, lo uint64, id int32) {
	if t.slots == nil || full(t.n, len(t.slots)) {
		t.grow()
	}
	t.insert(slot6{hi, lo, id + 1})
	t.n++
}

func (t *idTable6) insert(s slot6) {
	mask := uint64(len(t.slots) - 1)
	i := hash6(s.hi, s.lo, t.seed) & mask
	for t.slots[i].id1 != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

func (t *idTable6) grow() {
	old := t.slots
	if old == nil {
		t.seed = slotSeed()
	}
	t.slots = make([]slot6, max(2*len(old), tableMinSlots))
	adviseHuge(t.slots)
	for _, s := range old {
		if s.id1 != 0 {
			t.insert(s)
		}
	}
}

// targetTable maps a targetKey to the target's index in a targetList.
//
// A slot is 8 bytes, half of a key and an index: it holds the low 32 bits
// of the key's hash (which also give its home slot, so the table grows
// without reading a key) and the index. A lookup whose hash matches
// confirms the key on the target itself, which the caller reads next
// anyway. Half the size of keyed slots, the table is half as often out of
// the cache, and its growth faults in half the memory.
type targetTable struct {
	slots []slotT
	n     int
	seed  uint64
}

type slotT struct {
	h    uint32 // low 32 bits of the key's hash
	idx1 int32  // the target's index + 1; 0: empty
}

func hashT(k targetKey, seed uint64) uint32 {
	ab := uint64(uint32(k.src))<<32 | uint64(uint32(k.dst))
	c := uint64(k.port)<<8 | uint64(k.proto)
	return uint32(mix64(ab ^ seed ^ c*0x9e3779b97f4a7c15))
}

// get returns the index of k's target in l.
func (t *targetTable) get(k targetKey, l *targetList) (int32, bool) {
	if t.n == 0 {
		return 0, false
	}
	h := hashT(k, t.seed)
	mask := uint32(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s.idx1 == 0 {
			return 0, false
		}
		if s.h == h {
			if x := l.at(s.idx1 - 1); x.src == k.src && x.dst == k.dst && x.port == k.port && x.proto == k.proto {
				return s.idx1 - 1, true
			}
		}
	}
}

// put adds k (not present) with index idx.
func (t *targetTable) put(k targetKey, idx int32) {
	if t.slots == nil || full(t.n, len(t.slots)) {
		t.grow()
	}
	t.insert(slotT{hashT(k, t.seed), idx + 1})
	t.n++
}

func (t *targetTable) insert(s slotT) {
	mask := uint32(len(t.slots) - 1)
	i := s.h & mask
	for t.slots[i].idx1 != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

func (t *targetTable) grow() {
	old := t.slots
	if old == nil {
		t.seed = slotSeed()
	}
	// A hash of 32 bits addresses at most 2^32 slots: far more than any
	// budget's targets (maxTargets).
	t.slots = make([]slotT, max(2*len(old), tableMinSlots))
	adviseHuge(t.slots)
	for _, s := range old {
		if s.idx1 != 0 {
			t.insert(s)
		}
	}
}
