package scan

import (
	"cmp"
	"context"
	"math"
	"math/bits"
	"net/netip"
	"slices"
)

// Suspect is one entry of list_suspects (CONTRACT.md §3.2) with its
// extensions.
type Suspect struct {
	IP            netip.Addr `json:"ip"`
	Kind          string     `json:"kind"`
	DistinctPorts int        `json:"distinct_ports"`
	DistinctHosts int        `json:"distinct_hosts"`
	// RatePPS is distinct probes per second of the source's first
	// qualifying episode (first to last probe); null with one timestamp.
	RatePPS   *float64 `json:"rate_pps"`
	FlagsSeen []string `json:"flags_seen"`

	Probes     int      `json:"probes"` // distinct (host, protocol, port) targets probed
	FirstSeen  Time     `json:"first_seen"`
	LastSeen   Time     `json:"last_seen"`
	Techniques []string `json:"techniques"`
	OpenPorts  []int    `json:"open_ports"` // at most MaxPortsHit
	// OpenPortsTruncated: more ports answered open than open_ports lists
	// (a host that answers every port, a tarpit); scanner_detail counts them.
	OpenPortsTruncated bool    `json:"open_ports_truncated,omitempty"`
	Tool               *Tool   `json:"tool"`
	Confidence         float64 `json:"confidence"`

	PeakPPS         float64  `json:"peak_pps"` // most probes within one second of the episode
	Episodes        int      `json:"episodes"`
	Unanswered      int      `json:"unanswered"`
	Reasons         []string `json:"reasons"` // rules met: ports_on_host, hosts_on_port, targets, stealth_targets, rate, single_timestamp, trw, distributed, sweep_hosts, darknet
	DetectedAt      Time     `json:"detected_at"`
	NoReturnTraffic bool     `json:"no_return_traffic"` // none of its probes drew any answer: attempts counted
	// DistributedTarget is the host a distributed scan probed jointly.
	DistributedTarget string `json:"distributed_target,omitempty"`
	// DecoyPeers are other sources of its decoy group (nmap -D): sources
	// that sent identical probes, in address order, at most
	// MaxGroupSources; DecoyPeersTotal counts them all.
	DecoyPeers      []netip.Addr `json:"decoy_peers,omitempty"`
	DecoyPeersTotal int          `json:"decoy_peers_total,omitempty"`
	// DecoyPeersTruncated: more peers than decoy_peers lists.
	DecoyPeersTruncated bool `json:"decoy_peers_truncated,omitempty"`

	// FragmentedProbes counts probes reassembled from IP fragments;
	// FragmentEvasion those among them whose fragments overlapped or
	// began with a tiny fragment (fragProbes).
	FragmentedProbes int `json:"fragmented_probes,omitempty"`
	FragmentEvasion  int `json:"fragment_evasion,omitempty"`

	// DecoyRole is its part in its decoy group: "likely_real" or "decoy"
	// (DecoyGroup.LikelyReal); empty outside a group or when the group's
	// real scanner cannot be told.
	DecoyRole string `json:"decoy_role,omitempty"`
	// Zombie is the zombie of the idle scan it ran (nmap -sI): the probes
	// listed are the zombie's SYNs, which it sent. IdleScanBy, on a
	// zombie, is the prober that sent the SYNs carrying its address.
	Zombie     string `json:"zombie,omitempty"`
	IdleScanBy string `json:"idle_scan_by,omitempty"`
	// DistinctProtocols and OpenProtocols are its protocol probes' IP
	// protocol numbers (nmap -sO): protocols count as ports of their host.
	DistinctProtocols int   `json:"distinct_protocols,omitempty"`
	OpenProtocols     []int `json:"open_protocols,omitempty"`
	// Monitoring is set when the source also polls a fixed set of
	// services on a schedule (not counted as probes).
	Monitoring *Monitoring `json:"monitoring,omitempty"`

	// Site context (TriagePageOf; empty from Suspects and SuspectsPage):
	// the scan's direction, its priority with the score and the reasons
	// that make it, and its MITRE ATT&CK technique IDs.
	Direction       string   `json:"direction,omitempty"`
	Priority        string   `json:"priority,omitempty"`
	PriorityScore   int      `json:"priority_score,omitempty"`
	PriorityReasons []Reason `json:"priority_reasons,omitempty"`
	Attack          []string `json:"attack,omitempty"`
}

