package scan

import (
	"encoding/binary"
	"errors"
	"math"
	"net/netip"

	"porthunter/pcapng"
	"porthunter/scan/internal/batch"
	"porthunter/scan/internal/hashtab"
	"porthunter/scan/internal/hugepage"
	"porthunter/scan/internal/sketch"
)

// IP protocol numbers used as the protocol of a target.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
	protoSCTP   = 132
)

// Target state bits: what the capture showed after the first packet.
const (
	stAnswered     uint16 = 1 << iota // any packet back from the target (or an ICMP error about it)
	stSynAck                          // SYN/ACK (or a bare SYN: split handshake) from the target
	stRST                             // RST from the target
	stRSTWin                          // a RST from the target with a non-zero window (nmap -sW: open)
	stAckReply                        // a reply without SYN, RST or payload (an ordinary ACK or FIN)
	stData                            // client payload on the first connection (a server banner alone is stAckReply)
	stLaterData                       // payload on a later connection (another source port)
	stClientAck                       // the source completed the handshake
	stClientRST                       // the source reset
	stUDPReply                        // a UDP datagram back from the target port
	stICMPReply                       // an ICMP echo/timestamp/mask reply
	stICMPClosed                      // ICMP port unreachable from the target itself, quoting a UDP probe
	stICMPFiltered                    // any other ICMP unreachable or time exceeded quoting the probe
	stReconnect                       // a new SYN after the first one was answered
	stMidstream                       // ACK/FIN+ACK candidate later shown to be part of a live flow
	stTTLExceeded                     // ICMP time exceeded about it: a traceroute hop probe
)

// Aggregator collects one capture. Add is called from one goroutine, in
// file order; Finish hands the state to an immutable Analysis.
//
// Add numbers addresses and sources itself, in file order, so their
// limits act exactly as on one goroutine, and counts each source's
// packets. Targets, the bulk of the state and of the work, are split into
// numShards shards by the unordered address pair of each packet (for an
// ICMP error, the pair of the datagram it quotes): a probe, its answers
// and the errors about it always meet in one shard. With Config.Workers
// > 1 the shards run on worker goroutines, each owning a fixed set of
// them and seeing their packets in file order, so the answers are the
// same whatever the number of workers.
type Aggregator struct {
	cfg       Config
	st        CaptureStats
	prevTS    int64
	havePrev  bool
	prec      uint8
	ids4      hashtab.IDs4             // IPv4 addresses, as big-endian uint32, → ID
	ids6      hashtab.IDs6             // IPv6 addresses → ID
	addrs     []addrRec                // by ID
	sources   int64                    // addresses that are sources
	recent    [2]ipAddr                // the last two addresses looked up, and their IDs:
	recentID  [2]int32                 // consecutive packets often share an endpoint
	cache4    [1 << cache4Bits]cached4 // IPv4 address IDs, direct-mapped (addrID)
	lim       limits
	refused   *sketch.Summary // senders refused as sources, by packets (first reading only)
	heavy     *SourceSet      // see HeaviestSources, once heavyDone
	heavyDone bool
	counting  bool       // see Counting
	refusals  uint64     // packets of refused senders, while ranked
	checkAt   uint64     // the sure count of a refused sender worth a look at the tracked (Counting)
	checkNext uint64     // ... once refusals reach this
	checks    int        // looks at the tracked sources (checkCounting)
	members   []int32    // by member of the Admit set: its address ID + 1, once made (memberID)
	untrack   sketch.HLL // distinct senders refused
	shards    [numShards]*shard
	pool      *batch.Workers[pkt] // nil: the shards run on the caller's goroutine, a batch at a time:
	cur       []pkt               // the batch being filled (batch.Len slots)
	curN      int
}

// addrRec is one address and, once it has sent, its state as a source.
type addrRec struct {
	hi, lo          uint64 // the address (ipAddr)
	pkts            uint64 // packets sent
	firstTS, lastTS int64
	v6              bool
	sends           bool // a source: it sent a packet while the source budget lasted
}

// limits are the counts the memory budget allows.
type limits struct {
	maxAddrs, maxSources int64
	maxTargets           int64 // per shard
}

