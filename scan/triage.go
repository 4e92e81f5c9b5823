package scan

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Site context and triage (issue 19): which way a scan went, which
// sources the site already knows, and which suspect to look at first.
// Everything here is read from a listing the thresholds already made:
// the site changes what is shown and in which order, never whether a
// source is a scan.

// DefaultHome are the home networks when none are configured: the
// private (RFC 1918), unique local (RFC 4193) and link-local (RFC 3927,
// RFC 4291) ranges, the addresses a site uses inside.
var DefaultHome = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
}

// Directions of a scan, by where its source and its targets lie.
const (
	DirInbound  = "inbound"  // outside → home
	DirOutbound = "outbound" // home → outside only: often a compromised host
	DirInternal = "internal" // home → home: lateral reconnaissance
	DirExternal = "external" // neither end home (a transit or mirror port)
)

// Priorities, highest first.
const (
	PriorityCritical = "critical"
	PriorityHigh     = "high"
	PriorityMedium   = "medium"
	PriorityLow      = "low"
)

// Sort orders of TriagePage.
const (
	SortPriority  = "priority"   // highest priority first, then most probes
	SortProbes    = "probes"     // most distinct probes first (SuspectsPage's order)
	SortFirstSeen = "first_seen" // earliest first probe first
)

// Limits of the site context.
const (
	// MaxSuppressed caps the suppression groups an answer lists (one per
	// label); SuppressedTotal still counts every suppressed source.
	MaxSuppressed = 32
	// IgnoreLabel labels the sources a call's ignore argument suppressed.
	IgnoreLabel = "ignored by this call"
)

// KnownScanner is an allow-listed scanning source (a vulnerability
// scanner, a monitoring host, a research project).
type KnownScanner struct {
	Prefix netip.Prefix
	Label  string
}

// Site is what the analyst knows of the network around the capture.
type Site struct {
	// Home are the home networks; DefaultHome when empty.
	Home []netip.Prefix
	// Known sources are suppressed with their label; Ignore (a call's own
	// list) likewise, with IgnoreLabel. The first match decides.
	Known  []KnownScanner
	Ignore []netip.Prefix
	// Darknets are ranges where no host lives (darknet.go).
	Darknets []netip.Prefix
	// Reputation, when set, is what intel says of a source: the lists
	// that name it (blocklists, threat pulses), and whether it is a
	// known benign scanner (a research project, a search engine) with
	// its name. It is asked once per listed source.
	Reputation func(netip.Addr) (lists []string, benign bool, actor string)
}

// home is s's home networks, and whether they are the defaults.
func (s Site) home() ([]netip.Prefix, bool) {
	if len(s.Home) == 0 {
		return DefaultHome, true
	}
	return s.Home, false
}

// suppressedBy is the label that suppresses a, or "".
func (s Site) suppressedBy(a netip.Addr) string {
	for _, p := range s.Ignore {
		if p.Contains(a) {
			return IgnoreLabel
		}
	}
	for _, k := range s.Known {
		if k.Prefix.Contains(a) {
			return k.Label
		}
	}
	return ""
}