// Suspects lists the sources that th flags, by address. Thresholds other
// than the defaults are judged anew, without a deadline: a call on
// behalf of a client uses SuspectsTop.
func (an *Analysis) Suspects(th Thresholds) []Suspect {
	list, _, _ := an.SuspectsTop(context.Background(), th, math.MaxInt)
	return list
}

// SuspectsTop is Suspects cut to the limit sources with the most probes
// (ties: the lower address), still in address order, and the number th
// lists in all. Only the kept suspects are built: a capture of a million
// slow scanners lists hundreds of thousands. Thresholds other than the
// defaults are judged anew, which stops with ctx's error once ctx ends.
func (an *Analysis) SuspectsTop(ctx context.Context, th Thresholds, limit int) (list []Suspect, total int, err error) {
	vs, err := an.verdictsFor(ctx, th)
	if err != nil {
		return nil, 0, err
	}
	keep := vs.list
	if len(keep) > limit {
		keep = slices.Clone(keep)
		slices.SortStableFunc(keep, func(x, y *verdict) int { return cmp.Compare(len(y.r.probes), len(x.r.probes)) })
		keep = keep[:max(limit, 0)]
		slices.SortFunc(keep, func(x, y *verdict) int { return cmp.Compare(x.self().ai, y.self().ai) })
	}
	list = make([]Suspect, 0, len(keep))
	for _, v := range keep {
		list = append(list, an.suspect(v))
	}
	return list, len(vs.list), nil
}

// verdictsFor is the listing under th: the one Finish made for the
// default thresholds, or a new one.
func (an *Analysis) verdictsFor(ctx context.Context, th Thresholds) (*verdicts, error) {
	if th == DefaultThresholds() && an.defaults != nil {
		return an.defaults, nil
	}
	return an.judge(ctx, th)
}

// mustVerdicts is verdictsFor for the views without a context: the
// judgement is linear in the probes, and without a deadline it cannot
// fail.
func (an *Analysis) mustVerdicts(th Thresholds) *verdicts {
	vs, err := an.verdictsFor(context.Background(), th)
	if err != nil {
		panic(err) // unreachable: context.Background never ends
	}
	return vs
}

func (an *Analysis) suspect(v *verdict) Suspect {
	r := v.r
	e := &r.episodes[v.ep]
	s := Suspect{
		IP: an.addrAt(v.self().ai), Kind: v.kind, DistinctPorts: int(r.ports), DistinctHosts: int(r.hosts),
		FlagsSeen: nonNil(flagsSeen(r)), Probes: len(r.probes),
		FirstSeen: an.time(v.firstSeen()), LastSeen: an.time(r.probes[len(r.probes)-1].firstTS),
		Techniques: an.verdictTechniques(v), Tool: r.tool, Confidence: v.confidence,
		PeakPPS: float64(e.peak), Episodes: len(r.episodes), Unanswered: int(r.out[outUnanswered]),
		Reasons: v.reasons.names(), DetectedAt: an.time(v.detNS), NoReturnTraffic: r.answered == 0,
		Monitoring: r.monitor,
	}
	s.OpenPorts, s.OpenPortsTruncated = capList(openPorts(r), MaxPortsHit)
	s.FragmentedProbes, s.FragmentEvasion = fragProbes(r)
	if rate, ok := e.rate(); ok {
		x := roundSig(rate)
		s.RatePPS = &x
	}
	if v.group >= 0 {
		s.DistributedTarget = an.addrAt(v.group).String()
	}
	self := an.srcOf[v.self().ai]
	s.Zombie, s.IdleScanBy = an.idleNames(self)
	if v.as == nil && r.protos > 0 {
		s.DistinctProtocols = int(r.protos)
		_, open, _ := protocols(r)
		s.OpenProtocols = open
	}
	if role, g := an.decoyRole(self); g != nil {
		s.DecoyRole = role
		peers := make([]int32, 0, min(len(g.members), MaxGroupSources+1))
		for _, m := range g.members {
			if m != self {
				peers = append(peers, m)
			}
			if len(peers) > MaxGroupSources {
				break
			}
		}
		s.DecoyPeers, s.DecoyPeersTruncated = an.addrList(peers, MaxGroupSources, an.sourceAddr)
		s.DecoyPeersTotal = len(g.members) - 1
	}
	return s
}