// numShards is how many independent parts the targets are split into: at
// least the number of workers that can be used (more would not help: the
// reading goroutine is the bottleneck beyond three or four).
const numShards = 4

// NewAggregator returns an empty aggregator for one capture.
func NewAggregator(c Config) *Aggregator {
	if c.MemoryBudgetBytes <= 0 {
		c.MemoryBudgetBytes = DefaultMemoryBudgetBytes
	}
	if c.IdleGapNS <= 0 {
		c.IdleGapNS = DefaultIdleGapNS
	}
	// A target lives in exactly one shard; each shard may hold half as
	// many again as its even share, for captures whose few busiest
	// address pairs fall into one shard. All shards full hold 3/2 of the
	// targets the budget counts, each at most 2/3 of bytesPerTarget (see
	// there), so the budget holds.
	srcBudget := c.MemoryBudgetBytes / 8 * sourceShare
	a := &Aggregator{cfg: c, recentID: [2]int32{-1, -1}, lim: limits{
		maxAddrs:   max(srcBudget/2/bytesPerAddr, 1),
		maxSources: max(srcBudget/2/bytesPerSource, 1),
		maxTargets: min(max((c.MemoryBudgetBytes-srcBudget)/bytesPerTarget*3/2/numShards, 1), maxShardTargets),
	}}
	for i := range a.shards {
		a.shards[i] = &shard{id: uint8(i), maxTargets: a.lim.maxTargets}
	}
	if c.Admit != nil {
		a.members = make([]int32, c.Admit.Len())
	}
	if w := min(c.Workers, numShards); w > 1 {
		// Worker j owns the shards i with i % w == j and sees their
		// packets in file order, which is all a shard needs to answer
		// as it would alone.
		a.pool = batch.Start(w, func(_ int, ps []pkt) { runBatch(a.shards[:], ps) })
	} else {
		a.cur = make([]pkt, batch.Len)
	}
	return a
}

// Add takes one decoded record, in file order. It keeps no reference to p.
func (a *Aggregator) Add(p *pcapng.Packet) {
	a.count(p)
	if (p.L3 != pcapng.L3IPv4 && p.L3 != pcapng.L3IPv6) || !p.Src.IsValid() || !p.Dst.IsValid() {
		return
	}
	var sid, did int32
	if set := a.cfg.Admit; set != nil {
		src, dst := ipOf(p.Src), ipOf(p.Dst)
		if m, ok := set.member(src); ok {
			sid, did = a.memberID(m, p.Src), a.addrID(p.Dst)
		} else if m, ok := set.member(dst); ok {
			sid, did = a.addrID(p.Src), a.memberID(m, p.Dst)
		} else {
			// Neither a tracked source's packet nor an answer to one.
			a.refuse(src)
			a.st.DroppedPackets++
			return
		}
	} else {
		sid, did = a.addrID(p.Src), a.addrID(p.Dst)
	}
	if sid < 0 || did < 0 {
		if sid < 0 {
			a.refuse(ipOf(p.Src))
		}
		a.st.DroppedPackets++
		return
	}
	source := a.source(sid, p.Timestamp)
	if a.counting {
		return
	}
	// An ICMP error goes to the shard of the datagram it quotes, if both
	// its addresses are known (else no probe of theirs can exist).
	x, y, qs, qd := sid, did, int32(-1), int32(-1)
	if p.Quoted && isICMPError(p) {
		qs, qd = a.lookupID(p.QSrc), a.lookupID(p.QDst)
		if qs >= 0 && qd >= 0 {
			x, y = qs, qd
		}
	}
	k := shardOf(x, y)
	var q *pkt
	if a.pool != nil {
		q = a.pool.Next(k % a.pool.N()) // a reused slot: fill sets every field
	} else {
		if a.curN == len(a.cur) {
			runBatch(a.shards[:], a.cur)
			a.curN = 0
		}
		q = &a.cur[a.curN]
		a.curN++
	}
	q.fill(p)
	q.shard, q.sid, q.did, q.qsid, q.qdid = uint8(k), sid, did, qs, qd
	if source {
		q.bits |= pkSource
	}
}

