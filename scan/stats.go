package scan

import (
	"net/netip"

	"porthunter/pcapng"
)

// CaptureStats is the scan engine's part of the "capture" report: what was
// read, what could not be used, and the limits hit, so that "no scan
// found" is a qualified answer.
type CaptureStats struct {
	TotalPackets     uint64  `json:"total_pkts"`
	IPv4             uint64  `json:"ipv4"`
	IPv6             uint64  `json:"ipv6"`
	ARP              uint64  `json:"arp"`
	NonIP            uint64  `json:"non_ip"`      // a known link carrying neither IP nor ARP
	Undecodable      uint64  `json:"undecodable"` // no network layer could be read
	TCP              uint64  `json:"tcp"`
	UDP              uint64  `json:"udp"`
	ICMP             uint64  `json:"icmp"` // ICMP and ICMPv6
	Fragments        uint64  `json:"fragments"`
	SnaplenTruncated uint64  `json:"snaplen_truncated"`
	Anomalous        uint64  `json:"anomalous"`    // headers cut or inconsistent (pcapng Anomaly bits other than snaplen)
	OutOfOrder       uint64  `json:"out_of_order"` // records whose timestamp is earlier than the previous record's
	NoTimestamp      uint64  `json:"no_timestamp"` // records without a timestamp (pcapng Simple Packet Blocks)
	FirstTS          *Time   `json:"first_ts"`     // earliest timestamp; null without packets
	LastTS           *Time   `json:"last_ts"`      // latest timestamp
	DurationS        float64 `json:"duration_s"`
	Digits           uint8   `json:"ts_precision_digits"`

	// HasReturnTraffic is true when any packet came back from a target
	// (SYN/ACK, RST, UDP reply, echo reply, or an ICMP error about a
	// probe). NoReturnTraffic is true when there were targets and none
	// answered: a one-way capture, where outcomes are unknown and
	// attempts are counted instead.
	HasReturnTraffic bool `json:"has_return_traffic"`
	NoReturnTraffic  bool `json:"no_return_traffic"`

	Sources int `json:"sources"`         // sending addresses tracked
	Targets int `json:"targets_tracked"` // (source, host, protocol, port) tracked

	// LimitHit is true when MemoryBudgetBytes was reached; the dropped
	// counts say what was not tracked from then on. DroppedSources is the
	// number of distinct senders not tracked as sources (an estimate:
	// exact for a few, within about 1 % beyond a few hundred).
	// HeaviestSources is true when the capture was read a second time to
	// track the senders with the most packets, each from its first packet,
	// instead of the first ones seen (Analysis.HeaviestSources).
	LimitHit          bool   `json:"limit_hit"`
	HeaviestSources   bool   `json:"heaviest_sources"`
	DroppedAddrs      uint64 `json:"dropped_addresses"`
	DroppedSources    uint64 `json:"dropped_sources"`
	DroppedTargets    uint64 `json:"dropped_targets"`
	DroppedPackets    uint64 `json:"dropped_packets"`
	MemoryBudgetBytes int64  `json:"memory_budget_bytes"`

	firstNS, lastNS int64

	// SCTP counts SCTP packets (RFC 9260; nmap -sY and -sZ probes and
	// their answers), absent when there were none.
	SCTP uint64 `json:"sctp,omitempty"`

	// Tunnels says what encapsulations the decoder removed (pcapng
	// decodes the packet inside VXLAN, GENEVE, GRE, NVGRE, ERSPAN,
	// IP-in-IP, Teredo and GTP-U); every other count is of the carried
	// packets. Absent when no packet was tunnelled.
	Tunnels *TunnelStats `json:"tunnels,omitempty"`
}

// Limits of the tunnel report.
const (
	// maxTunnelEndpointsListed bounds the endpoints the report lists: a
	// mirror session or a tunnel is one pair per direction, and a sensor
	// sees a handful; the report is in every capture answer.
	maxTunnelEndpointsListed = 16

	// maxTunnelEndpointsCounted bounds the distinct endpoints counted
	// exactly (about 80 bytes each): far beyond any real set of tunnels,
	// while a capture of spoofed tunnel packets cannot grow the table.
	// Packets between endpoints beyond it are counted apart.
	maxTunnelEndpointsCounted = 1024
)

