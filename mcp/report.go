package mcp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"porthunter/capture"
	"porthunter/scan"
)

// report: a Markdown incident summary of a capture, for the analyst's
// ticket. Every statement about an event cites the frames that show it
// (frame numbers as Wireshark gives them for the capture as read), so
// the ticket can be checked against the evidence; counts cite the frames
// they were counted over.

// Limits of a report.
const (
	// maxReportOthers bounds the one-line entries of the sources listed
	// but not described.
	maxReportOthers = 100
	// reportTargets and reportHosts bound the targets named per scanner
	// and the most probed hosts listed.
	reportTargets = 5
	reportHosts   = 10
	// reportFiles bounds the files of a set named one per line.
	reportFiles = 64
)

// ReportArgs are report's arguments.
type ReportArgs struct {
	Source
	Scanners int      `json:"scanners" default:"10" min:"1" max:"50" desc:"sources described in full, highest priority first; the other listed sources get one line each"`
	Ignore   []string `json:"ignore" max:"1024" desc:"CIDRs or addresses to leave out for this call, like the known scanners of PORT_HUNTER_KNOWN_SCANNERS: named as suppressed"`
}

// ReportAnswer is report's answer: the report, and the resource holding
// it whole.
type ReportAnswer struct {
	Envelope
	URI               string    `json:"uri" desc:"the whole report as a text/markdown resource; the result's resource_link points to it"`
	Name              string    `json:"name"`
	Markdown          string    `json:"markdown" desc:"the report; cut at a line when longer than the answer allows (markdown_truncated), the resource has it whole"`
	MarkdownChars     int       `json:"markdown_chars" desc:"characters of the whole report"`
	MarkdownTruncated bool      `json:"markdown_truncated,omitempty"`
	SHA256            string    `json:"sha256" desc:"of the whole report"`
	ScannersTotal     int       `json:"scanners_total" desc:"sources listed under the default thresholds"`
	ScannersDescribed int       `json:"scanners_described"`
	Read              *ReadView `json:"read,omitempty" desc:"what was read, when paths, glob, since or until was given"`

	ev *evidence
}

func (a *ReportAnswer) links() []any { return []any{a.ev.link()} }

// reportDoc is a report built.
type reportDoc struct {
	markdown         string
	total, described int
	res              *capture.Result
	req              capture.Request
}

func handleReport(ctx context.Context, s *server, c *call, a *ReportArgs) (*ReportAnswer, error) {
	doc, err := s.buildReport(ctx, c, a)
	if err != nil {
		return nil, err
	}
	text := s.red.str(doc.markdown) // it quotes file names and reasons, which may hold anything
	sum := sha256.Sum256([]byte(text))
	now := time.Now().UTC()
	e := &evidence{id: newEvidenceID(), mime: mimeMarkdown, data: []byte(text), sha256: hex.EncodeToString(sum[:]),
		created: now, name: "report-" + now.Format("20060102T150405Z") + ".md", title: "Incident report of " + a.name()}
	e.description = fmt.Sprintf("PortHunter incident report of %s: %d of %d scanning sources described, with the frames that support each statement", a.name(), doc.described, doc.total)
	s.store.put(e)
	base := ReportAnswer{URI: e.uri(), Name: e.name, MarkdownChars: len([]rune(text)), SHA256: e.sha256,
		ScannersTotal: doc.total, ScannersDescribed: doc.described, Read: readView(a.Source, doc.req, doc.res), ev: e}
	lines := strings.SplitAfter(text, "\n")
	ans, _ := fitPage(len(lines), func(n int) *ReportAnswer {
		v := base
		v.Markdown = strings.Join(lines[:n], "")
		v.MarkdownTruncated = n < len(lines)
		return &v
	})
	return ans, nil
}

