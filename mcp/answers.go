package mcp

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"porthunter/capture"
	"porthunter/intel"
	"porthunter/scan"
)

// The answers of the tools, one Go type each: their JSON Schemas (the
// tools' outputSchema) are derived from these types, the server encodes
// them, and the terminal report renders them, so the three cannot drift
// apart.
//
// Every answer is sized for a model's context: on any capture the default
// limits allow, a default answer stays within AnswerBudget characters.
// Lists that can grow are paged (limit, cursor, next_cursor) or capped
// with a count of the rest, and detail "summary" (the default) cuts the
// long port lists and evidence that "full" gives whole.

// AnswerBudget is the size, in characters of JSON, that every default
// answer stays within: hosts move or cut tool results past 25-50 KB.
const AnswerBudget = 25_000

// Detail levels.
const (
	DetailSummary = "summary"
	DetailFull    = "full"
)

// Caps of the summary level (full lists what the scan engine keeps).
const (
	summaryPortItems    = 16 // ranges or single ports per port list
	summaryGroups       = 5  // distributed scans and decoy groups listed
	summaryGroupMembers = 8  // sources (and targets) listed per group
	summaryInterfaces   = 8  // capture.interfaces
	summaryFiles        = 8  // capture.files and capture.duplicates of a rotated set
	summaryCorrGroupIPs = 8  // addresses listed per correlate group
	summaryCorrGroups   = 10 // correlate groups listed
	summaryCounts       = 10 // entries of correlate's by_asn and by_country
	summaryPulses       = 3  // OTX pulses listed per address
)

// Envelope is what every answer has: ok and generated_at (UTC, RFC 3339).
type Envelope struct {
	OK          bool   `json:"ok" desc:"true for an answer, false for an error (then error, detail and fix say why and what to change)"`
	GeneratedAt string `json:"generated_at" desc:"when the answer was made, UTC, RFC 3339"`
}

func (e *Envelope) envelope() *Envelope { return e }

// enveloped is an answer type: it embeds Envelope.
type enveloped interface{ envelope() *Envelope }

// ErrorAnswer is every tool's error: the contract code, one sentence
// about what went wrong and one about how to fix the call.
type ErrorAnswer struct {
	Envelope
	Error  string `json:"error" desc:"error code (CONTRACT §4), when ok is false"`
	Detail string `json:"detail" desc:"what went wrong, one sentence, when ok is false"`
	Fix    string `json:"fix" desc:"how to change the call, one sentence, when ok is false"`
}

// Fingerprint is a scanning tool's fingerprint: evidence only with detail full.
type Fingerprint struct {
	Name       string   `json:"name"`
	Confidence float64  `json:"confidence"`
	Evidence   []string `json:"evidence,omitempty" desc:"the field relationships seen (detail full)"`
}

func toolView(t *scan.Tool, full bool) *Fingerprint {
	if t == nil {
		return nil
	}
	v := &Fingerprint{Name: t.Name, Confidence: t.Confidence}
	if full {
		v.Evidence = t.Evidence
	}
	return v
}

// portItems is how many ranges a port list keeps at a level.
func portItems(full bool) int {
	if full {
		return 0 // the engine's own cap (scan.MaxPortsHit, scan.MaxDetailList)
	}
	return summaryPortItems
}

// ports writes a capped port list; truncated also when the engine had
// cut the list already.
func ports(list []int, engineCut, full bool) (Ports, bool) {
	p, cut := portRanges(list, portItems(full))
	return p, cut || engineCut
}

// --- scan_overview ---------------------------------------------------------

// OverviewArgs are scan_overview's arguments.
type OverviewArgs struct {
	Source
	TimeWindowS float64  `json:"time_window_s" default:"60" min:"0.001" max:"31622400" desc:"timeline window in seconds"`
	TopK        int      `json:"top_k" default:"20" min:"1" max:"1000" desc:"rows per list: scanners, targets, ports (and, with detail full, groups)"`
	Detail      string   `json:"detail" default:"\"summary\"" enum:"summary,full" desc:"summary cuts port lists to 16 ranges, groups to 5 and drops fingerprint evidence; full gives them whole"`
	Limit       int      `json:"limit" default:"48" min:"1" max:"10000" desc:"timeline windows per page"`
	Cursor      string   `json:"cursor" max:"512" desc:"next_cursor of the previous answer: the next timeline page (the other lists are then empty)"`
	Ignore      []string `json:"ignore" max:"1024" desc:"CIDRs or addresses to leave out for this call, like the known scanners of PORT_HUNTER_KNOWN_SCANNERS: counted under suppressed"`
}

// OverviewAnswer is scan_overview's answer.
type OverviewAnswer struct {
	Envelope
	Overview   *Overview `json:"overview"`
	NextCursor string    `json:"next_cursor,omitempty" desc:"more timeline windows: call again with this cursor"`
}

// Overview is the capture's scan activity (docs/CONTRACT.md §3.1).
type Overview struct {
	File              string                  `json:"file"`
	TotalPkts         uint64                  `json:"total_pkts" desc:"every record of the file, as capinfos counts"`
	IntervalS         float64                 `json:"interval_s" desc:"last minus first packet timestamp"`
	TimeWindowS       float64                 `json:"time_window_s"`
	Scanners          []Scanner               `json:"scanners" desc:"at most top_k, by distinct targets, packets, address"`
	ScannersTotal     int                     `json:"scanners_total"`
	Targets           []Target                `json:"targets" desc:"at most top_k hosts the scanners probed, by packets"`
	TargetsTotal      int                     `json:"targets_total"`
	PortDistribution  []scan.PortHits         `json:"port_distribution" desc:"at most top_k probed ports, by hits"`
	SuspectedPatterns []string                `json:"suspected_patterns"`
	Timeline          []scan.Window           `json:"timeline" desc:"one page of the windows that have probes, in time order"`
	TimelineWindows   int                     `json:"timeline_windows" desc:"windows with probes in all"`
	TimelineTruncated bool                    `json:"timeline_truncated,omitempty" desc:"more than 10000 windows: only the first 10000 can be paged"`
	Distributed       []scan.DistributedGroup `json:"distributed"`
	DistributedTotal  int                     `json:"distributed_total"`
	Decoys            []scan.DecoyGroup       `json:"decoys"`
	DecoysTotal       int                     `json:"decoys_total"`
	Suppressed        []scan.Suppressed       `json:"suppressed,omitempty" desc:"listed sources left out because a known scanner's label matched (PORT_HUNTER_KNOWN_SCANNERS), by label, at most 32"`
	SuppressedTotal   int                     `json:"suppressed_total,omitempty" desc:"sources left out, all labels together"`
	Capture           *capture.Report         `json:"capture"`
}