// SuspectsPage is the page [offset, offset+limit) of the sources th
// lists, ordered by distinct probes, most first (ties: the lower address),
// and the number listed in all. Only the page's suspects are built.
// Thresholds other than the defaults are judged anew, which stops with
// ctx's error once ctx ends.
func (an *Analysis) SuspectsPage(ctx context.Context, th Thresholds, offset, limit int) (list []Suspect, total int, err error) {
	vs, err := an.verdictsFor(ctx, th)
	if err != nil {
		return nil, 0, err
	}
	order := slices.Clone(vs.list)
	slices.SortStableFunc(order, func(x, y *verdict) int {
		if c := cmp.Compare(len(y.r.probes), len(x.r.probes)); c != 0 {
			return c
		}
		return cmp.Compare(x.self().ai, y.self().ai)
	})
	total = len(order)
	if offset >= total || limit <= 0 {
		return []Suspect{}, total, nil
	}
	order = order[offset:min(total, offset+limit)]
	list = make([]Suspect, 0, len(order))
	for _, v := range order {
		list = append(list, an.suspect(v))
	}
	return list, total, nil
}

// sourceAddr is the address index of source index si.
func (an *Analysis) sourceAddr(si int32) int32 { return an.sources[si].ai }

// FirstEvent is first_scan_event's answer (CONTRACT.md §3.3).
type FirstEvent struct {
	TS   Time       `json:"ts"`
	Src  netip.Addr `json:"src"`
	Dst  netip.Addr `json:"dst"`
	Port uint16     `json:"port"`
	// Flags are tcpdump letters ("S", "F", "FPU", "" for NULL); absent for
	// UDP and ICMP.
	Flags      *string `json:"flags,omitempty"`
	Proto      string  `json:"proto"`
	Frame      uint64  `json:"frame"`
	Technique  string  `json:"technique"`
	DetectedAt Time    `json:"detected_at"`
	// LatencyS is detected_at minus ts, in seconds.
	LatencyS float64 `json:"latency_s"`
	// IPProto is the IP protocol number of a protocol probe (nmap -sO),
	// whose port is 0.
	IPProto *int `json:"ip_proto,omitempty"`
}

// FirstEvent is the first probe of the earliest qualifying episode of any
// source th lists; nil when none is listed. The decoys of a group whose
// likely real scanner is listed give way to it: their copies of a probe
// are that probe, sent by it. An idle scan's prober begins with its first
// IP ID probe of the zombie.
func (an *Analysis) FirstEvent(th Thresholds) *FirstEvent {
	return an.firstEvent(an.mustVerdicts(th), nil)
}

// firstEvent is FirstEvent over vs, leaving out the sources skip names
// (nil: none).
func (an *Analysis) firstEvent(vs *verdicts, skip func(*verdict) bool) *FirstEvent {
	var best *verdict
	for _, v := range vs.list {
		if skip != nil && skip(v) {
			continue
		}
		if role, g := an.decoyRole(an.srcOf[v.self().ai]); role == "decoy" && vs.by[g.real] != nil {
			continue
		}
		if best == nil {
			best = v
			continue
		}
		a, b := v.firstProbe(), best.firstProbe()
		if a.firstTS < b.firstTS || a.firstTS == b.firstTS && a.frame < b.frame {
			best = v
		}
	}
	if best == nil {
		return nil
	}
	t := best.firstProbe()
	fe := &FirstEvent{TS: an.time(t.firstTS), Src: an.addrAt(best.self().ai), Dst: an.addrAt(t.dst), Port: t.port, Proto: protoName(t.proto),
		Frame: t.frame, Technique: technique(best.r, t), DetectedAt: an.time(best.detNS),
		LatencyS: roundSig(float64(best.detNS-t.firstTS) / 1e9)}
	if best.as != nil {
		fe.Technique = "idle_scan"
	}
	fe.Flags = probeFlags(t)
	if t.class == clsPROTO {
		n := int(t.proto)
		fe.IPProto = &n
	}
	return fe
}