// TunnelStats counts the encapsulations removed from the capture's
// packets and names the tunnels' endpoints.
type TunnelStats struct {
	// Packets is the packets decoded from inside at least one tunnel.
	Packets uint64 `json:"packets"`
	// Layers removed, by kind (a packet in VXLAN in GRE counts one of
	// each; the names are pcapng.TunnelKind's).
	VXLAN     uint64 `json:"vxlan,omitempty"`
	GENEVE    uint64 `json:"geneve,omitempty"`
	GRE       uint64 `json:"gre,omitempty"`
	NVGRE     uint64 `json:"nvgre,omitempty"`
	ERSPANI   uint64 `json:"erspan_i,omitempty"`
	ERSPANII  uint64 `json:"erspan_ii,omitempty"`
	ERSPANIII uint64 `json:"erspan_iii,omitempty"`
	IPIP      uint64 `json:"ipip,omitempty"`
	SixInFour uint64 `json:"6in4,omitempty"`
	FourInSix uint64 `json:"4in6,omitempty"`
	SixInSix  uint64 `json:"6in6,omitempty"`
	Teredo    uint64 `json:"teredo,omitempty"`
	GTPU      uint64 `json:"gtpu,omitempty"`
	// DepthExceeded is the packets with a tunnel nested deeper than
	// pcapng.MaxTunnelDepth: decoded as far as that depth, the rest left.
	DepthExceeded uint64 `json:"depth_exceeded"`
	// Endpoints are the outermost tunnels, one per (kind, outer source,
	// outer destination), in the order first seen, at most
	// maxTunnelEndpointsListed; EndpointsTotal counts them all (exactly
	// up to maxTunnelEndpointsCounted), EndpointsTruncated says the list
	// is cut, and EndpointsUncountedPackets is the packets of endpoints
	// beyond the count's bound.
	Endpoints                 []TunnelEndpoint `json:"endpoints"`
	EndpointsTotal            int              `json:"endpoints_total"`
	EndpointsTruncated        bool             `json:"endpoints_truncated,omitempty"`
	EndpointsUncountedPackets uint64           `json:"endpoints_uncounted_packets,omitempty"`

	seen    map[tunnelKey]int32 // each endpoint counted → its index in Endpoints, -1 if not listed
	last    tunnelKey           // the previous packet's endpoint: mirrored packets come in long runs of one
	lastIdx int32               // its index in Endpoints, -1 if not listed
}

// TunnelEndpoint is one outermost tunnel: its kind and the outer packet's
// addresses, with the packets seen through it.
type TunnelEndpoint struct {
	Kind    string     `json:"kind"`
	Src     netip.Addr `json:"src"`
	Dst     netip.Addr `json:"dst"`
	Packets uint64     `json:"packets"`
}

type tunnelKey struct {
	src, dst ipAddr
	kind     pcapng.TunnelKind
}

// countDecoded counts what the decoder found beyond the network and
// transport kinds: SCTP packets and tunnels. It costs two comparisons for
// a packet that is neither.
func (s *CaptureStats) countDecoded(p *pcapng.Packet) {
	if p.L4 == pcapng.L4SCTP {
		s.SCTP++
	}
	if p.TunnelDepth != 0 {
		s.countTunnels(p)
	}
}

func (s *CaptureStats) countTunnels(p *pcapng.Packet) {
	t := s.Tunnels
	if t == nil {
		t = &TunnelStats{Endpoints: []TunnelEndpoint{}, seen: map[tunnelKey]int32{}, lastIdx: -1}
		s.Tunnels = t
	}
	t.Packets++
	for i := range int(p.TunnelDepth) {
		t.countLayer(p.TunnelLayer(i))
	}
	if p.Anomalies&pcapng.AnomalyTunnelDepth != 0 {
		t.DepthExceeded++
	}
	t.countEndpoint(tunnelKey{ipOf(p.OuterSrc), ipOf(p.OuterDst), p.TunnelLayer(0)}, p)
}

func (t *TunnelStats) countLayer(k pcapng.TunnelKind) {
	switch k {
	case pcapng.TunnelVXLAN:
		t.VXLAN++
	case pcapng.TunnelGENEVE:
		t.GENEVE++
	case pcapng.TunnelGRE:
		t.GRE++
	case pcapng.TunnelNVGRE:
		t.NVGRE++
	case pcapng.TunnelERSPAN1:
		t.ERSPANI++
	case pcapng.TunnelERSPAN2:
		t.ERSPANII++
	case pcapng.TunnelERSPAN3:
		t.ERSPANIII++
	case pcapng.TunnelIPIP:
		t.IPIP++
	case pcapng.Tunnel6in4:
		t.SixInFour++
	case pcapng.Tunnel4in6:
		t.FourInSix++
	case pcapng.Tunnel6in6:
		t.SixInSix++
	case pcapng.TunnelTeredo:
		t.Teredo++
	case pcapng.TunnelGTPU:
		t.GTPU++
	}
}

// countEndpoint counts a packet of the outermost tunnel k.
func (t *TunnelStats) countEndpoint(k tunnelKey, p *pcapng.Packet) {
	idx, ok := t.lastIdx, len(t.seen) > 0 && k == t.last
	if !ok {
		idx, ok = t.seen[k]
	}
	if !ok {
		if len(t.seen) >= maxTunnelEndpointsCounted {
			t.EndpointsUncountedPackets++
			return
		}
		idx = -1
		if len(t.Endpoints) < maxTunnelEndpointsListed {
			idx = int32(len(t.Endpoints))
			t.Endpoints = append(t.Endpoints, TunnelEndpoint{Kind: k.kind.String(), Src: p.OuterSrc, Dst: p.OuterDst})
		} else {
			t.EndpointsTruncated = true
		}
		t.seen[k] = idx
		t.EndpointsTotal++
	}
	t.last, t.lastIdx = k, idx
	if idx >= 0 {
		t.Endpoints[idx].Packets++
	}
}

// Capture returns the capture statistics.
func (an *Analysis) Capture() CaptureStats {
	return an.stats
}
