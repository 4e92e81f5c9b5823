package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"porthunter/capture"
	"porthunter/mcp"
	"porthunter/scan"
)

// report is what analyze prints: the answers of scan_overview,
// list_suspects and first_scan_event with detail full, and scanner_detail
// for each suspect listed. They are the tools' own typed answers, built
// by the same functions, so the terminal and the MCP answers cannot
// disagree; --json prints this value, so it carries everything the
// tables show.
type report struct {
	Overview *mcp.Overview `json:"overview"`
	// Suspects are the --top sources of the highest priority (the order
	// list_suspects pages in by default), listed by priorityOrder.
	Suspects      []mcp.Suspect `json:"suspects"`
	SuspectsTotal int           `json:"suspects_total"`
	// Site is the home networks used and what the known scanners
	// suppressed.
	Site *mcp.SiteView `json:"site"`
	// BelowThreshold are the near misses (list_suspects' below_threshold).
	BelowThreshold      []scan.NearMiss `json:"below_threshold"`
	BelowThresholdTotal int             `json:"below_threshold_total"`
	// Details are scanner_detail's answers for Suspects, in their order.
	Details    []*mcp.ScannerDetail `json:"details"`
	FirstEvent *scan.FirstEvent     `json:"first_event"`
	Thresholds thresholdsView       `json:"thresholds"`
}

// thresholdsView is the listing rule the report was made with.
type thresholdsView struct {
	MinPorts   int     `json:"min_ports"`
	MinHosts   int     `json:"min_hosts"`
	MinRatePPS float64 `json:"min_rate_pps"`
}

// buildReport builds the report of res: every timeline window (a
// terminal has no context window), topK rows per overview list, and the
// topK sources of the highest priority under site (list_suspects'
// default order), each with its scanner_detail, then put in
// priorityOrder.
func buildReport(ctx context.Context, res *capture.Result, file string, window float64, topK int, th scan.Thresholds, site scan.Site) (*report, error) {
	ov, _ := mcp.BuildOverview(res, file, mcp.OverviewArgs{TimeWindowS: window, TopK: topK, Detail: mcp.DetailFull,
		Limit: scan.MaxTimelineWindows}, site, 0, false)
	pg, err := res.Analysis.TriagePageOf(ctx, th, site, scan.SortPriority, 0, topK)
	if err != nil {
		return nil, err
	}
	sus, total := pg.Suspects, pg.Total
	fe, _, _, err := res.Analysis.FirstEventSite(ctx, th, site)
	if err != nil {
		return nil, err
	}
	type row struct {
		s mcp.Suspect
		d *mcp.ScannerDetail
	}
	rows := make([]row, 0, len(sus))
	for _, s := range sus {
		r := row{s: mcp.SuspectView(s, true)}
		if d, ok := res.Analysis.Detail(s.IP); ok {
			r.d, _ = mcp.BuildDetail(d, true, 0, scan.MaxDetailEpisodes)
		}
		rows = append(rows, r)
	}
	slices.SortStableFunc(rows, func(a, b row) int { return priorityOrder(a.s, b.s) })
	rep := &report{Overview: ov, Suspects: make([]mcp.Suspect, 0, len(rows)), SuspectsTotal: total, Site: mcp.SiteOf(pg),
		BelowThreshold: nonNilMisses(pg.BelowThreshold), BelowThresholdTotal: pg.BelowThresholdTotal,
		Details: make([]*mcp.ScannerDetail, 0, len(rows)), FirstEvent: fe,
		Thresholds: thresholdsView{th.MinPorts, th.MinHosts, th.MinRatePPS}}
	for _, r := range rows {
		rep.Suspects = append(rep.Suspects, r.s)
		rep.Details = append(rep.Details, r.d)
	}
	return rep, nil
}

func nonNilMisses(m []scan.NearMiss) []scan.NearMiss {
	if m == nil {
		return []scan.NearMiss{}
	}
	return m
}