func protoName(p uint8) string {
	switch p {
	case protoTCP:
		return "tcp"
	case protoUDP:
		return "udp"
	case protoICMP:
		return "icmp"
	case protoICMPv6:
		return "icmpv6"
	case protoSCTP:
		return "sctp"
	}
	return "ip"
}

// technique names the technique of one probe of r.
func technique(r *srcResult, t *target) string {
	if t.marks&tmDiscovery != 0 {
		return "ping_sweep"
	}
	switch t.class {
	case clsSYN:
		if r.connect {
			return "connect_scan"
		}
		return "syn_scan"
	case clsFIN:
		return "fin_scan"
	case clsNULL:
		return "null_scan"
	case clsXMAS:
		return "xmas_scan"
	case clsMAIMON:
		return "maimon_scan"
	case clsACK:
		if r.window {
			return "window_scan"
		}
		return "ack_scan"
	case clsOTHER:
		return "illegal_flags_scan"
	case clsUDP:
		return "udp_scan"
	case clsICMP:
		return "ping_sweep"
	case clsPROTO:
		return "ip_protocol_scan"
	case clsINIT:
		return "sctp_init_scan"
	case clsCOOKIE:
		return "sctp_cookie_echo_scan"
	}
	return ""
}

// Overview is scan_overview's answer (CONTRACT.md §3.1). File and
// Capture are set by the caller.
type Overview struct {
	File              string           `json:"file"`
	TotalPkts         uint64           `json:"total_pkts"`
	IntervalS         float64          `json:"interval_s"`
	Scanners          []ScannerSummary `json:"scanners"`
	Targets           []Target         `json:"targets"`
	PortDistribution  []PortHits       `json:"port_distribution"`
	SuspectedPatterns []string         `json:"suspected_patterns"`
	Timeline          []Window         `json:"timeline"`
	// TimelineTruncated: more windows had probes than MaxTimelineWindows
	// (a window far shorter than the capture); the first ones are listed
	// and TimelineWindows counts them all.
	TimelineTruncated bool `json:"timeline_truncated,omitempty"`
	TimelineWindows   int  `json:"timeline_windows,omitempty"`
	Capture           any  `json:"capture"`

	ScannersTotal int `json:"scanners_total"` // before the top_k cut
	TargetsTotal  int `json:"targets_total"`
	// Distributed and Decoys list at most top_k groups each (the
	// largest); the totals count them all.
	Distributed      []DistributedGroup `json:"distributed"`
	DistributedTotal int                `json:"distributed_total"`
	Decoys           []DecoyGroup       `json:"decoys"`
	DecoysTotal      int                `json:"decoys_total"`
	// Suppressed and SuppressedTotal: the listed sources OverviewSite left
	// out, by the known scanner's label or ignore (as TriagePageOf).
	Suppressed      []Suppressed `json:"suppressed,omitempty"`
	SuppressedTotal int          `json:"suppressed_total,omitempty"`
	WindowS         float64      `json:"time_window_s"`
}

// ScannerSummary is one scanner of the overview.
type ScannerSummary struct {
	IP            netip.Addr     `json:"ip"`
	Pkts          uint64         `json:"pkts"` // every packet the source sent
	DistinctPorts int            `json:"distinct_ports"`
	DistinctHosts int            `json:"distinct_hosts"`
	FlagStats     map[string]int `json:"flag_stats"` // distinct probes by class, zero classes omitted
	Probes        int            `json:"probes"`
	ProbePkts     uint64         `json:"probe_pkts"` // probe packets, retransmissions included
	FirstSeen     Time           `json:"first_seen"`
	LastSeen      Time           `json:"last_seen"`
	Kind          string         `json:"kind"`
	Techniques    []string       `json:"techniques"`
	OpenPorts     []int          `json:"open_ports"` // at most MaxPortsHit
	// OpenPortsTruncated: as in Suspect.
	OpenPortsTruncated bool     `json:"open_ports_truncated,omitempty"`
	Tool               *Tool    `json:"tool"`
	RatePPS            *float64 `json:"rate_pps"`
	// As in Suspect.
	DecoyRole         string `json:"decoy_role,omitempty"`
	Zombie            string `json:"zombie,omitempty"`
	IdleScanBy        string `json:"idle_scan_by,omitempty"`
	DistinctProtocols int    `json:"distinct_protocols,omitempty"`
	OpenProtocols     []int  `json:"open_protocols,omitempty"`
}

