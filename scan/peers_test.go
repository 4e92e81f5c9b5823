//go:build harness

package scan

// TestPeers compares PortHunter with independent, minimal re-implementations
// of two production scan detectors, run over the same captures:
//
//   - Zeek's policy/misc/scan.zeek (the "TCP Scan detection" script that
//     ships with Zeek up to v6.0, DETECTION.md §2.1), together with the part
//     of Zeek's TCP connection state machine it depends on;
//   - Snort 2.9 sfPortscan (src/preprocessors/portscan.c), whose counting
//     rules and default thresholds Snort 3's port_scan inspector keeps
//     (DETECTION.md §2.4), at sensitivity low, medium and high, together with
//     the part of Stream5's session tracking it depends on.
//
// Both models read the packets through pcapng.NewReader and pcapng.Decode
// only; they share no code with the engine. The product is a table (t.Logf,
// and markdown on stdout with PEERS_TABLE=1):
//
//	PEERS_TABLE=1 go test -count=1 -run TestPeers ./scan
//
// Sources read for the models (repository @ commit as stored in the search
// index; file names as in DETECTION.md):
//   - zeek/zeek scripts/policy/misc/scan.zeek @ 27438644 (v6.0 script);
//     src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc @ 040d7583
//     (UpdateInactiveState, UpdateSYN_SentState, UpdateEstablishedState,
//     UpdateClosedState, ConnectionClosed, AttemptTimer, ResetTimer, Done);
//     scripts/base/init-bare.zeek (tcp_attempt_delay, tcp_close_delay,
//     tcp_reset_delay = 5 secs; tcp_inactivity_timeout = 5 min);
//     src/zeek-setup.cc done_with_network (terminating = true;
//     timer_mgr->Expire(); then finish_run → sessions Drain → Done).
//   - eldondev/Snort (Snort 2.9 mirror) src/preprocessors/portscan.c and
//     spp_sfportscan.c @ 34bdcf6a; snort3/snort3 lua/snort_defaults.lua
//     (default_{low,med,hi}_port_scan: windows 60/90/600 s, same
//     {scans, rejects, nets, ports} tables) and
//     src/network_inspectors/port_scan/ps_detect.cc @ 013e44b4.
//
// Deliberate simplifications are listed where they are made. They concern
// backscatter, connections picked up midstream, IPv6 ICMP and timer
// bookkeeping over long idle gaps; the captures here are SYN-, FIN-, ACK-,
// UDP- and ICMP-initiated probes, all but one shorter than a minute.

import (
	"cmp"
	"container/heap"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"porthunter/pcapng"
)

// ---------------------------------------------------------------------------
// Packets, read independently of the engine.

// peerPkt is what both models need from one frame.
type peerPkt struct {
	ts           int64 // ns since the epoch
	src, dst     netip.Addr
	proto        uint8 // IP protocol number
	l4           pcapng.L4
	sport, dport uint16
	flags        uint16
	seq          uint32
	payload      int
	icmpType     uint8
	icmpCode     uint8
	quoted       bool
	qproto       uint8
	qsrc, qdst   netip.Addr
	qsport       uint16
	qdport       uint16
}

func (p *peerPkt) has(f uint16) bool { return p.flags&f != 0 }

// tcpByte is the TCP flags byte as Snort compares it (th_flags: FIN..CWR).
func (p *peerPkt) tcpByte() uint16 { return p.flags & 0xff }

func peerRead(t *testing.T, path string) []peerPkt {
	t.Helper()
	var out []peerPkt
	for _, p := range decodeFile(t, path) {
		if p.L3 != pcapng.L3IPv4 && p.L3 != pcapng.L3IPv6 {
			continue
		}
		q := peerPkt{ts: p.Timestamp, src: p.Src, dst: p.Dst, proto: p.Proto, l4: p.L4}
		switch p.L4 {
		case pcapng.L4TCP:
			q.sport, q.dport, q.flags, q.seq, q.payload = p.SrcPort, p.DstPort, p.TCPFlags, p.Seq, p.PayloadLen
		case pcapng.L4UDP:
			q.sport, q.dport, q.payload = p.SrcPort, p.DstPort, p.PayloadLen
		case pcapng.L4ICMP, pcapng.L4ICMPv6:
			q.icmpType, q.icmpCode = p.ICMPType, p.ICMPCode
			if p.Quoted {
				q.quoted, q.qproto, q.qsrc, q.qdst = true, p.QProto, p.QSrc, p.QDst
				if p.QHasPorts {
					q.qsport, q.qdport = p.QSrcPort, p.QDstPort
				}
			}
		}
		out = append(out, q)
	}
	return out
}

// peerFlow is an unordered 5-tuple (protocol implied by the map it keys).
type peerFlow struct{ a, b netip.AddrPort }

func peerFlowOf(p *peerPkt) peerFlow {
	x, y := netip.AddrPortFrom(p.src, p.sport), netip.AddrPortFrom(p.dst, p.dport)
	if x.Compare(y) > 0 {
		x, y = y, x
	}
	return peerFlow{x, y}
}

// ---------------------------------------------------------------------------
// Zeek: policy/misc/scan.zeek over Zeek's TCP endpoint state machine.

const (
	zkAttemptDelay = int64(5e9)     // init-bare.zeek: tcp_attempt_delay = 5 secs (AttemptTimer)
	zkCloseDelay   = int64(5e9)     // init-bare.zeek: tcp_close_delay = 5 secs (ConnDeleteTimer)
	zkResetDelay   = int64(5e9)     // init-bare.zeek: tcp_reset_delay = 5 secs (ResetTimer)
	zkInactivity   = int64(300e9)   // init-bare.zeek: tcp_inactivity_timeout = 5 min
	zkEpoch        = int64(300e9)   // scan.zeek: addr_scan_interval = port_scan_interval = 5min (SumStats epoch, tumbling)
	zkAddrThresh   = 25             // scan.zeek: addr_scan_threshold = 25.0 unique hosts on one port
	zkPortThresh   = 15             // scan.zeek: port_scan_threshold = 15.0 unique ports on one host
	zkAddrScan     = "Address_Scan" // Scan::Address_Scan
	zkPortScan     = "Port_Scan"    // Scan::Port_Scan
	zkTimerAttempt = 1              // TCPSessionAdapter::AttemptTimer (do_expire = true)
	zkTimerDelete  = 2              // ConnDeleteTimer (do_expire = false)
	zkTimerReset   = 3              // ResetTimer (do_expire = true)
	zkEvAttempt    = "attempt"      // connection_attempt
	zkEvRejected   = "rejected"     // connection_rejected
	zkEvReset      = "reset"        // connection_reset
	zkEvPending    = "pending"      // connection_pending
)

