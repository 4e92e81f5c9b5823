package hugepage

import "testing"

// TestAdvise: the advice changes no data, on arrays too small for a huge
// page and on arrays that hold several.
func TestAdvise(t *testing.T) {
	for _, n := range []int{0, 1, 1 << 10, 3 << 20} {
		s := make([]uint64, n)
		for i := range s {
			s[i] = uint64(i) * 0x9e3779b97f4a7c15
		}
		Advise(s)
		for i := range s {
			if s[i] != uint64(i)*0x9e3779b97f4a7c15 {
				t.Fatalf("%d elements: element %d changed", n, i)
			}
		}
		Advise(s[:0])
	}
}