// Target is one host the scanners probed.
type Target struct {
	IP                netip.Addr `json:"ip"`
	Pkts              uint64     `json:"pkts"` // probe packets it received from the scanners
	PortsHit          []int      `json:"ports_hit"`
	PortsHitTruncated bool       `json:"ports_hit_truncated,omitempty"`
	DistinctPorts     int        `json:"distinct_ports"`
	Scanners          int        `json:"scanners"`
}

// PortHits is one probed port and how many distinct probes hit it.
type PortHits struct {
	Port int `json:"port"`
	Hits int `json:"hits"`
}

// Window is one timeline window that has probes.
type Window struct {
	Start    Time `json:"start"`
	Probes   int  `json:"probes"`
	Scanners int  `json:"scanners"`
}

// DefaultWindowS is the timeline window when the caller gives none.
const DefaultWindowS = 60

// Overview summarises the scanners th lists: at most topK scanners,
// targets and ports, and a timeline of windowS-second windows.
func (an *Analysis) Overview(th Thresholds, windowS float64, topK int) Overview {
	return an.OverviewSite(th, Site{}, windowS, topK)
}

// OverviewSite is Overview without the sources site suppresses (its known
// scanners and ignore list), which it counts by label as TriagePageOf
// does: they leave the scanners, targets, ports, patterns and timeline.
// Distributed and decoy groups are the engine's, whoever their members.
func (an *Analysis) OverviewSite(th Thresholds, site Site, windowS float64, topK int) Overview {
	if windowS <= 0 {
		windowS = DefaultWindowS
	}
	if topK < 1 {
		topK = 1
	}
	vs := an.mustVerdicts(th)
	sup, supTotal := suppression{}, 0
	if len(site.Known) > 0 || len(site.Ignore) > 0 {
		kept := &verdicts{list: make([]*verdict, 0, len(vs.list)), by: vs.by, groups: vs.groups}
		for _, v := range vs.list {
			if sup.add(site.suppressedBy(an.addrAt(v.self().ai)), v) {
				supTotal++
				continue
			}
			kept.list = append(kept.list, v)
		}
		vs = kept
	}
	ov := Overview{TotalPkts: an.stats.TotalPackets, IntervalS: round(an.stats.DurationS, 9), WindowS: windowS,
		Scanners: []ScannerSummary{}, Targets: []Target{}, PortDistribution: []PortHits{},
		SuspectedPatterns: []string{}, Timeline: []Window{}, Distributed: []DistributedGroup{}, Decoys: []DecoyGroup{}}
	if supTotal > 0 {
		ov.Suppressed, ov.SuppressedTotal = sup.list(), supTotal
	}

	// The targets (overviewHosts: three passes over every listed
	// scanner's probes) are aggregated beside the rest, which reads the
	// same probes and writes nothing the other reads. A panic there is
	// raised again here, where the server's recovery catches it.
	var hosts []overviewHost
	var hostsPanic any
	hostsDone := make(chan struct{})
	go func() {
		defer close(hostsDone)
		defer func() { hostsPanic = recover() }()
		hosts = an.overviewHosts(vs, topK)
	}()

	// The top scanners by distinct targets, then packets, then address
	// (a verdict's own address: one verdict an address, so no two tie),
	// selected, then sorted: the others are only counted.
	bySize := func(x, y *verdict) int {
		switch {
		case len(x.r.probes) != len(y.r.probes):
			return len(y.r.probes) - len(x.r.probes)
		case x.self().pkts != y.self().pkts:
			return cmp.Compare(y.self().pkts, x.self().pkts)
		}
		return cmp.Compare(x.self().ai, y.self().ai)
	}
	order := slices.Clone(vs.list)
	selectFirst(order, topK, bySize)
	order = order[:min(topK, len(order))]
	slices.SortFunc(order, bySize)
	ov.ScannersTotal = len(vs.list)
	for _, v := range order {
		ov.Scanners = append(ov.Scanners, an.summary(v))
	}
	// The patterns are sets: gathered in the listing's order, which is
	// the sources' order in memory (a capture of 187k listed sources:
	// three times faster than in the order above).
	techs, shapes := map[string]bool{}, map[string]bool{}
	for _, v := range vs.list {
		for _, t := range an.verdictTechniques(v) {
			techs[t] = true
		}
		shapes[v.kind] = true
	}
	an.overviewGroups(&ov, vs, topK)
	if len(ov.Decoys) > 0 {
		shapes["decoy"] = true
	}
	if len(vs.groups) > 0 {
		shapes["distributed"] = true
	}
	ov.SuspectedPatterns = append(sortedKeys(techs), sortedKeys(shapes)...)

	// Ports and timeline over every listed scanner's probes.
	var portHits []int // by port (grownFor)
	type win struct {
		probes   int
		scanners int
		last     int // the last source counted, + 1
	}
	wins := map[int64]*win{}
	// Window length in ns, kept within int64 whatever the caller asks.
	wns := int64(1)
	if f := windowS * 1e9; f >= math.MaxInt64/2 {
		wns = math.MaxInt64 / 2
	} else if f >= 1 {
		wns = int64(f)
	}
	for vi, v := range vs.list {
		if v.as != nil {
			continue // an idle scan's prober: its probes are its zombie's, counted there
		}
		r := v.r
		var w *win
		wi := int64(-1)
		for i := range r.probes {
			t := &r.probes[i]
			if t.class.hasPort() {
				if int(t.port) >= len(portHits) {
					portHits = grownFor(portHits, int(t.port))
				}
				portHits[t.port]++
			}
			idx := (t.firstTS - an.stats.firstNS) / wns
			if t.firstTS < an.stats.firstNS {
				idx = 0
			}
			if idx != wi || w == nil { // a source's probes are in time order: mostly one window after another
				w, wi = wins[idx], idx
				if w == nil {
					w = &win{}
					wins[idx] = w
				}
			}
			w.probes++
			if w.last != vi+1 {
				w.last = vi + 1
				w.scanners++
			}
		}
	}
	for p, n := range portHits {
		if n > 0 {
			ov.PortDistribution = append(ov.PortDistribution, PortHits{Port: p, Hits: n})
		}
	}
	slices.SortFunc(ov.PortDistribution, func(x, y PortHits) int {
		if x.Hits != y.Hits {
			return y.Hits - x.Hits
		}
		return x.Port - y.Port
	})
	ov.PortDistribution = ov.PortDistribution[:min(topK, len(ov.PortDistribution))]
	idxs := make([]int64, 0, len(wins))
	for k := range wins {
		idxs = append(idxs, k)
	}
	slices.Sort(idxs)
	if len(idxs) > MaxTimelineWindows {
		ov.TimelineTruncated, ov.TimelineWindows = true, len(idxs)
		idxs = idxs[:MaxTimelineWindows]
	}
	for _, k := range idxs {
		w := wins[k]
		ov.Timeline = append(ov.Timeline, Window{Start: an.time(an.stats.firstNS + k*wns), Probes: w.probes, Scanners: w.scanners})
	}
	<-hostsDone
	if hostsPanic != nil {
		panic(hostsPanic)
	}
	ov.TargetsTotal = len(hosts)
	for _, h := range hosts[:min(topK, len(hosts))] {
		t := Target{IP: an.addrAt(h.ai), Pkts: h.pkts, DistinctPorts: h.distinct, Scanners: h.scanners}
		t.PortsHit, t.PortsHitTruncated = capList(hostPorts(h.ports), MaxPortsHit)
		ov.Targets = append(ov.Targets, t)
	}
	return ov
}

