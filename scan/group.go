package scan

import (
	"context"
	"runtime/debug"
	"slices"
	"sync"

	"porthunter/scan/internal/hugepage"
)

// Finish's grouping of the shards' targets by source, and the derivation
// of every source from its group on several goroutines.

// groupTargets gathers every shard's targets by source (a counting sort),
// each source's in file order, with address and source indexes of the
// analysis: all[start[s]:start[s+1]] are source s's targets. One pass
// merges the shards' lists by frame and drops each chunk of a list once
// read; on a large capture the memory of the chunks read is returned to
// the system as it goes, so that the targets are held twice only in part.
// Once ctx ends it stops early: the caller drops what it made.
func groupTargets(ctx context.Context, shards []*shard, remap, srcOf []int32, nsrc int) (all []target, start []int32) {
	start = make([]int32, nsrc+1)
	p := newPoll(ctx)
	for _, s := range shards {
		for j, c := range s.tgts.chunks {
			if p.work(len(c)) {
				return nil, nil
			}
			for i := range c[:min(len(c), s.tgts.n-j*chunkLen)] {
				start[srcOf[remap[c[i].src]]+1]++
			}
		}
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	n := int(start[nsrc])
	all = make([]target, n)
	hugepage.Advise(all)
	fill := slices.Clone(start[:nsrc])
	releaseEvery := n + 1
	if n >= collectAfterTargets {
		releaseEvery = n/releaseSteps + 1
	}
	done := 0
	mergeByFrame(shards, func(t *target) bool {
		g := srcOf[remap[t.src]]
		x := &all[fill[g]]
		*x = *t
		x.src, x.dst = g, remap[t.dst]
		fill[g]++
		if done++; done%releaseEvery == 0 {
			debug.FreeOSMemory()
		}
		return !p.stop()
	})
	return all, start
}

// releaseSteps is how many times groupTargets returns the memory of the
// chunks it has read to the system: each costs a collection (of a heap of
// pointer-free arrays: about a millisecond) and lowers the peak by a
// step's share of the targets.
const releaseSteps = 8

// mergeByFrame calls f with every shard's targets (each shard's list is
// in file order) merged by frame: in file order, the order the
// fingerprint counters see a source's probes in, and mostly already their
// time order. Each chunk of a list is dropped once f has seen it, and the
// lists are empty at the end. It stops early when f returns false.
func mergeByFrame(shards []*shard, f func(t *target) bool) {
	pos := make([]int32, len(shards))
	head := make([]uint64, len(shards)) // frame of each list's next target
	const done = ^uint64(0)
	for si, s := range shards {
		head[si] = done
		if s.tgts.n > 0 {
			head[si] = s.tgts.at(0).frame
		}
	}
	for {
		best := 0
		for si := range head {
			if head[si] < head[best] {
				best = si
			}
		}
		if head[best] == done {
			break
		}
		s := shards[best]
		if !f(s.tgts.at(pos[best])) {
			break
		}
		pos[best]++
		if pos[best]&(chunkLen-1) == 0 {
			s.tgts.chunks[pos[best]>>chunkBits-1] = nil // read
		}
		head[best] = done
		if int(pos[best]) < s.tgts.n {
			head[best] = s.tgts.at(pos[best]).frame
		}
	}
	for _, s := range shards {
		s.tgts = targetList{}
	}
}

// splitSources cuts the sources into up to workers ranges of about equal
// numbers of targets: sources bounds[w] to bounds[w+1]-1 for worker w.
func splitSources(start []int32, workers int) []int {
	nsrc := len(start) - 1
	bounds := []int{0}
	per := int(start[nsrc])/workers + 1
	for s := 0; s < nsrc && len(bounds) < workers; s++ {
		if int(start[s+1]) >= per*len(bounds) {
			bounds = append(bounds, s+1)
		}
	}
	return append(bounds, nsrc)
}

// buildSources derives every source's result from its targets, on up to
// workers goroutines over disjoint ranges of sources, and returns the
// distinct hosts each source probed (for indexHosts) and the candidates
// for idle-scan probing (for linkIdle).
func (an *Analysis) buildSources(ctx context.Context, all []target, start []int32, returned bool, workers int) ([][]int32, []idleCand) {
	bounds := splitSources(start, workers)
	hostsOf := make([][]int32, len(an.sources))
	idle := make([][]idleCand, len(bounds))
	var wg sync.WaitGroup
	for w := 0; w+1 < len(bounds); w++ {
		lo, hi := bounds[w], bounds[w+1]
		b := newSrcBuilder(an, returned, len(an.addrs))
		run := func() {
			defer wg.Done()
			p := newPoll(ctx)
			for si := lo; si < hi; si++ {
				if p.work(int(start[si+1]-start[si]) + 1) {
					return // the caller sees ctx ended and drops the sources
				}
				b.build(&an.sources[si], all[start[si]:start[si+1]:start[si+1]])
				hostsOf[si] = b.hostList
			}
			b.fix(an.sources[lo:hi])
			idle[w] = b.idle
			putCounter(b.c)
		}
		wg.Add(1)
		if w+2 < len(bounds) {
			go run()
		} else {
			run()
		}
	}
	wg.Wait()
	return hostsOf, slices.Concat(idle...)
}
