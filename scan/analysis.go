package scan

import (
	"cmp"
	"net/netip"
	"slices"
	"sort"
)

// Outcomes of a probe, from the responses in the capture (DETECTION.md §1).
const (
	outUnanswered uint8 = iota // nothing came back (open|filtered for stealth and UDP probes)
	outOpen                    // SYN/ACK, completed handshake, UDP reply, echo reply
	outClosed                  // RST; ICMP port unreachable from the target for UDP
	outFiltered                // ICMP unreachable or time exceeded
	outUnfiltered              // RST to an ACK probe (nmap -sA)
)

// outcome is what the capture says about probe t.
func outcome(t *target) uint8 {
	s := t.state
	switch t.class {
	case clsSYN:
		switch {
		case s&stSynAck != 0:
			return outOpen
		case s&stRST != 0:
			return outClosed
		}
	case clsACK:
		if s&stRST != 0 {
			return outUnfiltered
		}
	case clsUDP:
		switch {
		case s&stUDPReply != 0:
			return outOpen
		case s&stICMPClosed != 0:
			return outClosed
		}
	case clsICMP:
		if s&stICMPReply != 0 {
			return outOpen
		}
	default: // FIN, NULL, Xmas, Maimon, illegal flags: silence is open|filtered
		if s&stRST != 0 {
			return outClosed
		}
	}
	if s&(stICMPFiltered|stICMPClosed) != 0 {
		return outFiltered
	}
	return outUnanswered
}

// role sorts a target: a probe, a successful connection (TRW success, not
// scanning), or neither (midstream traffic).
type role uint8

const (
	roleNone role = iota
	roleProbe
	roleSuccess
)

func roleOf(t *target) role {
	switch t.class {
	case clsNone:
		return roleNone
	case clsSYN:
		if t.state&stData != 0 {
			return roleSuccess // handshake and data: a connection, not a probe
		}
	case clsACK, clsMAIMON:
		// A bare ACK or FIN+ACK is a probe only on a flow never seen
		// before that elicits RST or nothing (DETECTION.md §6.16).
		if t.state&(stData|stLaterData|stSynAck|stAckReply|stUDPReply|stMidstream) != 0 {
			return roleNone
		}
	}
	return roleProbe
}

// counted reports whether probe t counts toward the thresholds: answered
// UDP is client traffic (DNS, NTP, QUIC), not scanning (DETECTION.md
// §6.11), and a probe that expired in transit (ICMP time exceeded) is a
// traceroute hop, whose port only numbers the hop.
func counted(t *target) bool {
	return !(t.class == clsUDP && t.state&stUDPReply != 0) && t.state&stTTLExceeded == 0
}

// trwFailure reports whether a first contact failed in the TRW sense:
// no connection and no positive answer.
func trwFailure(t *target) bool {
	return outcome(t) != outOpen && roleOf(t) != roleSuccess
}

// episode is one idle-gap-separated run of a source's probes.
type episode struct {
	first, last int   // indexes into srcResult.probes, inclusive
	start, end  int64 // first and last probe timestamps
	probes      int
	peak        int // most probes within any 1-second window
	successes   int // successful connections that began within [start, end]

	// Counts over counted probes, as distinct (host, port) pairs.
	maxPorts int // distinct ports on the busiest host
	maxHosts int // distinct hosts on the busiest port
	targets  int
	stealth  int
	counted  int
}

// rate is probes per second over the episode, ok false when the episode
// has a single timestamp (rate_pps null).
func (e *episode) rate() (float64, bool) {
	d := e.end - e.start
	if d <= 0 {
		return 0, false
	}
	return float64(e.probes) / (float64(d) / 1e9), true
}

// trwResult is the sequential hypothesis test over a source's first contacts.
type trwResult struct {
	Ran      bool  // the capture had return traffic, so outcomes mean something
	Scanner  bool  // failures minus successes reached +trwBound
	Benign   bool  // reached -trwBound before ever reaching +trwBound
	Score    int   // final failures minus successes
	MaxScore int   // highest running score
	AtNS     int64 // when the scanner decision was reached
	AtFrame  uint64
}

// hp is one (host, port) pair; icmp keeps ICMP request types apart from ports.
type hp struct {
	dst  netip.Addr
	port uint16
	icmp bool
}

func hpOf(t *target) hp {
	return hp{t.dst, t.port, t.class == clsICMP}
}

