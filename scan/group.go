package scan

import (
	"context"
	"runtime"
	"slices"
	"sync"

	"porthunter/scan/internal/hugepage"
)

// Finish's grouping of the shards' targets by source, and the derivation
// of every source from its group on several goroutines.

// grouped is every shard's targets gathered by source: source s's are
// seg(s), in file order. They lie in pieces of consecutive sources, each
// piece one allocation of at most chunkLen targets (or one source's,
// when it has more), made when the merge first writes to it.
type grouped struct {
	start   []int32    // source s's targets are the start[s+1]-start[s] from start[s] on, counting over all pieces
	pieceOf []int32    // by source: its piece
	first   []int32    // by piece: its first target's index (start of its first source)
	pieces  [][]target // nil until written
}

// seg is source s's targets.
func (g *grouped) seg(s int) []target {
	p := g.pieceOf[s]
	lo, hi := g.start[s]-g.first[p], g.start[s+1]-g.first[p]
	return g.pieces[p][lo:hi:hi]
}

// groupTargets gathers every shard's targets by source (a counting sort),
// each source's in file order, with address and source indexes of the
// analysis. One pass merges the shards' lists by frame and drops each
// chunk of a list once read. The pieces of the result are allocated as
// the merge first writes to them and, on a large capture, the chunks read
// are collected every so often, so that the pieces made later take the
// memory of chunks already read rather than fresh memory: fresh memory
// costs its first touch (a page fault and the page's clearing, about two
// seconds a GB on some virtual machines), and the peak stays near the
// shards' lists. Once ctx ends it stops early: the caller drops what it
// made.
func groupTargets(ctx context.Context, shards []*shard, remap, srcOf []int32, nsrc int) *grouped {
	g := &grouped{start: make([]int32, nsrc+1), pieceOf: make([]int32, nsrc)}
	start := g.start
	p := newPoll(ctx)
	for _, s := range shards {
		for j, c := range s.tgts.chunks {
			if p.work(len(c)) {
				return nil
			}
			for i := range c[:min(len(c), s.tgts.n-j*chunkLen)] {
				start[srcOf[remap[c[i].src]]+1]++
			}
		}
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	// Pieces: consecutive sources, while they hold at most chunkLen
	// targets together (a source of more has a piece of its own).
	for si := 0; si < nsrc; {
		pi := int32(len(g.first))
		g.first = append(g.first, start[si])
		g.pieceOf[si] = pi
		si++
		for si < nsrc && start[si+1]-g.first[pi] <= chunkLen {
			g.pieceOf[si] = pi
			si++
		}
	}
	g.first = append(g.first, start[nsrc]) // the end of the last piece
	g.pieces = make([][]target, len(g.first)-1)
	n := int(start[nsrc])
	fill := slices.Clone(start[:nsrc])
	collectEvery := n + 1
	if n >= collectAfterTargets {
		collectEvery = n/collectSteps + 1
	}
	done := 0
	mergeByFrame(shards, func(t *target) bool {
		s := srcOf[remap[t.src]]
		pi := g.pieceOf[s]
		piece := g.pieces[pi]
		if piece == nil {
			piece = make([]target, g.first[pi+1]-g.first[pi])
			hugepage.Advise(piece)
			g.pieces[pi] = piece
		}
		x := &piece[fill[s]-g.first[pi]]
		*x = *t
		x.src, x.dst = s, remap[t.dst]
		fill[s]++
		if done++; done%collectEvery == 0 {
			runtime.GC()
		}
		return !p.stop()
	})
	return g
}

// collectSteps is how many times groupTargets collects the chunks it has
// read: each costs a collection (of a heap of pointer-free arrays: about
// a millisecond) and makes a step's share of the targets' memory free for
// the pieces made after it.
const collectSteps = 16

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
func (an *Analysis) buildSources(ctx context.Context, g *grouped, returned bool, workers int) ([][]int32, []idleCand) {
	start := g.start
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
				b.build(&an.sources[si], g.seg(si))
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