// Scanner is one scanner of the overview.
type Scanner struct {
	IP                 netip.Addr     `json:"ip"`
	Pkts               uint64         `json:"pkts" desc:"every packet the source sent"`
	DistinctPorts      int            `json:"distinct_ports"`
	DistinctHosts      int            `json:"distinct_hosts"`
	FlagStats          map[string]int `json:"flag_stats" desc:"distinct probes by class"`
	Probes             int            `json:"probes" desc:"distinct (host, protocol, port) probed"`
	ProbePkts          uint64         `json:"probe_pkts"`
	FirstSeen          scan.Time      `json:"first_seen"`
	LastSeen           scan.Time      `json:"last_seen"`
	Kind               string         `json:"kind"`
	Techniques         []string       `json:"techniques"`
	OpenPorts          Ports          `json:"open_ports" desc:"ports that answered open"`
	OpenPortsTruncated bool           `json:"open_ports_truncated,omitempty" desc:"more open ports than listed: scanner_detail with detail full lists them"`
	Tool               *Fingerprint   `json:"tool"`
	RatePPS            *float64       `json:"rate_pps"`
	DecoyRole          string         `json:"decoy_role,omitempty" enum:"likely_real,decoy" desc:"its part in its decoy group (nmap -D): likely_real or decoy; absent when the group's real scanner cannot be told"`
	Zombie             string         `json:"zombie,omitempty" desc:"the zombie of the idle scan it ran (nmap -sI): its probes are the zombie's SYNs, which it sent"`
	IdleScanBy         string         `json:"idle_scan_by,omitempty" desc:"on a zombie: the prober that sent the SYNs carrying its address"`
	DistinctProtocols  int            `json:"distinct_protocols,omitempty" desc:"IP protocols swept (nmap -sO)"`
	OpenProtocols      Ports          `json:"open_protocols,omitempty" desc:"IP protocols that answered (nmap -sO)"`
}

// Target is one host the scanners probed.
type Target struct {
	IP                netip.Addr `json:"ip"`
	Pkts              uint64     `json:"pkts"`
	PortsHit          Ports      `json:"ports_hit"`
	PortsHitTruncated bool       `json:"ports_hit_truncated,omitempty" desc:"more ports than listed (distinct_ports counts them)"`
	DistinctPorts     int        `json:"distinct_ports"`
	Scanners          int        `json:"scanners"`
}

// BuildOverview is scan_overview's overview of res. The timeline is the
// page [offset, offset+limit); timelineOnly leaves the other lists empty
// (a cursor's page). more reports windows past the page.
// site's known scanners and ignore list are left out, and counted.
func BuildOverview(res *capture.Result, file string, a OverviewArgs, site scan.Site, offset int, timelineOnly bool) (ov *Overview, more bool) {
	full := a.Detail == DetailFull
	src := res.Analysis.OverviewSite(scan.DefaultThresholds(), site, a.TimeWindowS, a.TopK)
	ov = &Overview{File: file, TotalPkts: src.TotalPkts, IntervalS: src.IntervalS, TimeWindowS: src.WindowS,
		Scanners: []Scanner{}, ScannersTotal: src.ScannersTotal, Targets: []Target{}, TargetsTotal: src.TargetsTotal,
		PortDistribution: []scan.PortHits{}, SuspectedPatterns: src.SuspectedPatterns,
		TimelineWindows: len(src.Timeline), TimelineTruncated: src.TimelineTruncated,
		Distributed: []scan.DistributedGroup{}, DistributedTotal: src.DistributedTotal,
		Decoys: []scan.DecoyGroup{}, DecoysTotal: src.DecoysTotal, Capture: reportView(res.Report, full),
		Suppressed: src.Suppressed, SuppressedTotal: src.SuppressedTotal}
	if src.TimelineTruncated {
		ov.TimelineWindows = src.TimelineWindows
	}
	page, more := pageOf(src.Timeline, offset, a.Limit)
	ov.Timeline = nonNil(page)
	if timelineOnly {
		return ov, more
	}
	for _, s := range src.Scanners {
		v := Scanner{IP: s.IP, Pkts: s.Pkts, DistinctPorts: s.DistinctPorts, DistinctHosts: s.DistinctHosts, FlagStats: s.FlagStats,
			Probes: s.Probes, ProbePkts: s.ProbePkts, FirstSeen: s.FirstSeen, LastSeen: s.LastSeen, Kind: s.Kind,
			Techniques: s.Techniques, Tool: toolView(s.Tool, full), RatePPS: s.RatePPS,
			DecoyRole: s.DecoyRole, Zombie: s.Zombie, IdleScanBy: s.IdleScanBy, DistinctProtocols: s.DistinctProtocols}
		v.OpenPorts, v.OpenPortsTruncated = ports(s.OpenPorts, s.OpenPortsTruncated, full)
		v.OpenProtocols, _ = portRanges(s.OpenProtocols, 0)
		ov.Scanners = append(ov.Scanners, v)
	}
	for _, t := range src.Targets {
		v := Target{IP: t.IP, Pkts: t.Pkts, DistinctPorts: t.DistinctPorts, Scanners: t.Scanners}
		v.PortsHit, v.PortsHitTruncated = ports(t.PortsHit, t.PortsHitTruncated, full)
		ov.Targets = append(ov.Targets, v)
	}
	ov.PortDistribution = nonNil(src.PortDistribution)
	groups, members := max(len(src.Distributed), len(src.Decoys)), 0 // full: every group the engine listed (top_k)
	if !full {
		groups, members = summaryGroups, summaryGroupMembers
	}
	for _, g := range src.Distributed[:min(groups, len(src.Distributed))] {
		if members > 0 && len(g.Sources) > members {
			g.Sources, g.SourcesTruncated = g.Sources[:members], true
		}
		ov.Distributed = append(ov.Distributed, g)
	}
	for _, g := range src.Decoys[:min(groups, len(src.Decoys))] {
		if members > 0 && len(g.Sources) > members {
			g.Sources, g.SourcesTruncated = g.Sources[:members], true
		}
		if members > 0 && len(g.Targets) > members {
			g.Targets, g.TargetsTruncated = g.Targets[:members], true
		}
		if !full && len(g.Evidence) > 1 {
			g.Evidence = g.Evidence[:1] // the rule that decided; full gives the rest
		}
		ov.Decoys = append(ov.Decoys, g)
	}
	return ov, more
}