// buildReport reads the capture of a and writes its report.
func (s *server) buildReport(ctx context.Context, c *call, a *ReportArgs) (*reportDoc, error) {
	res, req, err := s.openSource(ctx, c, a.Source)
	if err != nil {
		return nil, err
	}
	th := scan.DefaultThresholds()
	// The server's site context, as list_suspects applies it by default:
	// its home networks, known scanners (suppressed and said so) and
	// darknets, and its offline intel for the priority.
	site, err := SiteArgs{Ignore: a.Ignore}.site(s.home, s.known, s.dark)
	if err != nil {
		return nil, err
	}
	site.Reputation = Reputation(ctx, s.intelDB)
	pg, err := res.Analysis.TriagePageOf(ctx, th, site, scan.SortPriority, 0, a.Scanners+maxReportOthers)
	if err != nil {
		return nil, err
	}
	list, total := pg.Suspects, pg.Total
	doc := &reportDoc{res: res, req: req, total: total}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	r := res.Report

	w("# PortHunter incident report: %s\n\n", md(a.name()))
	w("Generated %s by PortHunter %s. Frame numbers are those Wireshark shows (frame.number) for the capture as read", now(), md(s.ver))
	if len(r.Files) > 1 {
		w("; across the files of the set they run on, as `mergecap -a` numbers the files joined in the order below")
	}
	w(". Times are UTC.\n\n")

	w("## What was read\n\n")
	s.reportRead(&b, a, req, res)

	w("\n## Summary\n\n")
	if total == 0 {
		w("- No source scanned under the default thresholds (%d distinct ports on a host, %d hosts on a port, or 25 targets, at %.0f probes/s or more), over frames 1–%d.\n",
			th.MinPorts, th.MinHosts, th.MinRatePPS, lastFrame(r))
	} else {
		hosts := res.Analysis.OverviewSite(th, site, scan.DefaultWindowS, reportHosts)
		w("- %d source%s scanned; %d host%s %s probed (frames 1–%d).\n", total, plural(total), hosts.TargetsTotal, plural(hosts.TargetsTotal),
			map[bool]string{true: "was", false: "were"}[hosts.TargetsTotal == 1], lastFrame(r))
		if fe, _, _, err := res.Analysis.FirstEventSite(ctx, th, site); err != nil {
			return nil, err
		} else if fe != nil {
			w("- The scanning started in frame %d at %s: %s → %s port %d/%s%s (%s); the first source crossed the threshold at %s, %.3f s later.\n",
				fe.Frame, fe.TS, fe.Src, fe.Dst, fe.Port, fe.Proto, flagsText(fe.Flags), fe.Technique, fe.DetectedAt, fe.LatencyS)
		}
		if len(hosts.SuspectedPatterns) > 0 {
			w("- Techniques and shapes seen: %s.\n", strings.Join(hosts.SuspectedPatterns, ", "))
		}
		byPriority := map[string]int{}
		for _, x := range list {
			byPriority[x.Priority]++
		}
		var pri []string
		for _, p := range []string{"critical", "high", "medium", "low"} {
			if byPriority[p] > 0 {
				pri = append(pri, fmt.Sprintf("%d %s", byPriority[p], p))
			}
		}
		if len(pri) > 0 {
			w("- Priority of the %d source%s described below: %s (the README's \"Triage\" section gives the scoring).\n", len(list), plural(len(list)), strings.Join(pri, ", "))
		}
	}
	for _, sup := range pg.Suppressed {
		w("- Suppressed as known scanners (%s): %d source%s, %d distinct probes; not counted above.\n", md(sup.Label), sup.Sources,
			plural(sup.Sources), sup.Probes)
	}
	if n := pg.SuppressedTotal - sumSources(pg.Suppressed); n > 0 {
		w("- … and %d more suppressed sources.\n", n)
	}

	if total > 0 {
		w("\n## Scanners\n")
		for i, sus := range list[:min(a.Scanners, len(list))] {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			s.reportScanner(ctx, &b, i+1, sus, res)
			doc.described++
		}
		if others := list[doc.described:]; len(others) > 0 {
			w("\n### Other scanning sources (%d)\n\n", total-doc.described)
			for _, o := range others {
				w("- %s: %s, %d distinct probes to %d host%s, first seen %s (scanner_detail describes it).\n",
					o.IP, o.Kind, o.Probes, o.DistinctHosts, plural(o.DistinctHosts), o.FirstSeen)
			}
			if total > doc.described+len(others) {
				w("- … and %d more (list_suspects pages through them).\n", total-doc.described-len(others))
			}
		}
		ov := res.Analysis.OverviewSite(th, site, scan.DefaultWindowS, reportHosts)
		if len(ov.Targets) > 0 {
			w("\n## Most probed hosts\n\n")
			for _, t := range ov.Targets {
				p, cut := portRanges(t.PortsHit, summaryPortItems)
				w("- %s: %d probe packets on %d port%s (%s%s) from %d scanner%s.\n", t.IP, t.Pkts, t.DistinctPorts, plural(t.DistinctPorts),
					p, map[bool]string{true: ", …", false: ""}[cut || t.PortsHitTruncated], t.Scanners, plural(t.Scanners))
			}
			if ov.TargetsTotal > len(ov.Targets) {
				w("- … and %d more hosts.\n", ov.TargetsTotal-len(ov.Targets))
			}
		}
	}

	w("\n## Follow-up\n\n")
	if total > 0 {
		ip := list[0].IP
		w("- Evidence: `carve` with ip %s (and the same %s) gives its packets as a pcapng to attach to the ticket.\n", ip, sourceArgs(a.Source))
		w("- In Wireshark: `ip.addr == %s` shows them; the frames above locate each event.\n", ip)
	}
	w("- Check what answered open on the targets, and whether the follow-up connections above were expected.\n")
	doc.markdown = b.String()
	return doc, nil
}

