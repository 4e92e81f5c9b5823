package scan

import (
	"slices"

	"porthunter/pcapng"
)

// IP protocol scans (nmap -sO, DETECTION.md §1 and §6.1): the probe is an
// IP packet to one host, and what is swept is the protocol number, not a
// port. nmap sends empty packets for most numbers and real headers for
// ICMP (echo), IGMP, TCP (ACK), UDP and SCTP (INIT). The target answers
// in the probed protocol (open), with ICMP protocol unreachable (3/2; for
// IPv6, parameter problem 4/1 "unrecognized next header": closed), with
// another ICMP unreachable (filtered) or not at all (open|filtered).
//
// A packet of any protocol the engine does not otherwise read (not TCP,
// UDP, ICMP or ICMPv6) is a target keyed by (source, destination,
// protocol), class clsPROTO, port 0. Alone it is nothing: GRE, ESP, AH,
// IPIP and friends carry one protocol between two hosts all day. Only a
// sweep, protoSweepMin distinct such protocols from one source to one
// host, makes its packets probes; then the sweep's single TCP, UDP and
// ICMP probes to that host become protocol probes as well, so that the
// report names protocols 1, 6 and 17 with the others. Distinct protocols
// then count as the ports of their host (ports_on_host), in a key space
// of their own, and the technique is ip_protocol_scan.
//
// SCTP (132) is a transport of its own (sctp.go): the sweep's one SCTP
// INIT to a host folds into the sweep as its TCP, UDP and ICMP probes do,
// and an SCTP port scan, many INITs to one host, stays a port scan.

// protoSweepMin is how many distinct protocols other than TCP, UDP, ICMP
// and ICMPv6 one source must send to one host before its packets of those
// protocols are taken for a protocol sweep: two routers may well exchange
// GRE, ESP, AH and OSPF or PIM (four), while nmap -sO sends about 250.
const protoSweepMin = 5

// addProto takes a packet of another protocol: a reply to a protocol probe
// of its destination, a repeat of a probe, or a new protocol target.
func (s *shard) addProto(x *pkt) {
	if nativeProto(x.proto, x.has(pkIPv6)) {
		return // cut before its transport header: nothing to say
	}
	if x.has(pkFragPart) {
		return // a piece of a datagram: the reassembled datagram (or nothing) names the probe
	}
	if t := s.find(targetKey{x.did, x.sid, 0, x.proto}); t != nil {
		s.answer(t, x, stAckReply) // an answer in the probed protocol: open
		return
	}
	k := targetKey{x.sid, x.did, 0, x.proto}
	if t := s.find(k); t != nil {
		if t.state&stAnswered == 0 {
			t.pkts++
		}
		return
	}
	if !x.has(pkUnicast) {
		// OSPF, VRRP, PIM and IGMP reports go to multicast groups: they
		// announce, they probe no host.
		return
	}
	s.newTarget(k, x, clsPROTO)
}

// nativeProto reports whether p is a transport the engine reads for
// itself in IP version 4 (v6 false) or 6: TCP, UDP, SCTP and that
// version's ICMP. ICMPv6 over IPv4 and ICMP over IPv6 are as foreign as any other
// number, and nmap -sO probes them so.
func nativeProto(p uint8, v6 bool) bool {
	switch p {
	case protoTCP, protoUDP:
		return true
	case protoICMP:
		return !v6
	case protoICMPv6:
		return v6
	case protoSCTP:
		return true
	}
	return false
}

// protoError records an ICMP error about protocol probe t.
func protoError(s *shard, t *target, x *pkt, protoUnreach, portUnreach bool) {
	v6 := x.l4 == pcapng.L4ICMPv6
	fromTarget := x.has(pkSrcIsQDst)
	switch {
	case protoUnreach && fromTarget:
		s.answer(t, x, stICMPClosed) // nmap: closed
	case portUnreach && fromTarget:
		s.answer(t, x, stAckReply) // nmap: the protocol is spoken, so open
	case !v6 && x.icmpType == icmpUnreachable, v6 && x.icmpType == icmp6Unreachable:
		s.answer(t, x, stICMPFiltered)
	case !v6 && x.icmpType == icmpTimeExceeded, v6 && x.icmpType == icmp6TimeExceeded:
		s.answer(t, x, stICMPFiltered|stTTLExceeded)
	}
}