// reportView is the capture report at a level: summary lists the first
// summaryInterfaces interfaces.
func reportView(r *capture.Report, full bool) *capture.Report {
	if r == nil || full || (len(r.Interfaces) <= summaryInterfaces && len(r.Files) <= summaryFiles && len(r.Duplicates) <= summaryFiles) {
		return r
	}
	c := *r
	if len(r.Interfaces) > summaryInterfaces {
		c.Interfaces, c.InterfacesTruncated = r.Interfaces[:summaryInterfaces], true
	}
	c.Files = r.Files[:min(len(r.Files), summaryFiles)] // files_total counts them
	c.Duplicates = r.Duplicates[:min(len(r.Duplicates), summaryFiles)]
	return &c
}

// --- list_suspects ---------------------------------------------------------

// SuspectsArgs are list_suspects' arguments.
type SuspectsArgs struct {
	Source
	SiteArgs
	Sort       string  `json:"sort" default:"\"priority\"" enum:"priority,probes,first_seen" desc:"priority: highest priority first; probes: most distinct probes first; first_seen: earliest first (ties: most probes, then the lower address)"`
	MinPorts   int     `json:"min_ports" default:"10" min:"1" max:"1048576" desc:"distinct ports on one host that make a scan"`
	MinRatePPS float64 `json:"min_rate_pps" default:"5" min:"0" max:"1000000000" desc:"distinct probes per second of the scan episode; a value other than the default also drops every listed source whose first qualifying episode was slower, slow scanners found by the sequential test (reason trw) included, which the default keeps"`
	MinHosts   int     `json:"min_hosts" default:"10" min:"1" max:"1048576" desc:"distinct hosts on one port that make a scan"`
	Detail     string  `json:"detail" default:"\"summary\"" enum:"summary,full" desc:"summary: what decides a case; full adds peak rate, episodes, reasons, decoy peers, fingerprint evidence and whole port lists"`
	Limit      int     `json:"limit" default:"50" min:"1" max:"1000" desc:"sources per page"`
	Cursor     string  `json:"cursor" max:"512" desc:"next_cursor of the previous answer, for the next page"`
}

// Thresholds are the engine's default thresholds with the arguments'.
func (a SuspectsArgs) Thresholds() scan.Thresholds {
	th := scan.DefaultThresholds()
	th.MinPorts, th.MinHosts, th.MinRatePPS = a.MinPorts, a.MinHosts, a.MinRatePPS
	return th
}

// SuspectsAnswer is list_suspects' answer.
type SuspectsAnswer struct {
	Envelope
	Suspects []Suspect `json:"suspects" desc:"one page, in the order of sort (default: highest priority first)"`
	Total    int       `json:"total" desc:"sources listed in all, suppressed ones not counted"`
	Site     *SiteView `json:"site" desc:"the home networks used and what was suppressed"`

	BelowThreshold      []scan.NearMiss `json:"below_threshold" desc:"near misses: the unlisted sources closest to a threshold (at least half of one), closest first, at most 5: rule, value and threshold in the rule's unit (rate: probes per second; trw_benign: met, but the sequential test found it a client)"`
	BelowThresholdTotal int             `json:"below_threshold_total" desc:"unlisted sources at half a threshold or more"`
	Truncated           bool            `json:"truncated" desc:"more sources than this page: next_cursor pages on"`
	NextCursor          string          `json:"next_cursor,omitempty" desc:"call again with this cursor for the next page"`
	Read                *ReadView       `json:"read,omitempty" desc:"what was read, when paths, glob, since or until was given"`
}

// Suspect is one scanning source (docs/CONTRACT.md §3.2).
type Suspect struct {
	IP                 netip.Addr    `json:"ip"`
	Kind               string        `json:"kind" enum:"vertical,horizontal,block,distributed"`
	DistinctPorts      int           `json:"distinct_ports"`
	DistinctHosts      int           `json:"distinct_hosts"`
	RatePPS            *float64      `json:"rate_pps" desc:"distinct probes per second of its first qualifying episode; null with one timestamp"`
	FlagsSeen          []string      `json:"flags_seen"`
	Probes             int           `json:"probes"`
	FirstSeen          scan.Time     `json:"first_seen"`
	LastSeen           scan.Time     `json:"last_seen"`
	DetectedAt         scan.Time     `json:"detected_at" desc:"the probe that crossed the threshold"`
	Techniques         []string      `json:"techniques"`
	OpenPorts          Ports         `json:"open_ports"`
	OpenPortsTruncated bool          `json:"open_ports_truncated,omitempty"`
	Tool               *Fingerprint  `json:"tool"`
	Confidence         float64       `json:"confidence"`
	DistributedTarget  string        `json:"distributed_target,omitempty" desc:"the host a distributed scan probed jointly"`
	DecoysTotal        int           `json:"decoy_peers_total,omitempty" desc:"other sources of its decoy group (nmap -D)"`
	DecoyRole          string        `json:"decoy_role,omitempty" enum:"likely_real,decoy" desc:"its part in its decoy group: likely_real or decoy (the overview's decoys say why); absent when undetermined"`
	Zombie             string        `json:"zombie,omitempty" desc:"the zombie of the idle scan it ran (nmap -sI): its probes are the zombie's SYNs, which it sent"`
	IdleScanBy         string        `json:"idle_scan_by,omitempty" desc:"on a zombie: the prober that sent the SYNs carrying its address"`
	DistinctProtocols  int           `json:"distinct_protocols,omitempty" desc:"IP protocols swept (nmap -sO); they count as ports of their host"`
	OpenProtocols      Ports         `json:"open_protocols,omitempty" desc:"IP protocols that answered (nmap -sO)"`
	Direction          string        `json:"direction,omitempty" enum:"inbound,outbound,internal,external" desc:"inbound: outside to home; outbound: home to outside only; internal: home to home; external: neither end home"`
	Priority           string        `json:"priority,omitempty" enum:"critical,high,medium,low" desc:"triage priority from the points of priority_reasons (README: Triage priority)"`
	PriorityScore      *int          `json:"priority_score,omitempty" desc:"the sum of the points of priority_reasons"`
	PriorityReasons    []scan.Reason `json:"priority_reasons,omitempty" desc:"the scoring rules met: code, points, one sentence"`
	Attack             []string      `json:"attack,omitempty" desc:"MITRE ATT&CK technique IDs: T1046, T1595.001, T1595.002, T1018"`

	// With detail full:
	PeakPPS             *float64         `json:"peak_pps,omitempty" desc:"most probes within one second (detail full)"`
	Episodes            *int             `json:"episodes,omitempty" desc:"scan episodes (detail full)"`
	Unanswered          *int             `json:"unanswered,omitempty" desc:"(detail full)"`
	Reasons             []string         `json:"reasons,omitempty" desc:"rules met (detail full)"`
	NoReturnTraffic     *bool            `json:"no_return_traffic,omitempty" desc:"none of its probes drew an answer (detail full)"`
	DecoyPeers          []netip.Addr     `json:"decoy_peers,omitempty" desc:"at most 32 (detail full)"`
	DecoyPeersTruncated bool             `json:"decoy_peers_truncated,omitempty"`
	Monitoring          *scan.Monitoring `json:"monitoring,omitempty" desc:"services it also polls on a schedule, not counted as probes (detail full)"`

	FragmentedProbes int `json:"fragmented_probes,omitempty" desc:"probes reassembled from IP fragments (nmap -f)"`
	FragmentEvasion  int `json:"fragment_evasion,omitempty" desc:"fragmented probes with overlapping or tiny fragments"`
}

