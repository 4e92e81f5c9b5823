package scan

import "net/netip"

// Darknets (issue 19): address ranges where no host lives, so that any
// contact with them is reconnaissance (Zeek's is-darknet). A source the
// thresholds left out is listed once it probes DarknetMinTargets distinct
// darknet addresses, with reason darknet; any source that probed one gets
// the darknet priority reason.

// DarknetMinTargets is the distinct darknet addresses that list a source:
// one or two can be a typo or a stale DNS record; three addresses where
// nothing has ever lived is a sweep.
const DarknetMinTargets = 3

// darknetHits counts the distinct darknet addresses r probed, stopping at
// stop (0: all), and the index of the probe that reached stop, or -1.
func (an *Analysis) darknetHits(r *srcResult, nets []netip.Prefix, stop int) (n, at int) {
	if len(nets) == 0 {
		return 0, -1
	}
	var seen map[int32]bool // made on the first hit: most sources never touch a darknet
	for k := range r.probes {
		d := r.probes[k].dst
		if seen[d] || !inAny(nets, an.addrAt(d)) {
			continue
		}
		if seen == nil {
			seen = map[int32]bool{}
		}
		seen[d] = true
		if len(seen) == stop {
			return stop, k
		}
	}
	return len(seen), -1
}

// darknetVerdict lists r by the darknet rule, or returns nil: detected at
// the probe that reached DarknetMinTargets darknet addresses, in the
// episode of that probe.
func (an *Analysis) darknetVerdict(r *srcResult, nets []netip.Prefix) *verdict {
	_, k := an.darknetHits(r, nets, DarknetMinTargets)
	if k < 0 {
		return nil
	}
	ep := 0
	for ei := range r.episodes {
		if e := &r.episodes[ei]; int(e.first) <= k && k <= int(e.last) {
			ep = ei
			break
		}
	}
	t := &r.probes[k]
	// Confidence 0.9: nothing legitimate addresses three unused
	// addresses, but a darknet list can be out of date.
	return &verdict{r: r, ep: int32(ep), group: -1, kind: shape(r.spread(), int(r.hosts)), reasons: rsDarknet,
		detNS: t.firstTS, detFrame: t.frame, confidence: 0.9}
}