// reportRead writes the "What was read" section.
func (s *server) reportRead(b *strings.Builder, a *ReportArgs, req capture.Request, res *capture.Result) {
	r := res.Report
	st := r.Stats
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	if len(r.Files) == 0 {
		w("- %s: %s %s, %d bytes, SHA-256 `%s`; frames 1–%d.\n", md(req.Paths[0]), r.Format, r.Version, r.SizeBytes, r.SHA256, lastFrame(r))
	} else {
		w("- %d files read as one capture, in the order of their first packets:\n", len(r.Files))
		for _, f := range r.Files[:min(len(r.Files), reportFiles)] {
			sha := "not hashed: read only in part"
			if f.SHA256 != "" {
				sha = "SHA-256 `" + f.SHA256 + "`"
			}
			w("  - %s: %s, %d bytes, %s; frames %d–%d, first packet %s.\n", md(f.Name), f.Format, f.SizeBytes, sha, f.FirstFrame,
				f.FirstFrame+f.Frames-1, f.FirstTS)
		}
		if len(r.Files) > reportFiles {
			w("  - … and %d more files.\n", len(r.Files)-reportFiles)
		}
	}
	for _, d := range r.Duplicates {
		what := "the same file"
		if d.Reason == "same_content" {
			what = "the same content (SHA-256 `" + d.SHA256 + "`)"
		}
		w("- %s is %s as %s: read once, not counted twice.\n", md(d.Name), what, md(d.SameAs))
	}
	if win := r.Window; win != nil {
		w("- Time window: %s; %d records before it and %d after it were not analysed (their frames keep their numbers).\n",
			win.Bounds(), win.RecordsBefore, win.RecordsAfter)
	}
	if st.FirstTS != nil {
		w("- %d packets analysed, from %s to %s (%.3f s): %d IPv4, %d IPv6, %d TCP, %d UDP, %d ICMP, %d not decodable.\n",
			st.TotalPackets, st.FirstTS, st.LastTS, st.DurationS, st.IPv4, st.IPv6, st.TCP, st.UDP, st.ICMP, st.Undecodable)
	} else {
		w("- No packet analysed.\n")
	}
	if t := r.Truncated; t != nil {
		w("- The capture breaks after frame %d (byte %d): %s. Everything before it was analysed; nothing after it.\n", t.AfterFrame, t.Offset, md(t.Reason))
	}
	if st.NoReturnTraffic {
		w("- One direction only: no packet came back from a probed host, so what was open is unknown; attempts are counted instead.\n")
	}
	if st.LimitHit {
		w("- The memory budget was reached: %d senders were not tracked (estimated)%s.\n", st.DroppedSources,
			map[bool]string{true: "; the capture was read a second time tracking the heaviest senders from their first packet", false: ""}[st.HeaviestSources])
	}
}