// TCP_Endpoint states (analyzer/protocol/tcp/TCP_Endpoint.h).
type zkState uint8

const (
	zkInactive zkState = iota
	zkSynSent
	zkSynAckSent
	zkPartial
	zkEstablished
	zkClosed
	zkReset
)

type zkConn struct {
	addr     [2]netip.Addr // 0 = originator, 1 = responder
	port     [2]uint16
	st, prev [2]zkState
	didClose [2]bool
	hist     string // history letters seen (upper case: originator)
	isn      uint32 // originator's SYN sequence number (IsReuse)
	last     int64
	gen      int // bumped by CancelTimers
	gone     bool
	key      peerFlow
}

func (c *zkConn) set(e int, s zkState)  { c.prev[e], c.st[e] = c.st[e], s }
func (c *zkConn) hasHist(r string) bool { return strings.Contains(c.hist, r) }
func (c *zkConn) addHist(r string) {
	if !c.hasHist(r) {
		c.hist += r
	}
}
func (c *zkConn) noData() bool { return !c.hasHist("D") && !c.hasHist("d") }

// failed is scan.zeek's is_failed_conn:
// Sr || ((hR || ShR) && data not sent in any direction).
func (c *zkConn) failed() bool {
	o, r := c.st[0], c.st[1]
	return (o == zkSynSent && r == zkReset) ||
		(((o == zkReset && r == zkSynAckSent) || (o == zkReset && r == zkEstablished && c.hasHist("S"))) && c.noData())
}

// revFailed is is_reverse_failed_conn: sR || ((Hr || sHr) && no data).
func (c *zkConn) revFailed() bool {
	o, r := c.st[0], c.st[1]
	return (r == zkSynSent && o == zkReset) ||
		(((r == zkReset && o == zkSynAckSent) || (r == zkReset && o == zkEstablished && c.hasHist("s"))) && c.noData())
}

type zkTimer struct {
	at, seq int64
	kind    int
	c       *zkConn
	gen     int
}

type zkHeap []zkTimer

