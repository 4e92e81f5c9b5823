package scan

import (
	"context"
	"math/rand/v2"
	"testing"
)

// TestGroupTargets: targets spread over shards' lists of several chunks
// (the first one grown in place, the others dropped as the merge passes
// them) come out grouped by source, each source's in frame order, every
// target once, with the analysis's indexes, in pieces of at most chunkLen
// targets but for a source of more, which has its own.
func TestGroupTargets(t *testing.T) {
	t.Parallel() // no time or memory bound: runs beside the other such tests
	const nsrc, perShard = 37, 2*chunkLen + 999
	r := rand.New(rand.NewPCG(7, 8))
	shards := []*shard{{}, {}, {}}
	var frame uint64
	want := make([][]uint64, nsrc) // frames by source index
	// Address IDs 0 to nsrc-1 are the sources, the 5 after them the
	// destinations; the address indexes reverse the IDs, so that the
	// sources' indexes are nsrc+4 down to 5 and the destinations' 4 to 0.
	remap := make([]int32, nsrc+5) // address ID -> address index
	srcOf := make([]int32, nsrc+5) // address index -> source index
	for i := range remap {
		remap[i] = int32(len(remap) - 1 - i)
		srcOf[i] = int32(i - 5)
	}
	for shards[0].tgts.n < perShard || shards[1].tgts.n < perShard || shards[2].tgts.n < perShard {
		frame += 1 + uint64(r.IntN(3))
		s := shards[r.IntN(len(shards))]
		id := int32(r.IntN(nsrc))
		if r.IntN(5) < 2 {
			id = 3 // one source of more targets than a piece holds
		}
		*s.tgts.push() = target{frame: frame, src: id, dst: int32(nsrc + r.IntN(5))} // IDs, as Add leaves them
		g := srcOf[remap[id]]
		want[g] = append(want[g], frame)
	}
	grp := groupTargets(context.Background(), shards, remap, srcOf, nsrc)
	n := 0
	for _, w := range want {
		n += len(w)
	}
	if int(grp.start[nsrc]) != n {
		t.Fatalf("%d targets grouped, start ends at %d", n, grp.start[nsrc])
	}
	total := 0
	for g := range int32(nsrc) {
		seg := grp.seg(int(g))
		if len(seg) != len(want[g]) {
			t.Fatalf("source %d: %d targets, want %d", g, len(seg), len(want[g]))
		}
		for i := range seg {
			if seg[i].frame != want[g][i] || seg[i].src != g || seg[i].dst < 0 || seg[i].dst >= 5 {
				t.Fatalf("source %d, target %d: frame %d src %d dst %d; want frame %d, src %d, a remapped dst", g, i, seg[i].frame, seg[i].src, seg[i].dst, want[g][i], g)
			}
		}
		total += len(seg)
	}
	if total != n {
		t.Fatalf("%d targets in the groups of %d", total, n)
	}
	// A piece holds at most chunkLen targets, or one source's; one source
	// had more.
	members := make([]int, len(grp.pieces))
	for _, pi := range grp.pieceOf {
		members[pi]++
	}
	if g := srcOf[remap[3]]; len(grp.seg(int(g))) <= chunkLen || members[grp.pieceOf[g]] != 1 {
		t.Errorf("the heavy source: %d targets, its piece shared by %d sources", len(grp.seg(int(g))), members[grp.pieceOf[g]])
	}
	for pi, piece := range grp.pieces {
		if len(piece) > chunkLen && members[pi] != 1 {
			t.Errorf("piece %d: %d targets of %d sources", pi, len(piece), members[pi])
		}
	}
	for i, s := range shards {
		if s.tgts.n != 0 || s.tgts.chunks != nil {
			t.Errorf("shard %d: list not released (%d targets)", i, s.tgts.n)
		}
	}
}

// TestTargetListGrowth: targets pushed across the first chunk's growth
// and into later chunks are read back where they were put.
func TestTargetListGrowth(t *testing.T) {
	var l targetList
	n := 2*chunkLen + 5
	for i := range n {
		*l.push() = target{frame: uint64(i)}
	}
	for i := range n {
		if f := l.at(int32(i)).frame; f != uint64(i) {
			t.Fatalf("target %d has frame %d", i, f)
		}
	}
	if len(l.chunks) != 3 || len(l.chunks[0]) != chunkLen {
		t.Fatalf("%d chunks, the first of %d targets", len(l.chunks), len(l.chunks[0]))
	}
}

// TestAnswerRef: a reference carries its shard and index through the
// largest index a shard can hold, and a budget large enough to allow more
// targets per shard is held to maxShardTargets.
func TestAnswerRef(t *testing.T) {
	for sh := range uint8(numShards) {
		for _, i := range []int{0, 1, chunkLen, maxShardTargets - 1} {
			r := makeAnswerRef(sh, i)
			if r == 0 || r.shard() != int(sh) || r.index() != int32(i) {
				t.Errorf("makeAnswerRef(%d, %d) = %#x: shard %d, index %d", sh, i, uint32(r), r.shard(), r.index())
			}
		}
	}
	c := DefaultConfig()
	c.MemoryBudgetBytes = 1 << 40 // the policy's largest budget (1 TiB)
	a := NewAggregator(c)
	defer a.Close()
	if a.lim.maxTargets != maxShardTargets {
		t.Errorf("a 1 TiB budget allows %d targets per shard, want %d", a.lim.maxTargets, maxShardTargets)
	}
}
