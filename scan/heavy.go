package scan

import (
	"cmp"
	"slices"

	"porthunter/scan/internal/hashtab"
	"porthunter/scan/internal/sketch"
)

// Past the source budget (a capture of millions of spoofed senders), the
// senders tracked are the first ones seen. A scanner that starts after the
// flood would be lost, so the aggregator also ranks the senders it refuses
// by their packets (Space-Saving, a fixed-size summary), and Finish names
// the heaviest senders of the whole capture when some refused sender
// outweighs a tracked one (HeaviestSources). Reading the capture again
// with Config.Admit set to them tracks exactly those, each from its first
// packet; the senders left out are counted (estimated, HyperLogLog) in
// CaptureStats.DroppedSources.

const (
	// heavyCapacity is the most refused senders the summary ranks (about
	// 5 MiB of state); smaller budgets rank as many as they track sources
	// (summaryCapacity). Space-Saving keeps every sender of more than
	// refused/capacity packets: among ten million spoofed packets, with
	// the default budget, any sender of more than 153.
	heavyCapacity = 1 << 16

	// heavyMinCapacity is the fewest refused senders the summary ranks.
	heavyMinCapacity = 1 << 10

	// heavyMinPackets is how many packets a refused sender must surely
	// have sent (its count less the summary's possible excess) before it
	// is worth reading the capture again: the fewest probes the default
	// thresholds list (MinPorts), so senders of a packet or two, the bulk
	// of any spoofed flood, never cause a second reading.
	heavyMinPackets = 10
)

// SourceSet is a set of addresses: the senders a second reading tracks.
// A second reading asks it about both addresses of every packet, and most
// are not members (the flood the first reading refused), so a bit array
// of about a byte per member, small enough to stay in cache, answers most
// of those before the table, whose slots mostly are not in any cache.
type SourceSet struct {
	v4     hashtab.IDs4
	v6     hashtab.IDs6
	filter []uint64 // bit hash(x) & (len*64 - 1) set for every member x
	seed   uint64
}

// newSourceSet returns an empty set for about n members.
func newSourceSet(n int) *SourceSet {
	words := 8
	for words*64 < 8*n {
		words *= 2
	}
	return &SourceSet{filter: make([]uint64, words), seed: hashtab.Seed()}
}

func (s *SourceSet) bit(x ipAddr) (word int, mask uint64) {
	h := hashtab.Mix64(x.lo ^ s.seed ^ hashtab.Mix64(x.hi))
	if x.v6 {
		h = ^h
	}
	i := int(h & uint64(len(s.filter)*64-1))
	return i >> 6, 1 << (i & 63)
}

func (s *SourceSet) add(x ipAddr) {
	if s.has(x) {
		return
	}
	w, m := s.bit(x)
	s.filter[w] |= m
	if x.v6 {
		s.v6.Put(x.hi, x.lo, 0)
	} else {
		s.v4.Put(uint32(x.lo), 0)
	}
}

func (s *SourceSet) has(x ipAddr) bool {
	if w, m := s.bit(x); s.filter[w]&m == 0 {
		return false
	}
	var ok bool
	if x.v6 {
		_, ok = s.v6.Get(x.hi, x.lo)
	} else {
		_, ok = s.v4.Get(uint32(x.lo))
	}
	return ok
}

// bytes is the memory the set holds.
func (s *SourceSet) bytes() int64 { return s.v4.Bytes() + s.v6.Bytes() + 8*int64(len(s.filter)) }

// Len is the number of addresses in the set.
func (s *SourceSet) Len() int { return s.v4.Len() + s.v6.Len() }

// HeaviestSources is what Analysis.HeaviestSources will be, known before
// Finish: a caller that will read the capture again with Config.Admit set
// to it can drop the aggregator instead of finishing an analysis it would
// discard. Call it after the last Add and before Finish; the set is made
// once.
func (a *Aggregator) HeaviestSources() *SourceSet {
	if a.refused != nil && !a.heavyDone {
		a.heavy = heaviest(a.refused, a.addrs, int(a.lim.maxSources))
	}
	a.heavyDone = true
	return a.heavy
}

// summaryCapacity is the size of the summary for a budget of maxSources
// sources: no more heavy senders than it tracks, within heavyMinCapacity
// and heavyCapacity, a power of two.
func summaryCapacity(maxSources int64) int {
	c := heavyMinCapacity
	for c < heavyCapacity && int64(c) < maxSources {
		c *= 2
	}
	return c
}

// heaviest returns the at most n heaviest senders of the capture when a
// refused sender surely sent at least heavyMinPackets packets and more
// than a tracked source that would make room for it; nil otherwise (the
// tracked sources are as good as any). Tracked sources count with their
// exact packets, refused senders with their sure count; ties keep the
// tracked source, then the lower address.
func heaviest(s *sketch.Summary, recs []addrRec, n int) *SourceSet {
	type cand struct {
		addr    ipAddr
		pkts    uint64
		tracked bool
	}
	var cs []cand
	for i := range recs {
		if r := &recs[i]; r.sends {
			cs = append(cs, cand{ipAddr{r.hi, r.lo, r.v6}, r.pkts, true})
		}
	}
	s.Each(func(x sketch.Key, count, err uint64) {
		if sure := count - err; sure >= heavyMinPackets {
			cs = append(cs, cand{ipAddr{x.Hi, x.Lo, x.V6}, sure, false})
		}
	})
	slices.SortFunc(cs, func(x, y cand) int {
		if c := cmp.Compare(y.pkts, x.pkts); c != 0 {
			return c
		}
		if x.tracked != y.tracked {
			if x.tracked {
				return -1
			}
			return 1
		}
		if x.addr.less(y.addr) {
			return -1
		}
		if y.addr.less(x.addr) {
			return 1
		}
		return 0
	})
	cs = cs[:min(n, len(cs))]
	if !slices.ContainsFunc(cs, func(c cand) bool { return !c.tracked }) {
		return nil
	}
	set := newSourceSet(len(cs))
	for _, c := range cs {
		set.add(c.addr)
	}
	return set
}
