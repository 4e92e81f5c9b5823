package scan

import (
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
)

var reasonNames = [...]string{"ports_on_host", "hosts_on_port", "targets", "stealth_targets", "single_timestamp", "rate", "trw", "distributed"}

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

// firstProbe is the first probe of the verdict's episode.
func (v *verdict) firstProbe() *target {
	return &v.r.probes[v.r.episodes[v.ep].first]
}

// verdicts is the listing of a whole capture under one set of thresholds.
type verdicts struct {
	list   []*verdict // by source address
	by     []*verdict // by source index; nil where not listed
	groups []DistributedGroup
}

// of returns r's verdict, or nil.
func (vs *verdicts) of(an *Analysis, r *srcResult) *verdict {
	return vs.by[an.srcOf[r.ai]]
}

// judge applies th to every source (CONTRACT.md §3.2, DETECTION.md §6):
// a source is listed when, within one episode, its counted probes reach a
// count threshold, fewer successful connections than counted probes began
// in that episode (a client whose connections mostly succeed is not a
// scanner), and the episode's rate reaches th.MinRatePPS, is undefined
// (one timestamp), or the TRW test called the source a scanner (slow
// scans). Sources under every threshold that jointly probe one host are
// then grouped as distributed scans.
func (an *Analysis) judge(th Thresholds) *verdicts {
	th = th.sane()
	vs := &verdicts{by: make([]*verdict, len(an.sources)), groups: []DistributedGroup{}}
	var c counter // made on first use: most calls list few sources
	for i := range an.sources {
		r := &an.sources[i]
		for ei := range r.episodes {
			e := &r.episodes[ei]
			if !e.meets(th) || e.successes >= e.counted {
				continue
			}
			rate, ok := e.rate()
			if ok && rate < th.MinRatePPS && !r.trw.Scanner {
				continue
			}
			v := &verdict{r: r, ep: int32(ei), group: -1, kind: shape(int(r.ports), int(r.hosts))}
			if c.hostGen == nil {
				c = newCounter(len(an.addrs))
			}
			v.reasons, v.detNS, v.detFrame = explain(r, ei, th, &c)
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
	an.distributed(vs, th)
	// Sources are in address order: the listing is vs.by without the gaps.
	vs.list = vs.list[:0]
	for _, v := range vs.by {
		if v != nil {
			vs.list = append(vs.list, v)
		}
	}
	return vs
}

// explain replays episode ei and returns the count rules it meets and the
// probe at which the first of them was crossed.
func explain(r *srcResult, ei int, th Thresholds, c *counter) (rs reasons, ns int64, frame uint64) {
	e := &r.episodes[ei]
	c.reset()
	crossed := false
	for k := e.first; k <= e.last; k++ {
		t := &r.probes[k]
		c.add(t)
		if _, ok := c.meets(th); ok && !crossed {
			crossed, ns, frame = true, t.firstTS, t.frame
		}
	}
	if c.maxPorts >= th.MinPorts {
		rs |= rsPortsOnHost
	}
	if c.maxHosts >= th.MinHosts {
		rs |= rsHostsOnPort
	}
	if c.pairs >= th.MinTargets {
		rs |= rsTargets
	}
	if c.stealth >= th.MinStealthTargets {
		rs |= rsStealth
	}
	return rs, ns, frame
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

// DistributedGroup is a many-to-one scan: sources each under the
// thresholds whose probes of one host jointly reach MinPorts.
type DistributedGroup struct {
	Target        netip.Addr   `json:"target"`
	Sources       []netip.Addr `json:"sources"`
	DistinctPorts int          `json:"distinct_ports"`
	Probes        int          `json:"probes"`
	FirstSeen     Time         `json:"first_seen"`
	DetectedAt    Time         `json:"detected_at"`
}

// distributed finds distributed scans among the sources not listed on
// their own: at least DistributedMinSources of them probing one host, each
// mostly failing (fewer successful connections than counted probes), and
// their probes of it reaching th.MinPorts distinct ports together. The
// rate test is not applied: spreading probes over sources is how a
// distributed scan stays under every per-source rate.
//
// A host's group depends only on the sources listed on their own, so the
// hosts are searched on up to an.workers goroutines, over ranges of hosts
// with about equal numbers of probing sources; a source in several groups
// then takes the verdict of the first host, in address order.
func (an *Analysis) distributed(vs *verdicts, th Thresholds) {
	bounds := an.splitHosts(max(an.workers, 1))
	found := make([][]distGroup, len(bounds)-1)
	var wg sync.WaitGroup
	for w := range found {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, host := range an.hosts[bounds[w]:bounds[w+1]] {
				if g, ok := an.distributedAt(vs, th, host); ok {
					found[w] = append(found[w], g)
				}
			}
		}()
	}
	wg.Wait()
	for _, part := range found {
		for _, d := range part {
			for _, si := range d.members {
				r := &an.sources[si]
				d.g.Sources = append(d.g.Sources, an.addrAt(r.ai))
				if vs.by[si] != nil {
					continue
				}
				v := &verdict{r: r, ep: int32(episodeOf(r, d.host)), kind: "distributed", reasons: rsDistributed,
					detNS: d.detNS, detFrame: d.detFrame, group: d.host}
				v.confidence = 0.4
				if len(d.members) >= 2*DistributedMinSources {
					v.confidence = 0.5
				}
				vs.by[si] = v
			}
			vs.groups = append(vs.groups, d.g)
		}
	}
}

// distGroup is a distributed scan of one host, before its members'
// verdicts are made.
type distGroup struct {
	host     int32
	members  []int32 // source indexes
	detNS    int64
	detFrame uint64
	g        DistributedGroup // without Sources
}

// splitHosts cuts an.hosts into up to parts ranges with about equal
// numbers of probing sources: hosts bounds[w] to bounds[w+1]-1 for part w.
func (an *Analysis) splitHosts(parts int) []int {
	total := len(an.hostSrc)
	bounds := []int{0}
	for i, h := range an.hosts {
		if len(bounds) < parts && int(an.hostOff[h+1]) > total/parts*len(bounds) {
			bounds = append(bounds, i+1)
		}
	}
	return append(bounds, len(an.hosts))
}

// distributedAt is the distributed scan of host, if there is one. It reads
// vs as judge left it before distributed: every verdict there is a
// listing on its own.
func (an *Analysis) distributedAt(vs *verdicts, th Thresholds, host int32) (distGroup, bool) {
	srcs := an.probedBy(host)
	if len(srcs) < DistributedMinSources {
		return distGroup{}, false
	}
	var members []int32
	var probes []*target
	for _, si := range srcs {
		r := &an.sources[si]
		if vs.by[si] != nil {
			continue // listed on its own
		}
		if len(r.succTS) >= int(r.counted) {
			continue
		}
		n := len(probes)
		for i := range r.probes {
			if t := &r.probes[i]; t.dst == host && counted(t) {
				probes = append(probes, t)
			}
		}
		if len(probes) > n {
			members = append(members, si)
		}
	}
	if len(members) < DistributedMinSources {
		return distGroup{}, false
	}
	slices.SortFunc(probes, func(x, y *target) int {
		if x.firstTS != y.firstTS {
			return cmpInt64(x.firstTS, y.firstTS)
		}
		return cmpInt64(int64(x.frame), int64(y.frame))
	})
	ports := make(map[uint16]bool)
	var det *target
	for _, t := range probes {
		if t.class == clsICMP {
			continue
		}
		ports[t.port] = true
		if det == nil && len(ports) >= th.MinPorts {
			det = t
		}
	}
	if det == nil {
		return distGroup{}, false
	}
	return distGroup{host: host, members: members, detNS: det.firstTS, detFrame: det.frame,
		g: DistributedGroup{Target: an.addrAt(host), DistinctPorts: len(ports), Probes: len(probes),
			FirstSeen: an.time(probes[0].firstTS), DetectedAt: an.time(det.firstTS)}}, true
}

// episodeOf is the index of r's first episode holding a probe of host.
func episodeOf(r *srcResult, host int32) int {
	for ei, e := range r.episodes {
		for k := e.first; k <= e.last; k++ {
			if r.probes[k].dst == host {
				return ei
			}
		}
	}
	return 0
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
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
