package scan

import (
	"net/netip"
	"slices"
)

// Detail is scanner_detail's answer (CONTRACT.md §3.6): everything known
// about one source in one capture, judged under the default thresholds.
type Detail struct {
	IP                netip.Addr     `json:"ip"`
	Suspect           bool           `json:"suspect"`
	Kind              *string        `json:"kind"` // null unless listed
	Reasons           []string       `json:"reasons"`
	Confidence        float64        `json:"confidence"`
	Techniques        []string       `json:"techniques"`
	FlagsSeen         []string       `json:"flags_seen"`
	FlagStats         map[string]int `json:"flag_stats"`
	Pkts              uint64         `json:"pkts"` // every packet it sent
	ProbePkts         uint64         `json:"probe_pkts"`
	Probes            int            `json:"probes"`
	DistinctPorts     int            `json:"distinct_ports"`
	DistinctHosts     int            `json:"distinct_hosts"`
	FirstSeen         Time           `json:"first_seen"` // first packet it sent
	LastSeen          Time           `json:"last_seen"`
	DetectedAt        *Time          `json:"detected_at"`
	DistributedTarget string         `json:"distributed_target,omitempty"`

	// Episodes lists the first MaxDetailEpisodes episodes in time order;
	// EpisodesTotal counts them all and EpisodesQualifying those that
	// meet the default listing rule on their own.
	Episodes           []EpisodeInfo `json:"episodes"`
	EpisodesTotal      int           `json:"episodes_total"`
	EpisodesQualifying int           `json:"episodes_qualifying"`
	EpisodesTruncated  bool          `json:"episodes_truncated,omitempty"`

	Targets          []DetailTarget `json:"targets"`
	TargetsTotal     int            `json:"targets_total"`
	TargetsTruncated bool           `json:"targets_truncated"`
	Ports            []int          `json:"ports"` // distinct ports probed, sorted
	PortsTotal       int            `json:"ports_total"`
	PortsTruncated   bool           `json:"ports_truncated"`

	Outcomes  Outcomes `json:"outcomes"`
	OpenPorts []int    `json:"open_ports"` // capped like Ports; outcomes.open counts them all
	// OpenPortsTruncated: open_ports was cut at MaxDetailList.
	OpenPortsTruncated bool  `json:"open_ports_truncated,omitempty"`
	UnansweredPorts    []int `json:"unanswered_ports"` // capped like Ports
	// UnansweredPortsTruncated: unanswered_ports was cut at MaxDetailList;
	// outcomes.unanswered counts the probes.
	UnansweredPortsTruncated bool        `json:"unanswered_ports_truncated,omitempty"`
	FirstProbe               *ProbeEvent `json:"first_probe"`
	FirstAnswer              *ProbeEvent `json:"first_answer"` // the first answer to a probe, as the answer (answerEvent)
	FirstOpen                *ProbeEvent `json:"first_open"`   // the first answer that showed a port open, as the answer

	// FollowedByUse is true when the source later used a port it had
	// found open (scan followed by use): data on a later connection, or a
	// banner grab completing a raw SYN probe's handshake. UsedPorts lists
	// them.
	FollowedByUse bool  `json:"followed_by_use"`
	UsedPorts     []int `json:"used_ports"` // capped like Ports
	// UsedPortsTruncated: used_ports was cut at MaxDetailList.
	UsedPortsTruncated    bool    `json:"used_ports_truncated,omitempty"`
	SuccessfulConnections int     `json:"successful_connections"` // completed handshakes used or closed as clients do (not probes)
	BackscatterPkts       uint64  `json:"backscatter_pkts"`       // unsolicited SYN/ACK and RST it sent
	NoReturnTraffic       bool    `json:"no_return_traffic"`
	TRW                   TRWInfo `json:"trw"`
	Tool                  *Tool   `json:"tool"`

	// FragmentedProbes and FragmentEvasion: as in Suspect.
	FragmentedProbes int `json:"fragmented_probes,omitempty"`
	FragmentEvasion  int `json:"fragment_evasion,omitempty"`

	// IdleScan, on an idle scan's prober, ties it to its zombie (nmap -sI);
	// IdleScanBy, on a zombie, names the prober that sent the SYNs
	// carrying its address.
	IdleScan   *IdleScan `json:"idle_scan,omitempty"`
	IdleScanBy string    `json:"idle_scan_by,omitempty"`
	// DecoyRole and DecoyEvidence: its part in its decoy group (nmap -D),
	// "likely_real" or "decoy", and the group's evidence for it.
	DecoyRole     string   `json:"decoy_role,omitempty"`
	DecoyEvidence []string `json:"decoy_evidence,omitempty"`
	// Its protocol probes' IP protocol numbers (nmap -sO), by outcome:
	// open (an answer in the protocol), closed (ICMP protocol
	// unreachable); the others went unanswered or were filtered.
	DistinctProtocols int   `json:"distinct_protocols,omitempty"`
	Protocols         []int `json:"protocols,omitempty"`
	OpenProtocols     []int `json:"open_protocols,omitempty"`
	ClosedProtocols   []int `json:"closed_protocols,omitempty"`

	// BannerGrabs counts the open ports whose handshake the source's own
	// stack completed after a raw SYN probe (masscan --banners): use
	// following the scan, listed in used_ports.
	BannerGrabs int `json:"banner_grabs,omitempty"`
	// Monitoring is set when the source polls a fixed set of services on
	// a schedule: those polls are no probes (see Monitoring).
	Monitoring *Monitoring `json:"monitoring,omitempty"`
}