// SuspectView is one suspect at a level.
func SuspectView(s scan.Suspect, full bool) Suspect {
	v := Suspect{IP: s.IP, Kind: s.Kind, DistinctPorts: s.DistinctPorts, DistinctHosts: s.DistinctHosts, RatePPS: s.RatePPS,
		FlagsSeen: s.FlagsSeen, Probes: s.Probes, FirstSeen: s.FirstSeen, LastSeen: s.LastSeen, DetectedAt: s.DetectedAt,
		Techniques: s.Techniques, Tool: toolView(s.Tool, full), Confidence: s.Confidence,
		DistributedTarget: s.DistributedTarget, DecoysTotal: s.DecoyPeersTotal, DecoyRole: s.DecoyRole,
		Zombie: s.Zombie, IdleScanBy: s.IdleScanBy, DistinctProtocols: s.DistinctProtocols,
		FragmentedProbes: s.FragmentedProbes, FragmentEvasion: s.FragmentEvasion,
		Direction: s.Direction, Priority: s.Priority, PriorityReasons: s.PriorityReasons, Attack: s.Attack}
	v.OpenPorts, v.OpenPortsTruncated = ports(s.OpenPorts, s.OpenPortsTruncated, full)
	v.OpenProtocols, _ = portRanges(s.OpenProtocols, 0)
	if s.Priority != "" {
		score := s.PriorityScore
		v.PriorityScore = &score
	}
	if full {
		peak, ep, un, nrt := s.PeakPPS, s.Episodes, s.Unanswered, s.NoReturnTraffic
		v.PeakPPS, v.Episodes, v.Unanswered, v.NoReturnTraffic = &peak, &ep, &un, &nrt
		v.Reasons, v.DecoyPeers, v.DecoyPeersTruncated = s.Reasons, s.DecoyPeers, s.DecoyPeersTruncated
		v.Monitoring = s.Monitoring
	}
	return v
}

// --- first_scan_event ------------------------------------------------------

// FirstEventArgs are first_scan_event's arguments.
type FirstEventArgs struct {
	Source
	Ignore []string `json:"ignore" max:"1024" desc:"CIDRs or addresses to suppress for this call, like the known scanners of PORT_HUNTER_KNOWN_SCANNERS: their scans are not the first event, and are counted under suppressed"`
}

// FirstEventAnswer is first_scan_event's answer.
type FirstEventAnswer struct {
	Envelope
	FirstEvent *scan.FirstEvent `json:"first_event" desc:"null when no source is listed under the default thresholds, known scanners and ignore left out"`

	Suppressed      []scan.Suppressed `json:"suppressed" desc:"listed sources left out because a known scanner's label or ignore matched, by label, at most 32"`
	SuppressedTotal int               `json:"suppressed_total" desc:"sources left out, all labels together"`
	Read            *ReadView         `json:"read,omitempty" desc:"what was read, when paths, glob, since or until was given"`
}

// --- scanner_detail --------------------------------------------------------

// DetailArgs are scanner_detail's arguments.
type DetailArgs struct {
	Source
	IP     string `json:"ip" required:"true" min:"1" max:"256" desc:"IPv4 or IPv6 address of the source"`
	Detail string `json:"detail" default:"\"summary\"" enum:"summary,full" desc:"summary cuts port lists to 16 ranges and drops fingerprint evidence; full gives them whole"`
	Limit  int    `json:"limit" default:"10" min:"1" max:"1024" desc:"targets and episodes per page"`
	Cursor string `json:"cursor" max:"512" desc:"next_cursor of the previous answer: the next page of targets and episodes"`
}

// DetailAnswer is scanner_detail's answer.
type DetailAnswer struct {
	Envelope
	IP         string         `json:"ip" desc:"the address asked about, canonical"`
	Found      bool           `json:"found" desc:"false when the address sent nothing in this capture"`
	Scanner    *ScannerDetail `json:"scanner" desc:"null when not found"`
	NextCursor string         `json:"next_cursor,omitempty" desc:"more targets or episodes: call again with this cursor"`
	Read       *ReadView      `json:"read,omitempty" desc:"what was read, when paths, glob, since or until was given"`
}