func (h zkHeap) Len() int { return len(h) }
func (h zkHeap) Less(i, j int) bool {
	return h[i].at < h[j].at || (h[i].at == h[j].at && h[i].seq < h[j].seq)
}
func (h zkHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *zkHeap) Push(x any)   { *h = append(*h, x.(zkTimer)) }
func (h *zkHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type zkAddrKey struct {
	epoch   int64
	scanner netip.Addr
	port    uint16
}

type zkPortKey struct {
	epoch           int64
	scanner, victim netip.Addr
}

// zkNotice is one scanner's notices: type → raised during the trace (true)
// or only by the connection_pending flush at termination (false).
type zkNotice map[string]bool

type zkModel struct {
	t0, now     int64
	started     bool
	terminating bool
	pendEpoch   int64
	conns       map[peerFlow]*zkConn
	timers      zkHeap
	seq         int64
	addrSets    map[zkAddrKey]map[netip.Addr]bool
	portSets    map[zkPortKey]map[uint16]bool
	notices     map[netip.Addr]zkNotice
	events      map[string]int
}

func newZeek() *zkModel {
	return &zkModel{
		conns: map[peerFlow]*zkConn{}, addrSets: map[zkAddrKey]map[netip.Addr]bool{},
		portSets: map[zkPortKey]map[uint16]bool{}, notices: map[netip.Addr]zkNotice{}, events: map[string]int{},
	}
}

func (z *zkModel) schedule(c *zkConn, at int64, kind int) {
	z.seq++
	heap.Push(&z.timers, zkTimer{at: at, seq: z.seq, kind: kind, c: c, gen: c.gen})
}

// epochOf is the SumStats epoch an observation at t falls in. The first
// finish_epoch fires at the first packet (zeek_init scheduled it at network
// time 0), so epochs are [t0 + k·5min, t0 + (k+1)·5min).
func (z *zkModel) epochOf(t int64) int64 {
	if z.terminating {
		// Expire() at termination dispatches the pending finish_epoch too, and
		// a schedule while terminating is dropped: at most one more epoch.
		return min((t-z.t0)/zkEpoch, z.pendEpoch)
	}
	return (t - z.t0) / zkEpoch
}

// observe is scan.zeek's add_sumstats followed by SumStats' per-observation
// threshold check (non-cluster: data_added → check_thresholds, "≥").
func (z *zkModel) observe(t int64, scanner, victim netip.Addr, port uint16, pending bool) {
	ep := z.epochOf(t)
	if pending {
		ep = z.pendEpoch
	}
	ak := zkAddrKey{ep, scanner, port}
	if z.addrSets[ak] == nil {
		z.addrSets[ak] = map[netip.Addr]bool{}
	}
	s := z.addrSets[ak]
	if !s[victim] {
		s[victim] = true
		if len(s) == zkAddrThresh {
			z.notice(scanner, zkAddrScan, pending)
		}
	}
	pk := zkPortKey{ep, scanner, victim}
	if z.portSets[pk] == nil {
		z.portSets[pk] = map[uint16]bool{}
	}
	ps := z.portSets[pk]
	if !ps[port] {
		ps[port] = true
		if len(ps) == zkPortThresh {
			z.notice(scanner, zkPortScan, pending)
		}
	}
}

func (z *zkModel) notice(scanner netip.Addr, kind string, pending bool) {
	n := z.notices[scanner]
	if n == nil {
		n = zkNotice{}
		z.notices[scanner] = n
	}
	n[kind] = n[kind] || !pending
}

// event runs scan.zeek's handler for one connection event at time t.
func (z *zkModel) event(kind string, c *zkConn, t int64) {
	z.events[kind]++
	fwd := func() { z.observe(t, c.addr[0], c.addr[1], c.port[1], kind == zkEvPending) }
	rev := func() { z.observe(t, c.addr[1], c.addr[0], c.port[0], kind == zkEvPending) }
	switch kind {
	case zkEvAttempt: // reverse if "H" in history
		if c.hasHist("H") {
			rev()
		} else {
			fwd()
		}
	case zkEvRejected: // reverse if "s" in history
		if c.hasHist("s") {
			rev()
		} else {
			fwd()
		}
	case zkEvReset, zkEvPending:
		if c.failed() {
			fwd()
		} else if c.revFailed() {
			rev()
		}
	}
}

func (z *zkModel) remove(c *zkConn) {
	c.gone = true
	if z.conns[c.key] == c {
		delete(z.conns, c.key)
	}
}

func (z *zkModel) dispatch(tm zkTimer) {
	c := tm.c
	if tm.gen != c.gen || c.gone {
		return
	}
	switch tm.kind {
	case zkTimerAttempt:
		if (c.st[0] == zkSynSent || c.st[0] == zkSynAckSent) && c.st[1] == zkInactive {
			z.event(zkEvAttempt, c, tm.at)
			z.remove(c)
		}
	case zkTimerDelete:
		z.remove(c)
	case zkTimerReset:
		if !(c.didClose[0] && c.didClose[1]) {
			z.event(zkEvReset, c, tm.at)
		}
		z.remove(c)
	}
}

// advance fires the timers due by network time t (Zeek expires timers before
// it processes the packet; its cap of 300 expirations per packet is ignored).
func (z *zkModel) advance(t int64) {
	for len(z.timers) > 0 && z.timers[0].at <= t {
		z.dispatch(heap.Pop(&z.timers).(zkTimer))
	}
}

// closed is TCPSessionAdapter::ConnectionClosed as far as state goes.
func (z *zkModel) closed(c *zkConn, e int) {
	if c.didClose[e] {
		return
	}
	c.didClose[e] = true
	p := 1 - e
	if c.st[e] == zkReset || c.didClose[p] || c.st[p] == zkInactive {
		c.gen++ // CancelTimers()
		z.schedule(c, c.last+zkCloseDelay, zkTimerDelete)
	}
}

func (z *zkModel) packet(p *peerPkt) {
	if !z.started {
		z.started, z.t0 = true, p.ts
	}
	z.now = p.ts
	z.advance(p.ts)
	if p.l4 != pcapng.L4TCP {
		return // scan.zeek is TCP only
	}
	syn, ack, fin, rst := p.has(pcapng.TCPFlagSYN), p.has(pcapng.TCPFlagACK), p.has(pcapng.TCPFlagFIN), p.has(pcapng.TCPFlagRST)
	key := peerFlowOf(p)
	c := z.conns[key]
	if c != nil && p.ts-c.last > zkInactivity {
		c.gone = true // InactivityTimer removed it in the meantime
		c = nil
	}
	if c != nil && syn && !ack && p.src == c.addr[0] && p.sport == c.port[0] && p.seq != c.isn &&
		(c.st[0] == zkClosed || c.st[0] == zkReset || c.st[1] == zkClosed || c.st[1] == zkReset) {
		// IsReuse (approximated): a new initial SYN on a closed connection.
		c.gone = true
		c = nil
	}
	if c == nil {
		// The first packet's sender is the originator. (Zeek may flip the
		// roles of a connection that starts without a SYN by a port
		// heuristic; that matters only for the reverse cases and for
		// backscatter, absent here.)
		c = &zkConn{addr: [2]netip.Addr{p.src, p.dst}, port: [2]uint16{p.sport, p.dport}, key: key}
		if syn && !ack {
			c.isn = p.seq
		}
		z.conns[key] = c
	}
	isOrig := p.src == c.addr[0] && p.sport == c.port[0]
	e := 1
	if isOrig {
		e = 0
	}
	pe := 1 - e

	// update_history (the letters scan.zeek reads).
	up := func(s string) string {
		if isOrig {
			return strings.ToUpper(s)
		}
		return s
	}
	nbits := 0
	for _, b := range []bool{syn, fin, rst} {
		if b {
			nbits++
		}
	}
	switch {
	case nbits == 1 && syn && ack:
		c.addHist(up("h"))
	case nbits == 1 && syn:
		c.addHist(up("s"))
	case nbits == 0 && p.payload > 0:
		c.addHist(up("d"))
	}
	c.last = p.ts

	doClose := false
	switch c.st[e] {
	case zkInactive: // UpdateInactiveState
		if syn {
			if isOrig {
				if ack {
					c.set(e, zkSynAckSent)
				} else {
					c.set(e, zkSynSent)
				}
				z.schedule(c, p.ts+zkAttemptDelay, zkTimerAttempt)
			} else {
				if !ack && c.st[pe] == zkSynAckSent {
					c.set(pe, zkEstablished) // SYN/SYN-ACK reversal (roles flip in Zeek)
				}
				if c.st[pe] == zkSynSent {
					c.set(pe, zkEstablished)
				}
				c.set(e, zkEstablished)
			}
		}
		if fin {
			c.set(e, zkClosed)
			doClose = true
		}
		if rst {
			c.set(e, zkReset)
			reject := false
			if isOrig {
				reject = c.st[pe] == zkEstablished
			} else {
				reject = c.st[pe] == zkSynSent || c.st[pe] == zkSynAckSent
			}
			doClose = true
			if reject {
				z.event(zkEvRejected, c, p.ts)
			}
		}
		if c.st[e] == zkInactive {
			switch {
			case !isOrig && p.payload == 0 && c.st[0] == zkSynSent:
			case ack && c.st[pe] == zkEstablished:
				c.set(e, zkEstablished)
			default:
				c.set(e, zkPartial)
			}
		}
	case zkSynSent, zkSynAckSent: // UpdateSYN_SentState
		if fin {
			c.set(e, zkClosed)
			doClose = true
		}
		if rst {
			c.set(e, zkReset)
			z.event(zkEvReset, c, p.ts)
			doClose = true
		}
	case zkEstablished, zkPartial: // UpdateEstablishedState
		if syn && c.st[e] == zkPartial && c.st[pe] == zkInactive && !ack {
			c.set(e, zkSynSent)
		}
		if fin && !rst {
			c.set(e, zkClosed)
			if c.st[pe] == zkReset && c.prev[pe] == zkClosed {
				c.set(pe, zkClosed)
			}
			doClose = true
		}
		if rst {
			c.set(e, zkReset)
			doClose = true
			if c.st[pe] != zkReset || c.prev[pe] != zkEstablished {
				z.event(zkEvReset, c, p.ts)
			}
		}
	case zkClosed: // UpdateClosedState
		if rst && c.st[pe] != zkClosed {
			c.set(e, zkReset)
			if !c.didClose[e] {
				doClose = true
			}
			z.schedule(c, p.ts+zkResetDelay, zkTimerReset)
		}
	case zkReset: // UpdateResetState: weirds only
	}
	if doClose {
		z.closed(c, e)
	}
}

// finish is done_with_network: terminating, Expire() every timer whose
// do_expire is set (attempt, reset; not the delete timer), then every
// connection left gets Done() → connection_pending unless both sides closed.
func (z *zkModel) finish() {
	if !z.started {
		return
	}
	z.pendEpoch = (z.now-z.t0)/zkEpoch + 1
	z.terminating = true
	for len(z.timers) > 0 {
		tm := heap.Pop(&z.timers).(zkTimer)
		if tm.kind != zkTimerDelete {
			z.dispatch(tm)
		}
	}
	keys := make([]peerFlow, 0, len(z.conns))
	for k := range z.conns {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y peerFlow) int {
		return cmp.Or(x.a.Compare(y.a), x.b.Compare(y.b))
	})
	for _, k := range keys {
		c := z.conns[k]
		if c.gone || z.now-c.last > zkInactivity {
			continue
		}
		if !(c.didClose[0] && c.didClose[1]) {
			z.event(zkEvPending, c, z.now)
		}
	}
}