// reportScanner writes the section of one scanner.
func (s *server) reportScanner(ctx context.Context, b *strings.Builder, n int, sus scan.Suspect, res *capture.Result) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	title := sus.Kind
	if len(sus.Techniques) > 0 {
		title += " " + strings.Join(sus.Techniques, ", ")
	}
	if sus.Tool != nil {
		title += fmt.Sprintf(", %s (%.2f)", sus.Tool.Name, sus.Tool.Confidence)
	}
	w("\n### %d. %s: %s\n\n", n, sus.IP, title)
	if sus.Priority != "" {
		var why []string
		for _, r := range sus.PriorityReasons {
			why = append(why, r.Text)
		}
		w("- Priority %s (score %d), %s. %s\n", sus.Priority, sus.PriorityScore, sus.Direction, strings.Join(why, " "))
	}
	if len(sus.Attack) > 0 {
		w("- ATT&CK: %s.\n", strings.Join(sus.Attack, ", "))
	}
	d, ok := res.Analysis.Detail(sus.IP)
	if !ok {
		w("- Listed, but its detail is not available.\n")
		return
	}
	rate := ""
	if sus.RatePPS != nil {
		rate = fmt.Sprintf(", %.2f probes/s in its first scan episode", *sus.RatePPS)
	}
	w("- Activity: %d distinct probes (%d packets) to %d host%s on %d port%s, from %s to %s, in %d episode%s%s; listed for %s, threshold crossed at %s.\n",
		d.Probes, d.ProbePkts, d.DistinctHosts, plural(d.DistinctHosts), d.DistinctPorts, plural(d.DistinctPorts), d.FirstSeen, d.LastSeen,
		d.EpisodesTotal, plural(d.EpisodesTotal), rate, strings.Join(sus.Reasons, ", "), sus.DetectedAt)
	if e := d.FirstProbe; e != nil {
		w("- First probe: frame %d at %s, to %s port %d/%s%s (%s).\n", e.Frame, e.TS, e.Dst, e.Port, e.Proto, flagsText(e.Flags), e.Technique)
	}
	if e := d.FirstAnswer; e != nil {
		w("- First answer: frame %d at %s, from %s port %d: %s (%s).\n", e.Frame, e.TS, e.Src, e.Port, answerText(e), e.Outcome)
	}
	o := d.Outcomes
	counts := fmt.Sprintf("%d open, %d closed, %d filtered, %d unfiltered, %d unanswered", o.Open, o.Closed, o.Filtered, o.Unfiltered, o.Unanswered)
	if o.Open > 0 {
		p, cut := portRanges(d.OpenPorts, summaryPortItems)
		more := ""
		if cut || d.OpenPortsTruncated {
			more = ", …"
		}
		w("- Found open: ports %s%s (%s).", p, more, counts)
		if e := d.FirstOpen; e != nil {
			w(" The first open port answered in frame %d at %s: %s port %d, %s.", e.Frame, e.TS, e.Src, e.Port, answerText(e))
		}
		w("\n")
	} else if d.NoReturnTraffic {
		w("- Found open: unknown, none of its probes drew an answer (%s).\n", counts)
	} else {
		w("- Found open: nothing (%s).\n", counts)
	}
	if d.FollowedByUse {
		p, _ := portRanges(d.UsedPorts, summaryPortItems)
		after := ""
		if e := d.FirstOpen; e != nil {
			after = fmt.Sprintf(" after frame %d", e.Frame)
		}
		w("- Follow-up use: it later exchanged data with port%s %s it had found open (%d connection%s with data). The engine keeps no frame for them: `ip.addr == %s` in Wireshark%s finds them.\n",
			plural(len(d.UsedPorts)), p, d.SuccessfulConnections, plural(d.SuccessfulConnections), sus.IP, after)
	} else {
		w("- Follow-up use: none seen (no data exchanged with a port it found open).\n")
	}
	if t := d.Tool; t != nil {
		ev := ""
		if len(t.Evidence) > 0 {
			ev = ": " + strings.Join(t.Evidence[:min(3, len(t.Evidence))], "; ")
		}
		w("- Tool: %s (confidence %.2f)%s.\n", t.Name, t.Confidence, ev)
	}
	var tg []string
	for _, t := range d.Targets[:min(reportTargets, len(d.Targets))] {
		p, cut := portRanges(t.Ports, 4)
		if cut || t.PortsTruncated {
			p += ",…"
		}
		tg = append(tg, fmt.Sprintf("%s (%s)", t.IP, p))
	}
	if len(tg) > 0 {
		more := ""
		if d.TargetsTotal > len(tg) {
			more = fmt.Sprintf(" and %d more", d.TargetsTotal-len(tg))
		}
		w("- Targets: %s%s.\n", strings.Join(tg, ", "), more)
	}
	w("- Intel: %s\n", s.intelLine(ctx, sus.IP))
}

