package sketch

// SieveBits sizes a Sieve: 2^22 slots of two bits (1 MiB), so that the
// at most 2 million keys it is given fill at most half of them.
const SieveBits = 22

// Sieve tells which hashes of a stream occur more than once, in fixed
// memory: a key whose hash was added once can share its key with no other
// key of the stream, so only keys whose hash was seen twice (Twice) need
// an exact comparison. Collisions only add candidates; they never hide a
// repeated key.
type Sieve struct {
	once, twice [1 << SieveBits / 64]uint64
}

// Add counts hash h; only its top SieveBits bits are used.
func (s *Sieve) Add(h uint64) {
	i := h >> (64 - SieveBits)
	w, bit := i/64, uint64(1)<<(i%64)
	s.twice[w] |= s.once[w] & bit
	s.once[w] |= bit
}

// Twice reports whether the slot of hash h was added more than once.
func (s *Sieve) Twice(h uint64) bool {
	i := h >> (64 - SieveBits)
	return s.twice[i/64]&(1<<(i%64)) != 0
}
