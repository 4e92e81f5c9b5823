package scan

import (
	"sort"

	"porthunter/pcapng"
)

// The detection rules, in the order of DETECTION.md §6: what a probe is
// (§6.1), what its answer says (§6.2), what counts toward the thresholds
// and toward the sequential test (§6.5 to §6.11), when a source is
// listed, how its scan is shaped and labelled (§6.12), and its rate
// (§6.13). Everything else in this package gathers the evidence these
// rules read (the aggregator, the shards and the per-source builder in
// build.go) or presents what they decided (verdict.go, views.go,
// detail.go). Site context and triage, which weigh a listing but never
// make one, are in triage.go.

// §6.1 Probe extraction: the first packet of a target (source,
// destination, protocol, port) that the destination did not speak first.

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
	clsPROTO               // a packet of another IP protocol in a sweep of protocol numbers (nmap -sO; see protoscan.go)
	clsINIT                // an SCTP INIT (nmap -sY; see sctp.go)
	clsCOOKIE              // an SCTP COOKIE ECHO with no association behind it (nmap -sZ)
	numClasses
)

var classNames = [numClasses]string{"", "SYN", "FIN", "NULL", "XMAS", "MAIMON", "ACK", "OTHER", "UDP", "ICMP", "IP",
	"SCTP_INIT", "SCTP_COOKIE_ECHO"}

// hasPort reports whether the class's targets are keyed by a port: ICMP
// requests are keyed by their type and protocol probes by their protocol
// number, so neither belongs in a list of ports.
func (c class) hasPort() bool { return c != clsICMP && c != clsPROTO }

// stealth reports whether c is a class no valid TCP stack sends to open a
// connection (RFC 9293: after the SYN every segment carries ACK), so that
// a few distinct targets suffice (DETECTION.md §6.9).
func (c class) stealth() bool {
	switch c {
	case clsFIN, clsNULL, clsXMAS, clsMAIMON, clsOTHER, clsCOOKIE:
		return true // COOKIE ECHO: no SCTP stack sends one without the INIT ACK that carried its cookie
	}
	return false
}

// tcpFlagMask keeps the flags that decide a class; ECE, CWR and NS only
// negotiate ECN and are ignored.
const tcpFlagMask = pcapng.TCPFlagFIN | pcapng.TCPFlagSYN | pcapng.TCPFlagRST | pcapng.TCPFlagPSH | pcapng.TCPFlagACK | pcapng.TCPFlagURG

// tcpClass classifies the first TCP segment of a target; ok is false for
// segments that never open one (RST, SYN/ACK: backscatter or the tail of
// an unseen flow).
func tcpClass(flags uint16, payload bool) (c class, ok bool) {
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
	case payload:
		return clsNone, true
	case f == ack:
		return clsACK, true
	case f == fin|ack:
		return clsMAIMON, true
	}
	return clsNone, true // PSH/URG with ACK and no payload: flow traffic
}

// icmpKind sorts an ICMP type: a request (req is its type), a reply (req
// is the type of the request it answers), or neither.
func icmpKind(v6 bool, typ uint8) (req uint8, isReq, reply bool) {
	switch {
	case !v6 && (typ == icmpEcho || typ == icmpTimestamp || typ == icmpMaskRequest), v6 && typ == icmp6EchoRequest:
		return typ, true, false
	case !v6 && typ == icmpEchoReply:
		return icmpEcho, false, true
	case !v6 && typ == icmpTimestampReply:
		return icmpTimestamp, false, true
	case !v6 && typ == icmpMaskReply:
		return icmpMaskRequest, false, true
	case v6 && typ == icmp6EchoReply:
		return icmp6EchoRequest, false, true
	}
	return 0, false, false
}

// §6.2 Outcome of a probe, from the answers the capture holds.

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

// §6.5 to §6.11 The count rules and the sequential test: what counts,
// what each rule needs, and when an episode lists its source.

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

// meets reports the rules among allow that the counts reach under th.
func (c *counter) meets(th Thresholds, allow reasons) reasons {
	return ruleSet(c.maxPorts, c.maxHosts, c.pairs, c.stealth, c.sweep, th) & allow
}

// meets reports the rules among allow that episode e's counts reach
// under th.
func (e *episode) meets(th Thresholds, allow reasons) reasons {
	return ruleSet(int(e.maxPorts), int(e.maxHosts), int(e.targets), int(e.stealth), int(e.sweep), th) & allow
}

// qualifies reports whether episode e of r is listed under th with the
// count rules allow: it meets one of them, fewer successful connections
// than counted probes began in it (a client whose connections mostly
// succeed is not a scanner), and its rate reaches th.MinRatePPS, is
// undefined (one timestamp; ok false) or TRW called r a scanner (slow
// scans).
func (e *episode) qualifies(r *srcResult, th Thresholds, allow reasons) (rate float64, ok, qualifies bool) {
	if e.meets(th, allow) == 0 || e.successes >= e.counted {
		return 0, false, false
	}
	rate, ok = e.rate()
	return rate, ok, !ok || rate >= th.MinRatePPS || r.trw.Scanner
}

// allowed is the count rules that may list r. A source the sequential
// test (TRW) found benign is a client whose first contacts mostly
// succeed; the count rules do not overrule it unless its failures
// dominate (trwGuard). Stealth probes and host discovery are scanning
// however the rest of its traffic went.
func allowed(r *srcResult) reasons {
	if trwGuard(r) {
		return rsUnguarded
	}
	return rsCounts
}

// trwGuard reports whether TRW decided r benign and r's failed first
// contacts do not outnumber its successful ones. Failures here are TRW's
// (closed, filtered, unanswered) and half-open probes: a SYN/ACK the
// source never took up is what a raw-packet scanner leaves, never a
// client, so a SYN scan of a web farm whose every port is open is not
// excused by its SYN/ACKs.
func trwGuard(r *srcResult) bool {
	return r.trw.Benign && !r.failsDominate
}

// §6.12 Shape and techniques of a listed scan.

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

// §6.13 Rate of an episode.

// rate is probes per second over the episode, ok false when the episode
// has a single timestamp (rate_pps null).
func (e *episode) rate() (float64, bool) {
	d := e.end - e.start
	if d <= 0 {
		return 0, false
	}
	return float64(e.probes) / (float64(d) / 1e9), true
}