// EpisodeInfo is one idle-gap-separated scan episode.
type EpisodeInfo struct {
	Start         Time     `json:"start"`
	End           Time     `json:"end"`
	Probes        int      `json:"probes"`
	RatePPS       *float64 `json:"rate_pps"` // null with one timestamp
	PeakPPS       float64  `json:"peak_pps"` // most probes within any one second
	DistinctPorts int      `json:"distinct_ports"`
	DistinctHosts int      `json:"distinct_hosts"`
	Qualifies     bool     `json:"qualifies"` // meets the default listing rule on its own
}

// DetailTarget is one host a source probed.
type DetailTarget struct {
	IP             netip.Addr `json:"ip"`
	Probes         int        `json:"probes"`
	Ports          []int      `json:"ports"`
	PortsTruncated bool       `json:"ports_truncated"`
	OpenPorts      []int      `json:"open_ports"` // capped like Ports
	// OpenPortsTruncated: open_ports was cut at MaxDetailList.
	OpenPortsTruncated bool `json:"open_ports_truncated,omitempty"`
}

// Outcomes counts a source's probes by what came back.
type Outcomes struct {
	Open       int `json:"open"`
	Closed     int `json:"closed"`
	Filtered   int `json:"filtered"`
	Unfiltered int `json:"unfiltered"` // ACK probes answered by RST
	Unanswered int `json:"unanswered"` // open|filtered for stealth and UDP probes
}

// ProbeEvent is one probe, or the answer to one.
type ProbeEvent struct {
	TS        Time       `json:"ts"`
	Frame     uint64     `json:"frame"`
	Src       netip.Addr `json:"src"`
	Dst       netip.Addr `json:"dst"`
	Port      uint16     `json:"port"`
	Proto     string     `json:"proto"`
	Flags     *string    `json:"flags,omitempty"`
	Technique string     `json:"technique"`
	Outcome   string     `json:"outcome"`
	IPProto   *int       `json:"ip_proto,omitempty"` // a protocol probe's IP protocol (its port is 0)
	// Answer is set on an answer (first_answer, first_open): src is the
	// target, dst the scanner, proto and flags (or icmp_type and
	// icmp_code) the answer's; port, technique and outcome the probe's.
	Answer   bool `json:"answer,omitempty"`
	ICMPType *int `json:"icmp_type,omitempty"`
	ICMPCode *int `json:"icmp_code,omitempty"`
	// Relayed: an ICMP error about the probe sent by another host than
	// the target (a router or firewall on the path), whose address is not
	// kept; src is the target it was about.
	Relayed bool `json:"relayed,omitempty"`
}

// TRWInfo is the sequential hypothesis test's result (Jung et al. 2004:
// θ0 = 0.8, θ1 = 0.2, P_D = 0.99, P_F = 0.01, deciding at ±4 net failures).
type TRWInfo struct {
	Ran       bool   `json:"ran"`      // false without return traffic
	Decision  string `json:"decision"` // scanner, benign or pending
	Score     int    `json:"score"`    // first-contact failures minus successes
	MaxScore  int    `json:"max_score"`
	DecidedAt *Time  `json:"decided_at"`
}