func inAny(nets []netip.Prefix, a netip.Addr) bool {
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Reason is one reason for a suspect's priority: a code, the points it
// adds, and one sentence with the facts.
type Reason struct {
	Code   string `json:"code"`
	Points int    `json:"points"`
	Text   string `json:"text"`
}

// The scoring (README "Triage priority"): each rule met adds its points;
// the sum decides the priority (priorityOf). Rules and points are
// deliberately few and fixed, so that an analyst can redo the sum.
const (
	ptsOpenAdmin = 3  // a way in: remote administration found open
	ptsOpenDB    = 3  // data: a database found open
	ptsOpenSMB   = 3  // file shares and lateral movement
	ptsOpenOther = 1  // something answered, of no listed class
	ptsUse       = 4  // it came back to what it found: past reconnaissance
	ptsInternal  = 3  // lateral reconnaissance from inside
	ptsOutbound  = 3  // a home host scanning out: often compromised
	ptsTool      = 1  // a scanner's packets, not a misbehaving application
	ptsDarknet   = 2  // it probed where no host lives: blind sweeping
	ptsListed    = 3  // intel already knows it for malice
	ptsResearch  = -3 // intel knows it for a benign research scanner

	// Priority cut-offs on the sum.
	critAt   = 7
	highAt   = 4
	mediumAt = 2
)

// Port classes of the scoring, by service port.
var (
	adminPorts = []int{22, 23, 512, 513, 514, 3389, 5900, 5985, 5986}          // ssh, telnet, rexec/rlogin/rsh, RDP, VNC, WinRM
	dbPorts    = []int{1433, 1521, 3306, 5432, 5984, 6379, 9200, 11211, 27017} // MSSQL, Oracle, MySQL, PostgreSQL, CouchDB, Redis, Elasticsearch, memcached, MongoDB
	smbPorts   = []int{139, 445}                                               // NetBIOS session, SMB
)

// priorityOf is the priority of a score.
func priorityOf(score int) string {
	switch {
	case score >= critAt:
		return PriorityCritical
	case score >= highAt:
		return PriorityHigh
	case score >= mediumAt:
		return PriorityMedium
	}
	return PriorityLow
}

// PriorityRank orders priorities, critical first (an unknown one last).
func PriorityRank(p string) int {
	switch p {
	case PriorityCritical:
		return 0
	case PriorityHigh:
		return 1
	case PriorityMedium:
		return 2
	}
	return 3
}

// triage is what the site context adds to a listed source.
type triage struct {
	direction string
	priority  string
	score     int
	reasons   []Reason
	attack    []string
}

// direction is where v's scan went: its source against the hosts it
// probed, one of which being home is enough to make the scan aimed home
// (a home host that probes both is reconnoitring inside).
func (an *Analysis) direction(v *verdict, home []netip.Prefix) string {
	srcHome := inAny(home, an.addrAt(v.self().ai))
	dstHome := false
	last := int32(-1)
	for i := range v.r.probes {
		d := v.r.probes[i].dst
		if d == last {
			continue
		}
		last = d
		if inAny(home, an.addrAt(d)) {
			dstHome = true
			break
		}
	}
	switch {
	case srcHome && dstHome:
		return DirInternal
	case srcHome:
		return DirOutbound
	case dstHome:
		return DirInbound
	}
	return DirExternal
}

// judgeTriage scores v (README "Triage priority").
func (an *Analysis) judgeTriage(v *verdict, home []netip.Prefix, site Site) triage {
	r := v.r
	tr := triage{direction: an.direction(v, home)}
	add := func(code string, pts int, format string, args ...any) {
		tr.reasons = append(tr.reasons, Reason{Code: code, Points: pts, Text: fmt.Sprintf(format, args...)})
		tr.score += pts
	}
	open := openPorts(r)
	var admin, db, smb []int
	other := 0
	for _, p := range open {
		switch {
		case slices.Contains(adminPorts, p):
			admin = append(admin, p)
		case slices.Contains(dbPorts, p):
			db = append(db, p)
		case slices.Contains(smbPorts, p):
			smb = append(smb, p)
		default:
			other++
		}
	}
	if len(admin) > 0 {
		add("open_admin", ptsOpenAdmin, "It found remote administration open: port %s.", joinInts(admin))
	}
	if len(db) > 0 {
		add("open_database", ptsOpenDB, "It found a database open: port %s.", joinInts(db))
	}
	if len(smb) > 0 {
		add("open_smb", ptsOpenSMB, "It found SMB or NetBIOS open: port %s.", joinInts(smb))
	}
	if other > 0 {
		add("open_other", ptsOpenOther, "It found %d other port(s) open.", other)
	}
	used := usedLater(r)
	if len(used) > 0 {
		add("followed_by_use", ptsUse, "It later used port %s it had found open.", joinInts(used))
	}
	switch tr.direction {
	case DirInternal:
		add("direction_internal", ptsInternal, "A home host scanned home hosts: lateral reconnaissance.")
	case DirOutbound:
		add("direction_outbound", ptsOutbound, "A home host scanned outside hosts: often a compromised host.")
	}
	// Inbound and external scans add nothing: direction says which they
	// are, and from outside a scan is background noise unless it found
	// something, which the rules above score.
	if n, _ := an.darknetHits(r, site.Darknets, 0); n > 0 {
		add("darknet", ptsDarknet, "It probed %d darknet address(es), where no host lives.", n)
	}
	if site.Reputation != nil {
		lists, benign, actor := site.Reputation(an.addrAt(v.self().ai))
		if len(lists) > 0 {
			more := ""
			if len(lists) > 3 {
				more = fmt.Sprintf(" and %d more", len(lists)-3)
			}
			add("intel_listed", ptsListed, "Intel lists it: %s%s.", strings.Join(lists[:min(len(lists), 3)], ", "), more)
		}
		if benign {
			add("research_scanner", ptsResearch, "Intel knows it as a benign scanner (%s): research or indexing, not an attack.", actor)
		}
	}
	if r.tool != nil {
		add("tool_fingerprint", ptsTool, "Its packets match %s (confidence %.2g): a scanner, not a misbehaving application.", r.tool.Name, r.tool.Confidence)
	}
	tr.priority = priorityOf(tr.score)
	tr.attack = an.attack(v, len(used) > 0 || r.bannerGrabs > 0)
	return tr
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// Attack is a MITRE ATT&CK technique or sub-technique
// (https://attack.mitre.org) with its tactic.
type Attack struct {
	ID, Name             string // T1046 Network Service Discovery; T1595.001 Scanning IP Blocks
	ParentID, ParentName string // a sub-technique's technique: T1595 Active Scanning
	TacticID, TacticName string
}

// The techniques scans show. A port scan discovers a host's services; a
// horizontal sweep scans an address block; a ping sweep finds which hosts
// are up; reading what the open ports say (banners, later connections)
// is vulnerability scanning's first step.
var (
	AttackServiceDiscovery      = Attack{ID: "T1046", Name: "Network Service Discovery", TacticID: "TA0007", TacticName: "Discovery"}
	AttackScanningIPBlocks      = Attack{ID: "T1595.001", Name: "Scanning IP Blocks", ParentID: "T1595", ParentName: "Active Scanning", TacticID: "TA0043", TacticName: "Reconnaissance"}
	AttackVulnerabilityScanning = Attack{ID: "T1595.002", Name: "Vulnerability Scanning", ParentID: "T1595", ParentName: "Active Scanning", TacticID: "TA0043", TacticName: "Reconnaissance"}
	AttackRemoteSystemDiscovery = Attack{ID: "T1018", Name: "Remote System Discovery", TacticID: "TA0007", TacticName: "Discovery"}
)

// URL is the technique's page: .../techniques/T1595/001/ for a
// sub-technique.
func (a Attack) URL() string {
	return "https://attack.mitre.org/techniques/" + strings.ReplaceAll(a.ID, ".", "/") + "/"
}

// TacticURL is the page of the technique's tactic.
func (a Attack) TacticURL() string {
	return "https://attack.mitre.org/tactics/" + a.TacticID + "/"
}

// AttackOf is the techniques a listing shows: by its kind (a port scan of
// one host, a sweep of many, a block scan both), a ping sweep when it
// pinged, and vulnerability scanning when it read what it found (banners
// or later connections). A kind this function does not know is judged by
// its shape.
func AttackOf(kind string, techniques []string, ports, hosts int, readServices bool) []Attack {
	var out []Attack
	if slices.ContainsFunc(techniques, func(t string) bool { return t != "ping_sweep" }) {
		switch kind {
		case "vertical", "distributed":
			out = append(out, AttackServiceDiscovery)
		case "horizontal":
			out = append(out, AttackScanningIPBlocks)
		case "block":
			out = append(out, AttackServiceDiscovery, AttackScanningIPBlocks)
		default:
			if ports > 1 {
				out = append(out, AttackServiceDiscovery)
			}
			if hosts > 1 {
				out = append(out, AttackScanningIPBlocks)
			}
		}
	}
	if readServices {
		out = append(out, AttackVulnerabilityScanning)
	}
	if slices.Contains(techniques, "ping_sweep") {
		out = append(out, AttackRemoteSystemDiscovery)
	}
	return out
}

// attack is the technique IDs of v.
func (an *Analysis) attack(v *verdict, readServices bool) []string {
	r := v.r
	as := AttackOf(v.kind, an.verdictTechniques(v), int(r.ports), int(r.hosts), readServices)
	ids := make([]string, 0, len(as))
	for _, a := range as {
		ids = append(ids, a.ID)
	}
	return ids
}

// Suppressed counts the listed sources one label suppressed.
type Suppressed struct {
	Label   string `json:"label"`
	Sources int    `json:"sources"`
	Probes  int    `json:"probes"` // their distinct probes, together
}

// TriagePage is a page of the suspects under a site context.
type TriagePage struct {
	Suspects []Suspect
	Total    int // sources listed in all, suppressed ones not counted
	// HomeNets are the home networks used; HomeDefault says they are
	// DefaultHome because none were given.
	HomeNets    []netip.Prefix
	HomeDefault bool
	Darknets    []netip.Prefix // the site's
	// Suppressed are the groups of suppressed sources by label, most
	// sources first (ties: label), at most MaxSuppressed;
	// SuppressedTotal counts the sources of all groups.
	Suppressed      []Suppressed
	SuppressedTotal int
	// RateFiltered counts the sources an explicit min_rate_pps dropped
	// (see TriagePage's doc on rates).
	RateFiltered int
	// BelowThreshold are the unlisted sources closest to a threshold
	// (nearMisses), at most MaxNearMisses; BelowThresholdTotal counts
	// every source at half a threshold or more.
	BelowThreshold      []NearMiss
	BelowThresholdTotal int
}

// TriagePageOf is the page [offset, offset+limit) of the sources th
// lists, with site's context: each suspect with its direction, priority
// and ATT&CK techniques; sources site knows, or ignores, suppressed and
// counted by label; ordered by sortBy (SortPriority, SortProbes or
// SortFirstSeen; ties: most probes, then the lower address).
//
// Rates: with th.MinRatePPS other than the default, every listed source
// whose qualifying episode ran slower is dropped (RateFiltered counts
// them), the sequential test's slow scanners (reason trw) included. At
// the default they stay: the sequential test is what finds slow scans.
// A source whose episode has one timestamp has no rate and stays.
func (an *Analysis) TriagePageOf(ctx context.Context, th Thresholds, site Site, sortBy string, offset, limit int) (*TriagePage, error) {
	vs, err := an.verdictsFor(ctx, th)
	if err != nil {
		return nil, err
	}
	home, def := site.home()
	pg := &TriagePage{HomeNets: home, HomeDefault: def, Darknets: site.Darknets}
	type row struct {
		v  *verdict
		tr triage
	}
	rows := make([]row, 0, len(vs.list))
	sup := suppression{}
	filterRate := th.MinRatePPS != DefaultThresholds().MinRatePPS
	p := newPoll(ctx)
	list := vs.list
	var dark map[int32]bool // sources listed by the darknet rule alone
	if len(site.Darknets) > 0 {
		// Sources the thresholds left out, listed by the darknet rule,
		// judged like the others from here on.
		list = slices.Clone(list)
		dark = map[int32]bool{}
		for si := range an.sources {
			r := &an.sources[si]
			if p.work(len(r.probes) + 1) {
				return nil, p.err
			}
			if vs.by[si] == nil {
				if v := an.darknetVerdict(r, site.Darknets); v != nil {
					list = append(list, v)
					dark[int32(si)] = true
				}
			}
		}
	}
	for _, v := range list {
		if p.work(len(v.r.probes) + 1) {
			return nil, p.err
		}
		if filterRate {
			if rate, ok := v.r.episodes[v.ep].rate(); ok && rate < th.MinRatePPS {
				pg.RateFiltered++
				continue
			}
		}
		if sup.add(site.suppressedBy(an.addrAt(v.self().ai)), v) {
			pg.SuppressedTotal++
			continue
		}
		x := row{v: v}
		if sortBy == SortPriority {
			x.tr = an.judgeTriage(v, home, site)
		}
		rows = append(rows, x)
	}
	pg.Suppressed = sup.list()
	if pg.BelowThreshold, pg.BelowThresholdTotal, err = an.nearMisses(vs, dark, th, site, p); err != nil {
		return nil, err
	}

	slices.SortStableFunc(rows, func(x, y row) int {
		c := 0
		switch sortBy {
		case SortPriority:
			c = cmp.Or(cmp.Compare(PriorityRank(x.tr.priority), PriorityRank(y.tr.priority)), cmp.Compare(y.tr.score, x.tr.score))
		case SortFirstSeen:
			c = cmp.Compare(x.v.firstSeen(), y.v.firstSeen())
		}
		return cmp.Or(c, cmp.Compare(len(y.v.r.probes), len(x.v.r.probes)), cmp.Compare(x.v.self().ai, y.v.self().ai))
	})
	pg.Total = len(rows)
	pg.Suspects = []Suspect{}
	if offset >= len(rows) || limit <= 0 {
		return pg, nil
	}
	for _, x := range rows[offset:min(len(rows), offset+limit)] {
		if sortBy != SortPriority {
			x.tr = an.judgeTriage(x.v, home, site)
		}
		s := an.suspect(x.v)
		s.Direction, s.Priority, s.PriorityScore, s.PriorityReasons, s.Attack = x.tr.direction, x.tr.priority, x.tr.score, x.tr.reasons, x.tr.attack
		pg.Suspects = append(pg.Suspects, s)
	}
	return pg, nil
}

// suppression counts suppressed sources by label.
type suppression map[string]*Suppressed

// add counts v under label l, and reports whether it is suppressed (l
// not empty).
func (sup suppression) add(l string, v *verdict) bool {
	if l == "" {
		return false
	}
	g := sup[l]
	if g == nil {
		g = &Suppressed{Label: l}
		sup[l] = g
	}
	g.Sources++
	g.Probes += len(v.r.probes)
	return true
}

// list is the groups, most sources first (ties: label), at most
// MaxSuppressed; never nil.
func (sup suppression) list() []Suppressed {
	out := make([]Suppressed, 0, len(sup))
	for _, g := range sup {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Suppressed) int {
		return cmp.Or(cmp.Compare(b.Sources, a.Sources), strings.Compare(a.Label, b.Label))
	})
	return out[:min(len(out), MaxSuppressed)]
}

// FirstEventSite is FirstEvent without the sources site suppresses (known
// scanners, ignore), with the suppression groups and their total, as
// TriagePageOf counts them. Darknets do not change it: it keeps to the
// sources th lists.
func (an *Analysis) FirstEventSite(ctx context.Context, th Thresholds, site Site) (*FirstEvent, []Suppressed, int, error) {
	vs, err := an.verdictsFor(ctx, th)
	if err != nil {
		return nil, nil, 0, err
	}
	sup, total := suppression{}, 0
	for _, v := range vs.list {
		if sup.add(site.suppressedBy(an.addrAt(v.self().ai)), v) {
			total++
		}
	}
	fe := an.firstEvent(vs, func(v *verdict) bool { return site.suppressedBy(an.addrAt(v.self().ai)) != "" })
	return fe, sup.list(), total, nil
}

// SourceTriage is one listed source's triage, as TriagePageOf gives its
// suspect; Suppressed is the label that suppresses it instead (then the
// rest is empty).
type SourceTriage struct {
	Direction     string
	Priority      string
	PriorityScore int
	Reasons       []Reason
	Attack        []string
	Suppressed    string
}

// TriageOf is the triage of the source at ip under th and site, for
// scanner_detail; ok is false when th does not list it (the darknet rule,
// which lists sources the thresholds leave out, is list_suspects' alone).
func (an *Analysis) TriageOf(ctx context.Context, th Thresholds, site Site, ip netip.Addr) (SourceTriage, bool, error) {
	vs, err := an.verdictsFor(ctx, th)
	if err != nil {
		return SourceTriage{}, false, err
	}
	r := an.source(ip.Unmap())
	if r == nil {
		return SourceTriage{}, false, nil
	}
	v := vs.by[an.srcOf[r.ai]]
	if v == nil || v.self() != r {
		return SourceTriage{}, false, nil
	}
	if l := site.suppressedBy(an.addrAt(r.ai)); l != "" {
		return SourceTriage{Suppressed: l}, true, nil
	}
	home, _ := site.home()
	tr := an.judgeTriage(v, home, site)
	return SourceTriage{Direction: tr.direction, Priority: tr.priority, PriorityScore: tr.score, Reasons: tr.reasons, Attack: tr.attack}, true, nil
}
