package scan

import (
	"porthunter/scan/internal/hashtab"
	"porthunter/scan/internal/hugepage"
)

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
	return uint32(hashtab.Mix64(ab ^ seed ^ c*0x9e3779b97f4a7c15))
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
	if t.slots == nil || hashtab.Full(t.n, len(t.slots)) {
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
		t.seed = hashtab.Seed()
	}
	// A hash of 32 bits addresses at most 2^32 slots: far more than any
	// budget's targets (maxTargets).
	t.slots = make([]slotT, max(2*len(old), hashtab.MinSlots))
	hugepage.Advise(t.slots)
	for _, s := range old {
		if s.idx1 != 0 {
			t.insert(s)
		}
	}
}