// Close stops the workers of an aggregator that will not be finished (a
// cancelled read). Finish also stops them; Close after Finish does nothing.
func (a *Aggregator) Close() {
	if a.pool != nil {
		a.pool.Stop()
		a.pool = nil
	}
	if a.cur != nil {
		runBatch(a.shards[:], a.cur[:a.curN])
		a.cur = nil
	}
}

// runBatch applies ps to their shards, in order.
func runBatch(shards []*shard, ps []pkt) {
	for i := range ps {
		shards[ps[i].shard].add(&ps[i])
	}
}

// addrID returns the ID of address x, creating it; -1 when the budget
// is spent.
func (a *Aggregator) addrID(x netip.Addr) int32 {
	ip := ipOf(x)
	if a.recentID[0] >= 0 && ip == a.recent[0] {
		return a.recentID[0]
	}
	if a.recentID[1] >= 0 && ip == a.recent[1] {
		return a.recentID[1]
	}
	var c *cached4
	if !ip.v6 {
		c = &a.cache4[uint32(ip.lo)*0x9e3779b1>>(32-cache4Bits)]
		if c.id1 != 0 && c.key == uint32(ip.lo) {
			id := c.id1 - 1
			a.recent[1], a.recentID[1] = a.recent[0], a.recentID[0]
			a.recent[0], a.recentID[0] = ip, id
			return id
		}
	}
	id, ok := a.lookupIP(ip)
	if !ok {
		if int64(len(a.addrs)) >= a.lim.maxAddrs {
			a.st.DroppedAddrs++
			a.st.LimitHit = true
			return -1
		}
		id = int32(len(a.addrs))
		if ip.v6 {
			a.ids6.Put(ip.hi, ip.lo, id)
		} else {
			a.ids4.Put(uint32(ip.lo), id)
		}
		if len(a.addrs) == cap(a.addrs) {
			// Doubled by hand: append grows a large slice by a quarter,
			// copying it (and faulting in its new array) ever more often.
			grown := make([]addrRec, len(a.addrs), max(2*cap(a.addrs), 1024))
			hugepage.Advise(grown)
			copy(grown, a.addrs)
			a.addrs = grown
		}
		a.addrs = append(a.addrs, addrRec{hi: ip.hi, lo: ip.lo, v6: ip.v6})
	}
	if c != nil {
		*c = cached4{uint32(ip.lo), id + 1}
	}
	a.recent[1], a.recentID[1] = a.recent[0], a.recentID[0]
	a.recent[0], a.recentID[0] = ip, id
	return id
}

// memberID is addrID of x, the member m of the Admit set: its ID is kept
// by member once made, so that each packet of a tracked source costs the
// set's look-up, not that and the address table's as well.
func (a *Aggregator) memberID(m int32, x netip.Addr) int32 {
	if id1 := a.members[m]; id1 != 0 {
		return id1 - 1
	}
	id := a.addrID(x)
	if id >= 0 {
		a.members[m] = id + 1
	}
	return id
}

// cache4Bits sizes the cache of IPv4 address IDs in front of the table
// (32 KiB, within the first-level cache of the reading core).
const cache4Bits = 12

type cached4 struct {
	key uint32
	id1 int32 // ID + 1; 0: empty
}

// lookupID returns the ID of address x, or -1 if it is unknown.
func (a *Aggregator) lookupID(x netip.Addr) int32 {
	if !x.IsValid() {
		return -1
	}
	if id, ok := a.lookupIP(ipOf(x)); ok {
		return id
	}
	return -1
}

func (a *Aggregator) lookupIP(ip ipAddr) (int32, bool) {
	if ip.v6 {
		return a.ids6.Get(ip.hi, ip.lo)
	}
	return a.ids4.Get(uint32(ip.lo))
}

