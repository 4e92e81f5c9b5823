package scan

import (
	"cmp"
	"context"
	"errors"
	"math"
	"net/netip"
	"slices"
	"sync"
)

// verdict is why and how one source is listed under some thresholds.
type verdict struct {
	r          *srcResult
	kind       string
	detNS      int64 // the probe that crossed the threshold
	detFrame   uint64
	confidence float64
	ep         int32   // the first qualifying episode
	group      int32   // distributed: address index of the host jointly probed; -1 otherwise
	reasons    reasons // the rules met
	// as, when set, is the source the verdict is reported under, r being
	// the source whose probes it judged: an idle scan's prober, whose scan
	// is its zombie's SYNs (idle.go). idle is that scan.
	as   *srcResult
	idle *idleLink
}

// self is the source v lists.
func (v *verdict) self() *srcResult {
	if v.as != nil {
		return v.as
	}
	return v.r
}

// reasons is a set of the rules a listing met, as bits in the order the
// answers name them.
type reasons uint16

const (
	rsPortsOnHost reasons = 1 << iota
	rsHostsOnPort
	rsTargets
	rsStealth
	rsSingleTS
	rsRate
	rsTRW
	rsDistributed
	rsIdle
	rsSweep
	rsDarknet // probed DarknetMinTargets darknet addresses (darknet.go); listed by the site context alone
)

var reasonNames = [...]string{"ports_on_host", "hosts_on_port", "targets", "stealth_targets", "single_timestamp", "rate", "trw", "distributed",
	"idle_scan", "sweep_hosts", "darknet"}

// rsCounts are the count rules; rsUnguarded those of them that hold
// whatever the TRW test says (see trwGuard).
const (
	rsCounts    = rsPortsOnHost | rsHostsOnPort | rsTargets | rsStealth | rsSweep
	rsUnguarded = rsStealth | rsSweep
)