// intelLine says who an address is, from the configured intel.
func (s *server) intelLine(ctx context.Context, ip netip.Addr) string {
	e, err := s.intelDB.Enrich(ctx, ip)
	if err != nil {
		return "not available (" + md(errorDetail(err)) + ")"
	}
	if k := e.Skip; k != nil {
		return fmt.Sprintf("a %s address, not enriched (never sent to an online provider).", k.Category)
	}
	v := EnrichmentView(&e, false, true)
	var parts []string
	if v.ASN != nil {
		org := ""
		if v.Org != nil {
			org = " " + *v.Org
		}
		parts = append(parts, md(*v.ASN+org))
	}
	if v.Geo.Country != nil {
		parts = append(parts, "country "+md(*v.Geo.Country))
	}
	if len(v.Threat.Blocklists) > 0 {
		parts = append(parts, "listed on "+md(strings.Join(v.Threat.Blocklists, ", ")))
	}
	if g := v.Threat.GreyNoise; g != nil && g.Classification != nil {
		parts = append(parts, "GreyNoise: "+md(*g.Classification))
	}
	if o := v.Threat.OTX; o != nil && o.PulseCount != nil {
		parts = append(parts, fmt.Sprintf("OTX: %d pulse%s", *o.PulseCount, plural(*o.PulseCount)))
	}
	if len(parts) == 0 {
		if v.Consulted == "none" {
			return "no intel is configured (PORT_HUNTER_INTEL_DIR)."
		}
		return "nothing known to " + md(v.Consulted) + "."
	}
	return strings.Join(parts, "; ") + " (" + md(v.Consulted) + ")."
}

// lastFrame is the last frame number of the capture as read.
func lastFrame(r *capture.Report) uint64 {
	n := r.Stats.TotalPackets
	if w := r.Window; w != nil {
		n += w.RecordsBefore + w.RecordsAfter
	}
	return n
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func flagsText(f *string) string {
	switch {
	case f == nil:
		return ""
	case *f == "":
		return " NULL"
	}
	return " " + *f
}

// sourceArgs is the source arguments of a, as a reader of the report
// passes them again.
func sourceArgs(src Source) string {
	switch {
	case src.Glob != "":
		return "glob " + md(src.Glob)
	case len(src.Paths) > 0:
		return "paths"
	}
	return "path " + md(src.Path)
}

// md is an untrusted string (a file name, a reason) as the report writes
// it: in a code span, with backticks, control characters and the
// Unicode bidirectional controls replaced, so that a hostile file name
// can neither break the Markdown nor reorder what the reader sees.
func md(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '`', r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
			return '?'
		}
		return r
	}, s)
	return "`" + s + "`"
}

// answerText is an answer's protocol and flags: "tcp SA", "udp",
// "icmp type 3 code 3", with "relayed by the path" for an ICMP error a
// router sent.
func answerText(e *scan.ProbeEvent) string {
	s := e.Proto
	switch {
	case e.Flags != nil:
		s += " " + *e.Flags
	case e.ICMPType != nil && e.ICMPCode != nil:
		s += fmt.Sprintf(" type %d code %d", *e.ICMPType, *e.ICMPCode)
	}
	if e.Relayed {
		s += ", relayed by the path"
	}
	return s
}

// sumSources counts the sources of the suppressed groups listed.
func sumSources(xs []scan.Suppressed) int {
	n := 0
	for _, x := range xs {
		n += x.Sources
	}
	return n
}