// source counts a packet sent at ts by address sid, which becomes a
// source; false when the budget is spent (the packet still answers
// probes, it just opens no new ones).
func (a *Aggregator) source(sid int32, ts int64) bool {
	r := &a.addrs[sid]
	if !r.sends {
		if set := a.cfg.Admit; set != nil && !set.has(ipAddr{r.hi, r.lo, r.v6}) {
			a.refuse(ipAddr{r.hi, r.lo, r.v6})
			return false
		}
		if a.sources >= a.lim.maxSources {
			a.refuse(ipAddr{r.hi, r.lo, r.v6})
			a.st.LimitHit = true
			return false
		}
		a.sources++
		r.sends, r.firstTS, r.lastTS = true, ts, ts
	}
	r.pkts++
	if ts < r.firstTS {
		r.firstTS = ts
	}
	if ts > r.lastTS {
		r.lastTS = ts
	}
	return true
}

// refuse counts a packet of a sender that is not tracked as a source and,
// on a first reading, ranks the sender by its packets.
func (a *Aggregator) refuse(x ipAddr) {
	a.untrack.Add(x.key())
	if a.cfg.Admit == nil {
		if a.refused == nil {
			a.refused = sketch.NewSummary(summaryCapacity(a.lim.maxSources))
			a.checkAt = heavyMinPackets
		}
		sure := a.refused.Add(x.key())
		a.refusals++
		if a.cfg.Rereadable && !a.counting && sure >= a.checkAt && a.refusals >= a.checkNext {
			a.checkCounting(sure)
		}
	}
}

// Counting reports whether the aggregator stopped collecting targets and
// only counts the senders' packets, for HeaviestSources: a first reading
// of a Rereadable capture does so once a refused sender surely sent
// heavyMinPackets packets and more than some tracked source, so that a
// second reading is all but sure. Such an aggregator cannot be finished:
// if HeaviestSources is nil after all (the tracked sources sent more by
// the end), the capture is read again as a first reading without
// Rereadable, which gives what this one would have.
func (a *Aggregator) Counting() bool { return a.counting }

// Filtering reports whether Add drops most packets once it has looked up
// their addresses: the aggregator is Counting, or tracks only an Admit
// set (a second reading). Its workers then have little to do, and Add's
// look-ups are what the reading waits on.
func (a *Aggregator) Filtering() bool { return a.counting || a.cfg.Admit != nil }

// errCounting is FinishContext's error for an aggregator that is Counting.
var errCounting = errors.New("scan: this reading stopped collecting targets for a second one (Aggregator.Counting): read the capture again")

// checkCounting starts counting if a refused sender that surely sent
// sure packets would now be among the heaviest senders: there is room for
// it among the tracked, or it sent more than the lightest of them. If
// not, the next look waits for a refused sender heavier than that
// lightest one, and for the refused packets to double and grow by the
// number of addresses: a look reads every address's record, so all the
// looks together cost no more than the packets refused.
func (a *Aggregator) checkCounting(sure uint64) {
	if a.sources < a.lim.maxSources {
		a.startCounting()
		return
	}
	a.checks++
	lightest := uint64(math.MaxUint64)
	for i := range a.addrs {
		if r := &a.addrs[i]; r.sends {
			lightest = min(lightest, r.pkts)
		}
	}
	if sure > lightest {
		a.startCounting()
		return
	}
	a.checkAt = lightest + 1
	a.checkNext = 2*a.refusals + uint64(len(a.addrs))
}

// startCounting stops the workers and drops the targets (Counting).
func (a *Aggregator) startCounting() {
	a.Close()
	a.counting = true
	for i := range a.shards {
		a.shards[i] = nil
	}
}

// count updates the capture report.
func (a *Aggregator) count(p *pcapng.Packet) {
	s := &a.st
	s.TotalPackets++
	switch p.L3 {
	case pcapng.L3IPv4:
		s.IPv4++
	case pcapng.L3IPv6:
		s.IPv6++
	case pcapng.L3ARP:
		s.ARP++
	case pcapng.L3Other:
		s.NonIP++
	default:
		s.Undecodable++
	}
	switch p.L4 {
	case pcapng.L4TCP:
		s.TCP++
	case pcapng.L4UDP:
		s.UDP++
	case pcapng.L4ICMP, pcapng.L4ICMPv6:
		s.ICMP++
	}
	if p.Frag != pcapng.FragNone {
		s.Fragments++
	}
	if p.Anomalies&pcapng.AnomalySnapTruncated != 0 {
		s.SnaplenTruncated++
	}
	if p.Anomalies&^pcapng.AnomalySnapTruncated != 0 {
		s.Anomalous++
	}
	s.countDecoded(p)
	ts := p.Timestamp
	if ts == 0 {
		// A pcapng Simple Packet Block has no timestamp and the reader
		// gives 0: it takes no part in first/last or ordering.
		s.NoTimestamp++
	} else {
		if a.havePrev && ts < a.prevTS {
			s.OutOfOrder++
		}
		if !a.havePrev || ts < s.firstNS {
			s.firstNS = ts
		}
		if !a.havePrev || ts > s.lastNS {
			s.lastNS = ts
		}
		a.prevTS, a.havePrev = ts, true
	}
	if p.Precision > a.prec {
		a.prec = min(p.Precision, MaxPrecision)
	}
}

