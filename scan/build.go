package scan

import (
	"cmp"
	"slices"
	"sync"
)

// The per-source builder: from a source's targets in file order, its
// probes, outcomes, episodes and the counts the rules (rules.go) read.

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
	c         *counter
	icmpMark  []uint32 // by address index: stamp of the last source that sent it an ICMP request
	periods   []uint32 // scratch of monitoring
	spansMS   []uint32
}

type span struct{ succ, eps int32 }

func newSrcBuilder(an *Analysis, returned bool, addrs int) *srcBuilder {
	return &srcBuilder{an: an, returned: returned, hostMark: make([]uint32, addrs),
		c: getCounter(addrs), icmpMark: make([]uint32, addrs)}
}

// grownFor returns s, grown with zeros if need be, long enough to be
// indexed by i. The arrays indexed by port (here and in the views) start
// empty and grow to the highest port a capture uses, at least doubling:
// an analysis or an answer of a few packets clears a few hundred
// entries, not the 2^16 or 2^17 a port space holds. A zero entry is no
// count, no stamp and no generation, as in a new array.
func grownFor[T uint32 | int32 | int](s []T, i int) []T {
	if i < len(s) {
		return s
	}
	return append(s, make([]T, max(i+1, 2*len(s), 256)-len(s))...)
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
		if t.class.hasPort() {
			if int(t.port) >= len(b.portMark) {
				b.portMark = grownFor(b.portMark, int(t.port))
			}
			if b.portMark[t.port] != b.stamp {
				b.portMark[t.port] = b.stamp
				r.ports++
			}
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
		b.eps = append(b.eps, countEpisode(r.probes, succ, i, j, b.c))
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
	portGen  []uint32 // by port; ICMP request types at 1<<16 + type, IP protocols at 1<<16 + 256 + protocol (grownFor)
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

// counters holds counters between uses (getCounter, putCounter), across
// analyses and calls: a counter's arrays keep the size they grew to, and
// its generations only grow, so nothing an earlier use left is current.
// Each judgement with thresholds of its own and each builder of Finish
// would otherwise make and clear a counter's arrays (a megabyte for a
// scan of high ports) however few sources it counts.
var counters sync.Pool

// getCounter returns a counter for addresses of indexes below addrs.
func getCounter(addrs int) *counter {
	c, _ := counters.Get().(*counter)
	if c == nil {
		c = &counter{twinSeen: map[hp]uint32{}}
	}
	c.fit(addrs)
	return c
}

// fit readies c, new or used, for addresses of indexes below addrs. What
// a use left in its arrays is of older generations than any reset makes.
func (c *counter) fit(addrs int) {
	if addrs > len(c.hostGen) {
		c.hostGen, c.hostN, c.sweepGen = make([]uint32, addrs), make([]int32, addrs), make([]uint32, addrs)
	}
	clear(c.twinSeen)
}

// putCounter gives c back once its user is done with it.
func putCounter(c *counter) { counters.Put(c) }

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
	if pk >= len(c.portGen) {
		c.portGen, c.portN = grownFor(c.portGen, pk), grownFor(c.portN, pk)
	}
	if c.portGen[pk] != c.gen {
		c.portGen[pk], c.portN[pk] = c.gen, 0
	}
	c.portN[pk]++
	c.maxHosts = max(c.maxHosts, int(c.portN[pk]))
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
