package scan

import (
	"cmp"
	"math/bits"
	"math/rand/v2"
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
	if n := int32(s.Len()); x.v6 {
		s.v6.Put(x.hi, x.lo, n)
	} else {
		s.v4.Put(uint32(x.lo), n)
	}
}

func (s *SourceSet) has(x ipAddr) bool {
	_, ok := s.member(x)
	return ok
}

// member returns x's index among the members (0 to Len()-1, in the order
// added), if it is one.
func (s *SourceSet) member(x ipAddr) (int32, bool) {
	if w, m := s.bit(x); s.filter[w]&m == 0 {
		return 0, false
	}
	if x.v6 {
		return s.v6.Get(x.hi, x.lo)
	}
	return s.v4.Get(uint32(x.lo))
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
		a.heavy = heaviest(a.refused, a.addrs, int(a.sources), int(a.lim.maxSources))
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
// tracked source, then the lower address. tracked is how many of recs are
// sources.
func heaviest(s *sketch.Summary, recs []addrRec, tracked, n int) *SourceSet {
	type cand struct {
		addr    ipAddr
		pkts    uint64
		tracked bool
	}
	// Made once at its final size: grown by append, the list of a
	// million-source capture's candidates faulted in twice its memory.
	cs := make([]cand, 0, tracked+s.Len())
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
	if len(cs) > n {
		// Only which are the first n matters, not their order: a
		// selection, not a sort (1M-source bench capture: 107 ms to sort
		// 480,000 candidates, on the reading's critical path).
		selectFirst(cs, n, func(x, y cand) int {
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
		cs = cs[:n]
	}
	if !slices.ContainsFunc(cs, func(c cand) bool { return !c.tracked }) {
		return nil
	}
	set := newSourceSet(len(cs))
	for _, c := range cs {
		set.add(c.addr)
	}
	return set
}

// selectFirst reorders s so that s[:n] are its n first elements under the
// strict total order cmp, in no particular order: quickselect around
// random pivots (so no input is slow by construction), O(len(s)) expected.
// After more rounds than a run of bad pivots could plausibly take, it
// sorts what is left, which bounds the worst case at O(len(s) log len(s)).
func selectFirst[T any](s []T, n int, cmp func(a, b T) int) {
	if n <= 0 || n >= len(s) {
		return
	}
	r := rand.New(rand.NewPCG(uint64(len(s)), hashtab.Seed()))
	lo, hi := 0, len(s)
	for rounds := 4*bits.Len(uint(len(s))) + 16; hi-lo > 16; rounds-- {
		if rounds == 0 {
			break
		}
		// Three ways around the pivot: s[lo:lt] before it, s[lt:gt] it,
		// s[gt:hi] after it.
		p := s[lo+r.IntN(hi-lo)]
		lt, i, gt := lo, lo, hi
		for i < gt {
			switch c := cmp(s[i], p); {
			case c < 0:
				s[lt], s[i] = s[i], s[lt]
				lt++
				i++
			case c > 0:
				gt--
				s[i], s[gt] = s[gt], s[i]
			default:
				i++
			}
		}
		switch {
		case n < lt:
			hi = lt
		case n > gt:
			lo = gt
		default:
			return // the first n end within or at the edge of the pivot's run
		}
	}
	slices.SortFunc(s[lo:hi], cmp)
}