// ScannerDetail is everything known about one source (docs/CONTRACT.md §3.6).
type ScannerDetail struct {
	IP                 netip.Addr         `json:"ip"`
	Suspect            bool               `json:"suspect" desc:"listed under the default thresholds"`
	Kind               *string            `json:"kind"`
	Reasons            []string           `json:"reasons"`
	Confidence         float64            `json:"confidence"`
	Techniques         []string           `json:"techniques"`
	FlagsSeen          []string           `json:"flags_seen"`
	FlagStats          map[string]int     `json:"flag_stats"`
	Pkts               uint64             `json:"pkts"`
	ProbePkts          uint64             `json:"probe_pkts"`
	Probes             int                `json:"probes"`
	DistinctPorts      int                `json:"distinct_ports"`
	DistinctHosts      int                `json:"distinct_hosts"`
	FirstSeen          scan.Time          `json:"first_seen"`
	LastSeen           scan.Time          `json:"last_seen"`
	DetectedAt         *scan.Time         `json:"detected_at"`
	DistributedTarget  string             `json:"distributed_target,omitempty"`
	Episodes           []scan.EpisodeInfo `json:"episodes" desc:"one page, in time order"`
	EpisodesTotal      int                `json:"episodes_total"`
	EpisodesQualifying int                `json:"episodes_qualifying"`
	EpisodesTruncated  bool               `json:"episodes_truncated,omitempty" desc:"more than 100 episodes: only the first 100 can be paged"`
	Targets            []DetailTarget     `json:"targets" desc:"one page, in address order"`
	TargetsTotal       int                `json:"targets_total"`
	TargetsTruncated   bool               `json:"targets_truncated,omitempty" desc:"more than 1024 targets: only the first 1024 can be paged"`
	Ports              Ports              `json:"ports" desc:"distinct ports probed"`
	PortsTotal         int                `json:"ports_total"`
	PortsTruncated     bool               `json:"ports_truncated,omitempty"`
	Outcomes           scan.Outcomes      `json:"outcomes"`
	OpenPorts          Ports              `json:"open_ports"`
	OpenPortsTruncated bool               `json:"open_ports_truncated,omitempty"`
	UnansweredPorts    Ports              `json:"unanswered_ports"`
	UnansweredTrunc    bool               `json:"unanswered_ports_truncated,omitempty"`
	FirstProbe         *scan.ProbeEvent   `json:"first_probe"`
	FirstAnswer        *scan.ProbeEvent   `json:"first_answer"`
	FirstOpen          *scan.ProbeEvent   `json:"first_open"`
	FollowedByUse      bool               `json:"followed_by_use" desc:"it later used a port it had found open: data on a later connection, or a banner grab after a raw SYN"`
	UsedPorts          Ports              `json:"used_ports"`
	UsedPortsTruncated bool               `json:"used_ports_truncated,omitempty"`
	SuccessfulConns    int                `json:"successful_connections"`
	BackscatterPkts    uint64             `json:"backscatter_pkts"`
	NoReturnTraffic    bool               `json:"no_return_traffic"`
	TRW                scan.TRWInfo       `json:"trw"`
	Tool               *Fingerprint       `json:"tool"`
	FragmentedProbes   int                `json:"fragmented_probes,omitempty" desc:"probes reassembled from IP fragments (nmap -f)"`
	FragmentEvasion    int                `json:"fragment_evasion,omitempty" desc:"fragmented probes with overlapping or tiny fragments"`
	IdleScan           *scan.IdleScan     `json:"idle_scan,omitempty" desc:"on an idle scan's prober (nmap -sI): its zombie, the IP ID probes it sent it and the spoofed SYNs"`
	IdleScanBy         string             `json:"idle_scan_by,omitempty" desc:"on a zombie: the prober that sent the SYNs carrying its address"`
	DecoyRole          string             `json:"decoy_role,omitempty" enum:"likely_real,decoy" desc:"its part in its decoy group (nmap -D)"`
	DecoyEvidence      []string           `json:"decoy_evidence,omitempty" desc:"why its decoy group's real scanner is, or cannot be, told"`
	DistinctProtocols  int                `json:"distinct_protocols,omitempty" desc:"IP protocols it swept (nmap -sO)"`
	Protocols          Ports              `json:"protocols,omitempty" desc:"IP protocols probed"`
	OpenProtocols      Ports              `json:"open_protocols,omitempty" desc:"IP protocols answered in the protocol (or ICMP port unreachable): open"`
	ClosedProtocols    Ports              `json:"closed_protocols,omitempty" desc:"IP protocols answered with ICMP protocol unreachable (IPv6: unrecognized next header): closed"`
	BannerGrabs        int                `json:"banner_grabs,omitempty" desc:"open ports whose handshake its own stack completed after a raw SYN probe (masscan --banners): use following the scan"`
	Monitoring         *scan.Monitoring   `json:"monitoring,omitempty" desc:"it polls these services on a schedule (a monitoring system): not probes"`
	Direction          string             `json:"direction,omitempty" enum:"inbound,outbound,internal,external" desc:"when listed: as list_suspects gives it under the server's home networks"`
	Priority           string             `json:"priority,omitempty" enum:"critical,high,medium,low" desc:"when listed: as list_suspects gives it"`
	PriorityScore      *int               `json:"priority_score,omitempty" desc:"the sum of the points of priority_reasons"`
	PriorityReasons    []scan.Reason      `json:"priority_reasons,omitempty" desc:"the scoring rules met: code, points, one sentence"`
	Attack             []string           `json:"attack,omitempty" desc:"MITRE ATT&CK technique IDs"`
	SuppressedBy       string             `json:"suppressed_by,omitempty" desc:"the known scanner's label that keeps it out of list_suspects (PORT_HUNTER_KNOWN_SCANNERS)"`
}

// DetailTarget is one host a source probed.
type DetailTarget struct {
	IP                 netip.Addr `json:"ip"`
	Probes             int        `json:"probes"`
	Ports              Ports      `json:"ports"`
	PortsTruncated     bool       `json:"ports_truncated,omitempty"`
	OpenPorts          Ports      `json:"open_ports"`
	OpenPortsTruncated bool       `json:"open_ports_truncated,omitempty"`
}

// BuildDetail is d at a level with the targets and episodes of the page
// starting at offset; more reports either list going on past it.
func BuildDetail(d *scan.Detail, full bool, offset, limit int) (v *ScannerDetail, more bool) {
	v = &ScannerDetail{IP: d.IP, Suspect: d.Suspect, Kind: d.Kind, Reasons: d.Reasons, Confidence: d.Confidence,
		Techniques: d.Techniques, FlagsSeen: d.FlagsSeen, FlagStats: d.FlagStats, Pkts: d.Pkts, ProbePkts: d.ProbePkts,
		Probes: d.Probes, DistinctPorts: d.DistinctPorts, DistinctHosts: d.DistinctHosts, FirstSeen: d.FirstSeen,
		LastSeen: d.LastSeen, DetectedAt: d.DetectedAt, DistributedTarget: d.DistributedTarget,
		EpisodesTotal: d.EpisodesTotal, EpisodesQualifying: d.EpisodesQualifying, EpisodesTruncated: d.EpisodesTruncated,
		TargetsTotal: d.TargetsTotal, TargetsTruncated: d.TargetsTruncated, PortsTotal: d.PortsTotal,
		Outcomes: d.Outcomes, FirstProbe: d.FirstProbe, FirstAnswer: d.FirstAnswer, FirstOpen: d.FirstOpen,
		FollowedByUse: d.FollowedByUse, SuccessfulConns: d.SuccessfulConnections, BackscatterPkts: d.BackscatterPkts,
		NoReturnTraffic: d.NoReturnTraffic, TRW: d.TRW, Tool: toolView(d.Tool, full),
		IdleScan: d.IdleScan, IdleScanBy: d.IdleScanBy, DecoyRole: d.DecoyRole, DecoyEvidence: d.DecoyEvidence,
		DistinctProtocols: d.DistinctProtocols,
		FragmentedProbes:  d.FragmentedProbes, FragmentEvasion: d.FragmentEvasion,
		BannerGrabs: d.BannerGrabs, Monitoring: d.Monitoring}
	v.Protocols, _ = portRanges(d.Protocols, 0)
	v.OpenProtocols, _ = portRanges(d.OpenProtocols, 0)
	v.ClosedProtocols, _ = portRanges(d.ClosedProtocols, 0)
	v.Ports, v.PortsTruncated = ports(d.Ports, d.PortsTruncated, full)
	v.OpenPorts, v.OpenPortsTruncated = ports(d.OpenPorts, d.OpenPortsTruncated, full)
	v.UnansweredPorts, v.UnansweredTrunc = ports(d.UnansweredPorts, d.UnansweredPortsTruncated, full)
	v.UsedPorts, v.UsedPortsTruncated = ports(d.UsedPorts, d.UsedPortsTruncated, full)
	eps, moreE := pageOf(d.Episodes, offset, limit)
	v.Episodes = nonNil(eps)
	ts, moreT := pageOf(d.Targets, offset, limit)
	v.Targets = make([]DetailTarget, 0, len(ts))
	for _, t := range ts {
		x := DetailTarget{IP: t.IP, Probes: t.Probes}
		x.Ports, x.PortsTruncated = ports(t.Ports, t.PortsTruncated, full)
		x.OpenPorts, x.OpenPortsTruncated = ports(t.OpenPorts, t.OpenPortsTruncated, full)
		v.Targets = append(v.Targets, x)
	}
	return v, moreE || moreT
}

