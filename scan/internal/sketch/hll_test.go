package sketch

import (
	"math"
	"testing"
)

// TestHLL: the distinct-sender estimate is exact for a few senders and
// within 2 % (at least 3) beyond, duplicates aside.
func TestHLL(t *testing.T) {
	for _, n := range []int{0, 1, 2, 10, 404, 5000, 100_000, 1_000_000} {
		var h HLL
		for i := range n {
			x := Key{Lo: uint64(i)}
			if i%3 == 0 {
				x = Key{Hi: uint64(i), Lo: 9, V6: true}
			}
			h.Add(x)
			h.Add(x)
		}
		got := h.Estimate()
		if n <= 10 && got != uint64(n) || !near(got, n) {
			t.Errorf("%d distinct: estimate %d", n, got)
		}
	}
}

// near reports whether a distinct-count estimate is within 2 % (at
// least 3) of n.
func near(est uint64, n int) bool {
	return math.Abs(float64(est)-float64(n)) <= max(0.02*float64(n), 3)
}
