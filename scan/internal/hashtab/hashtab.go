// Package hashtab holds the open-addressing tables of the scan
// aggregator's hot path and the hashing they share.
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
//
// Why several tables and not one generic one: the key decides the slot,
// and each slot is as small as its key allows, since the tables are the
// aggregator's costliest cache misses. IDs4 keys 4 bytes and IDs6 16;
// scan's targetTable keeps only 32 bits of its key's hash and confirms
// the key on the target it points to; the Space-Saving summary's index
// (package sketch) deletes entries, which none of these ever does; and
// the IP fragment table is pcapng's own (that package imports nothing of
// scan) and expires entries by time. A generic table would pay for the
// largest key in every slot or call its hash through a dictionary on
// every packet.
package hashtab

import (
	"math/rand/v2"
	"reflect"

	"porthunter/scan/internal/hugepage"
)

const (
	// MinSlots is the size of a new table (a power of two).
	MinSlots = 1 << 10

	// A table doubles when more than tableLoadNum/tableLoadDen of its
	// slots are used: 3/4 keeps an unsuccessful probe (every new target
	// costs two) within a few neighbouring slots while costing about 21 to
	// 43 bytes of slots per 16-byte entry.
	tableLoadNum = 3
	tableLoadDen = 4
)

// Mix64 is the splitmix64 finaliser: every input bit affects every
// output bit, so the low bits make a good slot index.
func Mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Seed returns a fresh random seed for one table.
func Seed() uint64 { return rand.Uint64() }

// Full reports whether a table of size slots holding n entries must grow
// before it takes one more.
func Full(n, size int) bool {
	return (n+1)*tableLoadDen > size*tableLoadNum
}

// IDs4 maps IPv4 addresses (as big-endian uint32) to non-negative IDs.
type IDs4 struct {
	slots []slot4
	n     int
	seed  uint64
}

type slot4 struct {
	key uint32
	id1 int32 // ID + 1; 0: empty
}

func (t *IDs4) Get(k uint32) (int32, bool) {
	if t.n == 0 {
		return 0, false
	}
	mask := uint64(len(t.slots) - 1)
	for i := Mix64(uint64(k)^t.seed) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.id1 == 0 {
			return 0, false
		}
		if s.key == k {
			return s.id1 - 1, true
		}
	}
}

// Len is the number of entries.
func (t *IDs4) Len() int { return t.n }

// Bytes is the memory of the table's slots.
func (t *IDs4) Bytes() int64 { return int64(len(t.slots)) * int64(reflect.TypeFor[slot4]().Size()) }

// Put adds k (not present) with id.
func (t *IDs4) Put(k uint32, id int32) {
	if t.slots == nil || Full(t.n, len(t.slots)) {
		t.grow()
	}
	t.insert(slot4{k, id + 1})
	t.n++
}

func (t *IDs4) insert(s slot4) {
	mask := uint64(len(t.slots) - 1)
	i := Mix64(uint64(s.key)^t.seed) & mask
	for t.slots[i].id1 != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

func (t *IDs4) grow() {
	old := t.slots
	if old == nil {
		t.seed = Seed()
	}
	t.slots = make([]slot4, max(2*len(old), MinSlots))
	hugepage.Advise(t.slots)
	for _, s := range old {
		if s.id1 != 0 {
			t.insert(s)
		}
	}
}

// IDs6 maps IPv6 addresses (as two big-endian halves) to IDs.
type IDs6 struct {
	slots []slot6
	n     int
	seed  uint64
}

type slot6 struct {
	hi, lo uint64
	id1    int32 // ID + 1; 0: empty
}

func Hash2(hi, lo, seed uint64) uint64 {
	return Mix64(hi ^ seed ^ Mix64(lo))
}

func (t *IDs6) Get(hi, lo uint64) (int32, bool) {
	if t.n == 0 {
		return 0, false
	}
	mask := uint64(len(t.slots) - 1)
	for i := Hash2(hi, lo, t.seed) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.id1 == 0 {
			return 0, false
		}
		if s.hi == hi && s.lo == lo {
			return s.id1 - 1, true
		}
	}
}

// Len is the number of entries.
func (t *IDs6) Len() int { return t.n }

// Bytes is the memory of the table's slots.
func (t *IDs6) Bytes() int64 { return int64(len(t.slots)) * int64(reflect.TypeFor[slot6]().Size()) }

// Put adds an address (not present) with id.
func (t *IDs6) Put(hi, lo uint64, id int32) {
	if t.slots == nil || Full(t.n, len(t.slots)) {
		t.grow()
	}
	t.insert(slot6{hi, lo, id + 1})
	t.n++
}

func (t *IDs6) insert(s slot6) {
	mask := uint64(len(t.slots) - 1)
	i := Hash2(s.hi, s.lo, t.seed) & mask
	for t.slots[i].id1 != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

func (t *IDs6) grow() {
	old := t.slots
	if old == nil {
		t.seed = Seed()
	}
	t.slots = make([]slot6, max(2*len(old), MinSlots))
	hugepage.Advise(t.slots)
	for _, s := range old {
		if s.id1 != 0 {
			t.insert(s)
		}
	}
}