// srcResult is everything derived about one source.
type srcResult struct {
	addr        netip.Addr
	pkts        uint64
	firstTS     int64
	lastTS      int64
	backscatter uint64
	probes      []target // real probes, by (first timestamp, frame)
	succTS      []int64  // starts of successful connections, sorted
	usedLater   []int    // ports found open and later used with data
	episodes    []episode
	trw         trwResult
	classes     [numClasses]int
	probePkts   uint64
	connect     bool // SYN probes were connect() calls (handshake completed, no data)
	window      bool // ACK probes drew RSTs with differing windows (nmap -sW)
	techniques  []string
	flagsSeen   []string
	ports       int
	hosts       int
	openPorts   []int
	out         [outUnfiltered + 1]int
	answered    int
	tool        *Tool
}

// Analysis is the frozen result of one capture. Its methods are safe for
// concurrent use.
type Analysis struct {
	stats    CaptureStats
	prec     uint8
	idleGap  int64
	sources  []*srcResult // by address
	bySrc    map[netip.Addr]*srcResult
	byHost   map[netip.Addr][]*srcResult // target host → sources that probed it, by address
	hosts    []netip.Addr                // keys of byHost, sorted
	known    map[netip.Addr]struct{}     // every address that appeared
	defaults *verdicts                   // listing under DefaultThresholds, computed once
	decoys   []DecoyGroup
	decoyOf  map[netip.Addr][]netip.Addr // source → the other sources of its decoy groups
}

