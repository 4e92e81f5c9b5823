package scan

import (
	"cmp"
	"context"
	"net/netip"
	"runtime"
	"slices"
	"sync"

	"porthunter/scan/internal/hashtab"
)

// collectAfterTargets is the number of targets (about 18 MiB of them)
// from which Finish has the garbage collector reclaim the aggregator's
// tables before building the analysis.
const collectAfterTargets = 1 << 18

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
	addrs        []ipAddr              // every address that appeared, sorted as netip.Addr.Compare sorts
	srcOf        []int32               // by address index: index into sources, -1 for an address that sent nothing
	sources      []srcResult           // by address
	hostOff      []int32               // by address index h: hostSrc[hostOff[h]:hostOff[h+1]] probed h
	hostSrc      []int32               // source indexes, ascending (by address) within each host
	hosts        []int32               // address indexes of the hosts probed, ascending
	defaults     *verdicts             // listing under DefaultThresholds, computed once
	decoys       []decoySet            // in order of their first member
	decoyOf      []int32               // by source index: index into decoys, -1 for none; nil when there are none
	idle         []idleLink            // idle scans, by prober then zombie (idle.go)
	idleByZombie []int32               // indexes into idle, by zombie then prober
	workers      int                   // goroutines a search over every source or host may use
	heavy        *SourceSet            // see HeaviestSources
	answers      [numShards]answerList // the shards' first answers (firstAnswer)
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

// Finish freezes the aggregator into an Analysis; nil if it is Counting.
// The aggregator must not be used afterwards.
func (a *Aggregator) Finish() *Analysis {
	an, _ := a.FinishContext(context.Background()) // fails only when ctx ends or it is Counting
	return an
}

// FinishContext is Finish, stopped with ctx's error within about a
// millisecond of work once ctx ends: every stage that grows with the
// capture looks at it (pollEvery). An aggregator that is Counting has no
// analysis to give: an error says so. The aggregator must not be used
// afterwards, whatever it returns.
func (a *Aggregator) FinishContext(ctx context.Context) (*Analysis, error) {
	if a.counting {
		return nil, errCounting
	}
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
	for i, s := range a.shards {
		an.answers[i], s.answers = s.answers, answerList{}
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
	st.DroppedSources = a.untrack.Estimate()
	if a.cfg.Admit != nil { // the first reading spent the source budget
		st.HeaviestSources, st.LimitHit = true, true
	}
	an.heavy = a.HeaviestSources()
	a.refused = nil

	a.ids4, a.ids6 = hashtab.IDs4{}, hashtab.IDs6{}
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
		// The lookup tables are garbage now: collected, their memory is
		// taken by the first pieces of the targets grouped by source
		// (groupTargets), instead of fresh memory.
		runtime.GC()
	}
	if err := p.now(); err != nil {
		return nil, err
	}
	grp := groupTargets(ctx, a.shards[:], remap, an.srcOf, len(an.sources))
	for i := range a.shards {
		a.shards[i] = nil // the analysis holds copies
	}
	if err := p.now(); err != nil {
		return nil, err
	}
	if st.Targets >= collectAfterTargets && p.now() == nil {
		// The aggregator's lists, most of the memory so far, are garbage
		// now: collecting them before the analysis's arrays are made keeps
		// the peak near the larger of the two rather than their sum. The
		// live heap is mostly pointer-free arrays, so this costs
		// milliseconds.
		runtime.GC()
	}
	hostsOf, idle := an.buildSources(ctx, grp, returned, workers)
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
