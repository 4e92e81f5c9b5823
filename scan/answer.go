package scan

import "porthunter/pcapng"

// ansWhat is what a target's first answer was, beside its time, frame and
// IP ID: enough to show the answer as the answer (issue 19), source,
// destination, protocol and flags, in scanner_detail's first_answer and
// first_open. The bytes fill padding of target: its size is unchanged.
type ansWhat struct {
	ansProto   uint8 // the answer's IP protocol
	ansCode    uint8 // an ICMP answer's code
	ansRelayed bool  // an ICMP error about the probe from another host than the target (a router, a firewall)
}

// noteAnswer records what x, the first answer to t, was.
func (t *target) noteAnswer(x *pkt) {
	t.ansProto = x.proto
	switch x.proto {
	case protoTCP:
		t.ansFlags = uint8(x.flags)
	case protoICMP, protoICMPv6:
		t.ansFlags, t.ansCode = x.icmpType, x.icmpCode
		t.ansRelayed = x.has(pkQuoted) && !x.has(pkSrcIsQDst)
	}
}

// answerEvent is the first answer to t (ts and frame are the answer's):
// from the target to the source, with the answer's protocol and TCP
// flags, or ICMP type and code. The technique and outcome are the
// probe's. An ICMP error from a router on the path is marked relayed:
// its sender was not kept, and src names the target it was about.
func (an *Analysis) answerEvent(r *srcResult, t *target, ts int64, frame uint64) *ProbeEvent {
	e := &ProbeEvent{TS: an.time(ts), Frame: frame, Src: an.addrAt(t.dst), Dst: an.addrAt(r.ai), Port: t.port,
		Proto: protoName(t.ansProto), Technique: technique(r, t), Outcome: outcomeName(outcome(t)), Answer: true,
		Relayed: t.ansRelayed}
	switch t.ansProto {
	case protoTCP:
		f := flagText(uint16(t.ansFlags))
		e.Flags = &f
	case protoICMP, protoICMPv6:
		ty, code := int(t.ansFlags), int(t.ansCode)
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
