package scan

// Limits of the aggregator, with the reason for each value. Config may
// lower the memory budget; the others are fixed properties of the
// reports.
const (
	// DefaultMemoryBudgetBytes bounds the aggregator's tracked state when
	// the caller sets no budget. 512 MiB holds about 2.5 million targets,
	// far beyond any capture of the default 50 MiB file limit (a probe is
	// at least 40 bytes on the wire), while a hostile capture of spoofed
	// sources cannot exhaust the host.
	DefaultMemoryBudgetBytes = 512 << 20

	// bytesPerTarget estimates one tracked target: its 64-byte record,
	// its first answer's 24 bytes if it has one, and its slot (8 bytes,
	// 3/8 to 3/4 full) in its shard's table, then the record's copy
	// Finish makes before the tables are collected: about 170 bytes at
	// the peak. TestMeasureTargetBytes measured 110 bytes per
	// target (with one address each) while reading and 75 after Finish, on
	// 1M targets, when the record was 72 bytes. The estimate was made for an earlier engine (115 bytes
	// while reading, 185 after) and is kept so that the limits, and the
	// answers when they are hit, stay as they were.
	bytesPerTarget = 240

	// bytesPerSource estimates one tracked source: its result in the
	// analysis (about 240 bytes) and its part of the answers.
	bytesPerSource = 320

	// bytesPerAddr estimates one address: its 48-byte record, its table
	// slot and, after Finish, its sorted copy and indexes.
	bytesPerAddr = 96

	// sourceShare is the fraction of the budget (in 1/8) sources may use;
	// the rest is for targets, which are far more numerous.
	sourceShare = 2

	// MaxPortsHit caps the ports_hit list of one target host in the
	// overview (the contract's 1024, with ports_hit_truncated).
	MaxPortsHit = 1024

	// MaxDetailList caps each list of scanner_detail (targets, ports):
	// a full list of a 65535-port sweep of many hosts would be megabytes;
	// the totals are always given beside the capped list.
	MaxDetailList = 1024

	// MaxGroupSources caps each address list of a group in the answers:
	// the sources of a distributed scan or a decoy group, a decoy group's
	// targets, a suspect's decoy peers. nmap -D runs name a handful of
	// decoys and distributed scans a few dozen sources, while a spoofed
	// capture can make either a group of thousands; the totals are given
	// beside the list.
	MaxGroupSources = 32

	// MaxDetailEpisodes caps scanner_detail's episodes: a source that
	// probes once every idle gap makes one episode per probe (a 5.6 MB
	// capture gave 180k of them, a 36.6 MB answer). The first ones are
	// listed in time order, with the total and the first qualifying one.
	MaxDetailEpisodes = 100

	// MaxTimelineWindows caps the overview's timeline: a millisecond
	// window over a day of scanning would list millions (megabytes no
	// MCP host takes as one answer). 10000 windows are a chart's worth.
	MaxTimelineWindows = 10000

	// DefaultIdleGapNS ends a source's scan episode after 15 minutes
	// without a new probe (bro-simple-scan scan_timeout, DETECTION.md §6.4).
	DefaultIdleGapNS = 15 * 60 * 1_000_000_000

	// DistributedMinSources is how many sources, each under the thresholds,
	// must jointly probe one host before they are reported as a
	// distributed scan (DETECTION.md §6.12, Snort's distributed tracker).
	DistributedMinSources = 5

	// trwBound is the net number of first-contact failures (failures minus
	// successes) at which the TRW test decides: ln(99)/ln(4) = 3.3, so 4
	// with θ0 = 0.8, θ1 = 0.2, P_D = 0.99, P_F = 0.01 (DETECTION.md §3).
	trwBound = 4

	// maxProbeTries is how many unanswered copies of one bare ACK or
	// FIN+ACK a prober plausibly sends (nmap retries at most 10 times, its
	// default max-retries); more is one side of a live flow.
	maxProbeTries = 10

	// fingerprintMinProbes is how many consistent probes a tool
	// fingerprint needs before it is reported (DETECTION.md §6.18).
	fingerprintMinProbes = 5

	// fpPairSlots is how many distinct (source port, sequence) pairs are
	// followed: nmap keeps one pair per scan phase (a SYN scan, then FIN,
	// NULL, ... runs each draw a new one), so a few slots cover a session.
	fpPairSlots = 4

	// decoyMinShared is how many identical probes two sources must share
	// before they are called decoys of one scan: one coincidence of 64 bits
	// (sequence, ports, IP ID) is already unlikely, three rule it out.
	decoyMinShared = 3

	// decoyMaxProbes bounds the probes indexed for decoy detection, so a
	// capture of millions of probes costs a bounded map at Finish.
	decoyMaxProbes = 1 << 21

	// monitorMinRounds is how many contacts make a service polled: a
	// scanner contacts each target once (its retransmissions come before
	// any answer); a client that comes back twice may be a user, three
	// times on a schedule is a poller (see srcBuilder.monitoring).
	monitorMinRounds = 3

	// monitorMinServices is how many polled services make a monitoring
	// source: one or two are a client's habits (a mail check, a feed).
	monitorMinServices = 3

	// monitorMinPeriodMS is the shortest median period of a schedule:
	// pollers check every few seconds at most, while a client fetching
	// one page after another comes back within milliseconds.
	monitorMinPeriodMS = 1000
)

