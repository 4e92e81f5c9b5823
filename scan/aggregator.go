package scan

import (
	"net/netip"

	"porthunter/pcapng"
)

// IP protocol numbers used as the protocol of a target.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
)

// class is what the first packet of a target says about it.
type class uint8

// Probe classes, as flag_stats names them (CONTRACT.md §3.1).
const (
	clsNone   class = iota // not a probe: midstream traffic of a flow that began before the capture
	clsSYN                 // SYN without ACK (ECE/CWR allowed)
	clsFIN                 // FIN alone
	clsNULL                // no flags
	clsXMAS                // FIN+PSH+URG
	clsMAIMON              // FIN+ACK, no payload, on a flow never seen before
	clsACK                 // ACK alone, no payload, on a flow never seen before
	clsOTHER               // any other segment without ACK that is not SYN or RST alone (SYN+FIN, ...)
	clsUDP                 // a UDP datagram
	clsICMP                // an ICMP echo, timestamp or address-mask request (ICMPv6 echo)
	numClasses
)

var classNames = [numClasses]string{"", "SYN", "FIN", "NULL", "XMAS", "MAIMON", "ACK", "OTHER", "UDP", "ICMP"}

// stealth reports whether c is a class no valid TCP stack sends to open a
// connection (RFC 9293: after the SYN every segment carries ACK), so that
// a few distinct targets suffice (DETECTION.md §6.9).
func (c class) stealth() bool {
	switch c {
	case clsFIN, clsNULL, clsXMAS, clsMAIMON, clsOTHER:
		return true
	}
	return false
}