// --- enrich_ip and correlate -----------------------------------------------

// EnrichArgs are enrich_ip's arguments.
type EnrichArgs struct {
	IP     string `json:"ip" required:"true" min:"1" max:"256" desc:"IPv4 or IPv6 address"`
	Detail string `json:"detail" default:"\"summary\"" enum:"summary,full" desc:"full adds each provider's report (sources), the address range, the full geolocation and every OTX pulse"`
}

// EnrichAnswer is enrich_ip's answer: enrichment, or for an address that
// is not globally reachable the skip members (docs/CONTRACT.md §3.4).
type EnrichAnswer struct {
	Envelope
	Enrichment *Enrichment `json:"enrichment,omitempty"`
	IP         string      `json:"ip,omitempty" desc:"a skipped address"`
	Input      string      `json:"input,omitempty"`
	Skipped    bool        `json:"skipped,omitempty" desc:"not enriched: not globally reachable (never sent online)"`
	Reason     string      `json:"reason,omitempty"`
	Category   string      `json:"category,omitempty"`
	Block      *string     `json:"block,omitempty"`
	Name       *string     `json:"name,omitempty"`
	RFC        *string     `json:"rfc,omitempty"`
	Intel      IntelState  `json:"intel" desc:"the server's intel: what is configured, which sources failed to load or are stale"`
}

// Caps of the intel member.
const (
	summaryIntelProblems = 5   // failed and stale sources named
	maxIntelText         = 160 // characters of a file name or load error shown
)

// IntelState is the server's intel at the time of the answer, in every
// enrich_ip and correlate answer: an empty field then cannot be taken for
// "nothing known" when a source is missing, broken or out of date.
type IntelState struct {
	Configured  bool     `json:"configured" desc:"PORT_HUNTER_INTEL_DIR is set or an online provider is enabled"`
	Loaded      int      `json:"loaded" desc:"offline intel files loaded"`
	Failed      []string `json:"failed,omitempty" desc:"\"file: reason\" for the directory or files that did not load, at most 5"`
	FailedTotal int      `json:"failed_total,omitempty"`
	Stale       []string `json:"stale,omitempty" desc:"\"file (as of DATE, refresh every N days)\" for loaded files past their refresh interval, at most 5"`
	StaleTotal  int      `json:"stale_total,omitempty"`
	Ignored     int      `json:"ignored,omitempty" desc:"files not read: not a recognised format, or not a regular file (the server log names them)"`
}

// IntelStateOf is the intel member for h.
func IntelStateOf(h intel.Health) IntelState {
	st := IntelState{Configured: h.Configured(), Loaded: h.Loaded, Ignored: h.Ignored}
	for _, p := range h.Failed {
		if len(st.Failed) == summaryIntelProblems {
			st.FailedTotal = len(h.Failed)
			break
		}
		name := p.File
		if name == "" {
			name = "intel directory"
		}
		st.Failed = append(st.Failed, cutText(name, maxIntelText)+": "+cutText(p.Reason, maxIntelText))
	}
	for _, p := range h.Stale {
		if len(st.Stale) == summaryIntelProblems {
			st.StaleTotal = len(h.Stale)
			break
		}
		st.Stale = append(st.Stale, fmt.Sprintf("%s (as of %s, refresh every %d days)",
			cutText(p.File, maxIntelText), p.AsOf.Format(time.DateOnly), int(p.FreshFor/(24*time.Hour))))
	}
	return st
}

// cutText keeps at most n bytes of s, cut at a rune boundary, marking the
// cut with "...".
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// Enrichment is who an address is, from the intel that is configured.
// Providers that are not configured are left out; consulted names those
// that were asked, with their status.
type Enrichment struct {
	IP         string                `json:"ip,omitempty" desc:"canonical address (correlate gives it once, in the result)"`
	Input      string                `json:"input,omitempty" desc:"what was sent, when it differs from ip"`
	Kind       string                `json:"kind,omitempty" desc:"the address's category, e.g. public"`
	ASN        *string               `json:"asn"`
	Org        *string               `json:"org"`
	Geo        GeoView               `json:"geo"`
	Threat     ThreatView            `json:"threat"`
	Consulted  string                `json:"consulted,omitempty" desc:"the providers asked and their status, e.g. \"ip2asn:ok,otx:timeout\"; \"none\" when no intel is configured"`
	Partial    bool                  `json:"partial,omitempty" desc:"a provider ended in timeout, rate_limited or error"`
	Network    *intel.Network        `json:"network,omitempty" desc:"(detail full)"`
	GeoFull    *intel.Geo            `json:"geo_full,omitempty" desc:"(detail full)"`
	Sources    []intel.Source        `json:"sources,omitempty" desc:"each configured provider's report (detail full)"`
	Classified *intel.Classification `json:"classification,omitempty" desc:"(detail full)"`
}

// GeoView is where the address is registered or located.
type GeoView struct {
	Country *string `json:"country"`
}

// ThreatView is what the configured threat sources say.
type ThreatView struct {
	Listed     bool           `json:"listed"`
	Blocklists []string       `json:"blocklists" desc:"the lists that list it"`
	OTX        *OTXView       `json:"otx,omitempty" desc:"when OTX (online or an import) is configured"`
	GreyNoise  *GreyNoiseView `json:"greynoise,omitempty" desc:"when GreyNoise (online or an import) is configured"`
}