// overviewGroups lists at most topK distributed scans and topK decoy
// groups with a listed member: those with the most sources (ties: the
// most probes, then the lower address), in address order.
func (an *Analysis) overviewGroups(ov *Overview, vs *verdicts, topK int) {
	dist := make([]*distGroup, 0, len(vs.groups))
	for i := range vs.groups {
		dist = append(dist, &vs.groups[i])
	}
	ov.DistributedTotal = len(dist)
	if len(dist) > topK {
		slices.SortStableFunc(dist, func(x, y *distGroup) int {
			if c := cmp.Compare(len(y.members), len(x.members)); c != 0 {
				return c
			}
			return cmp.Compare(y.probes, x.probes)
		})
		dist = dist[:topK]
		slices.SortFunc(dist, func(x, y *distGroup) int { return cmp.Compare(x.host, y.host) })
	}
	for _, g := range dist {
		ov.Distributed = append(ov.Distributed, an.group(g))
	}
	var decoys []*decoySet
	for i := range an.decoys {
		g := &an.decoys[i]
		for _, m := range g.members {
			if vs.by[m] != nil {
				decoys = append(decoys, g)
				break
			}
		}
	}
	ov.DecoysTotal = len(decoys)
	if len(decoys) > topK {
		slices.SortStableFunc(decoys, func(x, y *decoySet) int {
			if c := cmp.Compare(len(y.members), len(x.members)); c != 0 {
				return c
			}
			return cmp.Compare(y.shared, x.shared)
		})
		decoys = decoys[:topK]
		slices.SortFunc(decoys, func(x, y *decoySet) int { return cmp.Compare(x.members[0], y.members[0]) })
	}
	for _, g := range decoys {
		d := DecoyGroup{SourcesTotal: len(g.members), TargetsTotal: len(g.targets), Shared: g.shared, Evidence: g.evidence}
		if g.real >= 0 {
			d.LikelyReal = an.addrAt(an.sources[g.real].ai).String()
		}
		d.Sources, d.SourcesTruncated = an.addrList(g.members, MaxGroupSources, an.sourceAddr)
		d.Targets, d.TargetsTruncated = an.addrList(g.targets, MaxGroupSources, func(a int32) int32 { return a })
		ov.Decoys = append(ov.Decoys, d)
	}
}