// protoOutcome is what the capture says about protocol probe t, read as
// nmap -sO reads it (scan_engine_raw.cc): any answer but an error is
// open, and so is ICMP port unreachable from the target to the sweep's
// UDP probe; protocol unreachable is closed.
func protoOutcome(t *target) uint8 {
	s := t.state
	open := stAckReply | stSynAck | stRST | stUDPReply | stICMPReply
	if t.proto == protoUDP {
		open |= stICMPClosed
	}
	switch {
	case s&open != 0:
		return outOpen
	case s&stICMPClosed != 0:
		return outClosed
	case s&stICMPFiltered != 0:
		return outFiltered
	}
	return outUnanswered
}

// protoSweeps settles a source's protocol targets before its probes are
// derived (seg is all its targets): those to a host it swept with at least
// protoSweepMin protocols stay probes, together with the one TCP, UDP and
// ICMP probe of the sweep to that host; the others stop being probes. It
// costs a pass over seg and a sort of the protocol targets.
func protoSweeps(seg []target, gap int64) {
	type sweep struct {
		dst         int32
		n           int
		first, last int64
		folds       [5]int32 // per transport (protoSlot): index into seg + 1, -1 for several
	}
	var dsts []int32
	for i := range seg {
		if seg[i].class == clsPROTO {
			dsts = append(dsts, seg[i].dst)
		}
	}
	if len(dsts) == 0 {
		return
	}
	slices.Sort(dsts)
	var sw []sweep
	for i := 0; i < len(dsts); {
		j := i
		for j < len(dsts) && dsts[j] == dsts[i] {
			j++
		}
		if j-i >= protoSweepMin { // one target per protocol: a run counts distinct protocols
			sw = append(sw, sweep{dst: dsts[i], first: 1<<63 - 1, last: -1 << 63})
		}
		i = j
	}
	find := func(dst int32) *sweep {
		if k, ok := slices.BinarySearchFunc(sw, dst, func(x sweep, d int32) int { return int(x.dst) - int(d) }); ok {
			return &sw[k]
		}
		return nil
	}
	for i := range seg {
		t := &seg[i]
		if t.class != clsPROTO {
			continue
		}
		w := find(t.dst)
		if w == nil {
			t.class = clsNone // a tunnel or a routing protocol: one or a few protocols, not a sweep
			continue
		}
		w.n++
		w.first, w.last = min(w.first, t.firstTS), max(w.last, t.firstTS)
	}
	if len(sw) == 0 {
		return
	}
	// The sweep's probe of each transport: exactly one probe of it to the
	// host within the sweep (give or take an idle gap). More than one is a
	// port scan of its own, left as it is.
	for i := range seg {
		t := &seg[i]
		slot := protoSlot(t.proto)
		if slot < 0 || t.class == clsNone || roleOf(t) != roleProbe {
			continue
		}
		w := find(t.dst)
		if w == nil || t.firstTS < w.first-gap || t.firstTS > w.last+gap {
			continue
		}
		switch w.folds[slot] {
		case 0:
			w.folds[slot] = int32(i + 1)
		default:
			w.folds[slot] = -1
		}
	}
	for _, w := range sw {
		for _, f := range w.folds {
			if f > 0 {
				seg[f-1].class = clsPROTO
			}
		}
	}
}

// protoSlot numbers the transports a protocol sweep also probes.
func protoSlot(p uint8) int {
	switch p {
	case protoTCP:
		return 0
	case protoUDP:
		return 1
	case protoICMP:
		return 2
	case protoICMPv6:
		return 3
	case protoSCTP:
		return 4
	}
	return -1
}

// protocols are r's protocol probes' protocol numbers: all, open and
// closed, each sorted.
func protocols(r *srcResult) (all, open, closed []int) {
	for i := range r.probes {
		t := &r.probes[i]
		if t.class != clsPROTO {
			continue
		}
		all = append(all, int(t.proto))
		switch protoOutcome(t) {
		case outOpen:
			open = append(open, int(t.proto))
		case outClosed:
			closed = append(closed, int(t.proto))
		}
	}
	for _, l := range []*[]int{&all, &open, &closed} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	return all, open, closed
}