// OTXView is what OTX says of an address: counts and names, and with
// detail full every pulse.
type OTXView struct {
	Status          string        `json:"status"`
	Source          *string       `json:"source,omitempty"`
	PulseCount      *int          `json:"pulse_count"`
	Reputation      *int          `json:"reputation,omitempty"`
	PulseNames      []string      `json:"pulse_names,omitempty" desc:"the latest pulses' names, at most 3 (detail summary)"`
	MalwareFamilies []string      `json:"malware_families,omitempty" desc:"at most 3 with detail summary"`
	Adversaries     []string      `json:"adversaries,omitempty" desc:"at most 3 with detail summary"`
	Validation      []string      `json:"validation,omitempty" desc:"OTX validation notes (whitelisted, known false positive)"`
	Reason          *string       `json:"reason,omitempty"`
	Pulses          []intel.Pulse `json:"pulses,omitempty" desc:"(detail full)"`
	Link            *string       `json:"link,omitempty" desc:"(detail full)"`
	RetryAfterS     *int          `json:"retry_after_s,omitempty"`
}

// GreyNoiseView is what GreyNoise says of an address.
type GreyNoiseView struct {
	Status         string  `json:"status"`
	Classification *string `json:"classification"`
	Noise          *bool   `json:"noise,omitempty"`
	Riot           *bool   `json:"riot,omitempty"`
	Name           *string `json:"name,omitempty"`
	LastSeen       *string `json:"last_seen,omitempty"`
	Reason         *string `json:"reason,omitempty"`
	Source         *string `json:"source,omitempty" desc:"(detail full)"`
	Observed       *bool   `json:"observed,omitempty" desc:"(detail full)"`
	Link           *string `json:"link,omitempty" desc:"(detail full)"`
	RetryAfterS    *int    `json:"retry_after_s,omitempty"`
}

func firstN(xs []string, n int, full bool) []string {
	if !full && len(xs) > n {
		return xs[:n]
	}
	return xs
}

func otxView(o intel.OTX, full bool) *OTXView {
	v := &OTXView{Status: o.Status, Source: o.Source, PulseCount: o.PulseCount, Reputation: o.Reputation,
		MalwareFamilies: firstN(o.MalwareFamilies, summaryPulses, full), Adversaries: firstN(o.Adversaries, summaryPulses, full),
		Reason: o.Reason, RetryAfterS: o.RetryAfterS}
	for _, x := range o.Validation {
		v.Validation = append(v.Validation, x.Name)
	}
	if full {
		v.Pulses, v.Link = o.Pulses, o.Link
	} else {
		for _, p := range o.Pulses[:min(summaryPulses, len(o.Pulses))] {
			v.PulseNames = append(v.PulseNames, p.Name)
		}
	}
	return v
}

func greyNoiseView(g intel.GreyNoise, full bool) *GreyNoiseView {
	v := &GreyNoiseView{Status: g.Status, Classification: g.Classification, Noise: g.Noise, Riot: g.Riot, Name: g.Name,
		LastSeen: g.LastSeen, Reason: g.Reason, RetryAfterS: g.RetryAfterS}
	if full {
		v.Source, v.Observed, v.Link = g.Source, g.Observed, g.Link
	}
	return v
}

// EnrichmentView is e at a level; withConsulted adds the consulted field
// (correlate says it once for all addresses instead).
func EnrichmentView(e *intel.Enrichment, full, withConsulted bool) *Enrichment {
	v := &Enrichment{IP: e.IP, Kind: e.Classification.Category, ASN: e.ASN, Org: e.Org,
		Geo: GeoView{Country: e.Geo.Country}, Threat: ThreatView{Listed: e.Threat.Listed, Blocklists: []string{}}, Partial: e.Partial}
	if e.Input != e.IP {
		v.Input = e.Input
	}
	for _, l := range e.Threat.Blocklists {
		if !slices.Contains(v.Threat.Blocklists, l.List) {
			v.Threat.Blocklists = append(v.Threat.Blocklists, l.List)
		}
	}
	if e.Threat.OTX.Status != intel.StatusDisabled {
		v.Threat.OTX = otxView(e.Threat.OTX, full)
	}
	if e.Threat.GreyNoise.Status != intel.StatusDisabled {
		v.Threat.GreyNoise = greyNoiseView(e.Threat.GreyNoise, full)
	}
	if withConsulted {
		v.Consulted = consulted(e.Sources)
	}
	if full {
		v.Network, v.Sources, v.Classified = e.Network, configured(e.Sources), &e.Classification
		g := e.Geo
		v.GeoFull = &g
	}
	return v
}

// configured is the providers of sources that are configured.
func configured(sources []intel.Source) []intel.Source {
	out := []intel.Source{}
	for _, s := range sources {
		if s.Status != intel.StatusDisabled {
			out = append(out, s)
		}
	}
	return out
}

