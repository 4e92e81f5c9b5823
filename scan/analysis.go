package scan

import (
	"cmp"
	"context"
	"net/netip"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"sync"
)

// collectAfterTargets is the number of targets (about 18 MiB of them)
// from which Finish has the garbage collector reclaim the aggregator's
// tables before building the analysis.
const collectAfterTargets = 1 << 18

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
	case clsPROTO:
		return protoOutcome(t)
	case clsSYN, clsINIT:
		switch {
		case s&stSynAck != 0:
			return outOpen // SYN/ACK, or INIT ACK
		case s&stRST != 0:
			return outClosed // RST, or ABORT
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
// scanning), or neither (midstream traffic, a monitoring host's polls).
type role uint8

const (
	roleNone role = iota
	roleProbe
	roleSuccess
)

func roleOf(t *target) role {
	if t.marks&tmPolled != 0 {
		// Monitoring: a connection if it was one, else no probe either.
		if t.class == clsSYN && connection(t) {
			return roleSuccess
		}
		return roleNone
	}
	switch t.class {
	case clsNone:
		return roleNone
	case clsSYN:
		if connection(t) {
			return roleSuccess // a connection, not a probe
		}
	case clsINIT:
		if association(t) {
			return roleSuccess // an SCTP association, not a probe (sctp.go)
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

// handshakeDone reports whether SYN target t's source completed the
// handshake the target answered: its ACK, or data (which carries one).
func handshakeDone(t *target) bool {
	return t.state&stSynAck != 0 && t.state&(stClientAck|stData) != 0
}

// connection reports whether SYN target t became a connection: the
// target's SYN/ACK and the source's completion of the handshake, not
// aborted the way a connect() scanner aborts it (nmap -sT: ACK then RST,
// no data, no FIN; DETECTION.md §1). Payload in the SYN itself never
// counts. A SYN no operating system sends (tmRaw) opens no connection
// whatever follows: masscan --banners completes handshakes from its own
// stack to read banners after its SYN scan. When the target never
// answered in the capture (one direction of an asymmetric route), the
// source's data, which only an established connection sends, stands for
// the handshake.
func connection(t *target) bool {
	s := t.state
	switch {
	case t.marks&tmRaw != 0:
		return false
	case s&stSynAck != 0:
		return handshakeDone(t) && !connectAbort(t)
	case s&stAnswered == 0:
		return s&stData != 0
	}
	return false
}

// connectAbort reports whether the source reset a completed handshake
// with nothing exchanged and no graceful close: a connect() scan probe.
func connectAbort(t *target) bool {
	return t.state&stClientRST != 0 && t.state&stData == 0 && t.flow&tfClientFIN == 0
}

// halfOpen reports whether SYN probe t found the port open and the source
// did not take the connection (the scanner's kernel reset the SYN/ACK, or
// its own stack completed it to grab a banner): only raw-packet scanners
// do that. Likewise an SCTP INIT whose INIT ACK the source did not follow
// with its COOKIE ECHO (nmap -sY: its kernel aborts, or stays silent).
func halfOpen(t *target) bool {
	return (t.class == clsSYN || t.class == clsINIT) && t.state&stSynAck != 0 && (t.marks&tmRaw != 0 || !handshakeDone(t))
}

// counted reports whether probe t counts toward the thresholds: answered
// UDP is client traffic (DNS, NTP, QUIC), not scanning (DETECTION.md
// §6.11); and a probe that expired in transit (ICMP time exceeded) is a
// traceroute hop, whose port only numbers the hop. An answered ICMP
// request counts: host discovery is a scan whatever the replies
// (DETECTION.md §6.10); a monitoring host's pings are no probes at all
// (roleOf).
func counted(t *target) bool {
	if t.class == clsUDP && t.state&stUDPReply != 0 {
		return false
	}
	return t.state&stTTLExceeded == 0
}

// trwFailure reports whether a first contact failed in the TRW sense:
// no connection and no positive answer.
func trwFailure(t *target) bool {
	return outcome(t) != outOpen && roleOf(t) != roleSuccess
}

// episode is one idle-gap-separated run of a source's probes.
type episode struct {
	start, end  int64 // first and last probe timestamps
	first, last int32 // indexes into srcResult.probes, inclusive
	probes      int32
	peak        int32 // most probes within any 1-second window
	successes   int32 // successful connections that began within [start, end]

	// Counts over counted probes, as distinct (host, port) pairs.
	maxPorts int32 // distinct ports on the busiest host
	maxHosts int32 // distinct hosts on the busiest port
	targets  int32
	stealth  int32
	counted  int32
	sweep    int32 // distinct hosts of host discovery probes (ICMP requests, tmDiscovery)
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
	AtNS     int64 // when the scanner decision was reached
	AtFrame  uint64
	Score    int32 // final failures minus successes
	MaxScore int32 // highest running score
	Ran      bool  // the capture had return traffic, so outcomes mean something
	Scanner  bool  // failures minus successes reached +trwBound
	Benign   bool  // reached -trwBound before ever reaching +trwBound
}

// hp is one (host, port) pair of a source: host is an address index;
// space keeps ICMP request types and IP protocol numbers apart from ports.
type hp struct {
	dst   int32
	port  uint16
	space uint8
}

// Key spaces of hp.
const (
	spacePort  uint8 = iota // a TCP or UDP port
	spaceICMP               // an ICMP request type
	spaceProto              // an IP protocol number (a protocol probe)
)

func hpOf(t *target) hp {
	switch t.class {
	case clsICMP:
		return hp{t.dst, t.port, spaceICMP}
	case clsPROTO:
		return hp{t.dst, uint16(t.proto), spaceProto}
	}
	return hp{t.dst, t.port, spacePort}
}

// srcResult is everything derived about one source. Its slices are parts
// of arrays shared by all sources (one allocation each, not one per
// source); what views need only for listed sources (open ports,
// technique names) is derived from the probes when asked.
type srcResult struct {
	ai          int32 // address index (sources are in address order: ai grows with the index)
	counted     int32 // probes that count toward the thresholds
	pkts        uint64
	firstTS     int64
	lastTS      int64
	backscatter uint64
	probePkts   uint64
	probes      []target  // real probes, by (first timestamp, frame)
	succTS      []int64   // starts of successful connections, sorted
	episodes    []episode // idle-gap-separated runs of probes
	tool        *Tool
	trw         trwResult
	classes     [numClasses]int32
	out         [outUnfiltered + 1]int32
	answered    int32
	ports       int32 // distinct ports probed (ICMP and protocol probes aside)
	hosts       int32 // distinct hosts probed
	connect     bool  // SYN probes were connect() calls (handshake completed, no data)
	window      bool  // ACK probes drew RSTs with differing windows (nmap -sW)
	protos      int32 // distinct IP protocols of its protocol probes (nmap -sO)

	discSYN, discACK int32       // SYN and ACK probes that were host discovery (tmDiscovery)
	bannerGrabs      int32       // raw SYN probes whose handshake the source's own stack completed
	monitor          *Monitoring // the services it polls on a schedule; nil if none
	failsDominate    bool        // its failed first contacts outnumber its connections (see trwGuard)
}

// spread is how many distinct things r probed on its hosts, ports and
// protocols alike, for its shape: a sweep of 250 protocols on one host is
// as vertical as a sweep of 250 ports.
func (r *srcResult) spread() int { return int(r.ports) + int(r.protos) }

// Analysis is the frozen result of one capture. Its methods are safe for
// concurrent use.
type Analysis struct {
	stats        CaptureStats
	prec         uint8
	idleGap      int64
	addrs        []ipAddr    // every address that appeared, sorted as netip.Addr.Compare sorts
	srcOf        []int32     // by address index: index into sources, -1 for an address that sent nothing
	sources      []srcResult // by address
	hostOff      []int32     // by address index h: hostSrc[hostOff[h]:hostOff[h+1]] probed h
	hostSrc      []int32     // source indexes, ascending (by address) within each host
	hosts        []int32     // address indexes of the hosts probed, ascending
	defaults     *verdicts   // listing under DefaultThresholds, computed once
	decoys       []decoySet  // in order of their first member
	decoyOf      []int32     // by source index: index into decoys, -1 for none; nil when there are none
	idle         []idleLink  // idle scans, by prober then zombie (idle.go)
	idleByZombie []int32     // indexes into idle, by zombie then prober
	workers      int         // goroutines a search over every source or host may use
	heavy        *SourceSet  // see HeaviestSources
}

// HeaviestSources is, when the source budget made the first reading refuse
// a sender that outweighs a tracked source, the senders with the most
// packets in the whole capture, as many as the budget tracks: read the
// capture again with Config.Admit set to it to track them exactly. Nil
// when the sources tracked are already the heaviest (or no sender was
// refused).
func (an *Analysis) HeaviestSources() *SourceSet { return an.heavy }

// addrAt is the address with index i.
func (an *Analysis) addrAt(i int32) netip.Addr { return an.addrs[i].addr() }

// indexOf returns the index of address x; false if it never appeared.
func (an *Analysis) indexOf(x netip.Addr) (int32, bool) {
	if !x.IsValid() || x.Zone() != "" {
		return 0, false
	}
	k := ipOf(x)
	i, ok := slices.BinarySearchFunc(an.addrs, k, func(e, k ipAddr) int {
		switch {
		case e.less(k):
			return -1
		case k.less(e):
			return 1
		}
		return 0
	})
	return int32(i), ok
}

// source returns the result of address x as a source, or nil.
func (an *Analysis) source(x netip.Addr) *srcResult {
	i, ok := an.indexOf(x)
	if !ok || an.srcOf[i] < 0 {
		return nil
	}
	return &an.sources[an.srcOf[i]]
}

// probedBy returns the indexes of the sources that probed address index h.
func (an *Analysis) probedBy(h int32) []int32 {
	return an.hostSrc[an.hostOff[h]:an.hostOff[h+1]]
}

// Finish freezes the aggregator into an Analysis. The aggregator must not
// be used afterwards.
func (a *Aggregator) Finish() *Analysis {
	an, _ := a.FinishContext(context.Background()) // fails only when ctx ends
	return an
}

// FinishContext is Finish, stopped with ctx's error within about a
// millisecond of work once ctx ends: every stage that grows with the
// capture looks at it (pollEvery). The aggregator must not be used
// afterwards, whatever it returns.
func (a *Aggregator) FinishContext(ctx context.Context) (*Analysis, error) {
	a.Close()
	p := newPoll(ctx)
	an := &Analysis{stats: a.st, prec: a.prec, idleGap: a.cfg.IdleGapNS}
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
	returned := false
	for _, s := range a.shards {
		returned = returned || s.returned
		st.DroppedTargets += s.drops.targets
		st.DroppedPackets += s.drops.packets
		st.Targets += s.tgts.n
		s.tgtIdx = targetTable{} // lookups are over
	}
	st.LimitHit = st.LimitHit || st.DroppedTargets > 0
	st.HasReturnTraffic = returned
	st.NoReturnTraffic = !returned && st.Targets > 0
	st.MemoryBudgetBytes = a.cfg.MemoryBudgetBytes
	st.DroppedSources = a.untrack.estimate()
	if a.cfg.Admit != nil { // the first reading spent the source budget
		st.HeaviestSources, st.LimitHit = true, true
	}
	if a.refused != nil {
		an.heavy = a.refused.heaviest(a.addrs, int(a.lim.maxSources))
		a.refused = nil
	}

	a.ids4, a.ids6 = idTable4{}, idTable6{}
	if err := p.now(); err != nil {
		return nil, err
	}
	var remap []int32
	an.addrs, remap = sortAddrs(a.addrs)
	an.makeSources(a.addrs, remap, a.shards[:])
	a.addrs = nil
	st.Sources = len(an.sources)
	workers := min(max(a.cfg.Workers, 1), numShards)
	an.workers = workers
	if err := p.now(); err != nil {
		return nil, err
	}
	if st.Targets >= collectAfterTargets {
		// The lookup tables are garbage now, and the copy of the targets
		// grouped by source is about to be as large as the shards' lists
		// it is made from: Finish's peak. Returning the tables' memory to
		// the system first lowers that peak by their size (1 GB bench
		// capture: peak RSS 296 → 234 MiB) for a few milliseconds.
		debug.FreeOSMemory()
	}
	if err := p.now(); err != nil {
		return nil, err
	}
	all, start := groupTargets(ctx, a.shards[:], remap, an.srcOf, len(an.sources))
	for i := range a.shards {
		a.shards[i] = nil // the analysis holds copies
	}
	if err := p.now(); err != nil {
		return nil, err
	}
	if len(all) >= collectAfterTargets && p.now() == nil {
		// The aggregator's tables, most of the memory so far, are garbage
		// now: collecting them before the analysis's arrays are made keeps
		// the peak near the larger of the two rather than their sum. The
		// live heap is mostly pointer-free arrays, so this costs
		// milliseconds.
		runtime.GC()
	}
	hostsOf, idle := an.buildSources(ctx, all, start, returned, workers)
	if err := p.now(); err != nil {
		return nil, err
	}
	an.indexHosts(hostsOf)
	if err := an.linkIdle(ctx, idle); err != nil {
		return nil, err
	}
	// The decoy search and the default verdicts read the sources and
	// write disjoint fields: they run side by side.
	var wg sync.WaitGroup
	var decoyErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		decoyErr = an.findDecoys(ctx, workers)
	}()
	var err error
	an.defaults, err = an.judge(ctx, DefaultThresholds())
	wg.Wait()
	if err = cmp.Or(err, decoyErr); err != nil {
		return nil, err
	}
	return an, nil
}

// findDecoys sets the decoy groups and each member's group.
func (an *Analysis) findDecoys(ctx context.Context, workers int) error {
	var err error
	an.decoys, an.decoyOf, err = findDecoys(ctx, an, workers)
	return err
}

// sortAddrs sorts the addresses as netip.Addr.Compare does (IPv4 as
// packed integers, address << 32 | ID; IPv6 as pairs, so no comparison
// goes through netip) and returns where each ID went.
func sortAddrs(recs []addrRec) (addrs []ipAddr, remap []int32) {
	type id6 struct {
		hi, lo uint64
		id     int32
	}
	var v4 []uint64
	var v6 []id6
	for id := range recs {
		r := &recs[id]
		if r.v6 {
			v6 = append(v6, id6{r.hi, r.lo, int32(id)})
		} else {
			v4 = append(v4, r.lo<<32|uint64(id))
		}
	}
	slices.Sort(v4)
	slices.SortFunc(v6, func(x, y id6) int {
		if c := cmp.Compare(x.hi, y.hi); c != 0 {
			return c
		}
		return cmp.Compare(x.lo, y.lo)
	})
	remap = make([]int32, len(recs))
	addrs = make([]ipAddr, 0, len(recs))
	for _, k := range v4 {
		remap[uint32(k)] = int32(len(addrs))
		addrs = append(addrs, ipAddr{lo: k >> 32})
	}
	for _, k := range v6 {
		remap[k.id] = int32(len(addrs))
		addrs = append(addrs, ipAddr{k.hi, k.lo, true})
	}
	return addrs, remap
}

// makeSources makes the sources, in address order: every address that
// sent a packet, with the backscatter the shards counted for it.
func (an *Analysis) makeSources(recs []addrRec, remap []int32, shards []*shard) {
	an.srcOf = make([]int32, len(an.addrs))
	for i := range an.srcOf {
		an.srcOf[i] = -1
	}
	for id := range recs {
		if recs[id].sends {
			an.srcOf[remap[id]] = 0
		}
	}
	n := int32(0)
	for i, v := range an.srcOf {
		if v == 0 {
			an.srcOf[i] = n
			n++
		}
	}
	an.sources = make([]srcResult, n)
	for id := range recs {
		x := &recs[id]
		if !x.sends {
			continue
		}
		ai := remap[id]
		r := &an.sources[an.srcOf[ai]]
		r.ai, r.pkts, r.firstTS, r.lastTS = ai, x.pkts, x.firstTS, x.lastTS
	}
	for _, s := range shards {
		for id, n := range s.backscatter {
			an.sources[an.srcOf[remap[id]]].backscatter += n
		}
		s.backscatter = nil
	}
}

// groupTargets gathers every shard's targets by source (a counting sort),
// each source's in file order, with address and source indexes of the
// analysis: all[start[s]:start[s+1]] are source s's targets. One pass
// merges the shards' lists by frame and drops each chunk of a list once
// read; on a large capture the memory of the chunks read is returned to
// the system as it goes, so that the targets are held twice only in part.
// Once ctx ends it stops early: the caller drops what it made.
func groupTargets(ctx context.Context, shards []*shard, remap, srcOf []int32, nsrc int) (all []target, start []int32) {
	start = make([]int32, nsrc+1)
	p := newPoll(ctx)
	for _, s := range shards {
		for j, c := range s.tgts.chunks {
			if p.work(len(c)) {
				return nil, nil
			}
			for i := range c[:min(len(c), s.tgts.n-j*targetChunkLen)] {
				start[srcOf[remap[c[i].src]]+1]++
			}
		}
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	n := int(start[nsrc])
	all = make([]target, n)
	adviseHuge(all)
	fill := slices.Clone(start[:nsrc])
	releaseEvery := n + 1
	if n >= collectAfterTargets {
		releaseEvery = n/releaseSteps + 1
	}
	done := 0
	mergeByFrame(shards, func(t *target) bool {
		g := srcOf[remap[t.src]]
		x := &all[fill[g]]
		*x = *t
		x.src, x.dst = g, remap[t.dst]
		fill[g]++
		if done++; done%releaseEvery == 0 {
			debug.FreeOSMemory()
		}
		return !p.stop()
	})
	return all, start
}

// releaseSteps is how many times groupTargets returns the memory of the
// chunks it has read to the system: each costs a collection (of a heap of
// pointer-free arrays: about a millisecond) and lowers the peak by a
// step's share of the targets.
const releaseSteps = 8

// mergeByFrame calls f with every shard's targets (each shard's list is
// in file order) merged by frame: in file order, the order the
// fingerprint counters see a source's probes in, and mostly already their
// time order. Each chunk of a list is dropped once f has seen it, and the
// lists are empty at the end. It stops early when f returns false.
func mergeByFrame(shards []*shard, f func(t *target) bool) {
	pos := make([]int32, len(shards))
	head := make([]uint64, len(shards)) // frame of each list's next target
	const done = ^uint64(0)
	for si, s := range shards {
		head[si] = done
		if s.tgts.n > 0 {
			head[si] = s.tgts.at(0).frame
		}
	}
	for {
		best := 0
		for si := range head {
			if head[si] < head[best] {
				best = si
			}
		}
		if head[best] == done {
			break
		}
		s := shards[best]
		if !f(s.tgts.at(pos[best])) {
			break
		}
		pos[best]++
		if pos[best]&(targetChunkLen-1) == 0 {
			s.tgts.chunks[pos[best]>>targetChunkBits-1] = nil // read
		}
		head[best] = done
		if int(pos[best]) < s.tgts.n {
			head[best] = s.tgts.at(pos[best]).frame
		}
	}
	for _, s := range shards {
		s.tgts = targetList{}
	}
}

// splitSources cuts the sources into up to workers ranges of about equal
// numbers of targets: sources bounds[w] to bounds[w+1]-1 for worker w.
func splitSources(start []int32, workers int) []int {
	nsrc := len(start) - 1
	bounds := []int{0}
	per := int(start[nsrc])/workers + 1
	for s := 0; s < nsrc && len(bounds) < workers; s++ {
		if int(start[s+1]) >= per*len(bounds) {
			bounds = append(bounds, s+1)
		}
	}
	return append(bounds, nsrc)
}

// buildSources derives every source's result from its targets, on up to
// workers goroutines over disjoint ranges of sources, and returns the
// distinct hosts each source probed (for indexHosts) and the candidates
// for idle-scan probing (for linkIdle).
func (an *Analysis) buildSources(ctx context.Context, all []target, start []int32, returned bool, workers int) ([][]int32, []idleCand) {
	bounds := splitSources(start, workers)
	hostsOf := make([][]int32, len(an.sources))
	idle := make([][]idleCand, len(bounds))
	var wg sync.WaitGroup
	for w := 0; w+1 < len(bounds); w++ {
		lo, hi := bounds[w], bounds[w+1]
		b := newSrcBuilder(an, returned, len(an.addrs))
		run := func() {
			defer wg.Done()
			p := newPoll(ctx)
			for si := lo; si < hi; si++ {
				if p.work(int(start[si+1]-start[si]) + 1) {
					return // the caller sees ctx ended and drops the sources
				}
				b.build(&an.sources[si], all[start[si]:start[si+1]:start[si+1]])
				hostsOf[si] = b.hostList
			}
			b.fix(an.sources[lo:hi])
			idle[w] = b.idle
		}
		wg.Add(1)
		if w+2 < len(bounds) {
			go run()
		} else {
			run()
		}
	}
	wg.Wait()
	return hostsOf, slices.Concat(idle...)
}

// srcBuilder derives sources' results; one per goroutine of buildSources.
type srcBuilder struct {
	an        *Analysis
	returned  bool
	stamp     uint32
	portMark  []uint32    // by port: stamp of the last source that probed it
	hostMark  []uint32    // by address index: likewise
	protoMark [256]uint32 // by IP protocol: likewise
	hostList  []int32     // the current source's distinct hosts, a part of hostPool
	hostPool  []int32
	succ      []int64    // starts of successful connections, all sources in order
	eps       []episode  // episodes, likewise
	spans     []span     // per source: its parts of succ and eps
	idle      []idleCand // unsolicited SYN/ACK runs that may be idle-scan probing (idle.go)
	c         counter
	icmpMark  []uint32 // by address index: stamp of the last source that sent it an ICMP request
	periods   []uint32 // scratch of monitoring
	spansMS   []uint32
}

type span struct{ succ, eps int32 }

func newSrcBuilder(an *Analysis, returned bool, addrs int) *srcBuilder {
	return &srcBuilder{an: an, returned: returned, portMark: make([]uint32, 1<<16), hostMark: make([]uint32, addrs),
		c: newCounter(addrs), icmpMark: make([]uint32, addrs)}
}

// build derives r from seg, its targets in file order, and leaves r's
// probes at the start of seg.
func (b *srcBuilder) build(r *srcResult, seg []target) {
	r.trw.Ran = b.returned
	b.spans = append(b.spans, span{int32(len(b.succ)), int32(len(b.eps))})
	b.hostList = nil
	if len(seg) == 0 {
		return // only answered others: nothing to derive
	}
	protoSweeps(seg, b.an.idleGap)
	var fp fpCounters
	for i := range seg {
		if t := &seg[i]; t.proto == protoTCP && t.class != clsNone && t.class != clsPROTO {
			fp.add(t, b.an.addrs[t.dst])
		}
	}
	byTime := func(x, y target) int {
		if c := cmp.Compare(x.firstTS, y.firstTS); c != 0 {
			return c
		}
		return cmp.Compare(x.frame, y.frame)
	}
	if !slices.IsSortedFunc(seg, byTime) {
		slices.SortFunc(seg, byTime)
	}
	r.tool = fp.tool()
	b.stamp++
	markRaw(seg, r.tool)
	b.markDiscovery(seg)
	r.monitor = b.monitoring(seg)
	// TRW over first contacts in time order (Jung et al. 2004), only when
	// the capture carries answers: without them every contact would look
	// failed. Bare ACK and FIN+ACK contacts are left out, being too easily
	// midstream traffic.
	halfOpens, connected := 0, 0
	fails, succs := 0, 0
	rstWin := [2]bool{}
	tcp, udp := false, false
	hostStart := len(b.hostPool)
	n := 0
	for i := range seg {
		t := &seg[i]
		rl := roleOf(t)
		if b.returned && rl != roleNone && t.class != clsACK && t.class != clsMAIMON {
			if trwFailure(t) {
				r.trw.Score++
			} else {
				r.trw.Score--
			}
			if trwFailure(t) || halfOpen(t) {
				fails++
			} else {
				succs++
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
			b.succ = append(b.succ, t.firstTS) // in time order: sorted
			if t.state&stData == 0 {
				connected++ // a connect() closed without a byte sent (nc -z): names the SYN probes beside it
			}
			continue
		case roleNone:
			if t.marks&tmSynAck != 0 {
				b.idleCandidate(r, t)
			}
			continue
		}
		if n != i {
			seg[n] = *t
		}
		t = &seg[n]
		n++
		r.classes[t.class]++
		r.probePkts += uint64(t.pkts)
		r.out[outcome(t)]++
		if t.state&stAnswered != 0 {
			r.answered++
		}
		if counted(t) {
			r.counted++
		}
		if t.class.hasPort() && b.portMark[t.port] != b.stamp {
			b.portMark[t.port] = b.stamp
			r.ports++
		}
		if t.class == clsPROTO && b.protoMark[t.proto] != b.stamp {
			b.protoMark[t.proto] = b.stamp
			r.protos++
		}
		if b.hostMark[t.dst] != b.stamp {
			b.hostMark[t.dst] = b.stamp
			r.hosts++
			b.hostPool = append(b.hostPool, t.dst)
		}
		if t.class == clsSYN && t.state&stSynAck != 0 {
			if halfOpen(t) {
				halfOpens++
			} else {
				connected++
			}
			if bannerGrab(t) {
				r.bannerGrabs++
			}
		}
		if t.marks&tmDiscovery != 0 {
			switch t.class {
			case clsSYN:
				r.discSYN++
			case clsACK:
				r.discACK++
			}
		}
		if t.class == clsACK && t.state&stRST != 0 {
			rstWin[boolIdx(t.state&stRSTWin != 0)] = true
		}
		tcp = tcp || t.proto == protoTCP && t.class.hasPort()
		udp = udp || t.proto == protoUDP && t.class.hasPort()
	}
	r.probes = seg[:n:n]
	b.hostList = b.hostPool[hostStart:len(b.hostPool):len(b.hostPool)]
	if tcp && udp {
		markTwins(r.probes)
	}
	r.connect = connected > 0 && connected >= halfOpens
	r.window = rstWin[0] && rstWin[1]
	r.failsDominate = fails > succs
	succ := b.succ[b.spans[len(b.spans)-1].succ:]
	b.episodes(r, succ)
}

// fix points each source's succTS and episodes into the srcBuilder's arrays,
// now that they no longer grow.
func (b *srcBuilder) fix(rs []srcResult) {
	for i := range rs {
		s := b.spans[i]
		es, ee := len(b.succ), len(b.eps)
		if i+1 < len(b.spans) {
			es, ee = int(b.spans[i+1].succ), int(b.spans[i+1].eps)
		}
		if int(s.succ) < es {
			rs[i].succTS = b.succ[s.succ:es:es]
		}
		if int(s.eps) < ee {
			rs[i].episodes = b.eps[s.eps:ee:ee]
		}
	}
}

// markTwins marks the TCP and UDP probes that share a (host, port): the
// only probes of one source whose (host, port) pair is not unique (a
// source probes a host's port once per protocol), so the counter tracks
// pairs in a map for these alone.
func markTwins(probes []target) {
	tcp := make(map[uint64]int32)
	for i := range probes {
		if t := &probes[i]; t.proto == protoTCP && t.class.hasPort() {
			tcp[uint64(t.dst)<<16|uint64(t.port)] = int32(i)
		}
	}
	for i := range probes {
		t := &probes[i]
		if t.proto != protoUDP || !t.class.hasPort() {
			continue
		}
		if j, ok := tcp[uint64(t.dst)<<16|uint64(t.port)]; ok {
			t.marks |= tmTwin
			probes[j].marks |= tmTwin
		}
	}
}

// episodes splits r's probes at idle gaps longer than the idle gap and
// counts each.
func (b *srcBuilder) episodes(r *srcResult, succ []int64) {
	gap := b.an.idleGap
	for i := 0; i < len(r.probes); {
		j := i
		for j+1 < len(r.probes) && r.probes[j+1].firstTS-r.probes[j].firstTS <= gap {
			j++
		}
		b.eps = append(b.eps, countEpisode(r.probes, succ, i, j, &b.c))
		i = j + 1
	}
}

// countEpisode computes the figures of probes[i..j].
func countEpisode(probes []target, succ []int64, i, j int, c *counter) episode {
	e := episode{first: int32(i), last: int32(j), start: probes[i].firstTS, end: probes[j].firstTS, probes: int32(j - i + 1)}
	c.reset()
	lo := i
	for k := i; k <= j; k++ {
		t := &probes[k]
		for t.firstTS-probes[lo].firstTS >= 1e9 {
			lo++
		}
		e.peak = max(e.peak, int32(k-lo+1))
		c.add(t)
	}
	e.maxPorts, e.maxHosts, e.targets, e.stealth, e.counted = int32(c.maxPorts), int32(c.maxHosts), int32(c.pairs), int32(c.stealth), int32(c.n)
	e.sweep = int32(c.sweep)
	lo2, _ := slices.BinarySearch(succ, e.start)
	hi2, _ := slices.BinarySearch(succ, e.end+1)
	e.successes = int32(hi2 - lo2)
	return e
}

// counter counts distinct (host, port) pairs of counted probes
// incrementally, so the probe that crosses a threshold can be found.
// Its per-host and per-port counts live in arrays indexed by address
// index and port, valid for the current generation only, so a reset
// costs nothing however many hosts the last episode touched.
type counter struct {
	gen      uint32
	hostGen  []uint32 // by address index
	hostN    []int32
	portGen  []uint32 // by port; ICMP request types at 1<<16 + type, IP protocols at 1<<16 + 256 + protocol
	portN    []int32
	twinSeen map[hp]uint32 // generation in which a twin probe's pair was counted
	pairs    int
	maxPorts int
	maxHosts int
	stealth  int
	n        int
	sweepGen []uint32 // by address index: generation in which it counted toward sweep
	sweep    int
}

func newCounter(addrs int) counter {
	return counter{hostGen: make([]uint32, addrs), hostN: make([]int32, addrs),
		portGen: make([]uint32, 2<<16), portN: make([]int32, 2<<16), twinSeen: map[hp]uint32{}, sweepGen: make([]uint32, addrs)}
}

// reset starts counting a new set of probes.
func (c *counter) reset() {
	c.gen++
	if c.gen == 0 { // wrapped: old generations would look current
		clear(c.hostGen)
		clear(c.portGen)
		clear(c.twinSeen)
		clear(c.sweepGen)
		c.gen = 1
	}
	c.pairs, c.maxPorts, c.maxHosts, c.stealth, c.n, c.sweep = 0, 0, 0, 0, 0, 0
}

func (c *counter) add(t *target) {
	if !counted(t) {
		return
	}
	c.n++
	if t.class.stealth() {
		c.stealth++ // stealth probes are TCP: one per (host, port) of a source
	}
	if (t.class == clsICMP || t.marks&tmDiscovery != 0) && c.sweepGen[t.dst] != c.gen {
		// Echo, timestamp and mask requests and nmap's TCP discovery
		// probes of one host are one host discovered.
		c.sweepGen[t.dst] = c.gen
		c.sweep++
	}
	k := hpOf(t)
	if t.marks&tmTwin != 0 {
		if c.twinSeen[k] == c.gen {
			return
		}
		c.twinSeen[k] = c.gen
	}
	c.pairs++
	if k.space != spaceICMP { // protocols count on their host as ports do
		if c.hostGen[k.dst] != c.gen {
			c.hostGen[k.dst], c.hostN[k.dst] = c.gen, 0
		}
		c.hostN[k.dst]++
		c.maxPorts = max(c.maxPorts, int(c.hostN[k.dst]))
	}
	pk := int(k.port)
	switch k.space {
	case spaceICMP:
		pk += 1 << 16
	case spaceProto:
		pk += 1<<16 + 256
	}
	if c.portGen[pk] != c.gen {
		c.portGen[pk], c.portN[pk] = c.gen, 0
	}
	c.portN[pk]++
	c.maxHosts = max(c.maxHosts, int(c.portN[pk]))
}

// meets reports the rules among allow that the counts reach under th.
func (c *counter) meets(th Thresholds, allow reasons) reasons {
	return ruleSet(c.maxPorts, c.maxHosts, c.pairs, c.stealth, c.sweep, th) & allow
}

// ruleSet is the count rules that a source's counts reach under th
// (DETECTION.md §6.5-6.10): distinct ports on one host, hosts on one
// port, (host, port) targets, stealth targets, and hosts of a discovery
// sweep, which DETECTION.md §6.10 counts whatever the replies.
func ruleSet(ports, hosts, targets, stealth, sweep int, th Thresholds) reasons {
	var rs reasons
	if ports >= th.MinPorts {
		rs |= rsPortsOnHost
	}
	if hosts >= th.MinHosts {
		rs |= rsHostsOnPort
	}
	if targets >= th.MinTargets {
		rs |= rsTargets
	}
	if stealth >= th.MinStealthTargets {
		rs |= rsStealth
	}
	if sweep >= th.MinHosts {
		rs |= rsSweep
	}
	return rs
}

// indexHosts records, for every host, the sources that probed it, in
// address order: hostsOf[s] are source s's distinct hosts.
func (an *Analysis) indexHosts(hostsOf [][]int32) {
	an.hostOff = make([]int32, len(an.addrs)+1)
	for _, hs := range hostsOf {
		for _, h := range hs {
			an.hostOff[h+1]++
		}
	}
	for h := range an.addrs {
		if an.hostOff[h+1] > 0 {
			an.hosts = append(an.hosts, int32(h))
		}
		an.hostOff[h+1] += an.hostOff[h]
	}
	an.hostSrc = make([]int32, an.hostOff[len(an.addrs)])
	fill := slices.Clone(an.hostOff[:len(an.addrs)])
	for s, hs := range hostsOf {
		for _, h := range hs {
			an.hostSrc[fill[h]] = int32(s)
			fill[h]++
		}
	}
}

// openPorts are r's ports found open, sorted.
func openPorts(r *srcResult) []int {
	var out []int
	for i := range r.probes {
		if t := &r.probes[i]; t.class.hasPort() && outcome(t) == outOpen {
			out = append(out, int(t.port))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// usedLater are r's ports found open and later used: data on a later
// connection, or a banner grab, the handshake of a raw SYN completed by
// the scanner's own stack (masscan --banners), sorted.
func usedLater(r *srcResult) []int {
	var out []int
	for i := range r.probes {
		if t := &r.probes[i]; t.class.hasPort() && outcome(t) == outOpen && (t.state&stLaterData != 0 || bannerGrab(t)) {
			out = append(out, int(t.port))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// bannerGrab reports whether raw SYN probe t's handshake was completed by
// its source: a scanner's own TCP stack reading the service's banner.
func bannerGrab(t *target) bool {
	return t.class == clsSYN && t.marks&tmRaw != 0 && handshakeDone(t)
}

// flagsSeen names the classes of r's probes.
func flagsSeen(r *srcResult) []string {
	var out []string
	for c := clsSYN; c < numClasses; c++ {
		if r.classes[c] > 0 {
			out = append(out, classNames[c])
		}
	}
	return out
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
	switch {
	case r.classes[clsSYN] == r.discSYN:
	case r.connect:
		out = append(out, "connect_scan")
	default:
		out = append(out, "syn_scan")
	}
	add(clsFIN, "fin_scan")
	add(clsNULL, "null_scan")
	add(clsXMAS, "xmas_scan")
	add(clsMAIMON, "maimon_scan")
	if r.classes[clsACK] > r.discACK {
		out = append(out, "ack_scan")
	}
	if r.window {
		out = append(out, "window_scan")
	}
	add(clsOTHER, "illegal_flags_scan")
	add(clsUDP, "udp_scan")
	if r.classes[clsICMP] > 0 || r.discSYN+r.discACK > 0 {
		out = append(out, "ping_sweep")
	}
	add(clsPROTO, "ip_protocol_scan")
	add(clsINIT, "sctp_init_scan")
	add(clsCOOKIE, "sctp_cookie_echo_scan")
	sort.Strings(out)
	return out
}

// meets reports the rules among allow that episode e's counts reach
// under th.
func (e *episode) meets(th Thresholds, allow reasons) reasons {
	return ruleSet(int(e.maxPorts), int(e.maxHosts), int(e.targets), int(e.stealth), int(e.sweep), th) & allow
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
