package sketch

import "testing"

// TestSieve: a hash added once is not Twice, a hash added twice is, and
// hashes that differ only below the top SieveBits bits share a slot.
func TestSieve(t *testing.T) {
	s := new(Sieve)
	a, b := uint64(0x1234)<<(64-SieveBits), uint64(0x4321)<<(64-SieveBits)
	s.Add(a)
	s.Add(b)
	s.Add(b)
	if s.Twice(a) || !s.Twice(b) {
		t.Fatalf("Twice(a) = %v, Twice(b) = %v; want false, true", s.Twice(a), s.Twice(b))
	}
	s.Add(a | 1) // the same slot as a
	if !s.Twice(a) {
		t.Fatal("a hash in a's slot did not make a's slot twice")
	}
	if s.Twice(0) {
		t.Fatal("an empty slot is twice")
	}
}