// Finish freezes the aggregator into an Analysis. The aggregator must not
// be used afterwards.
func (a *Aggregator) Finish() *Analysis {
	an := &Analysis{
		stats:   a.st,
		prec:    a.prec,
		idleGap: a.cfg.IdleGapNS,
		bySrc:   make(map[netip.Addr]*srcResult, len(a.srcs)),
		byHost:  make(map[netip.Addr][]*srcResult),
		known:   make(map[netip.Addr]struct{}, len(a.addrs)),
	}
	if an.stats.TotalPackets == 0 {
		an.prec = 6
	}
	st := &an.stats
	st.Digits = an.prec
	if a.havePrev {
		first, last := Time{st.firstNS, an.prec}, Time{st.lastNS, an.prec}
		st.FirstTS, st.LastTS = &first, &last
		st.DurationS = float64(st.lastNS-st.firstNS) / 1e9
	}
	st.HasReturnTraffic = a.returned
	st.NoReturnTraffic = !a.returned && len(a.tgts) > 0
	st.Sources = len(a.srcs)
	st.Targets = len(a.tgts)
	st.MemoryBudgetBytes = a.cfg.MemoryBudgetBytes

	// Group targets by source (counting sort keeps it linear).
	start := make([]int32, len(a.srcs)+1)
	for i := range a.tgts {
		start[a.tgts[i].src+1]++
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	order := make([]int32, len(a.tgts))
	fill := slices.Clone(start[:len(a.srcs)])
	for i := range a.tgts {
		s := a.tgts[i].src
		order[fill[s]] = int32(i)
		fill[s]++
	}
	for si := range a.srcs {
		var tg []target
		for _, ti := range order[start[si]:start[si+1]] {
			tg = append(tg, a.tgts[ti])
		}
		r := a.buildSource(&a.srcs[si], tg)
		an.sources = append(an.sources, r)
		an.bySrc[r.addr] = r
	}
	slices.SortFunc(an.sources, func(x, y *srcResult) int { return x.addr.Compare(y.addr) })
	for _, r := range an.sources {
		var last netip.Addr
		hosts := make(map[netip.Addr]bool)
		for i := range r.probes {
			d := r.probes[i].dst
			if d == last || hosts[d] {
				continue
			}
			hosts[d], last = true, d
			an.byHost[d] = append(an.byHost[d], r)
		}
	}
	for h := range an.byHost {
		an.hosts = append(an.hosts, h)
	}
	slices.SortFunc(an.hosts, netip.Addr.Compare)
	for _, x := range a.addrs {
		an.known[x] = struct{}{}
	}
	// Release the aggregator's tables: the analysis holds copies.
	a.ids4, a.ids6, a.addrs, a.srcOf, a.tgtIdx, a.srcs, a.tgts = nil, nil, nil, nil, nil, nil, nil
	an.decoys = findDecoys(an.sources)
	an.decoyOf = make(map[netip.Addr][]netip.Addr)
	for _, g := range an.decoys {
		for _, s := range g.Sources {
			for _, o := range g.Sources {
				if o != s && !slices.Contains(an.decoyOf[s], o) {
					an.decoyOf[s] = append(an.decoyOf[s], o)
				}
			}
		}
	}
	for _, peers := range an.decoyOf {
		slices.SortFunc(peers, netip.Addr.Compare)
	}
	an.defaults = an.judge(DefaultThresholds())
	return an
}

// buildSource derives a source's result from its targets.
func (a *Aggregator) buildSource(s *source, tg []target) *srcResult {
	r := &srcResult{addr: s.addr, pkts: s.pkts, firstTS: s.firstTS, lastTS: s.lastTS, backscatter: s.backscatter}
	r.trw.Ran = a.returned
	if len(tg) == 0 {
		return r // only answered others: nothing to derive
	}
	slices.SortFunc(tg, func(x, y target) int {
		if c := cmp.Compare(x.firstTS, y.firstTS); c != 0 {
			return c
		}
		return cmp.Compare(x.frame, y.frame)
	})
	// TRW over first contacts in time order (Jung et al. 2004), only when
	// the capture carries answers: without them every contact would look
	// failed. Bare ACK and FIN+ACK contacts are left out, being too easily
	// midstream traffic.
	openSeen := make(map[uint16]bool)
	halfOpen, connected := 0, 0
	rstWin := [2]bool{}
	ports := make(map[uint16]bool)
	hosts := make(map[netip.Addr]bool)
	for i := range tg {
		t := &tg[i]
		rl := roleOf(t)
		if a.returned && rl != roleNone && t.class != clsACK && t.class != clsMAIMON {
			if trwFailure(t) {
				r.trw.Score++
			} else {
				r.trw.Score--
			}
			r.trw.MaxScore = max(r.trw.MaxScore, r.trw.Score)
			if !r.trw.Scanner && !r.trw.Benign {
				if r.trw.Score >= trwBound {
					r.trw.Scanner, r.trw.AtNS, r.trw.AtFrame = true, t.firstTS, t.frame
				} else if r.trw.Score <= -trwBound {
					r.trw.Benign = true
				}
			}
		}
		switch rl {
		case roleSuccess:
			r.succTS = append(r.succTS, t.firstTS)
			continue
		case roleNone:
			continue
		}
		r.probes = append(r.probes, *t)
		r.classes[t.class]++
		r.probePkts += uint64(t.pkts)
		o := outcome(t)
		r.out[o]++
		if t.state&stAnswered != 0 {
			r.answered++
		}
		if t.class != clsICMP {
			ports[t.port] = true
		}
		hosts[t.dst] = true
		if o == outOpen && t.class != clsICMP {
			openSeen[t.port] = true
			if t.state&stLaterData != 0 {
				r.usedLater = append(r.usedLater, int(t.port))
			}
		}
		if t.class == clsSYN && t.state&stSynAck != 0 {
			if t.state&stClientAck != 0 {
				connected++
			} else {
				halfOpen++
			}
		}
		if t.class == clsACK && t.state&stRST != 0 {
			rstWin[boolIdx(t.state&stRSTWin != 0)] = true
		}
	}
	slices.Sort(r.succTS)
	r.ports, r.hosts = len(ports), len(hosts)
	for k := range openSeen {
		r.openPorts = append(r.openPorts, int(k))
	}
	slices.Sort(r.openPorts)
	slices.Sort(r.usedLater)
	r.usedLater = slices.Compact(r.usedLater)
	r.connect = connected > 0 && connected >= halfOpen
	r.window = rstWin[0] && rstWin[1]
	r.techniques = techniques(r)
	for c := clsSYN; c < numClasses; c++ {
		if r.classes[c] > 0 {
			r.flagsSeen = append(r.flagsSeen, classNames[c])
		}
	}
	r.episodes = episodes(r, a.cfg.IdleGapNS)
	r.tool = s.fp.tool(len(r.probes))
	return r
}

func boolIdx(b bool) int {
	if b {
		return 1
	}
	return 0
}

// techniques names the scan techniques of r's probes, sorted.
func techniques(r *srcResult) []string {
	var out []string
	add := func(c class, name string) {
		if r.classes[c] > 0 {
			out = append(out, name)
		}
	}
	if r.connect {
		add(clsSYN, "connect_scan")
	} else {
		add(clsSYN, "syn_scan")
	}
	add(clsFIN, "fin_scan")
	add(clsNULL, "null_scan")
	add(clsXMAS, "xmas_scan")
	add(clsMAIMON, "maimon_scan")
	add(clsACK, "ack_scan")
	if r.window {
		out = append(out, "window_scan")
	}
	add(clsOTHER, "illegal_flags_scan")
	add(clsUDP, "udp_scan")
	add(clsICMP, "ping_sweep")
	sort.Strings(out)
	return out
}

// episodes splits r's probes at idle gaps longer than gap and counts each.
func episodes(r *srcResult, gap int64) []episode {
	var eps []episode
	for i := 0; i < len(r.probes); {
		j := i
		for j+1 < len(r.probes) && r.probes[j+1].firstTS-r.probes[j].firstTS <= gap {
			j++
		}
		eps = append(eps, countEpisode(r, i, j))
		i = j + 1
	}
	return eps
}

// countEpisode computes the figures of probes[i..j].
func countEpisode(r *srcResult, i, j int) episode {
	e := episode{first: i, last: j, start: r.probes[i].firstTS, end: r.probes[j].firstTS, probes: j - i + 1}
	var c counter
	c.init()
	lo := i
	for k := i; k <= j; k++ {
		t := &r.probes[k]
		for t.firstTS-r.probes[lo].firstTS >= 1e9 {
			lo++
		}
		e.peak = max(e.peak, k-lo+1)
		c.add(t)
	}
	e.maxPorts, e.maxHosts, e.targets, e.stealth, e.counted = c.maxPorts, c.maxHosts, len(c.pairs), c.stealth, c.n
	lo2, _ := slices.BinarySearch(r.succTS, e.start)
	hi2, _ := slices.BinarySearch(r.succTS, e.end+1)
	e.successes = hi2 - lo2
	return e
}

// counter counts distinct (host, port) pairs of counted probes
// incrementally, so the probe that crosses a threshold can be found.
type counter struct {
	pairs    map[hp]bool
	stealthP map[hp]bool
	perHost  map[netip.Addr]int
	perPort  map[hp]int // host field zero: the port (and whether ICMP)
	maxPorts int
	maxHosts int
	stealth  int
	n        int
}

func (c *counter) init() {
	c.pairs = make(map[hp]bool)
	c.stealthP = make(map[hp]bool)
	c.perHost = make(map[netip.Addr]int)
	c.perPort = make(map[hp]int)
}

func (c *counter) add(t *target) {
	if !counted(t) {
		return
	}
	c.n++
	k := hpOf(t)
	if t.class.stealth() && !c.stealthP[k] {
		c.stealthP[k] = true
		c.stealth++
	}
	if c.pairs[k] {
		return
	}
	c.pairs[k] = true
	if !k.icmp {
		c.perHost[k.dst]++
		c.maxPorts = max(c.maxPorts, c.perHost[k.dst])
	}
	pk := hp{port: k.port, icmp: k.icmp}
	c.perPort[pk]++
	c.maxHosts = max(c.maxHosts, c.perPort[pk])
}

// meets reports whether the counts reach th, and names the rule.
func (c *counter) meets(th Thresholds) (string, bool) {
	switch {
	case c.maxPorts >= th.MinPorts:
		return "ports_on_host", true
	case c.maxHosts >= th.MinHosts:
		return "hosts_on_port", true
	case len(c.pairs) >= th.MinTargets:
		return "targets", true
	case c.stealth >= th.MinStealthTargets:
		return "stealth_targets", true
	}
	return "", false
}

// meets reports whether episode e's counts reach th.
func (e *episode) meets(th Thresholds) bool {
	return e.maxPorts >= th.MinPorts || e.maxHosts >= th.MinHosts || e.targets >= th.MinTargets || e.stealth >= th.MinStealthTargets
}

// shape labels a source by its distinct ports and hosts (DETECTION.md
// §6.12, after bro-simple-scan's analyze_unique_hostports).
func shape(ports, hosts int) string {
	switch {
	case ports <= 1:
		return "horizontal"
	case hosts == 1:
		return "vertical"
	case ports <= 5:
		return "horizontal"
	case hosts <= 5:
		return "vertical"
	}
	return "block"
}
