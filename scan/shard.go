package scan

import (
	"math"
	"reflect"

	"porthunter/pcapng"
	"porthunter/scan/internal/hugepage"
)

// targetKey identifies one target of one source by address IDs. For ICMP
// requests port holds the request type.
type targetKey struct {
	src, dst int32 // address IDs
	port     uint16
	proto    uint8
}

// target is the state of one (source, destination, protocol, port): 64
// bytes without pointers, one cache line, so that a packet's lookup and
// update touch one line and millions of targets cost the collector
// nothing. What the first answer was is kept beside it (answerRec), since
// about half the targets of a scan are never answered. A protocol probe
// (clsPROTO) has port 0: its protocol is its key. An unsolicited SYN/ACK
// (tmSynAck, see idle.go) is a target of class clsNone, never a probe:
// pkts counts its changes of source port and the IP IDs of the answers are
// what an idle scan's prober reads.
type target struct {
	firstTS int64
	frame   uint64
	dst     int32 // address ID; an address index after Finish
	src     int32 // the source's address ID; a source index after Finish
	seq     uint32
	pkts    uint32    // probe packets: the first and its retransmissions
	ack     uint32    // the first packet's acknowledgment field (fingerprints)
	ans     answerRef // the first answer, if any (answerRec)
	// The target again after its first contact was answered: a service
	// polled in rounds, or a client that comes back (see monitoring).
	lastMS uint32 // milliseconds from firstTS to the latest contact, saturating
	again  uint16 // later contacts: new connections (SYN), new requests, saturating

	state  uint16
	port   uint16
	sport  uint16
	flags  uint16
	ipid   uint16
	window uint16 // the first packet's window (fingerprints)
	marks  uint16 // tm* bits
	proto  uint8
	class  class
	ttl    uint8
	flow   uint8 // tf* bits
}

// An unsolicited SYN/ACK (tmSynAck) is no probe, so its ack field, kept
// for the fingerprints of probes, holds instead the IP IDs of the answers
// an idle scan's prober reads (idle.go): the first answer's in the high
// half, the latest's in the low. So target stays 64 bytes.
func (t *target) ipids() (first, last uint16) { return uint16(t.ack >> 16), uint16(t.ack) }

// Bits of target.flow: how the source ended the connection its probe
// opened.
const (
	tfClientFIN uint8 = 1 << iota // the source closed it gracefully (FIN)
)

// Bits of target.marks: the TCP option summary of the first packet (for
// the fingerprint, replayed at Finish), whether that packet was
// reassembled from fragments and, once a source's probes are known,
// whether a probe shares its (host, port) with a probe of the other
// transport.
const (
	tmMSS1460Only uint16 = 1 << iota
	tmWinStyle
	tmNoOpts
	tmTwin
	tmFrag        // the first packet was reassembled from fragments
	tmFragEvasion // ... which overlapped or began with a tiny fragment
	tmSynAck      // an unsolicited SYN/ACK (idle.go): only its source sent it first
	tmRaw         // a SYN no operating system's connect() sends: its handshake is not a connection
	tmDiscovery   // a TCP probe of host discovery (nmap -sn: SYN 443, ACK 80 beside an ICMP request)
	tmPolled      // a service the source polls on a schedule (monitoring), not a probe
)

// shard is one part of the targets (see Aggregator): those of the address
// pairs whose packets it sees.
type shard struct {
	id          uint8 // its index in Aggregator.shards, which its answer references carry
	maxTargets  int64
	tgtIdx      targetTable
	tgts        targetList
	answers     answerList       // the first answers to its targets, in file order
	owns        []uint64         // bit per address ID: the source of a target here
	backscatter map[int32]uint64 // by address ID: unsolicited SYN/ACK and RST sent
	returned    bool
	drops       drops
}

// drops counts what a shard's limit kept out.
type drops struct {
	targets, packets uint64
}

// add takes one packet of the shard's address pairs, in file order.
func (s *shard) add(x *pkt) {
	switch x.l4 {
	case pcapng.L4TCP:
		s.addTCP(x)
	case pcapng.L4UDP:
		s.addUDP(x)
	case pcapng.L4ICMP, pcapng.L4ICMPv6:
		s.addICMP(x)
	case pcapng.L4SCTP:
		s.addSCTP(x)
	case pcapng.L4Other, pcapng.L4None:
		s.addProto(x)
	}
}

func (s *shard) owner(id int32) bool {
	w := int(id / 64)
	return w < len(s.owns) && s.owns[w]&(1<<(id%64)) != 0
}

func (s *shard) setOwner(id int32) {
	w := int(id / 64)
	if w >= len(s.owns) {
		s.owns = append(s.owns, make([]uint64, w+1-len(s.owns))...)
	}
	s.owns[w] |= 1 << (id % 64)
}