// consulted names the configured providers and their status, once each.
func consulted(sources []intel.Source) string {
	var parts []string
	for _, s := range configured(sources) {
		p := s.Provider + ":" + s.Status
		if !slices.Contains(parts, p) {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// CorrelateArgs are correlate's arguments.
type CorrelateArgs struct {
	IPs    []string `json:"ips" required:"true" desc:"addresses, at most 1000 (more: error too_many_ips); results keep their order"`
	Source          // optional: the capture whose scan activity is attached to each address
	Detail string   `json:"detail" default:"\"summary\"" enum:"summary,full" desc:"full gives each address's whole enrichment, every group member and all counts"`
	Limit  int      `json:"limit" default:"20" min:"1" max:"1000" desc:"results per page"`
	Cursor string   `json:"cursor" max:"512" desc:"next_cursor of the previous answer, for the next page of results"`
}

// CorrelateAnswer is correlate's answer (docs/CONTRACT.md §3.5).
type CorrelateAnswer struct {
	Envelope
	Results     []CorrelateResult `json:"results" desc:"one page of results, in input order"`
	Total       int               `json:"total" desc:"results in all (one per input)"`
	NextCursor  string            `json:"next_cursor,omitempty" desc:"more results: call again with this cursor and the same ips"`
	Groups      []CorrelateGroup  `json:"groups" desc:"addresses sharing an ASN, prefix, country, blocklist or pulse, largest first"`
	GroupsTotal int               `json:"groups_total"`
	Summary     intel.Summary     `json:"summary"`
	Consulted   string            `json:"consulted" desc:"the providers asked and their status; \"none\" when no intel is configured"`
	Partial     bool              `json:"partial"`
	Intel       IntelState        `json:"intel" desc:"the server's intel: what is configured, which sources failed to load or are stale"`
	Read        *ReadView         `json:"read,omitempty" desc:"what was read, when paths, glob, since or until was given"`
}

// CorrelateResult is one input's answer: invalid, skipped or enriched.
type CorrelateResult struct {
	IP         string        `json:"ip"`
	Input      string        `json:"input,omitempty"`
	OK         *bool         `json:"ok,omitempty"`
	Error      string        `json:"error,omitempty"`
	Skipped    bool          `json:"skipped,omitempty"`
	Reason     string        `json:"reason,omitempty"`
	Category   string        `json:"category,omitempty"`
	Kind       string        `json:"kind,omitempty"`
	Enrichment *Enrichment   `json:"enrichment,omitempty"`
	Score      *ScoreView    `json:"score,omitempty"`
	Activity   *ActivityView `json:"activity,omitempty" desc:"its scan activity in the capture, when path was given and it appears there"`
	Seen       *bool         `json:"seen,omitempty" desc:"false when path was given and the address does not appear in the capture"`
}

// ScoreView is a 0-100 suspicion score and the codes of its reasons
// (with detail full, each reason's points and sentence).
type ScoreView struct {
	Value   int            `json:"value"`
	Reasons []string       `json:"reasons" desc:"codes of the facts that make the score"`
	Details []intel.Reason `json:"details,omitempty" desc:"(detail full)"`
}

// ActivityView is an address's scan activity in the capture.
type ActivityView struct {
	Suspect    bool       `json:"suspect" desc:"listed under the default thresholds"`
	Kind       *string    `json:"kind"`
	Techniques []string   `json:"techniques"`
	FirstSeen  *scan.Time `json:"first_seen"`
	Probes     int        `json:"probes"`
	LastSeen   *scan.Time `json:"last_seen,omitempty" desc:"(detail full)"`
	PktsSent   uint64     `json:"pkts_sent,omitempty" desc:"(detail full)"`
	ProbedBy   int        `json:"probed_by,omitempty" desc:"listed scanners that probed it (detail full)"`
}

func activityView(a *scan.Activity, full bool) *ActivityView {
	v := &ActivityView{Suspect: a.Suspect, Kind: a.Kind, Techniques: a.Techniques, FirstSeen: a.FirstSeen, Probes: a.Probes}
	if full {
		v.LastSeen, v.PktsSent, v.ProbedBy = a.LastSeen, a.PktsSent, a.ProbedBy
	}
	return v
}

// CorrelateGroup is addresses sharing something.
type CorrelateGroup struct {
	Kind         string   `json:"kind" enum:"asn,prefix,country,blocklist,pulse"`
	Key          string   `json:"key"`
	Name         *string  `json:"name"`
	IPs          []string `json:"ips" desc:"in input order; at most 8 with detail summary"`
	IPsTotal     int      `json:"ips_total"`
	IPsTruncated bool     `json:"ips_truncated,omitempty"`
}

// BuildCorrelate is correlate's answer for the page of corr starting at
// offset; activity is the capture's activity per address (nil without
// path).
func BuildCorrelate(corr intel.Correlation, full bool, offset, limit int, activity func(netip.Addr) *scan.Activity) (a *CorrelateAnswer, more bool) {
	a = &CorrelateAnswer{Total: len(corr.Results), Summary: corr.Summary, Partial: corr.Partial, Groups: []CorrelateGroup{}}
	var sources []intel.Source
	page, more := pageOf(corr.Results, offset, limit)
	a.Results = make([]CorrelateResult, 0, len(page))
	for _, r := range page {
		v := CorrelateResult{IP: r.IP, Input: r.Input, OK: r.OK, Error: r.Error, Skipped: r.Skipped, Reason: r.Reason,
			Category: r.Category, Kind: r.Kind}
		if r.Enrichment != nil {
			v.Enrichment = EnrichmentView(r.Enrichment, full, false)
			v.Enrichment.IP, v.Enrichment.Kind = "", "" // the result's own
			if v.Enrichment.Input == v.Input {
				v.Enrichment.Input = ""
			}
		}
		if sc := r.Score; sc != nil {
			v.Score = &ScoreView{Value: sc.Value, Reasons: []string{}}
			for _, x := range sc.Reasons {
				v.Score.Reasons = append(v.Score.Reasons, x.Code)
			}
			if full {
				v.Score.Details = sc.Reasons
			}
		}
		if activity != nil && r.Error == "" {
			if ip, err := netip.ParseAddr(r.IP); err == nil {
				if act := activity(ip); act != nil {
					v.Activity = activityView(act, full)
				} else {
					f := false
					v.Seen = &f
				}
			}
		}
		a.Results = append(a.Results, v)
	}
	for _, r := range corr.Results {
		if r.Enrichment != nil {
			sources = append(sources, r.Enrichment.Sources...)
		}
	}
	a.Consulted = consulted(sources)
	groups := slices.Clone(corr.Groups)
	slices.SortStableFunc(groups, func(x, y intel.Group) int { return cmp.Compare(len(y.IPs), len(x.IPs)) })
	a.GroupsTotal = len(groups)
	if !full && len(groups) > summaryCorrGroups {
		groups = groups[:summaryCorrGroups]
	}
	for _, g := range groups {
		v := CorrelateGroup{Kind: g.Kind, Key: g.Key, Name: g.Name, IPs: g.IPs, IPsTotal: len(g.IPs)}
		if !full && len(v.IPs) > summaryCorrGroupIPs {
			v.IPs, v.IPsTruncated = v.IPs[:summaryCorrGroupIPs], true
		}
		a.Groups = append(a.Groups, v)
	}
	if !full {
		a.Summary.ByASN = topCounts(a.Summary.ByASN, summaryCounts)
		a.Summary.ByCountry = topCounts(a.Summary.ByCountry, summaryCounts)
	}
	return a, more
}

// topCounts keeps the n largest counts of m (ties: the smaller key).
func topCounts(m map[string]int, n int) map[string]int {
	if len(m) <= n {
		return m
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y string) int {
		if c := cmp.Compare(m[y], m[x]); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	out := make(map[string]int, n)
	for _, k := range keys[:n] {
		out[k] = m[k]
	}
	return out
}

// --- helpers ---------------------------------------------------------------

// pageOf is list[offset : offset+limit] and whether more follow.
func pageOf[T any](list []T, offset, limit int) ([]T, bool) {
	if offset >= len(list) {
		return nil, false
	}
	end := min(len(list), offset+limit)
	return list[offset:end], end < len(list)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