func runZeek(pkts []peerPkt) *zkModel {
	z := newZeek()
	for i := range pkts {
		z.packet(&pkts[i])
	}
	z.finish()
	return z
}

// ---------------------------------------------------------------------------
// Snort 2.9 sfPortscan (portscan.c) over a minimal Stream5.

// snConf is PS_ALERT_CONF {connection_count, priority_count, u_ip_count,
// u_port_count}; Snort 3 names them {scans, rejects, nets, ports}.
type snConf struct{ scans, rejects, nets, ports int }

// snLevel holds one sense level: the tumbling window of
// ps_proto_update_window (LOW 60, MEDIUM 90, HIGH 600 s; Snort 3
// default_{low,med,hi}_port_scan tcp/udp/ip/icmp_window the same) and the
// g_{tcp,udp,ip}_{low,med,hi}_{ps,decoy_ps,sweep,dist_ps} and
// g_icmp_*_sweep tables of portscan.c @ 34bdcf6a (identical to Snort 3
// snort_defaults.lua tcp_low_ports etc.).
type snLevel struct {
	name         string
	window       int64 // seconds
	tcp, udp, ip [4]snConf
	icmpSweep    snConf
}

const (
	snPS = iota // portscan (one to one)
	snDecoy
	snSweep
	snDist
)

var snLevels = []snLevel{
	{name: "low", window: 60,
		tcp:       [4]snConf{{0, 5, 25, 5}, {0, 15, 50, 30}, {0, 5, 5, 15}, {0, 15, 50, 15}},
		udp:       [4]snConf{{0, 5, 25, 5}, {0, 15, 50, 30}, {0, 5, 5, 15}, {0, 15, 50, 15}},
		ip:        [4]snConf{{0, 10, 10, 50}, {0, 40, 50, 25}, {0, 10, 10, 10}, {0, 15, 25, 50}},
		icmpSweep: snConf{0, 5, 5, 5}},
	{name: "medium", window: 90,
		tcp:       [4]snConf{{200, 10, 60, 15}, {200, 30, 120, 60}, {30, 7, 7, 10}, {200, 30, 120, 30}},
		udp:       [4]snConf{{200, 10, 60, 15}, {200, 30, 120, 60}, {30, 5, 5, 20}, {200, 30, 120, 30}},
		ip:        [4]snConf{{200, 10, 10, 50}, {200, 40, 50, 25}, {30, 10, 10, 10}, {200, 15, 25, 50}},
		icmpSweep: snConf{20, 5, 5, 5}},
	{name: "high", window: 600,
		tcp:       [4]snConf{{200, 5, 100, 10}, {200, 7, 200, 60}, {30, 3, 3, 10}, {200, 5, 200, 10}},
		udp:       [4]snConf{{200, 3, 100, 10}, {200, 7, 200, 60}, {30, 3, 3, 10}, {200, 3, 200, 10}},
		ip:        [4]snConf{{200, 3, 3, 10}, {200, 7, 15, 5}, {30, 3, 3, 7}, {200, 3, 11, 10}},
		icmpSweep: snConf{10, 3, 3, 5}},
}

// PS_PROTO_* (the tracker's protocol space).
const (
	snTCP = iota + 1
	snUDP
	snIP
	snICMP
)

var snProtoName = map[int]string{snTCP: "TCP", snUDP: "UDP", snIP: "IP", snICMP: "ICMP"}

// PS_ALERT_* values of PS_PROTO.alerts.
const (
	snAlertNone = iota
	snAlertGenerated
	snAlertOpenPort
	snAlertPS
	snAlertPSFiltered
	snAlertDecoy
	snAlertDecoyFiltered
	snAlertSweep
	snAlertSweepFiltered
	snAlertDist
	snAlertDistFiltered
)