// find returns the target of k, or nil. An address that is the source of
// no target needs no lookup: most probes go to hosts that never sent
// anything, and the table lookup is the costliest step of a packet (its
// slot is rarely in any cache).
func (s *shard) find(k targetKey) *target {
	if !s.owner(k.src) {
		return nil
	}
	if i, ok := s.tgtIdx.get(k, &s.tgts); ok {
		return s.tgts.at(i)
	}
	return nil
}

// newTarget records the first packet of a target; nil when the budget is
// spent or the source was dropped.
func (s *shard) newTarget(k targetKey, x *pkt, c class) *target {
	if !x.has(pkSource) {
		s.drops.packets++
		return nil
	}
	if int64(s.tgts.n) >= s.maxTargets {
		s.drops.targets++
		return nil
	}
	s.tgtIdx.put(k, int32(s.tgts.n))
	s.setOwner(k.src)
	var marks uint16
	if x.has(pkMSS1460Only) {
		marks |= tmMSS1460Only
	}
	if x.has(pkWinStyle) {
		marks |= tmWinStyle
	}
	if x.has(pkNoOpts) {
		marks |= tmNoOpts
	}
	if x.has(pkFrag) {
		marks |= tmFrag
	}
	if x.has(pkFragEvasion) {
		marks |= tmFragEvasion
	}
	t := s.tgts.push()
	*t = target{
		firstTS: x.ts, frame: x.frame, dst: k.dst, src: k.src, seq: x.seq, pkts: 1, ack: x.ack,
		port: k.port, sport: x.sport, flags: x.flags, ipid: x.ipid, window: x.window,
		proto: k.proto, class: c, ttl: x.ttl, marks: marks,
	}
	return t
}

// A chunk list grows a chunk at a time instead of copying every element
// into an array twice the size: chunks of chunkLen elements (5 MiB of
// targets, whole huge pages: see hugepage.Advise), but for the first,
// which starts at firstChunkLen (16 KiB of targets) and doubles, so that a
// small capture's shard holds no more than twice its targets (the memory
// budget counts what is allocated, touched or not) and a capture of a few
// packets clears little.
const (
	chunkBits     = 16
	chunkLen      = 1 << chunkBits
	firstChunkLen = 1 << 8
)

// chunkList is a growable list in chunks. Elements never move but in the
// first chunk, while it grows.
type chunkList[T any] struct {
	chunks [][]T
	n      int
}

// targetList is a shard's targets, in file order of their first packets.
type targetList = chunkList[target]

// answerList is a shard's first answers, in file order.
type answerList = chunkList[answerRec]

// at returns element i. The pointer is valid until the next push: the
// first chunk moves when it grows.
func (l *chunkList[T]) at(i int32) *T {
	return &l.chunks[i>>chunkBits][i&(chunkLen-1)]
}

// push appends a zero element and returns it.
func (l *chunkList[T]) push() *T {
	c, off := l.n>>chunkBits, l.n&(chunkLen-1)
	switch {
	case c == len(l.chunks):
		size := chunkLen
		if c == 0 {
			size = firstChunkLen
		}
		l.chunks = append(l.chunks, make([]T, size))
		hugepage.Advise(l.chunks[c])
	case off == len(l.chunks[c]):
		grown := make([]T, 2*off)
		hugepage.Advise(grown)
		copy(grown, l.chunks[c])
		l.chunks[c] = grown
	}
	l.n++
	return &l.chunks[c][off]
}

// bytes is the memory l holds: its chunks' capacity.
func (l *chunkList[T]) bytes() int64 {
	var n int64
	for _, c := range l.chunks {
		n += int64(len(c))
	}
	return n * int64(reflect.TypeFor[T]().Size())
}

// answerRef names a target's first answer: 0 for none, else the shard
// (its top shardBits bits) and the answer's index + 1 in the shard's
// answerList. The shard travels with it, since Finish groups the targets
// of every shard by source.
type answerRef uint32

// maxShardTargets bounds the targets of a shard so that the index of any
// of its answers fits an answerRef. The budget's own limit is lower for
// any budget up to 850 GiB.
const maxShardTargets = 1<<(32-shardBits) - 2

func makeAnswerRef(shard uint8, idx int) answerRef {
	return answerRef(uint32(shard)<<(32-shardBits) | uint32(idx+1))
}

func (r answerRef) shard() int { return int(r >> (32 - shardBits)) }
func (r answerRef) index() int32 {
	return int32(r&(1<<(32-shardBits)-1)) - 1
}

// answer marks t answered by x.
func (s *shard) answer(t *target, x *pkt, bit uint16) {
	if t.marks&tmSynAck != 0 {
		if t.state&stAnswered == 0 {
			t.ack = uint32(x.ipid) << 16
		}
		t.ack = t.ack&^0xffff | uint32(x.ipid)
	}
	if t.state&stAnswered == 0 {
		t.ans = makeAnswerRef(s.id, s.answers.n)
		s.answers.push().note(x)
	}
	t.state |= stAnswered | bit
	s.returned = true
}