// suspectOrder is the order of the exports: by first seen, earliest
// first (ties: the lower address), the order an analyst reconstructs an
// incident in.
func suspectOrder(a, b mcp.Suspect) int {
	return cmp.Or(cmp.Compare(a.FirstSeen.NS, b.FirstSeen.NS), a.IP.Compare(b.IP))
}

// priorityOrder is the order of the suspects table and its detail
// blocks: the highest priority first, what to look at first, then
// suspectOrder within a priority.
func priorityOrder(a, b mcp.Suspect) int {
	return cmp.Or(cmp.Compare(scan.PriorityRank(a.Priority), scan.PriorityRank(b.Priority)), suspectOrder(a, b))
}

// view is how the report is laid out: its width, whether values are
// printed whole (--wide), the colours, and whether every time of the
// capture falls on one UTC day, which the header names once so that the
// rest of the report gives times of day.
type view struct {
	width  int
	wide   bool
	st     style
	oneDay bool
}

func newView(width int, wide bool, st style, ov *mcp.Overview) view {
	v := view{width: width, wide: wide, st: st}
	if s := ov.Capture.Stats; s.FirstTS != nil && s.LastTS != nil {
		v.oneDay = s.FirstTS.String()[:10] == s.LastTS.String()[:10]
	}
	return v
}

// clock is a time as the report prints it: the time of day with the
// capture's precision ("09:26:53.589793") when the capture lies within one
// UTC day and the report is not wide, else RFC 3339.
func (v view) clock(t scan.Time) string {
	s := t.String()
	if v.wide || !v.oneDay {
		return s
	}
	return strings.TrimSuffix(s[11:], "Z")
}

// clockShort is a time in a table cell: to the second, with the date
// only when the capture spans several days; whole when wide.
func (v view) clockShort(t scan.Time) string {
	s := t.String()
	switch {
	case v.wide:
		return s
	case v.oneDay:
		return s[11:19]
	}
	return s[:10] + " " + s[11:19]
}

// Caps of the report, so that one source's lists cannot fill the screen;
// --json has them whole.
const (
	maxDetailPorts    = 20 // open ports (ranges) a detail block lists
	maxDetailProbed   = 16 // probed ports (ranges) a detail block lists
	maxDetailTargets  = 8  // hosts a detail block names
	maxDetailEpisodes = 5  // episodes a detail block lists
	maxTableOpenPorts = 8  // open ports (ranges) in a suspects row, before the cell is cut to its width
	maxTargetPorts    = 12 // ports hit (ranges) in a targets row
)

// labelWidth is the label column of the report's label-value lines: the
// longest label ("follow-up use") and two spaces.
const labelWidth = 15