// Detail returns everything known about ip as a source; false when it
// sent nothing in the capture.
func (an *Analysis) Detail(ip netip.Addr) (*Detail, bool) {
	ip = ip.Unmap()
	r := an.source(ip)
	if r == nil || r.pkts == 0 {
		return nil, false
	}
	used := usedLater(r)
	d := &Detail{IP: ip, Reasons: []string{}, Techniques: an.sourceTechniques(r), FlagsSeen: nonNil(flagsSeen(r)),
		FlagStats: map[string]int{}, Pkts: r.pkts, ProbePkts: r.probePkts, Probes: len(r.probes),
		DistinctPorts: int(r.ports), DistinctHosts: int(r.hosts), FirstSeen: an.time(r.firstTS), LastSeen: an.time(r.lastTS),
		Episodes: []EpisodeInfo{}, Targets: []DetailTarget{},
		FollowedByUse: len(used) > 0, SuccessfulConnections: len(r.succTS),
		BackscatterPkts: r.backscatter, NoReturnTraffic: r.answered == 0 && len(r.probes) > 0, Tool: r.tool,
		BannerGrabs: int(r.bannerGrabs), Monitoring: r.monitor,
		Outcomes: Outcomes{Open: int(r.out[outOpen]), Closed: int(r.out[outClosed]), Filtered: int(r.out[outFiltered]),
			Unfiltered: int(r.out[outUnfiltered]), Unanswered: int(r.out[outUnanswered])},
	}
	d.UsedPorts, d.UsedPortsTruncated = capList(used, MaxDetailList)
	d.FragmentedProbes, d.FragmentEvasion = fragProbes(r)
	for c := clsSYN; c < numClasses; c++ {
		if r.classes[c] > 0 {
			d.FlagStats[classNames[c]] = int(r.classes[c])
		}
	}
	if v := an.defaults.of(an, r); v != nil {
		d.Suspect, d.Confidence, d.Reasons = true, v.confidence, v.reasons.names()
		k := v.kind
		d.Kind = &k
		det := an.time(v.detNS)
		d.DetectedAt = &det
		if v.group >= 0 {
			d.DistributedTarget = an.addrAt(v.group).String()
		}
	}
	th, allow := DefaultThresholds(), allowed(r)
	d.EpisodesTotal = len(r.episodes)
	for ei := range r.episodes {
		e := &r.episodes[ei]
		_, _, qualifies := e.qualifies(r, th, allow)
		rate, ok := e.rate()
		if qualifies {
			d.EpisodesQualifying++
		}
		if ei >= MaxDetailEpisodes {
			d.EpisodesTruncated = true
			continue
		}
		ports, hosts := map[uint16]bool{}, map[int32]bool{}
		for k := e.first; k <= e.last; k++ {
			t := &r.probes[k]
			hosts[t.dst] = true
			if t.class.hasPort() {
				ports[t.port] = true
			}
		}
		info := EpisodeInfo{Start: an.time(e.start), End: an.time(e.end), Probes: int(e.probes), PeakPPS: float64(e.peak),
			DistinctPorts: len(ports), DistinctHosts: len(hosts), Qualifies: qualifies}
		if ok {
			x := roundSig(rate)
			info.RatePPS = &x
		}
		d.Episodes = append(d.Episodes, info)
	}
	si := an.srcOf[r.ai]
	l := an.proberLink(si)
	if l != nil && len(r.probes) == 0 {
		// An idle scan's prober sent no probe of its own: the scan it ran
		// is the SYNs its zombie's address carried, as its listing says.
		z := &an.sources[l.zombie]
		d.Probes, d.DistinctPorts, d.DistinctHosts = len(z.probes), int(z.ports), int(z.hosts)
		d.Outcomes = Outcomes{Open: int(z.out[outOpen]), Closed: int(z.out[outClosed]), Filtered: int(z.out[outFiltered]),
			Unfiltered: int(z.out[outUnfiltered]), Unanswered: int(z.out[outUnanswered])}
		an.detailTargets(d, z)
		d.FirstProbe = an.event(r, &l.probe, l.probe.firstTS, l.probe.frame) // its first IP ID probe, as first_scan_event
	} else {
		an.detailTargets(d, r)
	}
	if l != nil {
		d.IdleScan = an.idleScan(l)
	}
	_, d.IdleScanBy = an.idleNames(si)
	if role, g := an.decoyRole(si); g != nil {
		d.DecoyRole, d.DecoyEvidence = role, g.evidence
	}
	if r.protos > 0 {
		d.DistinctProtocols = int(r.protos)
		d.Protocols, d.OpenProtocols, d.ClosedProtocols = protocols(r)
	}
	d.TRW = TRWInfo{Ran: r.trw.Ran, Decision: "pending", Score: int(r.trw.Score), MaxScore: int(r.trw.MaxScore)}
	switch {
	case r.trw.Scanner:
		d.TRW.Decision = "scanner"
		at := an.time(r.trw.AtNS)
		d.TRW.DecidedAt = &at
	case r.trw.Benign:
		d.TRW.Decision = "benign"
	}
	return d, true
}