// overviewHost is one host the listed scanners probed.
type overviewHost struct {
	ai       int32
	last     int32 // the last listed scanner counted, + 1
	pkts     uint64
	distinct int
	scanners int
	ports    []uint16 // with repeats, unsorted
}

// overviewHosts aggregates the listed scanners' probes by host and puts
// the first topK hosts by probe packets, distinct ports and address first,
// in that order (the others follow in no order).
func (an *Analysis) overviewHosts(vs *verdicts, topK int) []overviewHost {
	slot := make([]int32, len(an.addrs)) // address index → index into hosts + 1
	var hosts []overviewHost
	nports := 0
	for vi, v := range vs.list {
		if v.as != nil {
			continue // an idle scan's prober: its probes are its zombie's, counted there
		}
		for i := range v.r.probes {
			t := &v.r.probes[i]
			j := slot[t.dst] - 1
			if j < 0 {
				j = int32(len(hosts))
				slot[t.dst] = j + 1
				hosts = append(hosts, overviewHost{ai: t.dst})
			}
			h := &hosts[j]
			h.pkts += uint64(t.pkts)
			if t.class.hasPort() {
				h.distinct++ // ports with repeats, for now
				nports++
			}
			if h.last != int32(vi+1) {
				h.last = int32(vi + 1)
				h.scanners++
			}
		}
	}
	// Every host's ports in one array, then the distinct ones counted with
	// a mark per port holding the last host that set it.
	pool := make([]uint16, nports)
	off := 0
	for i := range hosts {
		h := &hosts[i]
		h.ports, off = pool[off:off:off+h.distinct], off+h.distinct
	}
	for _, v := range vs.list {
		if v.as != nil {
			continue
		}
		for i := range v.r.probes {
			if t := &v.r.probes[i]; t.class.hasPort() {
				h := &hosts[slot[t.dst]-1]
				h.ports = append(h.ports, t.port)
			}
		}
	}
	var seen []int32 // by port (grownFor)
	for i := range hosts {
		h := &hosts[i]
		h.distinct = 0
		for _, p := range h.ports {
			if int(p) >= len(seen) {
				seen = grownFor(seen, int(p))
			}
			if seen[p] != int32(i+1) {
				seen[p] = int32(i + 1)
				h.distinct++
			}
		}
	}
	byPkts := func(x, y overviewHost) int {
		switch {
		case x.pkts != y.pkts:
			return cmp.Compare(y.pkts, x.pkts)
		case x.distinct != y.distinct:
			return y.distinct - x.distinct
		}
		return cmp.Compare(x.ai, y.ai)
	}
	selectFirst(hosts, topK, byPkts)
	slices.SortFunc(hosts[:min(topK, len(hosts))], byPkts)
	return hosts
}

