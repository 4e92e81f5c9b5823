package batch

import (
	"slices"
	"testing"
)

// TestOrderPerWorker: every item reaches the worker it was made for,
// once, in the order made, whatever the number of workers and whether
// the last batch is full, partly filled or empty.
func TestOrderPerWorker(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3} {
		for _, items := range []int{0, 1, Len - 1, Len, 3*Len + 17, 20 * Len} {
			workers := max(n, 1)
			got := make([][]int, workers)
			p := Start(n, func(w int, xs []int) {
				got[w] = append(got[w], xs...) // worker w alone writes got[w]
			})
			if p.N() != workers {
				t.Fatalf("Start(%d): %d workers", n, p.N())
			}
			want := make([][]int, workers)
			for i := range items {
				w := (i * 7) % workers
				*p.Next(w) = i
				want[w] = append(want[w], i)
			}
			p.Stop()
			for w := range workers {
				if !slices.Equal(got[w], want[w]) {
					t.Fatalf("%d workers, %d items: worker %d got %d items, want %d (first difference in order)",
						workers, items, w, len(got[w]), len(want[w]))
				}
			}
		}
	}
}

// TestSteadyStateAllocs: once each worker's batches circulate, handing
// over items allocates nothing.
func TestSteadyStateAllocs(t *testing.T) {
	p := Start(2, func(int, []int) {})
	defer p.Stop()
	for i := range 16 * Len { // warm up: the batches in circulation exist
		*p.Next(i % 2) = i
	}
	allocs := testing.AllocsPerRun(10, func() {
		for i := range 4 * Len {
			*p.Next(i % 2) = i
		}
	})
	// A worker slower than the producer can make the producer allocate a
	// batch when none has come back yet; at most Queued+2 per worker
	// ever exist, so over the runs the average stays below one.
	if allocs >= 1 {
		t.Errorf("%.1f allocations per %d items", allocs, 4*Len)
	}
}