// snEventName is the event message (Snort 3 ps_module.h PSNG_*_STR; Snort 2
// generators.h has the same names capitalised).
func snEventName(proto, alert int) string {
	filtered := alert == snAlertPSFiltered || alert == snAlertDecoyFiltered ||
		alert == snAlertSweepFiltered || alert == snAlertDistFiltered
	var kind string
	switch alert {
	case snAlertPS, snAlertPSFiltered:
		kind = "portscan"
	case snAlertDecoy, snAlertDecoyFiltered:
		kind = "decoy portscan"
	case snAlertSweep, snAlertSweepFiltered:
		kind = "portsweep"
	case snAlertDist, snAlertDistFiltered:
		kind = "distributed portscan"
	default:
		return "" // none, generated, open port: no scan event
	}
	switch proto {
	case snICMP:
		kind = "sweep"
	case snIP:
		kind = strings.Replace(strings.Replace(kind, "portscan", "protocol scan", 1), "portsweep", "protocol sweep", 1)
	}
	if filtered {
		kind = "filtered " + kind
	}
	return snProtoName[proto] + " " + kind
}

// snProto is PS_PROTO. lastIP/lastPort are u_ips/u_ports: the previous
// value, so u_ip_count and u_port_count count changes, not distinct values.
type snProto struct {
	conns, pri, ips, ports int
	lastIP                 netip.Addr
	lastPort               uint16
	window                 int64
	alerts                 int
}

type snKey struct {
	proto            int
	scanner, scanned netip.Addr // one of them cleared, as in ps_tracker_lookup
}

// snSess is the part of a Stream5 session sfPortscan reads: who is client
// and server, SSNFLAG_SEEN_CLIENT/SERVER/MIDSTREAM, PKT_STREAM_EST.
type snSess struct {
	client                 netip.AddrPort
	seenClient, seenServer bool
	midstream, synack, est bool
}

// snAlert is one scan event: the scanner-side address of the packet that
// raised it (Encode_Format with ENC_FLAG_FWD unless the packet was reversed).
type snAlert struct {
	src  netip.Addr
	what string // e.g. "TCP portscan"
}

type snModel struct {
	lv       snLevel
	trackers map[snKey]*snProto
	tcp      map[peerFlow]*snSess
	udp      map[peerFlow]*snSess
	alerts   []snAlert
}

func newSnort(lv snLevel) *snModel {
	return &snModel{lv: lv, trackers: map[snKey]*snProto{}, tcp: map[peerFlow]*snSess{}, udp: map[peerFlow]*snSess{}}
}

func (s *snModel) tracker(k snKey) *snProto {
	t := s.trackers[k]
	if t == nil {
		t = &snProto{}
		s.trackers[k] = t
	}
	return t
}

// initiator is ps_proto_update with ps_cnt = 1: window check first (reset
// everything, alerts included, when the packet second is past the window),
// then the counters.
func (s *snModel) initiator(pr *snProto, ip netip.Addr, port uint16, sec int64) {
	if sec > pr.window {
		*pr = snProto{window: sec + s.lv.window}
	}
	pr.conns++
	if pr.lastIP != ip {
		pr.ips++
		pr.lastIP = ip
	}
	if pr.lastPort != port {
		pr.ports++
		pr.lastPort = port
	}
}

func snValid(pr *snProto) { // ps_proto_update with ps_cnt = -1
	pr.conns = max(pr.conns-1, 0)
}

func snReject(pr *snProto) { // ps_proto_update with pri_cnt = 1 (no window check)
	pr.pri++
}

func snOneToOne(c snConf, scanner, scanned *snProto) bool {
	if scanned.alerts != 0 {
		return false
	}
	if scanned.pri >= c.rejects && scanned.ips < c.nets && scanned.ports >= c.ports && scanner.pri >= c.rejects {
		scanned.alerts = snAlertPS
		return false // Snort 2 returns 0 here (Snort 3 returns true and stops)
	}
	if scanned.conns >= c.scans && c.scans != 0 && scanned.ips < c.nets && scanned.ports >= c.ports {
		scanned.alerts = snAlertPSFiltered
	}
	return false
}

func snDecoyCheck(c snConf, scanned *snProto) bool {
	if scanned.alerts != 0 {
		return false
	}
	if scanned.pri >= c.rejects && scanned.ips >= c.nets && scanned.ports >= c.ports {
		scanned.alerts = snAlertDecoy
		return false
	}
	if scanned.conns >= c.scans && c.scans != 0 && scanned.ips >= c.nets && scanned.ports >= c.ports {
		scanned.alerts = snAlertDecoyFiltered
	}
	return false
}

func snManyToOne(c snConf, scanned *snProto) bool {
	if scanned.alerts != 0 {
		return false
	}
	if scanned.pri >= c.rejects && scanned.ips <= c.nets && scanned.ports >= c.ports {
		scanned.alerts = snAlertDist
		return false
	}
	if scanned.conns >= c.scans && c.scans != 0 && scanned.ips <= c.nets && scanned.ports >= c.ports {
		scanned.alerts = snAlertDistFiltered
	}
	return false
}

func snOneToMany(c snConf, scanner *snProto) bool {
	if scanner.alerts != 0 {
		return false
	}
	if scanner.pri >= c.rejects && scanner.ips >= c.nets && scanner.ports <= c.ports {
		scanner.alerts = snAlertSweep
		return true
	}
	if scanner.conns >= c.scans && c.scans != 0 && scanner.ips >= c.nets && scanner.ports <= c.ports {
		scanner.alerts = snAlertSweepFiltered
		return true
	}
	return false
}