// ipAddr is an address without the pointer a netip.Addr carries: IPv4 in
// the low 32 bits of lo, IPv6 as two big-endian halves.
type ipAddr struct {
	hi, lo uint64
	v6     bool
}

func ipOf(x netip.Addr) ipAddr {
	if x.Is4() {
		a := x.As4()
		return ipAddr{lo: uint64(binary.BigEndian.Uint32(a[:]))}
	}
	b := x.As16()
	return ipAddr{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), true}
}

func (x ipAddr) key() sketch.Key { return sketch.Key{Hi: x.hi, Lo: x.lo, V6: x.v6} }

func (x ipAddr) addr() netip.Addr {
	if !x.v6 {
		return netip.AddrFrom4([4]byte{byte(x.lo >> 24), byte(x.lo >> 16), byte(x.lo >> 8), byte(x.lo)})
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], x.hi)
	binary.BigEndian.PutUint64(b[8:], x.lo)
	return netip.AddrFrom16(b)
}

// less orders addresses as netip.Addr.Compare does: IPv4 first, then by value.
func (x ipAddr) less(y ipAddr) bool {
	if x.v6 != y.v6 {
		return y.v6
	}
	return x.hi < y.hi || x.hi == y.hi && x.lo < y.lo
}

// shardOf picks the shard of the unordered address pair {x, y}. The hash
// is fixed (not seeded) so the per-shard limits drop the same targets on
// every run.
func shardOf(x, y int32) int {
	lo, hi := min(x, y), max(x, y)
	return int(hashtab.Mix64(uint64(lo)<<32|uint64(hi)) >> (64 - shardBits))
}

// shardBits is log2(numShards).
const shardBits = 2

// isICMPError reports whether p is an ICMP message that addICMP treats as
// an error (neither a request nor a reply it recognises).
func isICMPError(p *pcapng.Packet) bool {
	if p.L4 != pcapng.L4ICMP && p.L4 != pcapng.L4ICMPv6 {
		return false
	}
	_, isReq, reply := icmpKind(p.L4 == pcapng.L4ICMPv6, p.ICMPType)
	return !isReq && !reply
}

// pkt is what a shard needs of one packet: a pointer-free copy of some
// fields of pcapng.Packet with its address IDs, so batches of them cross
// goroutines without the collector scanning them and without keeping
// packet bytes.
type pkt struct {
	ts                 int64
	frame              uint64
	sid, did           int32 // address IDs of source and destination
	qsid, qdid         int32 // of the quoted datagram's (ICMP errors), or -1
	seq, ack           uint32
	sport, dport       uint16
	flags              uint16 // TCP flags; for SCTP the first chunk's type
	window             uint16
	ipid               uint16
	qdport             uint16
	bits               uint16 // pk* bits
	l4                 pcapng.L4
	ttl                uint8
	icmpType, icmpCode uint8
	qproto             uint8
	shard              uint8
	proto              uint8 // IP protocol (after IPv6 extension headers)
}

