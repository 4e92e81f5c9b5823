// Package batch hands items from one producing goroutine to worker
// goroutines in batches, each worker seeing its items in the order they
// were made, with no allocation in the steady state.
//
// The producer asks Next for the slot of worker w's next item and fills
// it in place. A worker's full batch goes to it over a channel and comes
// back empty over another; a channel operation per Len items, not per
// item. At most Queued full batches wait for a worker: the producer
// blocks beyond that, which bounds memory when workers fall behind.
package batch

import "sync"

const (
	// Len is the number of items in one batch: large enough that a
	// channel operation is rare per item, small enough that a batch of
	// scan's packets (about 140 KiB) stays in the second-level cache
	// while it is filled and drained.
	Len = 1024

	// Queued is how many full batches may wait for one worker.
	Queued = 4
)

type buf[T any] struct {
	n     int
	items [Len]T
}

// Workers is a set of worker goroutines fed by one producer.
type Workers[T any] struct {
	n    int
	cur  []*buf[T]      // the batch being filled, per worker
	full []chan *buf[T] // producer → worker
	free []chan *buf[T] // worker → producer: emptied batches
	wg   sync.WaitGroup
}

// Start starts n (at least 1) workers. Worker w calls apply(w, items)
// for each batch of its items, in the order Next gave their slots.
func Start[T any](n int, apply func(w int, items []T)) *Workers[T] {
	n = max(n, 1)
	p := &Workers[T]{n: n}
	for range n {
		p.cur = append(p.cur, new(buf[T]))
		p.full = append(p.full, make(chan *buf[T], Queued))
		p.free = append(p.free, make(chan *buf[T], Queued+2))
	}
	p.wg.Add(n)
	for w := range n {
		go p.run(w, apply)
	}
	return p
}

// N is the number of workers.
func (p *Workers[T]) N() int { return p.n }

func (p *Workers[T]) run(w int, apply func(int, []T)) {
	defer p.wg.Done()
	for b := range p.full[w] {
		apply(w, b.items[:b.n])
		b.n = 0
		select {
		case p.free[w] <- b:
		default: // the producer has enough empty batches
		}
	}
}

// Next returns the slot of worker w's next item. A slot is reused: it
// holds what an earlier item left there, and the producer sets all of
// it. Next is called from the producing goroutine only.
func (p *Workers[T]) Next(w int) *T {
	b := p.cur[w]
	if b.n == Len {
		p.full[w] <- b
		select {
		case b = <-p.free[w]:
		default:
			b = new(buf[T]) // at most Queued+2 per worker ever exist
		}
		p.cur[w] = b
	}
	b.n++
	return &b.items[b.n-1]
}

// Stop hands the partly filled batches over and waits until every
// worker has applied all its items. Next must not be called after.
func (p *Workers[T]) Stop() {
	for w := range p.n {
		if p.cur[w].n > 0 {
			p.full[w] <- p.cur[w]
		}
		close(p.full[w])
	}
	p.wg.Wait()
}
