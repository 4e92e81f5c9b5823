package scan

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
}

// Capture returns the capture statistics.
func (an *Analysis) Capture() CaptureStats {
	return an.stats
}
