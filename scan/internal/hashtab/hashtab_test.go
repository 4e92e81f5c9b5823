package hashtab

import (
	"math/rand/v2"
	"testing"
)

// TestTables checks the two tables against Go maps over
// keys that make them grow many times, with look-ups of present and absent
// keys after every growth.
func TestTables(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 100_000
	var (
		t4  IDs4
		m4  = map[uint32]int32{}
		t6  IDs6
		m6  = map[[2]uint64]int32{}
		k4s []uint32
		k6s [][2]uint64
	)
	for i := range int32(n) {
		k4 := r.Uint32() & 0xfffff // collisions with present keys are skipped
		if _, ok := m4[k4]; !ok {
			t4.Put(k4, i)
			m4[k4] = i
			k4s = append(k4s, k4)
		}
		k6 := [2]uint64{r.Uint64() & 3, r.Uint64() & 0xffff}
		if _, ok := m6[k6]; !ok {
			t6.Put(k6[0], k6[1], i)
			m6[k6] = i
			k6s = append(k6s, k6)
		}
		if i&(i-1) == 0 { // powers of two: look everything up
			for _, k := range k4s {
				if id, ok := t4.Get(k); !ok || id != m4[k] {
					t.Fatalf("IDs4.Get(%#x) = %d, %v; want %d", k, id, ok, m4[k])
				}
			}
			for _, k := range k6s {
				if id, ok := t6.Get(k[0], k[1]); !ok || id != m6[k] {
					t.Fatalf("IDs6.Get(%v) = %d, %v; want %d", k, id, ok, m6[k])
				}
			}
		}
	}
	if t4.n != len(m4) || t6.n != len(m6) {
		t.Fatalf("entries %d %d, want %d %d", t4.n, t6.n, len(m4), len(m6))
	}
	for range n {
		k4 := r.Uint32() | 1<<31 // never put
		if _, ok := t4.Get(k4); ok {
			t.Fatalf("IDs4.Get(%#x) found an absent key", k4)
		}
		if _, ok := t6.Get(4+r.Uint64()%8, 0); ok {
			t.Fatal("IDs6.Get found an absent key")
		}
	}
}
