package scan

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"porthunter/scan/internal/hashtab"
	"porthunter/scan/internal/sketch"
)

// DecoyGroup is one decoy scan as the answers list it: sources that sent
// byte-identical probe headers (same destination, port, sequence, source
// port and IP ID), as nmap -D sends each probe from the real address and
// every decoy (DETECTION.md §5). Only one of them is the scanner, and the
// headers cannot tell which; what came back can (decoyRoles): LikelyReal
// names it when the wire singles it out, and Evidence says how (or why
// not). Sources are joined transitively: nmap keeps one decoy list for a
// whole run, so the sources sharing probes with a common source are one
// run, or several runs of one scanner.
type DecoyGroup struct {
	Sources          []netip.Addr `json:"sources"` // in address order, at most MaxGroupSources
	SourcesTotal     int          `json:"sources_total"`
	SourcesTruncated bool         `json:"sources_truncated,omitempty"`
	Targets          []netip.Addr `json:"targets"` // the hosts probed with shared headers, likewise capped
	TargetsTotal     int          `json:"targets_total"`
	TargetsTruncated bool         `json:"targets_truncated,omitempty"`
	Shared           int          `json:"shared_probes"` // distinct probe headers sent by two members or more
	// LikelyReal is the member the wire singles out as the real scanner;
	// empty when it does not.
	LikelyReal string   `json:"likely_real,omitempty"`
	Evidence   []string `json:"evidence,omitempty"` // why LikelyReal, or why none
}

// decoySet is one decoy group, stored once: each member points to it
// (Analysis.decoyOf), so a group of n sources costs O(n), not O(n²).
type decoySet struct {
	members  []int32 // source indexes, ascending (address order)
	targets  []int32 // address indexes, ascending
	shared   int
	real     int32    // source index of the likely real scanner, -1 when undetermined
	evidence []string // why real (or why none), for the answers
}