// names lists the reasons in order; never nil.
func (rs reasons) names() []string {
	out := []string{}
	for i, n := range reasonNames {
		if rs&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// firstSeen is when the listed source's first probe was sent: for an
// idle scan's prober, its first IP ID probe of the zombie.
func (v *verdict) firstSeen() int64 {
	if v.as != nil {
		return v.idle.probe.firstTS
	}
	return v.r.probes[0].firstTS
}

// firstProbe is the first probe of the verdict's episode; for an idle
// scan's prober, its first IP ID probe of the zombie.
func (v *verdict) firstProbe() *target {
	if v.as != nil {
		return &v.idle.probe
	}
	return &v.r.probes[v.r.episodes[v.ep].first]
}

// verdicts is the listing of a whole capture under one set of thresholds.
type verdicts struct {
	list   []*verdict  // by source address
	by     []*verdict  // by source index; nil where not listed
	groups []distGroup // by target address
	slab   []verdict   // where new verdicts are made (alloc)
}

// alloc returns a new zero verdict, made in slabs (of 16, doubling to
// 1024): a capture of many listed sources costs the collector an object
// a slab, not one a source, and its verdicts lie in memory in the order
// made, the sources' order, which the answers read them in.
func (vs *verdicts) alloc() *verdict {
	if len(vs.slab) == cap(vs.slab) {
		vs.slab = make([]verdict, 0, min(max(2*cap(vs.slab), 16), 1024))
	}
	vs.slab = vs.slab[:len(vs.slab)+1]
	return &vs.slab[len(vs.slab)-1]
}

// of returns r's verdict, or nil (r's own, or the one it is reported under).
func (vs *verdicts) of(an *Analysis, r *srcResult) *verdict {
	return vs.by[an.srcOf[r.ai]]
}

// judge applies th to every source (CONTRACT.md §3.2, DETECTION.md §6):
// a source is listed when one of its episodes qualifies (episode.qualifies)
// under the count rules it is allowed (allowed: all, or for a source TRW
// found benign only stealth probes and host discovery). Sources under
// every threshold that jointly probe one host are then grouped as
// distributed scans.
//
// It stops with ctx's error within about a millisecond of work once ctx
// ends; the whole judgement is linear in the probes, but it runs again
// for every call with thresholds of its own.
func (an *Analysis) judge(ctx context.Context, th Thresholds) (*verdicts, error) {
	th = th.sane()
	vs := &verdicts{by: make([]*verdict, len(an.sources))}
	var c *counter // taken on first use: most calls list few sources
	defer func() {
		if c != nil {
			putCounter(c)
		}
	}()
	p := newPoll(ctx)
	for i := range an.sources {
		r := &an.sources[i]
		if p.work(len(r.episodes) + 1) {
			return nil, p.err
		}
		allow := allowed(r)
		for ei := range r.episodes {
			e := &r.episodes[ei]
			rate, ok, qualifies := e.qualifies(r, th, allow)
			if !qualifies {
				continue
			}
			v := vs.alloc()
			*v = verdict{r: r, ep: int32(ei), group: -1, kind: shape(r.spread(), int(r.hosts))}
			if c == nil {
				c = getCounter(len(an.addrs))
			}
			v.reasons, v.detNS, v.detFrame = explain(r, ei, th, c, allow)
			p.work(int(e.probes))
			if !ok {
				v.reasons |= rsSingleTS
			} else if rate >= th.MinRatePPS {
				v.reasons |= rsRate
			}
			if r.trw.Scanner {
				v.reasons |= rsTRW
			}
			v.confidence = confidence(an, v, th)
			vs.by[i] = v
			break
		}
	}
	if err := an.distributed(ctx, vs, th); err != nil {
		return nil, err
	}
	an.idleVerdicts(vs)
	// Sources are in address order: the listing is vs.by without the gaps.
	for _, v := range vs.by {
		if v != nil {
			vs.list = append(vs.list, v)
		}
	}
	return vs, nil
}

// explain replays episode ei and returns the count rules among allow it
// meets and the probe at which the first of them was crossed.
func explain(r *srcResult, ei int, th Thresholds, c *counter, allow reasons) (rs reasons, ns int64, frame uint64) {
	e := &r.episodes[ei]
	c.reset()
	crossed := false
	for k := e.first; k <= e.last; k++ {
		t := &r.probes[k]
		c.add(t)
		if !crossed && c.meets(th, allow) != 0 {
			crossed, ns, frame = true, t.firstTS, t.frame
		}
	}
	return c.meets(th, allow), ns, frame
}

// confidence is a score in [0.05, 0.99] for a listed source: 0.5 for
// meeting a threshold, more for exceeding it twice over, for a TRW
// decision and for illegal flag combinations (near-zero false positives),
// less when nothing came back (attempts counted blind).
func confidence(an *Analysis, v *verdict, th Thresholds) float64 {
	r, e := v.r, &v.r.episodes[v.ep]
	c := 0.5
	if int(e.maxPorts) >= 2*th.MinPorts || int(e.maxHosts) >= 2*th.MinHosts || int(e.targets) >= 2*th.MinTargets {
		c += 0.2
	}
	if r.trw.Scanner {
		c += 0.2
	}
	if int(e.stealth) >= th.MinStealthTargets {
		c += 0.1
	}
	if r.answered == 0 {
		c -= 0.2
	}
	return round(math.Min(math.Max(c, 0.05), 0.99), 2)
}

// DistributedGroup is a many-to-one scan as the answers list it: sources
// each under the thresholds whose probes of one host jointly reach
// MinPorts.
type DistributedGroup struct {
	Target           netip.Addr   `json:"target"`
	Sources          []netip.Addr `json:"sources"` // in address order, at most MaxGroupSources
	SourcesTotal     int          `json:"sources_total"`
	SourcesTruncated bool         `json:"sources_truncated,omitempty"`
	DistinctPorts    int          `json:"distinct_ports"`
	Probes           int          `json:"probes"`
	FirstSeen        Time         `json:"first_seen"`
	DetectedAt       Time         `json:"detected_at"`
}

// distGroup is a distributed scan of one host.
type distGroup struct {
	host     int32
	members  []int32 // source indexes, ascending
	detNS    int64
	detFrame uint64
	firstNS  int64
	ports    int // distinct ports of the members' probes of host
	probes   int // the members' counted probes of host
}

// group is g as the answers list it.
func (an *Analysis) group(g *distGroup) DistributedGroup {
	d := DistributedGroup{Target: an.addrAt(g.host), SourcesTotal: len(g.members), DistinctPorts: g.ports,
		Probes: g.probes, FirstSeen: an.time(g.firstNS), DetectedAt: an.time(g.detNS)}
	d.Sources, d.SourcesTruncated = an.addrList(g.members, MaxGroupSources, func(si int32) int32 { return an.sources[si].ai })
	return d
}

// addrList names the first max of xs (never nil) through addr, an
// address index, and says whether it cut.
func (an *Analysis) addrList(xs []int32, max int, addr func(int32) int32) ([]netip.Addr, bool) {
	out := make([]netip.Addr, 0, min(len(xs), max))
	for _, x := range xs[:min(len(xs), max)] {
		out = append(out, an.addrAt(addr(x)))
	}
	return out, len(xs) > max
}

// distributed finds distributed scans among the sources not listed on
// their own: at least DistributedMinSources of them probing one host, each
// mostly failing (fewer successful connections than counted probes), and
// their probes of it reaching th.MinPorts distinct ports together. The
// rate test is not applied: spreading probes over sources is how a
// distributed scan stays under every per-source rate.
//
// The cost is linear in the probes (a sort per host at worst): the
// candidates' counted probes of the hosts that enough candidates probed
// are gathered by host in one pass (a counting sort), then each host's
// are ordered by time and searched on up to an.workers goroutines. A
// source in several groups takes the verdict of the first host, in
// address order, whatever the number of workers.
func (an *Analysis) distributed(ctx context.Context, vs *verdicts, th Thresholds) error {
	p := newPoll(ctx)
	// The candidates, found in one pass over the sources in order: the
	// hosts' lists below name them in no order, and a source's result is
	// rarely in the cache when its index comes up again.
	isCand := make([]bool, len(an.sources))
	for si := range an.sources {
		if p.work(1) {
			return p.err
		}
		r := &an.sources[si]
		isCand[si] = vs.by[si] == nil && len(r.succTS) < int(r.counted) && !trwGuard(r)
	}
	cand := func(si int32) bool { return isCand[si] }
	// off[h+1] counts, then places, the gathered probes of host h; hosts
	// that fewer than DistributedMinSources candidates probed get none.
	off := make([]int32, len(an.addrs)+1)
	var hosts []int32
	for _, h := range an.hosts {
		if p.work(int(an.hostOff[h+1] - an.hostOff[h])) {
			return p.err
		}
		n := 0
		for _, si := range an.probedBy(h) {
			if cand(si) {
				n++
			}
		}
		if n >= DistributedMinSources {
			off[h+1] = 1 // marked; counted below
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		return nil
	}
	marked := func(h int32) bool { return off[h+1] != 0 }
	counts := make([]int32, len(an.addrs)+1)
	for si := range an.sources {
		if !cand(int32(si)) {
			continue
		}
		r := &an.sources[si]
		if p.work(len(r.probes)) {
			return p.err
		}
		for i := range r.probes {
			if t := &r.probes[i]; marked(t.dst) && counted(t) {
				counts[t.dst+1]++
			}
		}
	}
	for h := 1; h < len(counts); h++ {
		counts[h] += counts[h-1]
	}
	off = nil
	type ref struct {
		ts     int64
		si, pi int32
	}
	refs := make([]ref, counts[len(an.addrs)])
	fill := slices.Clone(counts[:len(an.addrs)])
	for si := range an.sources {
		if !cand(int32(si)) {
			continue
		}
		r := &an.sources[si]
		if p.work(len(r.probes)) {
			return p.err
		}
		for i := range r.probes {
			if t := &r.probes[i]; counts[t.dst+1] > counts[t.dst] && counted(t) {
				refs[fill[t.dst]] = ref{t.firstTS, int32(si), int32(i)}
				fill[t.dst]++
			}
		}
	}
	fill = nil
	at := func(x ref) *target { return &an.sources[x.si].probes[x.pi] }

	// Each host's references are in source order: its members are read
	// off before they are sorted by time (and frame: a probe's frame is
	// its own).
	parts := min(max(an.workers, 1), len(hosts))
	found := make([][]distGroup, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for w := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := newPoll(ctx)
			var seen []uint32 // by port (grownFor): the last host (+1) that counted it
			for k := w; k < len(hosts); k += parts {
				h := hosts[k]
				hr := refs[counts[h]:counts[h+1]]
				if p.work(len(hr)) {
					errs[w] = p.err
					return
				}
				var members []int32
				for _, x := range hr {
					if len(members) == 0 || members[len(members)-1] != x.si {
						members = append(members, x.si)
					}
				}
				if len(members) < DistributedMinSources {
					continue
				}
				slices.SortFunc(hr, func(x, y ref) int {
					if x.ts != y.ts {
						return cmp.Compare(x.ts, y.ts)
					}
					return cmp.Compare(at(x).frame, at(y).frame)
				})
				ports := 0
				var det *target
				for _, x := range hr {
					t := at(x)
					if !t.class.hasPort() {
						continue
					}
					if int(t.port) >= len(seen) {
						seen = grownFor(seen, int(t.port))
					}
					if seen[t.port] == uint32(k+1) {
						continue
					}
					seen[t.port] = uint32(k + 1)
					if ports++; det == nil && ports >= th.MinPorts {
						det = t
					}
				}
				if det == nil {
					continue
				}
				found[w] = append(found[w], distGroup{host: h, members: members, detNS: det.firstTS, detFrame: det.frame,
					firstNS: hr[0].ts, ports: ports, probes: len(hr)})
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, part := range found {
		vs.groups = append(vs.groups, part...)
	}
	slices.SortFunc(vs.groups, func(x, y distGroup) int { return cmp.Compare(x.host, y.host) })
	// Each member's first group, then its verdict, made in source order
	// (verdicts.alloc): the order the answers read them in.
	first := make([]int32, len(an.sources)) // by source: its first group + 1
	for gi, d := range vs.groups {
		for _, si := range d.members {
			if vs.by[si] == nil && first[si] == 0 {
				first[si] = int32(gi + 1)
			}
		}
	}
	for si, gi := range first {
		if gi == 0 {
			continue
		}
		d, r := &vs.groups[gi-1], &an.sources[si]
		v := vs.alloc()
		*v = verdict{r: r, ep: int32(episodeOf(r, d.host)), kind: "distributed", reasons: rsDistributed,
			detNS: d.detNS, detFrame: d.detFrame, group: d.host}
		v.confidence = 0.4
		if len(d.members) >= 2*DistributedMinSources {
			v.confidence = 0.5
		}
		vs.by[si] = v
	}
	return nil
}

// episodeOf is the index of r's first episode holding a probe of host.
func episodeOf(r *srcResult, host int32) int {
	if len(r.episodes) < 2 {
		return 0 // the only one (or none): no need to read the probes
	}
	for ei := range r.episodes {
		e := &r.episodes[ei]
		for k := e.first; k <= e.last; k++ {
			if r.probes[k].dst == host {
				return ei
			}
		}
	}
	return 0
}

// round rounds x to n decimals.
func round(x float64, n int) float64 {
	p := math.Pow(10, float64(n))
	return math.Round(x*p) / p
}

// roundSig rounds x to 4 significant digits, so both 1234.5 pps scans
// and 0.003 pps slow scans print readably.
func roundSig(x float64) float64 {
	if x == 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return x
	}
	d := 3 - int(math.Floor(math.Log10(math.Abs(x))))
	if d < 0 {
		d = 0
	}
	return round(x, d)
}

// time makes a Time at the capture's precision.
func (an *Analysis) time(ns int64) Time {
	return Time{NS: ns, Digits: an.prec}
}
