package scan

import "sync"

// Worker goroutines for Config.Workers > 1. The goroutine calling Add
// (the reader) converts each packet into a pkt in a batch of its shard's
// worker; full batches go to the worker over a channel and come back
// empty over another, so the steady state allocates nothing. Worker w
// owns the shards i with i % workers == w and sees their packets in file
// order, which is all the shards need to answer as they would alone.
const (
	// batchLen is the number of packets in one batch (about 140 KiB): large
	// enough that a channel operation is rare per packet, small enough to
	// stay in the second-level cache while it is filled and drained.
	batchLen = 1024

	// batchesQueued is how many full batches may wait for a worker; the
	// reader blocks beyond that, which bounds memory when workers fall
	// behind.
	batchesQueued = 4
)

type batch struct {
	n    int
	pkts [batchLen]pkt
}

type workers struct {
	shards []*shard
	n      int
	cur    []*batch      // the batch being filled, per worker
	full   []chan *batch // reader → worker
	free   []chan *batch // worker → reader: emptied batches
	wg     sync.WaitGroup
}

// startWorkers starts n goroutines over shards.
func startWorkers(shards []*shard, n int) *workers {
	w := &workers{shards: shards, n: n}
	for range n {
		w.cur = append(w.cur, new(batch))
		w.full = append(w.full, make(chan *batch, batchesQueued))
		w.free = append(w.free, make(chan *batch, batchesQueued+2))
	}
	w.wg.Add(n)
	for i := range n {
		go w.run(w.full[i], w.free[i])
	}
	return w
}

// run is one worker: it applies each batch to its shards in order.
func (w *workers) run(full <-chan *batch, free chan<- *batch) {
	defer w.wg.Done()
	for b := range full {
		runBatch(w.shards, b.pkts[:b.n])
		b.n = 0
		select {
		case free <- b:
		default: // the reader has enough empty batches
		}
	}
}

// next returns the slot for the next packet of shard k.
func (w *workers) next(k int) *pkt {
	i := k % w.n
	b := w.cur[i]
	if b.n == batchLen {
		w.full[i] <- b
		select {
		case b = <-w.free[i]:
		default:
			b = new(batch) // at most batchesQueued+2 per worker ever exist
		}
		w.cur[i] = b
	}
	b.n++
	return &b.pkts[b.n-1]
}

// stop hands over the partly filled batches and waits for the workers.
func (w *workers) stop() {
	for i := range w.n {
		if w.cur[i].n > 0 {
			w.full[i] <- w.cur[i]
		}
		close(w.full[i])
	}
	w.wg.Wait()
}

// runBatch applies ps to their shards, in order.
func runBatch(shards []*shard, ps []pkt) {
	for i := range ps {
		shards[ps[i].shard].add(&ps[i])
	}
}