// pkt bits: tests made once on the reading goroutine.
const (
	pkSource      uint16 = 1 << iota // the sender is a source (within the source budget)
	pkPayload                        // transport payload present
	pkUnicast                        // the destination addresses one host
	pkQuoted                         // an ICMP error with the quoted datagram's addresses
	pkQHasPorts                      // the quote has its ports
	pkSrcIsQDst                      // the error comes from the quoted destination itself
	pkMSS1460Only                    // TCP options exactly one MSS of 1460 (nmap's SYN)
	pkWinStyle                       // TCP options are ZMap's "windows" list
	pkNoOpts                         // no TCP options
	pkFrag                           // a datagram reassembled from fragments
	pkFragEvasion                    // ... whose fragments overlapped or began tiny
	pkFragPart                       // a fragment of a datagram not whole here: the datagram, once rebuilt, names the probe
	pkIPv6                           // an IPv6 packet
)

// fill copies what a shard needs of p into x, but for the IDs and
// pkSource.
func (x *pkt) fill(p *pcapng.Packet) {
	x.ts, x.frame = p.Timestamp, p.Frame
	x.seq, x.ack = p.Seq, p.Ack
	x.sport, x.dport = p.SrcPort, p.DstPort
	x.flags, x.window, x.ipid = p.TCPFlags, p.Window, uint16(p.IPID)
	x.l4, x.ttl, x.proto = p.L4, p.TTL, p.Proto
	if p.L4 == pcapng.L4TCP && p.TCPFlagsUnknown {
		// The flags decide what a segment is (probe, answer, backscatter):
		// one whose flags were not captured is none of them.
		x.l4 = pcapng.L4None
	}
	if p.L4 == pcapng.L4SCTP {
		x.flags = uint16(p.SCTPChunk)
		if p.Anomalies&(pcapng.AnomalyL4Truncated|pcapng.AnomalyBadL4Header) != 0 {
			// Likewise the first chunk: a type cut off reads as DATA (0).
			x.l4 = pcapng.L4None
		}
	}
	x.icmpType, x.icmpCode = p.ICMPType, p.ICMPCode
	var b uint16
	if p.PayloadLen > 0 {
		b |= pkPayload
	}
	if unicast(p.Dst) {
		b |= pkUnicast
	}
	if p.Reassembled {
		b |= pkFrag
		if p.FragEvasion != 0 {
			b |= pkFragEvasion
		}
	} else if p.Frag != pcapng.FragNone {
		b |= pkFragPart
	}
	if p.L3 == pcapng.L3IPv6 {
		b |= pkIPv6
	}
	if p.L4 == pcapng.L4TCP {
		switch {
		case p.OptCount == 0:
			b |= pkNoOpts
		case p.OptCount == 1 && p.OptKinds&0xff == 2 && p.MSS == 1460:
			b |= pkMSS1460Only
		case p.OptCount == 6 && p.OptKinds == zmapWindowsOpts:
			b |= pkWinStyle
		}
	}
	if p.Quoted {
		b |= pkQuoted
		x.qproto, x.qdport = p.QProto, p.QDstPort
		if p.QHasPorts {
			b |= pkQHasPorts
		}
		if p.Src == p.QDst {
			b |= pkSrcIsQDst
		}
	}
	x.bits = b
}

func (x *pkt) has(bit uint16) bool { return x.bits&bit != 0 }

// unicast reports whether d addresses one host.
func unicast(d netip.Addr) bool {
	return !d.IsMulticast() && d != netip.AddrFrom4([4]byte{255, 255, 255, 255}) && !d.IsUnspecified()
}

// ICMP types the engine reads (RFC 792, RFC 950, RFC 4443).
const (
	icmpEchoReply      = 0
	icmpUnreachable    = 3
	icmpEcho           = 8
	icmpTimeExceeded   = 11
	icmpTimestamp      = 13
	icmpTimestampReply = 14
	icmpMaskRequest    = 17
	icmpMaskReply      = 18
	icmpPortUnreach    = 3 // code of icmpUnreachable
	icmpProtoUnreach   = 2 // code of icmpUnreachable

	icmp6Unreachable       = 1
	icmp6TimeExceeded      = 3
	icmp6EchoRequest       = 128
	icmp6EchoReply         = 129
	icmp6PortUnreach       = 4 // code of icmp6Unreachable
	icmp6ParamProblem      = 4
	icmp6UnknownNextHeader = 1 // code of icmp6ParamProblem: unrecognized next header (RFC 4443 §3.4)
)