// Config sets what the aggregator collects.
type Config struct {
	// MemoryBudgetBytes caps the state kept for sources and targets. When
	// it is reached, new sources and targets are dropped and counted in
	// CaptureStats (limit_hit). Zero or negative means the default.
	MemoryBudgetBytes int64
	// IdleGapNS separates a source's scan episodes: a gap longer than this
	// between two new probes starts a new episode. Zero or negative means
	// the default (15 minutes).
	IdleGapNS int64
	// Workers is how many goroutines aggregate (at most 4, the number of
	// shards); 0 or 1 aggregates on the goroutine that calls Add. The
	// answers do not depend on it.
	Workers int
	// Admit, when set, is the only senders tracked as sources: those
	// Analysis.HeaviestSources named after a first reading spent the
	// source budget. Packets neither from nor to one of them are dropped.
	Admit *SourceSet
	// Rereadable says the caller can read the capture again for its
	// heaviest senders (Admit). A first reading then stops collecting
	// targets once a refused sender outweighs a tracked source (see
	// Aggregator.Counting): its analysis would be dropped for the second
	// reading's.
	Rereadable bool
}

// DefaultConfig is the configuration of the tools.
func DefaultConfig() Config {
	return Config{MemoryBudgetBytes: DefaultMemoryBudgetBytes, IdleGapNS: DefaultIdleGapNS}
}

// Thresholds decide which sources are listed (CONTRACT.md §3.2).
type Thresholds struct {
	MinPorts          int     // distinct ports on one host
	MinHosts          int     // distinct hosts on one port
	MinTargets        int     // distinct (host, port) targets
	MinStealthTargets int     // distinct targets of stealth probes (FIN, NULL, Xmas, Maimon, illegal flags)
	MinRatePPS        float64 // distinct probes per second of the episode
}

// DefaultThresholds are the contract's defaults.
func DefaultThresholds() Thresholds {
	return Thresholds{MinPorts: 10, MinHosts: 10, MinTargets: 25, MinStealthTargets: 3, MinRatePPS: 5.0}
}

// sane replaces non-positive counts by 1, so a zero threshold never lists
// sources that probed nothing.
func (th Thresholds) sane() Thresholds {
	th.MinPorts = max(th.MinPorts, 1)
	th.MinHosts = max(th.MinHosts, 1)
	th.MinTargets = max(th.MinTargets, 1)
	th.MinStealthTargets = max(th.MinStealthTargets, 1)
	return th
}
