package scan

import (
	"net/netip"
	"slices"
	"strings"
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
	dst   netip.Addr
	port  uint16
	sport uint16
	seq   uint32
	ipid  uint16
}

// findDecoys groups sources whose TCP probes are identical.
func findDecoys(sources []*srcResult) []DecoyGroup {
	first := make(map[decoyKey]int32)
	shared := make(map[decoyKey][]int32)
	n := 0
	for si, r := range sources {
		for i := range r.probes {
			t := &r.probes[i]
			if t.proto != protoTCP {
				continue
			}
			if n++; n > decoyMaxProbes {
				break
			}
			k := decoyKey{t.dst, t.port, t.sport, t.seq, t.ipid}
			f, ok := first[k]
			switch {
			case !ok:
				first[k] = int32(si)
			case f != int32(si):
				if !slices.Contains(shared[k], int32(si)) {
					if len(shared[k]) == 0 {
						shared[k] = append(shared[k], f)
					}
					shared[k] = append(shared[k], int32(si))
				}
			}
		}
	}
	type groupKey struct {
		dst  netip.Addr
		srcs string
	}
	count := map[groupKey]*DecoyGroup{}
	for k, idx := range shared {
		slices.Sort(idx)
		var names []string
		var addrs []netip.Addr
		for _, i := range idx {
			names = append(names, sources[i].addr.String())
			addrs = append(addrs, sources[i].addr)
		}
		gk := groupKey{k.dst, strings.Join(names, ",")}
		g := count[gk]
		if g == nil {
			g = &DecoyGroup{Target: k.dst, Sources: addrs}
			count[gk] = g
		}
		g.Shared++
	}
	out := []DecoyGroup{}
	for _, g := range count {
		if g.Shared >= decoyMinShared {
			out = append(out, *g)
		}
	}
	slices.SortFunc(out, func(x, y DecoyGroup) int {
		if c := x.Target.Compare(y.Target); c != 0 {
			return c
		}
		return slices.CompareFunc(x.Sources, y.Sources, netip.Addr.Compare)
	})
	return out
}