// renderReport prints the report as tables and label-value lines within
// v's width. Every string that comes from the capture or the caller goes
// through esc.
func renderReport(w io.Writer, r *report, v view) {
	ov := r.Overview
	c := ov.Capture
	head := fields{w: w, labelW: 10, width: v.width, wide: v.wide}
	head.line("capture", esc(ov.File), cutLeft)
	gz := ""
	if c.Compressed {
		gz = " (gzip)"
	}
	head.line("format", fmt.Sprintf("%s %s%s, %d packets over %s s", esc(c.Format), esc(c.Version), gz, ov.TotalPkts, numf(ov.IntervalS)), nil)
	if s := c.Stats; s.FirstTS != nil && s.LastTS != nil {
		span := s.FirstTS.String() + " to " + s.LastTS.String()
		if v.oneDay && !v.wide {
			span = s.FirstTS.String()[:10] + " " + v.clock(*s.FirstTS) + " to " + v.clock(*s.LastTS) + " UTC"
		}
		head.line("time", span, nil)
	}
	if len(c.Files) > 0 {
		t := &table{indent: "  ", cols: []column{{head: "FILE", shrink: 1, min: 12, cut: cutLeft}, {head: "FORMAT"},
			{head: "FIRST PACKET"}, {head: "FRAMES", right: true}}}
		for _, f := range c.Files {
			t.add(esc(f.Name), esc(f.Format), v.clock(f.FirstTS), fmt.Sprintf("%d-%d", f.FirstFrame, f.FirstFrame+f.Frames-1))
		}
		t.write(w, v.width, v.wide, v.st)
	}
	if win := c.Window; win != nil {
		head.line("window", fmt.Sprintf("%s; not analysed: %d records before, %d after (frame numbers are the whole file's)", esc(win.Bounds()),
			win.RecordsBefore, win.RecordsAfter), nil)
	}
	if tr := c.Truncated; tr != nil {
		head.line("TRUNCATED", fmt.Sprintf("after frame %d: %s", tr.AfterFrame, esc(tr.Reason)), nil)
	}
	if c.Stats.NoReturnTraffic {
		head.line("note", "no return traffic in this capture: outcomes unknown, attempts counted", nil)
	}
	head.line("patterns", joinList(ov.SuspectedPatterns, ", "), nil)
	if st := r.Site; st != nil {
		home := strings.Join(st.HomeNets, ", ")
		if st.HomeNetsDefault {
			home = "default (RFC 1918, ULA, link-local): give --home to change"
		}
		head.line("home", home, nil)
		if len(st.Darknets) > 0 {
			head.line("darknets", strings.Join(st.Darknets, ", "), nil)
		}
		for _, g := range st.Suppressed {
			head.line("known", fmt.Sprintf("%s: %s, %d probes, suppressed", esc(g.Label), plural(g.Sources, "source"), g.Probes), nil)
		}
		if st.RateFiltered > 0 {
			head.line("rate", fmt.Sprintf("%s slower than --min-rate not listed", plural(st.RateFiltered, "source")), nil)
		}
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, v.st.heading(suspectsHeading(r)))
	if len(r.Suspects) == 0 && r.Site != nil && r.Site.SuppressedTotal > 0 {
		fmt.Fprintf(w, "  none but the %s the known scanners suppressed\n", plural(r.Site.SuppressedTotal, "source"))
	} else if len(r.Suspects) == 0 {
		th := r.Thresholds
		fmt.Fprintf(w, "  none under the thresholds (--min-ports %d, --min-hosts %d, --min-rate %s)\n", th.MinPorts, th.MinHosts,
			numf(th.MinRatePPS))
	} else {
		suspectsTable(r, v).write(w, v.width, v.wide, v.st)
	}
	notes := fields{w: w, indent: "  ", width: v.width, wide: v.wide}
	for _, m := range r.BelowThreshold {
		notes.line("", fmt.Sprintf("below the thresholds: %s, %s %s of %s (%s)", m.IP, esc(m.Rule), numf(m.Value), numf(m.Threshold),
			plural(m.Probes, "probe")), nil)
	}
	if n := r.BelowThresholdTotal - len(r.BelowThreshold); n > 0 {
		notes.line("", fmt.Sprintf("below the thresholds: %d more at half a threshold or more (list_suspects' below_threshold)", n), nil)
	}
	for _, s := range r.Suspects {
		if s.Zombie != "" {
			notes.line("", fmt.Sprintf("idle scan: %s probed zombie %s and sent the SYNs that carry the zombie's address", s.IP, esc(s.Zombie)), nil)
		}
	}
	for _, g := range ov.Decoys {
		what := "likely real " + esc(g.LikelyReal)
		if g.LikelyReal == "" {
			what = "real scanner not told"
		}
		notes.line("", fmt.Sprintf("decoy group of %d sources, %s: %s", g.SourcesTotal, what, esc(strings.Join(g.Evidence, "; "))), nil)
	}
	for i, d := range r.Details {
		if d != nil {
			renderDetail(w, r.Suspects[i], d, v)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, v.st.heading("FIRST SCAN EVENT"))
	body := fields{w: w, indent: "  ", width: v.width, wide: v.wide}
	if fe := r.FirstEvent; fe != nil {
		body.line("", fmt.Sprintf("%s %s -> %s %s frame %d %s", v.clock(fe.TS), fe.Src, dstText(fe.Dst, fe.Port, fe.IPProto),
			protoFlags(fe.Proto, fe.Flags), fe.Frame, esc(fe.Technique)), nil)
	} else {
		body.line("", "none", nil)
	}
	if len(ov.Targets) > 0 {
		fmt.Fprintf(w, "\n%s\n", v.st.heading(fmt.Sprintf("TARGETS (%d)", len(ov.Targets))))
		t := &table{indent: "  ", cols: []column{{head: "IP", shrink: 1, min: 15, cut: cutMiddle}, {head: "PACKETS", right: true},
			{head: "SCANNERS", right: true}, {head: "PORTS HIT", shrink: 2, min: 9, cut: cutList}}}
		for _, tg := range ov.Targets {
			t.add(tg.IP.String(), strconv.FormatUint(tg.Pkts, 10), strconv.Itoa(tg.Scanners), shortPorts(tg.PortsHit, maxTargetPorts))
		}
		t.write(w, v.width, v.wide, v.st)
	}
}

// suspectsHeading says how many suspects the table lists, of how many,
// and in what order.
func suspectsHeading(r *report) string {
	n := len(r.Suspects)
	switch {
	case n == 0:
		return "SUSPECTS (0)"
	case n < r.SuspectsTotal:
		return fmt.Sprintf("SUSPECTS (%d of %d: the %d of the highest priority), by priority, then first seen", n, r.SuspectsTotal, n)
	}
	return fmt.Sprintf("SUSPECTS (%d), by priority, then first seen", n)
}

// suspectsTable is one row per suspect: when it started, who, what kind
// of scan, whom it targeted (the host when there is one), how many ports,
// what answered open, with which flags and tool. The columns that give
// up width first are the ones the detail blocks repeat.
func suspectsTable(r *report, v view) *table {
	t := &table{indent: "  ", cols: []column{
		{head: "PRIORITY", shrink: 1, min: 4}, // cut last, with the source
		{head: "FIRST"},
		{head: "SOURCE", shrink: 1, min: 15, cut: cutMiddle, paint: style.suspect},
		{head: "KIND", shrink: 2, min: 4},
		{head: "TARGETS", shrink: 3, min: 8, cut: cutMiddle},
		{head: "PORTS", right: true},
		{head: "OPEN", shrink: 4, min: 4, cut: cutList},
		{head: "FLAGS", shrink: 5, min: 5, cut: cutList},
		{head: "TOOL", shrink: 5, min: 4},
	}}
	for i, s := range r.Suspects {
		tool := "-"
		if s.Tool != nil {
			tool = esc(s.Tool.Name)
		}
		pri := "-"
		if s.Priority != "" {
			pri = esc(s.Priority)
		}
		t.add(pri, v.clockShort(s.FirstSeen), s.IP.String(), esc(s.Kind), targetsCell(s, r.Details[i]), strconv.Itoa(s.DistinctPorts),
			shortPorts(s.OpenPorts, maxTableOpenPorts), joinList(s.FlagsSeen, ","), tool)
	}
	return t
}

// targetsCell is whom a suspect targeted: the host when there is one,
// else how many.
func targetsCell(s mcp.Suspect, d *mcp.ScannerDetail) string {
	switch {
	case s.DistributedTarget != "":
		return esc(s.DistributedTarget)
	case s.DistinctHosts == 1 && d != nil && len(d.Targets) == 1:
		return d.Targets[0].IP.String()
	}
	return plural(s.DistinctHosts, "host")
}

// plural is "1 host", "60 hosts".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// renderDetail prints one suspect's scanner_detail as a block of
// label-value lines.
func renderDetail(w io.Writer, s mcp.Suspect, d *mcp.ScannerDetail, v view) {
	fmt.Fprintf(w, "\n%s %s\n", v.st.heading("SCANNER"), v.st.suspect(d.IP.String()))
	f := fields{w: w, indent: "  ", labelW: labelWidth, width: v.width, wide: v.wide}
	if s.Priority != "" && s.PriorityScore != nil {
		f.line("priority", fmt.Sprintf("%s (score %d), %s", esc(s.Priority), *s.PriorityScore, esc(s.Direction)), nil)
		for _, r := range s.PriorityReasons {
			f.line("reason", fmt.Sprintf("%+d %s: %s", r.Points, esc(r.Code), esc(r.Text)), nil)
		}
		f.line("att&ck", joinList(s.Attack, ", "), nil)
	}
	f.line("targets", detailTargets(d), nil)
	f.line("ports", fmt.Sprintf("%d: %s", d.PortsTotal, shortPorts(d.Ports, maxDetailProbed)), nil)
	f.line("techniques", joinList(d.Techniques, ", "), nil)
	for i, e := range d.Episodes {
		if i == maxDetailEpisodes && !v.wide {
			f.line("episodes", fmt.Sprintf("%d more (--json or scanner_detail lists them)", d.EpisodesTotal-i), nil)
			break
		}
		f.line("episode", fmt.Sprintf("%s to %s, %d probes, %s/s", v.clock(e.Start), v.clock(e.End), e.Probes, nump(e.RatePPS)), nil)
	}
	o := d.Outcomes
	f.line("outcomes", fmt.Sprintf("open %d  closed %d  filtered %d  unfiltered %d  unanswered %d", o.Open, o.Closed, o.Filtered,
		o.Unfiltered, o.Unanswered), nil)
	f.line("open ports", shortPorts(d.OpenPorts, maxDetailPorts), nil)
	f.line("first probe", v.event(d.FirstProbe), nil)
	f.line("first answer", v.event(d.FirstAnswer), nil)
	f.line("first open", v.event(d.FirstOpen), nil)
	use := "no"
	if d.FollowedByUse {
		use = "yes, ports " + shortPorts(d.UsedPorts, 0)
	}
	f.line("follow-up use", use, nil)
	f.line("tool", toolText(d.Tool, true), nil)
	if d.DistinctProtocols > 0 {
		f.line("protocols", fmt.Sprintf("%d swept; open %s; closed %s", d.DistinctProtocols, shortPorts(d.OpenProtocols, maxDetailPorts),
			shortPorts(d.ClosedProtocols, maxDetailPorts)), nil)
	}
	if is := d.IdleScan; is != nil {
		f.line("idle scan", fmt.Sprintf("prober of zombie %s port %d: %d IP ID probes (zombie IP IDs %d..%d), %d SYNs spoofed from the zombie",
			is.Zombie, is.ZombiePort, is.IPIDProbes, is.FirstIPID, is.LastIPID, is.SpoofedProbes), nil)
	}
	if d.IdleScanBy != "" {
		f.line("idle scan", "zombie: the SYNs from this address were sent by "+esc(d.IdleScanBy), nil)
	}
	if d.DecoyRole != "" || len(d.DecoyEvidence) > 0 {
		role := d.DecoyRole
		if role == "" {
			role = "undetermined"
		}
		f.line("decoy group", role+": "+esc(strings.Join(d.DecoyEvidence, "; ")), nil)
	}
	if d.FragmentedProbes > 0 {
		f.line("fragments", fmt.Sprintf("%d probes sent as IP fragments, %d of them overlapping or tiny (evasion)", d.FragmentedProbes,
			d.FragmentEvasion), nil)
	}
	if m := d.Monitoring; m != nil {
		f.line("monitoring", fmt.Sprintf("polls %d services on %d hosts every %s s (%d rounds): not counted as probes",
			m.Services, m.Hosts, numf(m.PeriodS), m.Rounds), nil)
	}
}

// detailTargets names the hosts a source probed, the first
// maxDetailTargets of them (in address order).
func detailTargets(d *mcp.ScannerDetail) string {
	if d.TargetsTotal == 1 && len(d.Targets) == 1 {
		return d.Targets[0].IP.String()
	}
	names := make([]string, 0, maxDetailTargets)
	for _, t := range d.Targets[:min(len(d.Targets), maxDetailTargets)] {
		names = append(names, t.IP.String())
	}
	s := fmt.Sprintf("%d hosts: %s", d.TargetsTotal, strings.Join(names, ", "))
	if more := d.TargetsTotal - len(names); more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// dstText is a probe's destination: address and port, or for a protocol
// probe (nmap -sO) the address and its IP protocol.
func dstText(dst netip.Addr, port uint16, proto *int) string {
	if proto != nil {
		return fmt.Sprintf("%s protocol %d", dst, *proto)
	}
	return netip.AddrPortFrom(dst, port).String()
}

// toolText is a fingerprint on one line: name (confidence), with its
// evidence when asked.
func toolText(t *mcp.Fingerprint, evidence bool) string {
	if t == nil {
		return "-"
	}
	s := fmt.Sprintf("%s (%s)", esc(t.Name), numf(t.Confidence))
	if evidence && len(t.Evidence) > 0 {
		ev := make([]string, len(t.Evidence))
		for i, e := range t.Evidence {
			ev[i] = esc(e)
		}
		s += ": " + strings.Join(ev, "; ")
	}
	return s
}

// event is one probe event on one line ("09:26:53.589793 frame 1 tcp F
// 10.0.0.9:23 closed fin_scan"), or "-".
func (v view) event(e *scan.ProbeEvent) string {
	if e == nil {
		return "-"
	}
	if e.Answer {
		// The answer as the answer: from the target's port to the scanner,
		// with the answer's own flags.
		what := protoFlags(e.Proto, e.Flags)
		if e.ICMPType != nil && e.ICMPCode != nil {
			what += fmt.Sprintf(" %d/%d", *e.ICMPType, *e.ICMPCode)
		}
		if e.Relayed {
			what += " (relayed)"
		}
		return fmt.Sprintf("%s frame %d %s -> %s %s %s %s", v.clock(e.TS), e.Frame, dstText(e.Src, e.Port, e.IPProto), e.Dst,
			what, esc(e.Outcome), esc(e.Technique))
	}
	return fmt.Sprintf("%s frame %d %s %s %s %s", v.clock(e.TS), e.Frame, protoFlags(e.Proto, e.Flags),
		dstText(e.Dst, e.Port, e.IPProto), esc(e.Outcome), esc(e.Technique))
}

// protoFlags is a probe's protocol and TCP flags as tcpdump letters
// ("tcp S"); a TCP probe without flags (a NULL scan) says "NULL".
func protoFlags(proto string, flags *string) string {
	switch {
	case flags == nil:
		return esc(proto)
	case *flags == "":
		return esc(proto) + " NULL"
	}
	return esc(proto) + " " + esc(*flags)
}

// shortPorts is a port list keeping its first max ranges (0: all), with
// the count of the rest; "-" when empty.
func shortPorts(p mcp.Ports, max int) string {
	if p == "" {
		return "-"
	}
	items := strings.Split(string(p), ",")
	if max > 0 && len(items) > max {
		return strings.Join(items[:max], ",") + fmt.Sprintf(",... (%d more)", len(items)-max)
	}
	return string(p)
}

// esc is a string of the report with terminal controls escaped.
func esc(s string) string {
	if s == "" {
		return `""`
	}
	return termEscape(s, false)
}

// joinList is xs escaped and joined by sep, or "-".
func joinList(xs []string, sep string) string {
	if len(xs) == 0 {
		return "-"
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = termEscape(x, false)
	}
	return strings.Join(out, sep)
}

// numf is a number as the report prints it: integers plain, others with
// two decimals.
func numf(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return strconv.FormatInt(int64(x), 10)
	}
	return fmt.Sprintf("%.2f", x)
}

func nump(x *float64) string {
	if x == nil {
		return "-"
	}
	return numf(*x)
}
