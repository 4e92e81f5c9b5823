package scan

import (
	"math"
	"slices"
)

// What a source's targets are besides first contacts, decided per source
// at Finish before its probes are counted (srcBuilder.build): raw SYNs,
// host discovery, and services polled on a schedule.

// Monitoring is the evidence that a source polls a fixed set of services
// on a schedule, as a monitoring system (Nagios, Zabbix, smokeping) does:
// the same services contacted round after round at a steady period. Such
// polls are not probes and count toward no threshold; the source is still
// listed for whatever else it does.
type Monitoring struct {
	Services int     `json:"services"` // (host, protocol, port) polled: TCP services and ICMP echo included
	Failing  int     `json:"failing"`  // of them, polled on the same schedule without a live answer (RST, no echo reply)
	Hosts    int     `json:"hosts"`    // distinct hosts among them
	Rounds   int     `json:"rounds"`   // contacts per service, median
	PeriodS  float64 `json:"period_s"` // seconds between two contacts of one service, median
}

// markRaw marks the SYN probes no operating system's connect() sends:
// every SYN of a source whose probes fit a scanning tool's fingerprint
// (each tool fingerprinted crafts its packets: DETECTION.md §5). Their
// handshakes, completed or not, are not connections (see connection).
// The fingerprint needs fingerprintMinProbes probes, 90% of them
// consistent, with field relationships no stack produces, so a client is
// never taken for a tool this way.
func markRaw(seg []target, tool *Tool) {
	for i := range seg {
		if t := &seg[i]; t.class == clsSYN && tool != nil {
			t.marks |= tmRaw
		}
	}
}

// discoveryPort reports whether t is one of the TCP probes of nmap's
// default host discovery as root: SYN to 443, ACK to 80, beside ICMP echo
// and timestamp requests (DETECTION.md §1, "Ping sweep -sn").
func discoveryPort(t *target) bool {
	return t.class == clsSYN && t.port == 443 || t.class == clsACK && t.port == 80
}

// markDiscovery marks the TCP probes of host discovery: nmap's SYN 443
// and ACK 80 to a host the source also sent an ICMP request. With the
// ICMP requests they make one sweep of hosts, not a sweep and two small
// scans (DETECTION.md §6.10). A port the source came back to with a new
// SYN was scanned after the discovery (nmap -p 80,443 without -Pn) and
// keeps its own technique. b.stamp must be fresh for this source.
func (b *srcBuilder) markDiscovery(seg []target) {
	pinged := false
	for i := range seg {
		if t := &seg[i]; t.class == clsICMP {
			b.icmpMark[t.dst] = b.stamp
			pinged = true
		}
	}
	if !pinged {
		return
	}
	for i := range seg {
		if t := &seg[i]; discoveryPort(t) && t.state&stReconnect == 0 && b.icmpMark[t.dst] == b.stamp {
			t.marks |= tmDiscovery
		}
	}
}

// polled reports whether target t was contacted in rounds: at least
// monitorMinRounds times, each after an answer, as a poller does (a
// scanner retransmits only before an answer).
func polled(t *target) bool {
	if int(t.again)+1 < monitorMinRounds || t.lastMS == 0 {
		return false
	}
	switch t.class {
	case clsSYN:
		return t.marks&tmRaw == 0
	case clsICMP, clsUDP:
		return true
	}
	return false
}

// live reports whether polled target t answered as a live service does: a
// SYN/ACK, an echo reply, a UDP reply. Only live services show a
// schedule: a closed port answering RST every round is a failed check of
// a schedule the live ones set, and repeated probes of closed ports alone
// must not hide a scan.
func live(t *target) bool {
	return t.state&(stSynAck|stICMPReply|stUDPReply) != 0
}

// period is the mean time between contacts of polled service t, in ms.
func period(t *target) uint32 {
	return t.lastMS / uint32(t.again)
}

// monitoring decides whether seg, one source's targets in time order,
// holds services polled on a schedule, marks them tmPolled and returns
// the evidence; nil when it does not. A schedule is:
//   - at least monitorMinServices polled services, and at least half of
//     the source's targets (the same set again and again, not a scan
//     that also checks a few services);
//   - a median period of at least monitorMinPeriodMS, with three in four
//     services within a factor of two of it (one schedule);
//   - each service's rounds spread over at least half of the time the
//     polling lasts (rounds over the whole set, not one host after
//     another: a ping -c 3 loop over a subnet is a sweep).
//
// It costs a sort of the polled services' periods: O(n log n) in the
// source's targets.
func (b *srcBuilder) monitoring(seg []target) *Monitoring {
	b.periods, b.spansMS = b.periods[:0], b.spansMS[:0]
	targets := 0
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	for i := range seg {
		t := &seg[i]
		if t.class == clsNone {
			continue
		}
		targets++
		if !polled(t) || !live(t) {
			continue
		}
		b.periods = append(b.periods, period(t))
		b.spansMS = append(b.spansMS, t.lastMS)
		first = min(first, t.firstTS)
		last = max(last, t.firstTS+int64(t.lastMS)*1e6)
	}
	n := len(b.periods)
	if n < monitorMinServices || 2*n < targets {
		return nil
	}
	med := median(b.periods)
	if med < monitorMinPeriodMS {
		return nil
	}
	steady := 0
	for _, p := range b.periods {
		if p >= med/2 && p <= 2*med {
			steady++
		}
	}
	if 4*steady < 3*n || int64(median(b.spansMS))*1e6*2 < last-first {
		return nil
	}
	m := &Monitoring{PeriodS: float64(med) / 1e3}
	b.periods = b.periods[:0]
	b.stamp++ // hosts counted below; markDiscovery's marks are done with
	for i := range seg {
		t := &seg[i]
		if t.class == clsNone || !polled(t) {
			continue
		}
		if !live(t) {
			if p := period(t); t.state&stAnswered == 0 || p < med/2 || p > 2*med {
				continue
			}
			m.Failing++
		}
		t.marks |= tmPolled
		m.Services++
		b.periods = append(b.periods, uint32(t.again)+1)
		if b.icmpMark[t.dst] != b.stamp {
			b.icmpMark[t.dst] = b.stamp
			m.Hosts++
		}
	}
	m.Rounds = int(median(b.periods))
	return m
}

// median sorts xs and returns its middle value (the lower of two).
func median(xs []uint32) uint32 {
	slices.Sort(xs)
	return xs[(len(xs)-1)/2]
}
