package scan

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// DecoyGroup is a set of sources that sent byte-identical probe headers
// (same destination, port, sequence, source port and IP ID): nmap -D
// sends each probe from the real address and every decoy (DETECTION.md §5).
// Only one of them is the scanner; the capture cannot tell which.
type DecoyGroup struct {
	Target  netip.Addr   `json:"target"`
	Sources []netip.Addr `json:"sources"`
	Shared  int          `json:"shared_probes"`
}

type decoyKey struct {
	dst   int32 // address index
	seq   uint32
	port  uint16
	sport uint16
	ipid  uint16
}

func decoyKeyOf(t *target) decoyKey {
	return decoyKey{t.dst, t.seq, t.port, t.sport, t.ipid}
}

// decoySieveBits sizes the sieve of findDecoys: 2^22 slots of two bits
// (1 MiB), so the at most decoyMaxProbes probes fill at most half of them.
const decoySieveBits = 22

// eachDecoyProbe calls f with the source index and each of the first
// decoyMaxProbes TCP probes, in source then time order, that could share
// its key with another source's probe: its host was probed by another
// source too.
func eachDecoyProbe(an *Analysis, f func(si int, t *target)) {
	n := 0
	for si := range an.sources {
		r := &an.sources[si]
		for i := range r.probes {
			t := &r.probes[i]
			if t.proto != protoTCP {
				continue
			}
			if n++; n > decoyMaxProbes {
				return
			}
			if an.hostOff[t.dst+1]-an.hostOff[t.dst] > 1 {
				f(si, t)
			}
		}
	}
}

// findDecoys groups sources whose TCP probes are identical. The probes
// are split by destination into parts (a group has one destination), one
// goroutine each, up to workers.
func findDecoys(an *Analysis, workers int) []DecoyGroup {
	parts := max(workers, 1)
	found := make([][]DecoyGroup, parts)
	var wg sync.WaitGroup
	for p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			found[p] = findDecoysPart(an, int32(p), int32(parts))
		}()
	}
	wg.Wait()
	out := append([]DecoyGroup{}, slices.Concat(found...)...) // [] when none, not null
	slices.SortFunc(out, func(x, y DecoyGroup) int {
		if c := x.Target.Compare(y.Target); c != 0 {
			return c
		}
		return slices.CompareFunc(x.Sources, y.Sources, netip.Addr.Compare)
	})
	return out
}

// findDecoysPart finds the decoy groups of the destinations d with
// d % parts == part. A first pass marks a hash of every probe's key in a
// bit array, once and twice; only probes whose hash was seen twice can
// share their key with another, so only they are sorted in the second.
func findDecoysPart(an *Analysis, part, parts int32) []DecoyGroup {
	sources := an.sources
	var once, twice [1 << decoySieveBits / 64]uint64
	seed := slotSeed()
	slot := func(k decoyKey) uint64 {
		h := mix64((uint64(uint32(k.dst))<<32 | uint64(k.seq)) ^ seed)
		return mix64(h^(uint64(k.port)<<32|uint64(k.sport)<<16|uint64(k.ipid))) >> (64 - decoySieveBits)
	}
	eachDecoyProbe(an, func(_ int, t *target) {
		if t.dst%parts != part {
			return
		}
		h := slot(decoyKeyOf(t))
		w, bit := h/64, uint64(1)<<(h%64)
		twice[w] |= once[w] & bit
		once[w] |= bit
	})
	// The candidates sorted by key (packed into two words), then source:
	// each run of one key lists its sources in order.
	type cand struct {
		k1, k2 uint64 // dst << 32 | seq, port << 32 | sport << 16 | ipid
		si     int32
	}
	var cands []cand
	eachDecoyProbe(an, func(si int, t *target) {
		if t.dst%parts != part {
			return
		}
		k := decoyKeyOf(t)
		if h := slot(k); twice[h/64]&(1<<(h%64)) != 0 {
			cands = append(cands, cand{uint64(uint32(k.dst))<<32 | uint64(k.seq),
				uint64(k.port)<<32 | uint64(k.sport)<<16 | uint64(k.ipid), int32(si)})
		}
	})
	slices.SortFunc(cands, func(x, y cand) int {
		if x.k1 != y.k1 {
			return cmp.Compare(x.k1, y.k1)
		}
		if x.k2 != y.k2 {
			return cmp.Compare(x.k2, y.k2)
		}
		return cmp.Compare(x.si, y.si)
	})
	shared := make(map[decoyKey][]int32) // keys probed by two sources or more, with the sources
	for i := 0; i < len(cands); {
		j := i + 1
		for j < len(cands) && cands[j].k1 == cands[i].k1 && cands[j].k2 == cands[i].k2 {
			j++
		}
		if cands[i].si != cands[j-1].si {
			var idx []int32
			for _, c := range cands[i:j] {
				if len(idx) == 0 || idx[len(idx)-1] != c.si {
					idx = append(idx, c.si)
				}
			}
			c := cands[i]
			k := decoyKey{dst: int32(c.k1 >> 32), seq: uint32(c.k1), port: uint16(c.k2 >> 32), sport: uint16(c.k2 >> 16), ipid: uint16(c.k2)}
			shared[k] = idx
		}
		i = j
	}
	type groupKey struct {
		dst  int32
		srcs string
	}
	count := map[groupKey]*DecoyGroup{}
	for k, idx := range shared {
		var names []string
		var addrs []netip.Addr
		for _, i := range idx {
			a := an.addrAt(sources[i].ai)
			names = append(names, a.String())
			addrs = append(addrs, a)
		}
		gk := groupKey{k.dst, strings.Join(names, ",")}
		g := count[gk]
		if g == nil {
			g = &DecoyGroup{Target: an.addrAt(k.dst), Sources: addrs}
			count[gk] = g
		}
		g.Shared++
	}
	var out []DecoyGroup
	for _, g := range count {
		if g.Shared >= decoyMinShared {
			out = append(out, *g)
		}
	}
	return out
}
