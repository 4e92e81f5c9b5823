package scan

import (
	"cmp"
	"slices"
)

// Near misses (issue 19): the sources the thresholds did not list that
// came closest to a rule, so that a 6-host sweep is not silently "none".

// Limits of the near misses.
const (
	// MaxNearMisses caps the near misses an answer lists: the few closest
	// are what an analyst checks; NearMissesTotal counts the rest.
	MaxNearMisses = 5
	// nearMissFloor is the least fraction of a threshold a near miss
	// reached: below half a threshold, every client with a few
	// connections would be one.
	nearMissFloor = 0.5
)

// NearMiss is a source below every threshold, by the rule it came
// closest to: its value and the threshold (both in the rule's unit:
// distinct ports, hosts or targets; probes per second for rate).
type NearMiss struct {
	IP        string  `json:"ip"`
	Rule      string  `json:"rule"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Probes    int     `json:"probes"`
}

// nearMisses are the unlisted (by th or, in dark, by the darknet rule), unsuppressed sources that reached at least
// nearMissFloor of a threshold, closest first (ties: more probes, then
// the lower address), at most MaxNearMisses, and how many there are. A
// source whose counts met a rule but was not listed missed on its rate
// (or TRW found it benign, which it reports as the rule it met with
// the reason trw_benign).
func (an *Analysis) nearMisses(vs *verdicts, dark map[int32]bool, th Thresholds, site Site, p *poll) ([]NearMiss, int, error) {
	th = th.sane()
	type cand struct {
		nm    NearMiss
		frac  float64
		probe int
		ai    int32
	}
	var all []cand
	for si := range an.sources {
		r := &an.sources[si]
		if p.work(len(r.episodes) + 1) {
			return nil, 0, p.err
		}
		if vs.by[si] != nil || dark[int32(si)] || len(r.probes) == 0 {
			continue
		}
		best := cand{frac: -1}
		allow := allowed(r)
		for ei := range r.episodes {
			e := &r.episodes[ei]
			for _, x := range []struct {
				rule string
				rs   reasons
				v, t int
			}{
				{"ports_on_host", rsPortsOnHost, int(e.maxPorts), th.MinPorts},
				{"hosts_on_port", rsHostsOnPort, int(e.maxHosts), th.MinHosts},
				{"targets", rsTargets, int(e.targets), th.MinTargets},
				{"stealth_targets", rsStealth, int(e.stealth), th.MinStealthTargets},
				{"sweep_hosts", rsSweep, int(e.sweep), th.MinHosts},
			} {
				f := float64(x.v) / float64(x.t)
				rule, v, t := x.rule, float64(x.v), float64(x.t)
				if f >= 1 {
					// Met, yet not listed: by its rate, or the TRW guard.
					if allow&x.rs == 0 {
						rule = "trw_benign"
					} else if rate, ok := e.rate(); ok && rate < th.MinRatePPS {
						rule, v, t, f = "rate", roundSig(rate), th.MinRatePPS, rate/th.MinRatePPS
					} else {
						continue // the connections rule (successes) excused it
					}
				}
				if f > best.frac {
					best = cand{nm: NearMiss{Rule: rule, Value: v, Threshold: t}, frac: f}
				}
			}
		}
		if best.frac < nearMissFloor {
			continue
		}
		a := an.addrAt(r.ai)
		if site.suppressedBy(a) != "" {
			continue
		}
		best.nm.IP, best.nm.Probes, best.probe, best.ai = a.String(), len(r.probes), len(r.probes), r.ai
		all = append(all, best)
	}
	slices.SortFunc(all, func(x, y cand) int {
		return cmp.Or(cmp.Compare(y.frac, x.frac), cmp.Compare(y.probe, x.probe), cmp.Compare(x.ai, y.ai))
	})
	out := make([]NearMiss, 0, min(len(all), MaxNearMisses)) // never nil: an empty list in the answers
	for _, c := range all[:min(len(all), MaxNearMisses)] {
		out = append(out, c.nm)
	}
	return out, len(all), nil
}
