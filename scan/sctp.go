package scan

import "porthunter/pcapng"

// SCTP port scans (nmap -sY and -sZ, DETECTION.md §1 and §6.1). A probe
// is the first packet of a (source, destination, port) whose first chunk
// is an INIT or a COOKIE ECHO; its target is keyed by the destination
// port, as a TCP or UDP probe's is. What the target answers, in the
// first chunk of its packets back (RFC 9260):
//
//   - INIT ACK: the port is open (stSynAck, as a TCP SYN/ACK);
//   - ABORT: closed (stRST, as a TCP RST), to an INIT (§8.4 (3)) or to a
//     COOKIE ECHO of no association (§8.4 (8));
//   - ICMP unreachable quoting the probe: filtered;
//   - nothing: unanswered. For a COOKIE ECHO that is open|filtered: an
//     open port discards a cookie it did not issue (§5.1.5).
//
// A COOKIE ECHO never opens an exchange: no stack sends one before an
// INIT ACK gave it the cookie, so, like a TCP segment without ACK that
// is not a SYN, a few distinct targets make a scan (class.stealth).
//
// An INIT whose source goes on after the INIT ACK with its COOKIE ECHO
// (stClientAck) or data (stData) sets up an association: a connection,
// not a probe (roleOf), unless it aborted it at once with nothing sent,
// as a connect()-style scanner does. Every other chunk from a source
// (DATA, SACK, HEARTBEAT, SHUTDOWN) belongs to an association that began
// before the capture, and opens no target.

// sctpChunkName names an SCTP probe's first chunk as an event's flags
// give it.
func sctpChunkName(c uint8) string {
	switch c {
	case pcapng.SCTPChunkInit:
		return "INIT"
	case pcapng.SCTPChunkCookieEcho:
		return "COOKIE_ECHO"
	}
	return ""
}

// addSCTP takes an SCTP packet: an answer to a probe of its destination,
// the source's next step on a probe's target, or a new probe.
func (s *shard) addSCTP(x *pkt) {
	chunk := uint8(x.flags)
	if t := s.find(targetKey{x.did, x.sid, x.sport, protoSCTP}); t != nil {
		switch chunk {
		case pcapng.SCTPChunkInitAck:
			s.answer(t, x, stSynAck)
		case pcapng.SCTPChunkAbort:
			s.answer(t, x, stRST)
		default:
			s.answer(t, x, stAckReply)
		}
		return
	}
	k := targetKey{x.sid, x.did, x.dport, protoSCTP}
	if t := s.find(k); t != nil {
		switch {
		case t.state&stAnswered == 0:
			t.pkts++ // a retransmission, or an INIT's COOKIE ECHO sent before any answer was seen
		case chunk == pcapng.SCTPChunkCookieEcho:
			t.state |= stClientAck
		case chunk == pcapng.SCTPChunkAbort:
			t.state |= stClientRST
		case chunk == pcapng.SCTPChunkData:
			t.state |= stData
		case chunk == pcapng.SCTPChunkShutdown:
			t.flow |= tfClientFIN // a graceful close
		}
		return
	}
	var c class
	switch chunk {
	case pcapng.SCTPChunkInit:
		c = clsINIT
	case pcapng.SCTPChunkCookieEcho:
		c = clsCOOKIE
	default:
		return // a chunk of an association the capture did not see begin
	}
	if !x.has(pkUnicast) {
		return
	}
	s.newTarget(k, x, c)
}

// association reports whether SCTP INIT target t became an association:
// the target's INIT ACK and the source's COOKIE ECHO or data after it,
// not aborted at once with nothing sent.
func association(t *target) bool {
	return t.state&stSynAck != 0 && t.state&(stClientAck|stData) != 0 && !connectAbort(t)
}

// probeFlags is what a probe event's flags say of its first packet: its
// TCP flags, or its SCTP chunk (INIT, COOKIE_ECHO); nil for other
// protocols.
func probeFlags(t *target) *string {
	var f string
	switch {
	case t.proto == protoTCP:
		f = flagText(t.flags)
	case t.proto == protoSCTP:
		f = sctpChunkName(uint8(t.flags))
	default:
		return nil
	}
	return &f
}