// detailTargets fills the per-host lists, the ports and the first events.
func (an *Analysis) detailTargets(d *Detail, r *srcResult) {
	type agg struct {
		probes int
		ports  []int
		open   []int
	}
	hosts := map[int32]*agg{}
	ports := map[uint16]bool{}
	var unanswered []int
	var firstAns, firstOpen answered
	for i := range r.probes {
		t := &r.probes[i]
		h := hosts[t.dst]
		if h == nil {
			h = &agg{}
			hosts[t.dst] = h
		}
		h.probes++
		o := outcome(t)
		if t.class.hasPort() {
			h.ports = append(h.ports, int(t.port))
			ports[t.port] = true
			if o == outOpen {
				h.open = append(h.open, int(t.port))
			}
			if t.state&stAnswered == 0 {
				unanswered = append(unanswered, int(t.port))
			}
		}
		if a := an.firstAnswer(t); a != nil {
			if firstAns.t == nil || earlier(a, firstAns.a) {
				firstAns = answered{t, a}
			}
			if o == outOpen && (firstOpen.t == nil || earlier(a, firstOpen.a)) {
				firstOpen = answered{t, a}
			}
		}
	}
	var addrs []int32 // address indexes: sorted as the addresses
	for a := range hosts {
		addrs = append(addrs, a)
	}
	slices.Sort(addrs)
	d.TargetsTotal = len(addrs)
	for i, a := range addrs {
		if i == MaxDetailList {
			d.TargetsTruncated = true
			break
		}
		h := hosts[a]
		slices.Sort(h.ports)
		h.ports = slices.Compact(h.ports)
		slices.Sort(h.open)
		h.open = slices.Compact(h.open)
		dt := DetailTarget{IP: an.addrAt(a), Probes: h.probes}
		dt.Ports, dt.PortsTruncated = capList(h.ports, MaxDetailList)
		dt.OpenPorts, dt.OpenPortsTruncated = capList(h.open, MaxDetailList)
		d.Targets = append(d.Targets, dt)
	}
	all := make([]int, 0, len(ports))
	for p := range ports {
		all = append(all, int(p))
	}
	slices.Sort(all)
	d.PortsTotal = len(all)
	d.Ports, d.PortsTruncated = capList(all, MaxDetailList)
	d.OpenPorts, d.OpenPortsTruncated = capList(openPorts(r), MaxDetailList)
	slices.Sort(unanswered)
	unanswered = slices.Compact(unanswered)
	d.UnansweredPorts, d.UnansweredPortsTruncated = capList(unanswered, MaxDetailList)
	if len(r.probes) > 0 {
		t := &r.probes[0]
		d.FirstProbe = an.event(r, t, t.firstTS, t.frame)
	}
	if firstAns.t != nil {
		d.FirstAnswer = an.answerEvent(r, firstAns.t, firstAns.a)
	}
	if firstOpen.t != nil {
		d.FirstOpen = an.answerEvent(r, firstOpen.t, firstOpen.a)
	}
}

// answered is a probe and its first answer.
type answered struct {
	t *target
	a *answerRec
}

// earlier reports whether answer a came before b, by time, then frame.
func earlier(a, b *answerRec) bool {
	return a.ts < b.ts || a.ts == b.ts && a.frame < b.frame
}

func (an *Analysis) event(r *srcResult, t *target, ts int64, frame uint64) *ProbeEvent {
	e := &ProbeEvent{TS: an.time(ts), Frame: frame, Src: an.addrAt(r.ai), Dst: an.addrAt(t.dst), Port: t.port, Proto: protoName(t.proto),
		Technique: technique(r, t), Outcome: outcomeName(outcome(t))}
	e.Flags = probeFlags(t)
	if t.class == clsPROTO {
		n := int(t.proto)
		e.IPProto = &n
	}
	return e
}
