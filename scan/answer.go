package scan

import "porthunter/pcapng"

// answerRec is a target's first answer: its time and frame, and enough
// to show it as the answer (issue 19), source, destination, protocol and
// flags, in scanner_detail's first_answer and first_open. It is kept in
// its shard's answerList, not in the target: half the targets of a scan
// are never answered, and the target stays one cache line (see target).
type answerRec struct {
	ts      int64
	frame   uint64
	proto   uint8 // the answer's IP protocol
	flags   uint8 // its TCP flags, or its ICMP type
	code    uint8 // an ICMP answer's code
	relayed bool  // an ICMP error about the probe from another host than the target (a router, a firewall)
}

// note records x, the first answer to a target.
func (a *answerRec) note(x *pkt) {
	a.ts, a.frame, a.proto = x.ts, x.frame, x.proto
	switch x.proto {
	case protoTCP:
		a.flags = uint8(x.flags)
	case protoICMP, protoICMPv6:
		a.flags, a.code = x.icmpType, x.icmpCode
		a.relayed = x.has(pkQuoted) && !x.has(pkSrcIsQDst)
	}
}

// firstAnswer returns t's first answer; nil when it has none.
func (an *Analysis) firstAnswer(t *target) *answerRec {
	if t.ans == 0 {
		return nil
	}
	return an.answers[t.ans.shard()].at(t.ans.index())
}

// answerEvent is a, the first answer to t: from the target to the
// source, with the answer's protocol and TCP flags, or ICMP type and
// code. The technique and outcome are the probe's. An ICMP error from a
// router on the path is marked relayed: its sender was not kept, and src
// names the target it was about.
func (an *Analysis) answerEvent(r *srcResult, t *target, a *answerRec) *ProbeEvent {
	e := &ProbeEvent{TS: an.time(a.ts), Frame: a.frame, Src: an.addrAt(t.dst), Dst: an.addrAt(r.ai), Port: t.port,
		Proto: protoName(a.proto), Technique: technique(r, t), Outcome: outcomeName(outcome(t)), Answer: true,
		Relayed: a.relayed}
	switch a.proto {
	case protoTCP:
		f := flagText(uint16(a.flags))
		e.Flags = &f
	case protoICMP, protoICMPv6:
		ty, code := int(a.flags), int(a.code)
		e.ICMPType, e.ICMPCode = &ty, &code
	}
	if t.class == clsPROTO {
		n := int(t.proto)
		e.IPProto = &n
	}
	return e
}

// flagText is TCP flags as tcpdump letters; a segment without flags (a
// NULL scan's probe) is "NULL", so that no flags read as a value.
func flagText(flags uint16) string {
	if f := pcapng.FlagString(flags); f != "" {
		return f
	}
	return "NULL"
}