// alertCheck is ps_tracker_alert: ps_alert_{tcp,udp,ip,icmp}.
func (s *snModel) alertCheck(proto int, scanner, scanned *snProto) {
	var confs [4]snConf
	switch proto {
	case snICMP:
		snOneToMany(s.lv.icmpSweep, scanner)
		return
	case snTCP:
		confs = s.lv.tcp
	case snUDP:
		confs = s.lv.udp
	case snIP:
		confs = s.lv.ip
	}
	if snOneToOne(confs[snPS], scanner, scanned) {
		return
	}
	if snDecoyCheck(confs[snDecoy], scanned) {
		return
	}
	if snOneToMany(confs[snSweep], scanner) {
		return
	}
	snManyToOne(confs[snDist], scanned)
}

// stream5 updates the session a TCP or UDP packet belongs to and returns it
// (nil: no session) and whether the packet completes the 3-way handshake.
//
// Stream5 TCP starts a session on a client SYN, on a SYN/ACK (server side)
// and, picked up midstream, on a segment with ACK and without RST; a FIN,
// NULL, Xmas or bare RST segment starts none. A RST ends the session; the
// next initial SYN starts a new one.
func (s *snModel) stream5(p *peerPkt) (ss *snSess, twh bool) {
	key := peerFlowOf(p)
	src := netip.AddrPortFrom(p.src, p.sport)
	dst := netip.AddrPortFrom(p.dst, p.dport)
	if p.l4 == pcapng.L4UDP {
		ss = s.udp[key]
		if ss == nil {
			ss = &snSess{client: src}
			s.udp[key] = ss
		}
		if src == ss.client {
			ss.seenClient = true
		} else {
			ss.seenServer = true
		}
		return ss, false
	}
	syn, ack, rst := p.has(pcapng.TCPFlagSYN), p.has(pcapng.TCPFlagACK), p.has(pcapng.TCPFlagRST)
	ss = s.tcp[key]
	if ss == nil {
		switch {
		case syn && !ack:
			ss = &snSess{client: src}
		case syn && ack:
			ss = &snSess{client: dst, midstream: true}
		case ack && !rst:
			ss = &snSess{client: src, midstream: true}
		default:
			return nil, false
		}
		s.tcp[key] = ss
	}
	fromServer := src != ss.client
	if fromServer {
		ss.seenServer = true
		if syn && ack {
			ss.synack = true
		}
	} else {
		ss.seenClient = true
		if ss.synack && ack && !syn && !rst && !ss.est {
			ss.est, twh = true, true
		}
	}
	if rst {
		delete(s.tcp, key)
	}
	return ss, twh
}

// packet is PortscanDetect → ps_detect for one packet.
func (s *snModel) packet(p *peerPkt) {
	sec := p.ts / 1e9 // packet_timeofday(): whole seconds
	var ss *snSess
	var twh bool
	proto := 0
	reverse := false
	switch p.l4 {
	case pcapng.L4TCP:
		ss, twh = s.stream5(p)
		// ps_filter_ignore: packets of an established stream, except the
		// handshake's last packet and RSTs.
		if ss != nil && ss.est && !twh && !p.has(pcapng.TCPFlagRST) {
			return
		}
		proto = snTCP
		reverse = ss != nil && netip.AddrPortFrom(p.src, p.sport) != ss.client
	case pcapng.L4UDP:
		ss, _ = s.stream5(p)
		proto = snUDP
		reverse = netip.AddrPortFrom(p.src, p.sport) != ss.client
	case pcapng.L4ICMP:
		// ps_get_proto: ICMP 3/3 quoting TCP or UDP belongs to that
		// protocol, 3/2 to IP, every other ICMP message to ICMP.
		reverse = p.icmpType == 3
		switch {
		case p.icmpType == 3 && p.icmpCode == 3 && p.quoted && p.qproto == 6:
			proto = snTCP
		case p.icmpType == 3 && p.icmpCode == 3 && p.quoted && p.qproto == 17:
			proto = snUDP
		case p.icmpType == 3 && p.icmpCode == 2:
			proto = snIP
		default:
			proto = snICMP
		}
	case pcapng.L4ICMPv6:
		// portscan.c compares ICMPv4 type numbers (ICMP_ECHO, ICMP_DEST_UNREACH
		// ...); no ICMPv6 message matches them, so none counts. Skipped.
		return
	default:
		if p.proto == 0 || p.l4 == pcapng.L4None && (p.proto == 6 || p.proto == 17) {
			return // no transport header (non-first fragment)
		}
		// PS_PROTO_IP; Snort 2's ps_tracker_update_ip only counts ICMP 3/2
		// (Snort 3 counts these initiators).
		proto = snIP
	}

	pass := func(rev bool) (scanner, scanned *snProto) {
		scannedIP, scannerIP := p.dst, p.src
		if rev {
			scannedIP, scannerIP = p.src, p.dst
		}
		scanned = s.tracker(snKey{proto: proto, scanned: scannedIP})
		scanner = s.tracker(snKey{proto: proto, scanner: scannerIP})
		for _, t := range []*snProto{scanner, scanned} {
			if t.alerts != snAlertNone {
				t.alerts = snAlertGenerated
			}
		}
		s.update(p, proto, ss, twh, scanner, scanned, sec)
		s.alertCheck(proto, scanner, scanned)
		return scanner, scanned
	}
	scanner, scanned := pass(reverse)
	// "the case of no Stream5 session and a RST packet going back from the
	// Server": run again with the packet reversed.
	if p.l4 == pcapng.L4TCP && p.has(pcapng.TCPFlagRST) && ss == nil && !reverse {
		reverse = true
		scanner, scanned = pass(true)
	}
	src := p.src
	if reverse {
		src = p.dst
	}
	for _, t := range []*snProto{scanner, scanned} {
		if name := snEventName(proto, t.alerts); name != "" {
			s.alerts = append(s.alerts, snAlert{src: src, what: name})
		}
	}
}