// hostPorts returns the distinct ports of ps, sorted: a bit per port,
// read in order, rather than a sort of ps (a host that several scanners
// swept holds hundreds of thousands of ports with repeats).
func hostPorts(ps []uint16) []int {
	var set [1 << 16 / 64]uint64
	n := 0
	for _, p := range ps {
		if w, b := p>>6, uint64(1)<<(p&63); set[w]&b == 0 {
			set[w] |= b
			n++
		}
	}
	out := make([]int, 0, n)
	for w, x := range set {
		for ; x != 0; x &= x - 1 {
			out = append(out, w<<6|bits.TrailingZeros64(x))
		}
	}
	return out
}

func (an *Analysis) summary(v *verdict) ScannerSummary {
	r := v.r
	s := ScannerSummary{IP: an.addrAt(v.self().ai), Pkts: v.self().pkts, DistinctPorts: int(r.ports), DistinctHosts: int(r.hosts),
		FlagStats: map[string]int{}, Probes: len(r.probes), ProbePkts: r.probePkts,
		FirstSeen: an.time(v.firstSeen()), LastSeen: an.time(r.probes[len(r.probes)-1].firstTS),
		Kind: v.kind, Techniques: an.verdictTechniques(v), Tool: r.tool}
	self := an.srcOf[v.self().ai]
	s.DecoyRole, _ = an.decoyRole(self)
	s.Zombie, s.IdleScanBy = an.idleNames(self)
	if v.as == nil && r.protos > 0 {
		s.DistinctProtocols = int(r.protos)
		_, s.OpenProtocols, _ = protocols(r)
	}
	s.OpenPorts, s.OpenPortsTruncated = capList(openPorts(r), MaxPortsHit)
	for c := clsSYN; c < numClasses; c++ {
		if r.classes[c] > 0 {
			s.FlagStats[classNames[c]] = int(r.classes[c])
		}
	}
	if rate, ok := r.episodes[v.ep].rate(); ok {
		x := roundSig(rate)
		s.RatePPS = &x
	}
	return s
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// nonNil makes nil slices empty, so JSON has [] and never null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Activity is one address's scan activity in a capture, for correlate.
type Activity struct {
	IP         netip.Addr `json:"ip"`
	Suspect    bool       `json:"suspect"`
	Kind       *string    `json:"kind"` // null unless listed
	Techniques []string   `json:"techniques"`
	FirstSeen  *Time      `json:"first_seen"` // first probe, else first packet sent; null if it only received
	LastSeen   *Time      `json:"last_seen"`
	PktsSent   uint64     `json:"pkts_sent"`
	Probes     int        `json:"probes"`
	// ProbedBy is how many listed scanners probed this address.
	ProbedBy int `json:"probed_by"`
}

// IsSuspect reports whether the address is listed under the default
// thresholds.
func (a *Activity) IsSuspect() bool { return a != nil && a.Suspect }

// Activity returns ip's activity under the default thresholds, or nil if
// the address never appears in the capture.
func (an *Analysis) Activity(ip netip.Addr) *Activity {
	ip = ip.Unmap()
	ai, known := an.indexOf(ip)
	if !known {
		return nil
	}
	r := an.source(ip)
	act := &Activity{IP: ip, Techniques: []string{}}
	for _, s := range an.probedBy(ai) {
		if an.defaults.by[s] != nil {
			act.ProbedBy++
		}
	}
	if r == nil {
		return act
	}
	act.PktsSent, act.Probes, act.Techniques = r.pkts, len(r.probes), an.sourceTechniques(r)
	first, last := an.time(r.firstTS), an.time(r.lastTS)
	if len(r.probes) > 0 {
		first, last = an.time(r.probes[0].firstTS), an.time(r.probes[len(r.probes)-1].firstTS)
	}
	act.FirstSeen, act.LastSeen = &first, &last
	if v := an.defaults.of(an, r); v != nil {
		act.Suspect = true
		k := v.kind
		act.Kind = &k
	}
	return act
}

// outcomeName names the outcome for reports.
func outcomeName(o uint8) string {
	return [...]string{"unanswered", "open", "closed", "filtered", "unfiltered"}[o]
}

// capList returns at most max of xs (never nil) and whether it cut.
func capList(xs []int, max int) ([]int, bool) {
	if len(xs) > max {
		return xs[:max], true
	}
	return nonNil(xs), false
}
