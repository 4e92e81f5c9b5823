package sketch

import "testing"

// TestSieve: at every size, a hash added once is not Twice, a hash added
// twice is, and hashes that differ only below the sieve's top bits share
// a slot.
func TestSieve(t *testing.T) {
	for _, c := range []struct{ keys, bits int }{{0, 6}, {32, 6}, {33, 7}, {1000, 11}, {1 << 21, 22}, {1 << 30, 22}} {
		s := NewSieve(c.keys)
		if got := len(s.once) * 64; got != 1<<c.bits {
			t.Errorf("NewSieve(%d): %d slots, want 2^%d", c.keys, got, c.bits)
		}
		top := func(v uint64) uint64 { return v << (64 - c.bits) }
		a, b := top(0x12), top(0x21)
		s.Add(a)
		s.Add(b)
		s.Add(b)
		if s.Twice(a) || !s.Twice(b) {
			t.Fatalf("2^%d: Twice(a) = %v, Twice(b) = %v; want false, true", c.bits, s.Twice(a), s.Twice(b))
		}
		s.Add(a | 1) // the same slot as a
		if !s.Twice(a) {
			t.Fatalf("2^%d: a hash in a's slot did not make a's slot twice", c.bits)
		}
		if s.Twice(0) || s.Twice(top(1<<c.bits-1)) {
			t.Fatalf("2^%d: an empty slot is twice", c.bits)
		}
	}
}