// update is ps_tracker_update_{tcp,udp,icmp,ip}.
func (s *snModel) update(p *peerPkt, proto int, ss *snSess, twh bool, scanner, scanned *snProto, sec int64) {
	both := func(f func(*snProto)) { f(scanned); f(scanner) }
	rejectBoth := func() { both(snReject) }
	switch proto {
	case snTCP:
		if p.l4 == pcapng.L4ICMP { // p->icmph && p->orig_tcph
			rejectBoth()
			return
		}
		rst := p.has(pcapng.TCPFlagRST)
		if ss != nil {
			fromServer := netip.AddrPortFrom(p.src, p.sport) != ss.client
			switch {
			case ss.seenClient && !ss.seenServer && !ss.midstream: // include_midstream off
				s.initiator(scanned, p.src, p.dport, sec)
				s.initiator(scanner, p.dst, p.dport, sec)
			case twh:
				both(snValid)
			case fromServer && rst && (!ss.est || ss.midstream):
				rejectBoth()
			case fromServer && !ss.est: // open port noted
				if scanned.alerts == snAlertGenerated {
					scanned.alerts = snAlertOpenPort
				}
				if scanner.alerts == snAlertGenerated {
					scanner.alerts = snAlertOpenPort
				}
			}
			return
		}
		switch {
		case p.tcpByte() == pcapng.TCPFlagSYN:
			s.initiator(scanned, p.src, p.dport, sec)
			s.initiator(scanner, p.dst, p.dport, sec)
		case p.tcpByte() == pcapng.TCPFlagSYN|pcapng.TCPFlagACK:
			both(snValid)
		case rst:
			rejectBoth()
		}
	case snUDP:
		if p.l4 == pcapng.L4ICMP {
			rejectBoth()
			return
		}
		if netip.AddrPortFrom(p.src, p.sport) == ss.client {
			s.initiator(scanned, p.src, p.dport, sec)
			s.initiator(scanner, p.dst, p.dport, sec)
		} else {
			both(snValid)
		}
	case snICMP:
		switch p.icmpType {
		case 8, 13, 17, 15: // ICMP_ECHO, ICMP_TIMESTAMP, ICMP_ADDRESS, ICMP_INFO_REQUEST
			s.initiator(scanner, p.dst, 0, sec)
		case 3: // ICMP_DEST_UNREACH
			snReject(scanner)
		}
	case snIP:
		if p.l4 == pcapng.L4ICMP && p.icmpType == 3 && p.icmpCode == 2 {
			rejectBoth()
		}
	}
}

func runSnort(lv snLevel, pkts []peerPkt) *snModel {
	s := newSnort(lv)
	for i := range pkts {
		s.packet(&pkts[i])
	}
	return s
}

// ---------------------------------------------------------------------------
// Labels and the comparison table.

type peerCase struct {
	name, technique string
	scanners        []netip.Addr // labelled scanners
	below           []netip.Addr // probing sources labelled below threshold
	path            string
}

func peerCases(t *testing.T) []peerCase {
	t.Helper()
	var out []peerCase
	labs, _ := filepath.Glob(filepath.Join(fixtureDir, "lab", "*.labels.json"))
	for _, lf := range labs {
		var l struct {
			Scanner   *string `json:"scanner"`
			Technique *string `json:"technique"`
		}
		peerJSON(t, lf, &l)
		c := peerCase{name: "lab/" + strings.TrimSuffix(filepath.Base(lf), ".labels.json"), path: strings.TrimSuffix(lf, ".labels.json")}
		if l.Technique != nil {
			c.technique = *l.Technique
		}
		if l.Scanner != nil {
			c.scanners = append(c.scanners, netip.MustParseAddr(*l.Scanner))
		}
		out = append(out, c)
	}
	truths, _ := filepath.Glob(filepath.Join(fixtureDir, "*.truth.json"))
	for _, tf := range truths {
		var tr struct {
			Scanners []struct {
				IP         string   `json:"ip"`
				Techniques []string `json:"techniques"`
			} `json:"scanners"`
			Below []struct {
				IP string `json:"ip"`
			} `json:"below_threshold"`
			Benign []string `json:"benign"`
		}
		peerJSON(t, tf, &tr)
		if len(tr.Scanners) == 0 && len(tr.Below) == 0 && len(tr.Benign) == 0 {
			continue // a format fixture, no claim about scanning
		}
		c := peerCase{name: strings.TrimSuffix(filepath.Base(tf), ".truth.json"), path: strings.TrimSuffix(tf, ".truth.json")}
		var techs []string
		for _, s := range tr.Scanners {
			c.scanners = append(c.scanners, netip.MustParseAddr(s.IP))
			for _, x := range s.Techniques {
				if !slices.Contains(techs, x) {
					techs = append(techs, x)
				}
			}
		}
		for _, s := range tr.Below {
			c.below = append(c.below, netip.MustParseAddr(s.IP))
		}
		c.technique = strings.Join(techs, ",")
		out = append(out, c)
	}
	return out
}

func peerJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// peerVerdicts maps each flagged source to what the detector said about it.
type peerVerdicts map[netip.Addr][]string

func (v peerVerdicts) add(a netip.Addr, what string) {
	if !slices.Contains(v[a], what) {
		v[a] = append(v[a], what)
	}
}

type peerRow struct {
	c          peerCase
	ph, zeek   peerVerdicts
	snort      [3]peerVerdicts
	zeekEvents map[string]int
}

// cell says what a detector reported about the labelled scanners.
func (r *peerRow) cell(v peerVerdicts) string {
	switch len(r.c.scanners) {
	case 0:
		if len(r.c.below) > 0 {
			return "— (" + fmt.Sprint(len(r.c.below)) + " below threshold)"
		}
		return "—"
	case 1:
		if w, ok := v[r.c.scanners[0]]; ok {
			return "yes: " + strings.Join(w, "; ")
		}
		return "**no**"
	}
	n := 0
	var all []string
	for _, a := range r.c.scanners {
		if w, ok := v[a]; ok {
			n++
			for _, x := range w {
				if !slices.Contains(all, x) {
					all = append(all, x)
				}
			}
		}
	}
	s := fmt.Sprintf("%d/%d", n, len(r.c.scanners))
	if n < len(r.c.scanners) {
		s = "**" + s + "**"
	}
	if len(all) > 0 {
		s += ": " + strings.Join(all, "; ")
	}
	return s
}

