package sketch

// SieveBits bounds a Sieve: at most 2^22 slots of two bits (1 MiB), so
// that the at most 2 million keys it is given fill at most half of them.
const SieveBits = 22

// minSieveBits is the smallest sieve: 2^6 slots, one word each way.
const minSieveBits = 6

// Sieve tells which hashes of a stream occur more than once, in fixed
// memory: a key whose hash was added once can share its key with no other
// key of the stream, so only keys whose hash was seen twice (Twice) need
// an exact comparison. Collisions only add candidates; they never hide a
// repeated key.
type Sieve struct {
	shift       uint // 64 minus the bits of a slot index
	once, twice []uint64
}

// NewSieve returns a sieve for at most keys hashes: the fewest slots
// that keys fill at most half of, between 2^6 and 2^SieveBits. A
// sieve's memory follows its input: a small capture's does not clear
// the 1 MiB a large one needs.
func NewSieve(keys int) *Sieve {
	bits := minSieveBits
	for bits < SieveBits && 1<<bits < 2*keys {
		bits++
	}
	return &Sieve{shift: uint(64 - bits), once: make([]uint64, 1<<bits/64), twice: make([]uint64, 1<<bits/64)}
}

// Add counts hash h; only its top bits (as many as the sieve's slots
// need) are used.
func (s *Sieve) Add(h uint64) {
	i := h >> s.shift
	w, bit := i/64, uint64(1)<<(i%64)
	s.twice[w] |= s.once[w] & bit
	s.once[w] |= bit
}

// Twice reports whether the slot of hash h was added more than once.
func (s *Sieve) Twice(h uint64) bool {
	i := h >> s.shift
	return s.twice[i/64]&(1<<(i%64)) != 0
}