func (s *shard) addTCP(x *pkt) {
	if t := s.find(targetKey{x.did, x.sid, x.sport, protoTCP}); t != nil && (t.marks&tmSynAck == 0 || x.flags&pcapng.TCPFlagRST != 0) {
		// A reply; to an unsolicited SYN/ACK only a RST is one. (An idle
		// scan's self-test spoofs SYN/ACKs from the target to the
		// zombie's port, from which the zombie's SYNs then leave.)
		s.tcpReply(t, x)
		return
	}
	k := targetKey{x.sid, x.did, x.dport, protoTCP}
	if t := s.find(k); t != nil {
		if t.marks&tmSynAck != 0 {
			if _, ok := tcpClass(x.flags, x.has(pkPayload)); !ok {
				s.countBackscatter(x) // as before the SYN/ACK was kept
			}
		}
		tcpAgain(t, x)
		return
	}
	c, ok := tcpClass(x.flags, x.has(pkPayload))
	if !ok {
		s.countBackscatter(x)
		if x.flags&tcpFlagMask == pcapng.TCPFlagSYN|pcapng.TCPFlagACK && !x.has(pkPayload) {
			// Kept, not as a probe: a run of these to one port of one
			// host, answered by RSTs, is an idle scan's IP ID probing
			// (idle.go); one to each of many hosts is backscatter.
			if t := s.newTarget(k, x, clsNone); t != nil {
				t.marks |= tmSynAck
			}
		}
		return
	}
	if t := s.newTarget(k, x, c); t != nil && x.has(pkPayload) && c != clsSYN {
		// Payload in a SYN (nmap --data-length) is part of the probe: only
		// the source's data after the handshake makes a connection.
		t.state |= stData
	}
}

// countBackscatter counts an unsolicited SYN/ACK or RST of a source.
func (s *shard) countBackscatter(x *pkt) {
	if x.has(pkSource) {
		if s.backscatter == nil {
			s.backscatter = make(map[int32]uint64)
		}
		s.backscatter[x.sid]++
	}
}

// tcpReply handles a segment from a target back to its source.
func (s *shard) tcpReply(t *target, x *pkt) {
	f := x.flags
	switch {
	case f&pcapng.TCPFlagRST != 0:
		bit := stRST
		if x.window > 0 {
			bit |= stRSTWin
		}
		s.answer(t, x, bit)
	case f&pcapng.TCPFlagSYN != 0:
		s.answer(t, x, stSynAck)
	case x.has(pkPayload):
		if x.dport == t.sport {
			// A banner (SSH, SMTP, FTP) is the server speaking first: it
			// shows the port open, but only the client's own payload
			// makes the connection a use rather than a connect-scan
			// probe (nmap -sT reads the banner and resets).
			s.answer(t, x, stAckReply)
		} else {
			s.answer(t, x, stLaterData)
		}
	default:
		s.answer(t, x, stAckReply)
	}
}

// tcpAgain handles a later segment from a target's source.
func tcpAgain(t *target, x *pkt) {
	f := x.flags & tcpFlagMask
	if t.marks&tmSynAck != 0 {
		// Another unsolicited SYN/ACK: an IP ID probe when it comes from
		// a new source port (nmap -sI), a retransmission otherwise.
		if f == pcapng.TCPFlagSYN|pcapng.TCPFlagACK && x.sport != t.sport {
			t.pkts++
			t.sport = x.sport
		}
		return
	}
	switch {
	case f&pcapng.TCPFlagRST != 0:
		t.state |= stClientRST
	case f&pcapng.TCPFlagACK == 0:
		// The same probe again (a SYN keeps its payload on every copy:
		// nmap --data-length), or a new attempt after an answer. Checked
		// before payload: data in a segment without ACK is no exchange,
		// since no established connection sends one (RFC 9293 §3.10.7.4).
		switch {
		case t.state&stAnswered == 0:
			repeat(t)
		case f&pcapng.TCPFlagSYN != 0:
			t.state |= stReconnect
			contactAgain(t, x)
		}
	case x.has(pkPayload):
		if x.sport == t.sport {
			t.state |= stData
			if f&pcapng.TCPFlagFIN != 0 {
				t.flow |= tfClientFIN
			}
		} else {
			t.state |= stLaterData
		}
	case (t.class == clsACK || t.class == clsMAIMON) && f == t.flags&tcpFlagMask:
		if t.state&stAnswered == 0 {
			repeat(t)
		}
	case t.state&stSynAck != 0 && x.sport == t.sport:
		t.state |= stClientAck
		if f&pcapng.TCPFlagFIN != 0 {
			t.flow |= tfClientFIN
		}
	}
}