// fps lists flagged sources that are not labelled scanners (sources
// labelled below threshold included: they must not be reported).
func (r *peerRow) fps(v peerVerdicts) []netip.Addr {
	var out []netip.Addr
	for a := range v {
		if !slices.Contains(r.c.scanners, a) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

func peerDesc(v []netip.Addr, verdicts peerVerdicts) string {
	parts := make([]string, 0, len(v))
	for _, a := range v {
		parts = append(parts, a.String()+" ("+strings.Join(verdicts[a], "; ")+")")
	}
	return strings.Join(parts, ", ")
}

func TestPeers(t *testing.T) {
	cases := peerCases(t)
	if len(cases) == 0 {
		t.Fatal("no captures")
	}
	var rows []*peerRow
	for _, c := range cases {
		pkts := peerRead(t, c.path)
		r := &peerRow{c: c, ph: peerVerdicts{}, zeek: peerVerdicts{}}

		an := analyzeFile(t, c.path, DefaultConfig())
		for _, s := range an.Suspects(DefaultThresholds()) {
			r.ph.add(s.IP, strings.TrimSpace(s.Kind+" "+strings.Join(s.Techniques, ",")))
		}

		z := runZeek(pkts)
		r.zeekEvents = z.events
		for a, n := range z.notices {
			for _, k := range []string{zkPortScan, zkAddrScan} {
				if live, ok := n[k]; ok {
					if !live {
						k += "*"
					}
					r.zeek.add(a, k)
				}
			}
		}
		for i, lv := range snLevels {
			r.snort[i] = peerVerdicts{}
			for _, al := range runSnort(lv, pkts).alerts {
				r.snort[i].add(al.src, al.what)
			}
		}
		rows = append(rows, r)
	}

	md := peerTable(rows)
	for _, line := range strings.Split(md, "\n") {
		t.Log(line)
	}
	for _, r := range rows {
		t.Logf("%s: Zeek connection events %v", r.c.name, r.zeekEvents)
	}
	if os.Getenv("PEERS_TABLE") == "1" {
		fmt.Println(md)
	}

	// Assertions: facts of the rules as implemented, nothing else.
	byName := map[string]*peerRow{}
	for _, r := range rows {
		byName[r.c.name] = r
	}
	if r := byName["lab/nmap_syn.pcap"]; r == nil {
		t.Error("lab/nmap_syn.pcap missing")
	} else {
		sc := r.c.scanners[0]
		// 102 ports of one host, every probe answered RST (REJ, Sr) or
		// SYN/ACK then the scanner's RST (ShR, no data): each is a failed
		// connection to scan.zeek, and 102 ≥ port_scan_threshold 15.
		if !slices.Contains(r.zeek[sc], zkPortScan) {
			t.Errorf("Zeek model: nmap_syn scanner %s not reported as Port_Scan: %v (events %v)", sc, r.zeek[sc], r.zeekEvents)
		}
		// Snort low tcp_ports {0,5,25,5}: ≥ 5 RSTs to the scanner, one
		// source (1 < 25 IP changes), ≥ 5 port changes within 60 s.
		if !slices.Contains(r.snort[0][sc], "TCP portscan") {
			t.Errorf("Snort low model: nmap_syn scanner %s not reported as TCP portscan: %v", sc, r.snort[0][sc])
		}
	}
	// FIN, NULL and Xmas probes carry no SYN: Zeek never raises
	// connection_attempt/rejected for them, and Snort counts no initiator
	// (no Stream5 session, th_flags != TH_SYN), so neither model may report
	// these scanners.
	for _, n := range []string{"lab/nmap_fin.pcap", "lab/nmap_null.pcap", "lab/nmap_xmas.pcap"} {
		r := byName[n]
		if r == nil {
			t.Errorf("%s missing", n)
			continue
		}
		sc := r.c.scanners[0]
		if w, ok := r.zeek[sc]; ok {
			t.Errorf("Zeek model reports the %s scanner: %v", n, w)
		}
		for i, v := range r.snort {
			if w, ok := v[sc]; ok {
				t.Errorf("Snort %s model reports the %s scanner: %v", snLevels[i].name, n, w)
			}
		}
	}
}

func peerTable(rows []*peerRow) string {
	var b strings.Builder
	b.WriteString("| capture | technique | labelled scanner | PortHunter | Zeek scan.zeek | Snort low | Snort medium | Snort high | false positives PH / Zeek / low / med / high |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	var notes []string
	for _, r := range rows {
		lab := "none"
		switch len(r.c.scanners) {
		case 0:
		case 1:
			lab = r.c.scanners[0].String()
		default:
			lab = fmt.Sprintf("%d sources", len(r.c.scanners))
		}
		tech := r.c.technique
		switch {
		case tech == "" && len(r.c.below) > 0:
			tech = "probes below threshold"
		case tech == "":
			tech = "benign"
		}
		all := []peerVerdicts{r.ph, r.zeek, r.snort[0], r.snort[1], r.snort[2]}
		names := []string{"PortHunter", "Zeek", "Snort low", "Snort medium", "Snort high"}
		var fp []string
		for i, v := range all {
			f := r.fps(v)
			fp = append(fp, fmt.Sprint(len(f)))
			if len(f) > 0 {
				notes = append(notes, fmt.Sprintf("- %s, %s: %s", r.c.name, names[i], peerDesc(f, v)))
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.c.name, tech, lab, r.cell(r.ph), r.cell(r.zeek), r.cell(r.snort[0]), r.cell(r.snort[1]), r.cell(r.snort[2]),
			strings.Join(fp, " / "))
	}
	if strings.Contains(b.String(), "_Scan*") {
		b.WriteString("\nZeek `*`: raised only by the connection_pending flush at the end of the trace (a fresh SumStats epoch).\n")
	}
	if len(notes) > 0 {
		b.WriteString("\nFalse positives (source: what was reported):\n\n")
		b.WriteString(strings.Join(notes, "\n"))
		b.WriteString("\n")
	}
	return b.String()
}