// Target state bits: what the capture showed after the first packet.
const (
	stAnswered     uint32 = 1 << iota // any packet back from the target (or an ICMP error about it)
	stSynAck                          // SYN/ACK (or a bare SYN: split handshake) from the target
	stRST                             // RST from the target
	stRSTWin                          // a RST from the target with a non-zero window (nmap -sW: open)
	stAckReply                        // a reply without SYN, RST or payload (an ordinary ACK or FIN)
	stData                            // payload on the first connection, either way
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

// targetKey identifies one target of one source by address IDs (a
// 12-byte key hashes several times faster than two netip.Addr). For ICMP
// requests port holds the request type.
type targetKey struct {
	src, dst int32 // indexes into Aggregator.addrs
	port     uint16
	proto    uint8
}

// target is the state of one (source, destination, protocol, port).
type target struct {
	dst      netip.Addr
	firstTS  int64
	ansTS    int64 // first answer
	frame    uint64
	ansFrame uint64
	src      int32 // index into Aggregator.srcs
	seq      uint32
	pkts     uint32 // probe packets: the first and its retransmissions
	state    uint32
	port     uint16
	sport    uint16
	flags    uint16
	ipid     uint16
	proto    uint8
	class    class
	ttl      uint8
}

// source is the state of one sending address.
type source struct {
	addr        netip.Addr
	pkts        uint64
	firstTS     int64
	lastTS      int64
	backscatter uint64 // unsolicited SYN/ACK and RST sent (replies to nothing we saw)
	fp          fpCounters
}

// Aggregator collects one capture. It is not safe for concurrent use;
// Finish hands its state to an immutable Analysis.
type Aggregator struct {
	cfg        Config
	st         CaptureStats
	prevTS     int64
	havePrev   bool
	prec       uint8
	returned   bool
	ids4       map[uint32]int32   // every IPv4 address seen, as source or destination
	ids6       map[[16]byte]int32 // every IPv6 address (integer keys hash far faster than netip.Addr)
	recent     [2]netip.Addr      // the last two addresses looked up, and their IDs:
	recentID   [2]int32           // consecutive packets mostly share their endpoints
	addrs      []netip.Addr       // by ID
	srcOf      []int32            // by ID: index into srcs, -1 for an address that never sent
	srcs       []source
	tgtIdx     map[targetKey]int32
	tgts       []target
	maxAddrs   int
	maxSources int
	maxTargets int
}

// NewAggregator returns an empty aggregator for one capture.
func NewAggregator(c Config) *Aggregator {
	if c.MemoryBudgetBytes <= 0 {
		c.MemoryBudgetBytes = DefaultMemoryBudgetBytes
	}
	if c.IdleGapNS <= 0 {
		c.IdleGapNS = DefaultIdleGapNS
	}
	srcBudget := c.MemoryBudgetBytes / 8 * sourceShare
	return &Aggregator{
		cfg:        c,
		ids4:       make(map[uint32]int32),
		ids6:       make(map[[16]byte]int32),
		recentID:   [2]int32{-1, -1},
		tgtIdx:     make(map[targetKey]int32),
		maxAddrs:   int(max(srcBudget/2/bytesPerAddr, 1)),
		maxSources: int(max(srcBudget/2/bytesPerSource, 1)),
		maxTargets: int(max((c.MemoryBudgetBytes-srcBudget)/bytesPerTarget, 1)),
	}
}

// Add takes one decoded record, in file order. It keeps no reference to p.
func (a *Aggregator) Add(p *pcapng.Packet) {
	a.count(p)
	if (p.L3 != pcapng.L3IPv4 && p.L3 != pcapng.L3IPv6) || !p.Src.IsValid() || !p.Dst.IsValid() {
		return
	}
	sid, did := a.addrID(p.Src), a.addrID(p.Dst)
	if sid < 0 || did < 0 {
		a.st.DroppedPackets++
		return
	}
	si := a.source(sid, p)
	switch p.L4 {
	case pcapng.L4TCP:
		a.addTCP(p, sid, did, si)
	case pcapng.L4UDP:
		a.addUDP(p, sid, did, si)
	case pcapng.L4ICMP, pcapng.L4ICMPv6:
		a.addICMP(p, sid, did, si)
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

// addrID returns the ID of address x, creating it; -1 when the budget
// is spent.
func (a *Aggregator) addrID(x netip.Addr) int32 {
	if a.recentID[0] >= 0 && x == a.recent[0] {
		return a.recentID[0]
	}
	if a.recentID[1] >= 0 && x == a.recent[1] {
		return a.recentID[1]
	}
	id, ok := a.lookupID(x)
	if !ok {
		if len(a.addrs) >= a.maxAddrs {
			a.st.DroppedAddrs++
			a.st.LimitHit = true
			return -1
		}
		id = int32(len(a.addrs))
		if x.Is4() {
			a.ids4[be32(x.As4())] = id
		} else {
			a.ids6[x.As16()] = id
		}
		a.addrs = append(a.addrs, x)
		a.srcOf = append(a.srcOf, -1)
	}
	a.recent[1], a.recentID[1] = a.recent[0], a.recentID[0]
	a.recent[0], a.recentID[0] = x, id
	return id
}

// lookupID returns the ID of a known address.
func (a *Aggregator) lookupID(x netip.Addr) (int32, bool) {
	if x.Is4() {
		id, ok := a.ids4[be32(x.As4())]
		return id, ok
	}
	id, ok := a.ids6[x.As16()]
	return id, ok
}

func be32(b [4]byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// source returns the index of the source with address ID sid, creating
// it; -1 when the budget is spent (the packet still answers probes, it
// just opens no new ones).
func (a *Aggregator) source(sid int32, p *pcapng.Packet) int32 {
	i := a.srcOf[sid]
	if i < 0 {
		if len(a.srcs) >= a.maxSources {
			a.st.DroppedSources++
			a.st.LimitHit = true
			return -1
		}
		i = int32(len(a.srcs))
		a.srcs = append(a.srcs, source{addr: p.Src, firstTS: p.Timestamp, lastTS: p.Timestamp})
		a.srcOf[sid] = i
	}
	s := &a.srcs[i]
	s.pkts++
	if p.Timestamp < s.firstTS {
		s.firstTS = p.Timestamp
	}
	if p.Timestamp > s.lastTS {
		s.lastTS = p.Timestamp
	}
	return i
}

func (a *Aggregator) find(k targetKey) *target {
	if i, ok := a.tgtIdx[k]; ok {
		return &a.tgts[i]
	}
	return nil
}

// newTarget records the first packet of a target; nil when the budget is
// spent or the source was dropped.
func (a *Aggregator) newTarget(k targetKey, si int32, p *pcapng.Packet, c class) *target {
	if si < 0 {
		a.st.DroppedPackets++
		return nil
	}
	if len(a.tgts) >= a.maxTargets {
		a.st.DroppedTargets++
		a.st.LimitHit = true
		return nil
	}
	a.tgtIdx[k] = int32(len(a.tgts))
	a.tgts = append(a.tgts, target{
		dst: a.addrs[k.dst], firstTS: p.Timestamp, frame: p.Frame, src: si, seq: p.Seq, pkts: 1,
		port: k.port, sport: p.SrcPort, flags: p.TCPFlags, ipid: uint16(p.IPID), proto: k.proto, class: c, ttl: p.TTL,
	})
	t := &a.tgts[len(a.tgts)-1]
	if c != clsNone {
		a.srcs[si].fp.add(p, c)
	}
	return t
}

// answer marks t answered by p.
func (a *Aggregator) answer(t *target, p *pcapng.Packet, bit uint32) {
	if t.state&stAnswered == 0 {
		t.ansTS, t.ansFrame = p.Timestamp, p.Frame
	}
	t.state |= stAnswered | bit
	a.returned = true
}

// tcpFlagMask keeps the flags that decide a class; ECE, CWR and NS only
// negotiate ECN and are ignored.
const tcpFlagMask = pcapng.TCPFlagFIN | pcapng.TCPFlagSYN | pcapng.TCPFlagRST | pcapng.TCPFlagPSH | pcapng.TCPFlagACK | pcapng.TCPFlagURG

// tcpClass classifies the first TCP segment of a target; ok is false for
// segments that never open one (RST, SYN/ACK: backscatter or the tail of
// an unseen flow).
func tcpClass(flags uint16, payload int) (c class, ok bool) {
	const (
		fin = pcapng.TCPFlagFIN
		syn = pcapng.TCPFlagSYN
		rst = pcapng.TCPFlagRST
		psh = pcapng.TCPFlagPSH
		ack = pcapng.TCPFlagACK
		urg = pcapng.TCPFlagURG
	)
	f := flags & tcpFlagMask
	if f&ack == 0 {
		switch f {
		case syn, syn | psh, syn | urg, syn | psh | urg:
			return clsSYN, true
		case rst:
			return clsNone, false
		case fin:
			return clsFIN, true
		case 0:
			return clsNULL, true
		case fin | psh | urg:
			return clsXMAS, true
		}
		return clsOTHER, true
	}
	switch {
	case f&rst != 0:
		return clsNone, false
	case f&syn != 0 && f&fin == 0:
		return clsNone, false // SYN/ACK
	case f&syn != 0:
		return clsOTHER, true // SYN+FIN+ACK and the like: no stack sends these
	case payload > 0:
		return clsNone, true
	case f == ack:
		return clsACK, true
	case f == fin|ack:
		return clsMAIMON, true
	}
	return clsNone, true // PSH/URG with ACK and no payload: flow traffic
}

func (a *Aggregator) addTCP(p *pcapng.Packet, sid, did, si int32) {
	if t := a.find(targetKey{did, sid, p.SrcPort, protoTCP}); t != nil {
		a.tcpReply(t, p)
		return
	}
	k := targetKey{sid, did, p.DstPort, protoTCP}
	if t := a.find(k); t != nil {
		tcpAgain(t, p)
		return
	}
	c, ok := tcpClass(p.TCPFlags, p.PayloadLen)
	if !ok {
		if si >= 0 {
			a.srcs[si].backscatter++
		}
		return
	}
	if t := a.newTarget(k, si, p, c); t != nil && p.PayloadLen > 0 {
		t.state |= stData
	}
}

// tcpReply handles a segment from a target back to its source.
func (a *Aggregator) tcpReply(t *target, p *pcapng.Packet) {
	f := p.TCPFlags
	switch {
	case f&pcapng.TCPFlagRST != 0:
		bit := stRST
		if p.Window > 0 {
			bit |= stRSTWin
		}
		a.answer(t, p, bit)
	case f&pcapng.TCPFlagSYN != 0:
		a.answer(t, p, stSynAck)
	case p.PayloadLen > 0:
		if p.DstPort == t.sport {
			a.answer(t, p, stData)
		} else {
			a.answer(t, p, stLaterData)
		}
	default:
		a.answer(t, p, stAckReply)
	}
}

// tcpAgain handles a later segment from a target's source.
func tcpAgain(t *target, p *pcapng.Packet) {
	f := p.TCPFlags & tcpFlagMask
	switch {
	case f&pcapng.TCPFlagRST != 0:
		t.state |= stClientRST
	case p.PayloadLen > 0:
		if p.SrcPort == t.sport {
			t.state |= stData
		} else {
			t.state |= stLaterData
		}
	case f&pcapng.TCPFlagACK == 0 || (t.class == clsACK || t.class == clsMAIMON) && f == t.flags&tcpFlagMask:
		// The same probe again, or a new attempt after an answer.
		switch {
		case t.state&stAnswered == 0:
			t.pkts++
			if t.pkts > maxProbeTries && (t.class == clsACK || t.class == clsMAIMON) {
				// A stream of bare ACKs is a flow seen from one side (a
				// download whose data went another way), not a probe.
				t.state |= stMidstream
			}
		case f&pcapng.TCPFlagSYN != 0:
			t.state |= stReconnect
		}
	case t.state&stSynAck != 0 && p.SrcPort == t.sport:
		t.state |= stClientAck
	}
}

func (a *Aggregator) addUDP(p *pcapng.Packet, sid, did, si int32) {
	if t := a.find(targetKey{did, sid, p.SrcPort, protoUDP}); t != nil {
		a.answer(t, p, stUDPReply)
		return
	}
	k := targetKey{sid, did, p.DstPort, protoUDP}
	if t := a.find(k); t != nil {
		if t.state&stAnswered == 0 {
			t.pkts++
		}
		return
	}
	if !unicast(p.Dst) {
		// Multicast and broadcast (mDNS, SSDP, DHCP, NetBIOS) are
		// announcements, not probes of a host.
		return
	}
	a.newTarget(k, si, p, clsUDP)
}

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

	icmp6Unreachable  = 1
	icmp6TimeExceeded = 3
	icmp6EchoRequest  = 128
	icmp6EchoReply    = 129
	icmp6PortUnreach  = 4 // code of icmp6Unreachable
)

func (a *Aggregator) addICMP(p *pcapng.Packet, sid, did, si int32) {
	v6 := p.L4 == pcapng.L4ICMPv6
	proto := uint8(protoICMP)
	if v6 {
		proto = protoICMPv6
	}
	typ := p.ICMPType
	req, isReq := uint8(0), false
	reply := false
	switch {
	case !v6 && (typ == icmpEcho || typ == icmpTimestamp || typ == icmpMaskRequest), v6 && typ == icmp6EchoRequest:
		req, isReq = typ, true
	case !v6 && typ == icmpEchoReply:
		req, reply = icmpEcho, true
	case !v6 && typ == icmpTimestampReply:
		req, reply = icmpTimestamp, true
	case !v6 && typ == icmpMaskReply:
		req, reply = icmpMaskRequest, true
	case v6 && typ == icmp6EchoReply:
		req, reply = icmp6EchoRequest, true
	}
	switch {
	case isReq:
		k := targetKey{sid, did, uint16(req), proto}
		if t := a.find(k); t != nil {
			if t.state&stAnswered == 0 {
				t.pkts++
			}
			return
		}
		if unicast(p.Dst) {
			a.newTarget(k, si, p, clsICMP)
		}
	case reply:
		if t := a.find(targetKey{did, sid, uint16(req), proto}); t != nil {
			a.answer(t, p, stICMPReply)
		}
	case p.Quoted:
		a.icmpError(p, v6)
	}
}

// icmpError attributes an ICMP error to the probe its quoted header names
// (RFC 792: the original IP header and 64 bits of its payload).
func (a *Aggregator) icmpError(p *pcapng.Packet, v6 bool) {
	var port uint16
	switch p.QProto {
	case protoTCP, protoUDP:
		if !p.QHasPorts {
			return
		}
		port = p.QDstPort
	case protoICMP:
		port = icmpEcho // the quote's type is not decoded; echo is what sweeps send
	case protoICMPv6:
		port = icmp6EchoRequest
	default:
		return
	}
	qs, ok := a.lookupID(p.QSrc)
	if !ok {
		return
	}
	qd, ok := a.lookupID(p.QDst)
	if !ok {
		return
	}
	t := a.find(targetKey{qs, qd, port, p.QProto})
	if t == nil {
		return
	}
	unreach, exceeded, portUnreach := false, false, false
	if v6 {
		unreach, exceeded = p.ICMPType == icmp6Unreachable, p.ICMPType == icmp6TimeExceeded
		portUnreach = unreach && p.ICMPCode == icmp6PortUnreach
	} else {
		unreach, exceeded = p.ICMPType == icmpUnreachable, p.ICMPType == icmpTimeExceeded
		portUnreach = unreach && p.ICMPCode == icmpPortUnreach
	}
	switch {
	case portUnreach && p.QProto == protoUDP && p.Src == p.QDst:
		a.answer(t, p, stICMPClosed) // nmap: closed only when the target itself says so
	case exceeded:
		a.answer(t, p, stICMPFiltered|stTTLExceeded)
	case unreach:
		a.answer(t, p, stICMPFiltered)
	}
}