// repeat counts an unanswered probe sent again.
func repeat(t *target) {
	t.pkts++
	if t.pkts > maxProbeTries && (t.class == clsACK || t.class == clsMAIMON) {
		// A stream of bare ACKs is a flow seen from one side (a download
		// whose data went another way), not a probe.
		t.state |= stMidstream
	}
}

// contactAgain counts a new contact of an answered target: a new
// connection or request, not a retransmission (those come before any
// answer and count in pkts).
func contactAgain(t *target, x *pkt) {
	if t.again < math.MaxUint16 {
		t.again++
	}
	if d := x.ts - t.firstTS; d > 0 {
		t.lastMS = uint32(min(d/1e6, math.MaxUint32))
	}
}

func (s *shard) addUDP(x *pkt) {
	if t := s.find(targetKey{x.did, x.sid, x.sport, protoUDP}); t != nil {
		s.answer(t, x, stUDPReply)
		return
	}
	k := targetKey{x.sid, x.did, x.dport, protoUDP}
	if t := s.find(k); t != nil {
		if t.state&stAnswered == 0 {
			t.pkts++
		} else {
			contactAgain(t, x)
		}
		return
	}
	if !x.has(pkUnicast) {
		// Multicast and broadcast (mDNS, SSDP, DHCP, NetBIOS) are
		// announcements, not probes of a host.
		return
	}
	s.newTarget(k, x, clsUDP)
}

func (s *shard) addICMP(x *pkt) {
	v6 := x.l4 == pcapng.L4ICMPv6
	proto := uint8(protoICMP)
	if v6 {
		proto = protoICMPv6
	}
	req, isReq, reply := icmpKind(v6, x.icmpType)
	switch {
	case isReq:
		k := targetKey{x.sid, x.did, uint16(req), proto}
		if t := s.find(k); t != nil {
			if t.state&stAnswered == 0 {
				t.pkts++
			} else {
				contactAgain(t, x)
			}
			return
		}
		if x.has(pkUnicast) {
			s.newTarget(k, x, clsICMP)
		}
	case reply:
		if t := s.find(targetKey{x.did, x.sid, uint16(req), proto}); t != nil {
			s.answer(t, x, stICMPReply)
		}
	case x.has(pkQuoted):
		s.icmpError(x, v6)
	}
}

// icmpError attributes an ICMP error to the probe its quoted header names
// (RFC 792: the original IP header and 64 bits of its payload).
func (s *shard) icmpError(x *pkt, v6 bool) {
	var port uint16
	switch x.qproto {
	case protoTCP, protoUDP, protoSCTP:
		if !x.has(pkQHasPorts) {
			return
		}
		port = x.qdport
	case protoICMP, protoICMPv6:
		switch {
		case !nativeProto(x.qproto, v6):
			port = 0 // ICMPv6 over IPv4 or ICMP over IPv6: a protocol probe
		case v6:
			port = icmp6EchoRequest
		default:
			port = icmpEcho // the quote's type is not decoded; echo is what sweeps send
		}
	default:
		port = 0 // a protocol probe (protoscan.go): keyed by its protocol alone
	}
	if x.qsid < 0 || x.qdid < 0 {
		return
	}
	t := s.find(targetKey{x.qsid, x.qdid, port, x.qproto})
	if t == nil {
		return
	}
	unreach, exceeded, portUnreach, protoUnreach := false, false, false, false
	if v6 {
		unreach, exceeded = x.icmpType == icmp6Unreachable, x.icmpType == icmp6TimeExceeded
		portUnreach = unreach && x.icmpCode == icmp6PortUnreach
		protoUnreach = x.icmpType == icmp6ParamProblem && x.icmpCode == icmp6UnknownNextHeader
	} else {
		unreach, exceeded = x.icmpType == icmpUnreachable, x.icmpType == icmpTimeExceeded
		portUnreach = unreach && x.icmpCode == icmpPortUnreach
		protoUnreach = unreach && x.icmpCode == icmpProtoUnreach
	}
	if t.class == clsPROTO {
		protoError(s, t, x, protoUnreach, portUnreach)
		return
	}
	switch {
	case portUnreach && x.qproto == protoUDP && x.has(pkSrcIsQDst):
		s.answer(t, x, stICMPClosed) // nmap: closed only when the target itself says so
	case protoUnreach && x.qproto == protoSCTP && x.has(pkSrcIsQDst):
		// The host speaks no SCTP: filtered to an SCTP port scan (outcome),
		// closed to the protocol sweep its INIT may belong to (protoOutcome).
		s.answer(t, x, stICMPClosed)
	case exceeded:
		s.answer(t, x, stICMPFiltered|stTTLExceeded)
	case unreach:
		s.answer(t, x, stICMPFiltered)
	}
}