// decoyEdge is one destination's probes shared by one set of sources at
// least decoyMinShared times: the evidence joining them.
type decoyEdge struct {
	dst     int32
	members []int32 // source indexes, ascending
	shared  int
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

// eachDecoyProbe calls f with the source index and each of the first
// decoyMaxProbes TCP probes, in source then time order, that could share
// its key with another source's probe (its host was probed by another
// source too) and whose destination d has d % parts == part. It stops
// early, returning p's error, when p's context ends.
func eachDecoyProbe(p *poll, an *Analysis, part, parts int32, f func(si int, t *target)) error {
	n := 0
	for si := range an.sources {
		r := &an.sources[si]
		if p.work(len(r.probes) + 1) {
			return p.err
		}
		for i := range r.probes {
			t := &r.probes[i]
			if t.proto != protoTCP {
				continue
			}
			if n++; n > decoyMaxProbes {
				return nil
			}
			// The part first: the host's entry is rarely in the cache.
			if t.dst%parts == part && an.hostOff[t.dst+1]-an.hostOff[t.dst] > 1 {
				f(si, t)
			}
		}
	}
	return nil
}

// findDecoys finds the decoy groups. The probes are split by destination
// into parts (an edge has one destination), one goroutine each, up to
// workers; the edges are then joined into groups with a union-find over
// their members, in near-linear time.
func findDecoys(ctx context.Context, an *Analysis, workers int) ([]decoySet, []int32, error) {
	parts := max(workers, 1)
	keys := 0 // at most the keys of a part: the probes, up to decoyMaxProbes
	for si := range an.sources {
		keys = min(keys+len(an.sources[si].probes), decoyMaxProbes)
	}
	found := make([][]decoyEdge, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			found[p], errs[p] = findDecoysPart(ctx, an, int32(p), int32(parts), keys)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	edges := slices.Concat(found...)
	if len(edges) == 0 {
		return nil, nil, nil
	}
	// Union-find over source indexes, with path halving and union by
	// the lower index (so a root is its group's first member).
	parent := make([]int32, len(an.sources))
	for i := range parent {
		parent[i] = -1 // in no edge
	}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, e := range edges {
		for _, m := range e.members {
			if parent[m] < 0 {
				parent[m] = m
			}
		}
		r0 := find(e.members[0])
		for _, m := range e.members[1:] {
			if r := find(m); r != r0 {
				lo, hi := min(r, r0), max(r, r0)
				parent[hi] = lo
				r0 = lo
			}
		}
	}
	// Groups in order of their first member; members in address order.
	decoyOf := make([]int32, len(an.sources))
	var sets []decoySet
	for s := range parent {
		decoyOf[s] = -1
		if parent[s] < 0 {
			continue
		}
		r := find(int32(s))
		if r == int32(s) {
			decoyOf[s] = int32(len(sets))
			sets = append(sets, decoySet{real: -1})
		} else {
			decoyOf[s] = decoyOf[r] // r < s: already set
		}
		g := &sets[decoyOf[s]]
		g.members = append(g.members, int32(s))
	}
	for _, e := range edges {
		g := &sets[decoyOf[e.members[0]]]
		g.targets = append(g.targets, e.dst)
		g.shared += e.shared
	}
	for i := range sets {
		slices.Sort(sets[i].targets)
		sets[i].targets = slices.Compact(sets[i].targets)
	}
	if err := decoyRoles(ctx, an, sets, edges); err != nil {
		return nil, nil, err
	}
	return sets, decoyOf, nil
}

// decoyMember is what came back to one member of a decoy group.
type decoyMember struct {
	si       int32
	resets   int // SYN/ACKs of the target it answered with RST
	answered int // its probes that drew an answer at this sensor
	probes   int
	own      int // its probes no other member sent: not decoy copies
}

// decoyRoles picks the likely real scanner of each group from what came
// back, the one thing nmap cannot forge for its decoys (nmap refguide -D;
// scan_engine_raw.cc sends every probe from each decoy and the real
// address alike):
//
//  1. Reset SYN/ACKs: nmap's SYN probes come from a raw socket, so the
//     kernel of the scanning host resets the target's SYN/ACK (refguide,
//     -PS). A decoy address with no host behind it sends nothing. A live
//     host behind a decoy address resets too (it never sent the SYN), so
//     this singles out the scanner only when one member alone reset.
//  2. Answers seen at all: a sensor on the scanner's side sees the
//     target's answers to the real address only; the decoys' answers are
//     routed to the decoys. At the target's side every member is answered
//     and this says nothing.
//  3. Probes of its own: probes no decoy copied (nmap does not decoy -sT,
//     -sV or its own lookups).
//
// The first rule met by exactly one member decides; when none is, the
// group says why it is undetermined rather than guess. It costs one pass
// over the members' probes and the edges.
func decoyRoles(ctx context.Context, an *Analysis, sets []decoySet, edges []decoyEdge) error {
	shared := make(map[int32]int)
	for _, e := range edges {
		for _, m := range e.members {
			shared[m] += e.shared
		}
	}
	p := newPoll(ctx)
	var ms []decoyMember
	for gi := range sets {
		g := &sets[gi]
		ms = ms[:0]
		for _, si := range g.members {
			r := &an.sources[si]
			if p.work(len(r.probes) + 1) {
				return p.err
			}
			m := decoyMember{si: si, probes: len(r.probes), own: max(len(r.probes)-shared[si], 0)}
			for i := range r.probes {
				t := &r.probes[i]
				if t.state&stAnswered != 0 {
					m.answered++
				}
				if t.class == clsSYN && t.state&stSynAck != 0 && t.state&stClientRST != 0 {
					m.resets++
				}
			}
			ms = append(ms, m)
		}
		g.real, g.evidence = decideDecoys(an, ms)
	}
	return nil
}

// decideDecoys applies decoyRoles' rules to one group's members.
func decideDecoys(an *Analysis, ms []decoyMember) (int32, []string) {
	only := func(f func(m *decoyMember) int) (*decoyMember, int) {
		var one *decoyMember
		n := 0
		for i := range ms {
			if f(&ms[i]) > 0 {
				one, n = &ms[i], n+1
			}
		}
		return one, n
	}
	name := func(m *decoyMember) string { return an.addrAt(an.sources[m.si].ai).String() }
	resets := func(m *decoyMember) int { return m.resets }
	answered := func(m *decoyMember) int { return m.answered }
	own := func(m *decoyMember) int { return m.own }
	answeredOnly := func(m *decoyMember) string {
		return fmt.Sprintf("only %s drew answers at this sensor (%d of its %d probes): answers go back to the real address, a decoy's go to the decoy",
			name(m), m.answered, m.probes)
	}
	var ev []string
	r, nr := only(resets)
	if nr == 1 {
		ev = append(ev, fmt.Sprintf("only %s reset the target's SYN/ACKs (%d): the scanning host's kernel resets the answers to its raw probes, a decoy address with no host behind it sends nothing",
			name(r), r.resets))
		if a, na := only(answered); na == 1 && a == r {
			ev = append(ev, answeredOnly(a))
		}
		return r.si, ev
	}
	if a, na := only(answered); na == 1 {
		return a.si, append(ev, answeredOnly(a))
	}
	if o, no := only(own); no == 1 && (nr == 0 || o.resets > 0) {
		return o.si, append(ev, fmt.Sprintf("only %s sent probes no other member copied (%d): nmap does not send decoy copies of those",
			name(o), o.own))
	}
	if nr > 1 {
		var names []string
		for i := range ms {
			if ms[i].resets > 0 && len(names) < 4 {
				names = append(names, name(&ms[i]))
			}
		}
		return -1, []string{fmt.Sprintf("undetermined: %d members reset the target's SYN/ACKs (%s): a live host that never sent the SYN resets it as the scanner's kernel does",
			nr, strings.Join(names, ", "))}
	}
	return -1, []string{"undetermined: no member reset a SYN/ACK, drew answers or sent probes the others did not"}
}

// decoyRole is source si's role in its decoy group: "likely_real",
// "decoy", or "" when it is in no group or the group is undetermined.
func (an *Analysis) decoyRole(si int32) (string, *decoySet) {
	if an.decoyOf == nil || an.decoyOf[si] < 0 {
		return "", nil
	}
	g := &an.decoys[an.decoyOf[si]]
	switch {
	case g.real < 0:
		return "", g
	case g.real == si:
		return "likely_real", g
	}
	return "decoy", g
}

// findDecoysPart finds the decoy groups of the destinations d with
// d % parts == part, of at most keys probes. A first pass marks a hash of every probe's key in a
// bit array, once and twice; only probes whose hash was seen twice can
// share their key with another, so only they are sorted in the second.
func findDecoysPart(ctx context.Context, an *Analysis, part, parts int32, keys int) ([]decoyEdge, error) {
	sieve := sketch.NewSieve(keys)
	seed := hashtab.Seed()
	slot := func(k decoyKey) uint64 {
		h := hashtab.Mix64((uint64(uint32(k.dst))<<32 | uint64(k.seq)) ^ seed)
		return hashtab.Mix64(h ^ (uint64(k.port)<<32 | uint64(k.sport)<<16 | uint64(k.ipid)))
	}
	p := newPoll(ctx)
	err := eachDecoyProbe(p, an, part, parts, func(_ int, t *target) {
		sieve.Add(slot(decoyKeyOf(t)))
	})
	if err != nil {
		return nil, err
	}
	// The candidates sorted by key (packed into two words), then source:
	// each run of one key lists its sources in order.
	type cand struct {
		k1, k2 uint64 // dst << 32 | seq, port << 32 | sport << 16 | ipid
		si     int32
	}
	var cands []cand
	err = eachDecoyProbe(p, an, part, parts, func(si int, t *target) {
		k := decoyKeyOf(t)
		if sieve.Twice(slot(k)) {
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
	// Each run of one key is a probe header sent by the sources of the
	// run; the edges count, per destination and set of sources, the
	// headers they shared. A key's sources are hashed with its
	// destination to find its edge; a hash match is confirmed by
	// comparing the sets.
	var edges []decoyEdge
	byHash := map[uint64][]int32{} // hash → indexes into edges
	var idx []int32
	for i := 0; i < len(cands); {
		j := i + 1
		for j < len(cands) && cands[j].k1 == cands[i].k1 && cands[j].k2 == cands[i].k2 {
			j++
		}
		if p.work(j - i) {
			return nil, p.err
		}
		if cands[i].si != cands[j-1].si {
			idx = idx[:0]
			dst := int32(cands[i].k1 >> 32)
			h := hashtab.Mix64(uint64(uint32(dst)) ^ seed)
			for _, c := range cands[i:j] {
				if len(idx) == 0 || idx[len(idx)-1] != c.si {
					idx = append(idx, c.si)
					h = hashtab.Mix64(h ^ uint64(uint32(c.si)))
				}
			}
			found := false
			for _, ei := range byHash[h] {
				if e := &edges[ei]; e.dst == dst && slices.Equal(e.members, idx) {
					e.shared++
					found = true
					break
				}
			}
			if !found {
				byHash[h] = append(byHash[h], int32(len(edges)))
				edges = append(edges, decoyEdge{dst: dst, members: slices.Clone(idx), shared: 1})
			}
		}
		i = j
	}
	out := edges[:0]
	for _, e := range edges {
		if e.shared >= decoyMinShared {
			out = append(out, e)
		}
	}
	return out, nil
}
