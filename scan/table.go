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

// targetTable maps a targetKey to the target's index.
type targetTable struct {
	slots []slotT
	n     int
	seed  uint64
}

// slotT holds a packed targetKey: ab is source ID << 32 | destination ID,
// c is port << 8 | protocol with slotUsed set.
type slotT struct {
	ab  uint64
	c   uint32
	idx int32
}

const slotUsed = 1 << 31

// pack returns the slot form of k.
func (k targetKey) pack() (ab uint64, c uint32) {
	return uint64(uint32(k.src))<<32 | uint64(uint32(k.dst)), uint32(k.port)<<8 | uint32(k.proto) | slotUsed
}

func hashT(ab uint64, c uint32, seed uint64) uint64 {
	return mix64(ab ^ seed ^ uint64(c)*0x9e3779b97f4a7c15)
}

func (t *targetTable) get(k targetKey) (int32, bool) {
	if t.n == 0 {
		return 0, false
	}
	ab, c := k.pack()
	mask := uint64(len(t.slots) - 1)
	for i := hashT(ab, c, t.seed) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.c == 0 {
			return 0, false
		}
		if s.ab == ab && s.c == c {
			return s.idx, true
		}
	}
}

// put adds k (not present) with index idx.
func (t *targetTable) put(k targetKey, idx int32) {
	if t.slots == nil || full(t.n, len(t.slots)) {
		t.grow()
	}
	ab, c := k.pack()
	t.insert(ab, c, idx)
	t.n++
}

func (t *targetTable) insert(ab uint64, c uint32, idx int32) {
	mask := uint64(len(t.slots) - 1)
	i := hashT(ab, c, t.seed) & mask
	for t.slots[i].c != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = slotT{ab, c, idx}
}

func (t *targetTable) grow() {
	old := t.slots
	if old == nil {
		t.seed = slotSeed()
	}
	t.slots = make([]slotT, max(2*len(old), tableMinSlots))
	adviseHuge(t.slots)
	for _, s := range old {
		if s.c != 0 {
			t.insert(s.ab, s.c, s.idx)
		}
	}
}
