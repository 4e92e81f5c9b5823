package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"porthunter/capture"
	"porthunter/mcp"
	"porthunter/scan"
)

// report is what analyze prints: the answers of scan_overview,
// list_suspects and first_scan_event with detail full, and scanner_detail
// for the first suspects (terminal only). They are the tools' own typed
// answers, built by the same functions, so the terminal and the MCP
// answers cannot disagree.
type report struct {
	Overview   *mcp.Overview        `json:"overview"`
	Suspects   []mcp.Suspect        `json:"suspects"`
	FirstEvent *scan.FirstEvent     `json:"first_event"`
	Details    []*mcp.ScannerDetail `json:"-"`
}

// buildReport builds the report of res: every suspect and every timeline
// window (a terminal has no context window), topK rows per overview list,
// the details of the first topK suspects.
func buildReport(ctx context.Context, res *capture.Result, file string, window float64, topK int, th scan.Thresholds) (*report, error) {
	ov, _ := mcp.BuildOverview(res, file, mcp.OverviewArgs{TimeWindowS: window, TopK: topK, Detail: mcp.DetailFull,
		Limit: scan.MaxTimelineWindows}, 0, false)
	sus, _, err := res.Analysis.SuspectsPage(ctx, th, 0, math.MaxInt)
	if err != nil {
		return nil, err
	}
	r := &report{Overview: ov, Suspects: make([]mcp.Suspect, 0, len(sus)), FirstEvent: res.Analysis.FirstEvent(th)}
	for i, s := range sus {
		r.Suspects = append(r.Suspects, mcp.SuspectView(s, true))
		if i < topK {
			if d, ok := res.Analysis.Detail(s.IP); ok {
				v, _ := mcp.BuildDetail(d, true, 0, scan.MaxDetailEpisodes)
				r.Details = append(r.Details, v)
			}
		}
	}
	return r, nil
}

// maxDetailPorts is how many open ports (ranges) a detail block lists.
const maxDetailPorts = 20

// maxTableOpenPorts is how many open ports (ranges) a row of the suspects
// table lists: the column is as wide as its widest cell, so one scanner
// that found hundreds open would push every row off the screen. The
// detail block and scanner_detail give more.
const maxTableOpenPorts = 8

// renderReport prints the report as aligned tables. Every string that
// comes from the capture or the caller goes through esc.
func renderReport(w io.Writer, r *report, st style) {
	ov := r.Overview
	c := ov.Capture
	gz := ""
	if c.Compressed {
		gz = " (gzip)"
	}
	fmt.Fprintf(w, "capture   %s\n", esc(ov.File))
	fmt.Fprintf(w, "format    %s %s%s, %d packets over %s s\n", esc(c.Format), esc(c.Version), gz, ov.TotalPkts, numf(ov.IntervalS))
	if len(c.Files) > 0 {
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		for _, f := range c.Files {
			fmt.Fprintf(tw, "file\t%s\t%s\tfirst packet %s\tframes %d-%d\n", esc(f.Name), esc(f.Format), f.FirstTS,
				f.FirstFrame, f.FirstFrame+f.Frames-1)
		}
		tw.Flush()
	}
	if tr := c.Truncated; tr != nil {
		fmt.Fprintf(w, "TRUNCATED after frame %d: %s\n", tr.AfterFrame, esc(tr.Reason))
	}
	if c.Stats.NoReturnTraffic {
		fmt.Fprintln(w, "note      no return traffic in this capture: outcomes unknown, attempts counted")
	}
	fmt.Fprintf(w, "patterns  %s\n\n", joinOr(ov.SuspectedPatterns))

	fmt.Fprintln(w, st.heading(fmt.Sprintf("SUSPECTS (%d)", len(r.Suspects))))
	if len(r.Suspects) > 0 {
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  "+st.ipHeader()+"\tKIND\tPORTS\tHOSTS\tPROBES\tRATE/S\tFLAGS\tOPEN\tTOOL\tFIRST SEEN")
		for _, s := range r.Suspects {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", st.suspect(s.IP.String()), esc(s.Kind), s.DistinctPorts,
				s.DistinctHosts, s.Probes, nump(s.RatePPS), joinOr(s.FlagsSeen), shortPorts(s.OpenPorts, maxTableOpenPorts),
				toolText(s.Tool, false), s.FirstSeen)
		}
		tw.Flush()
	}
	for _, s := range r.Suspects {
		if s.Zombie != "" {
			fmt.Fprintf(w, "  idle scan: %s probed zombie %s and sent the SYNs that carry the zombie's address\n", s.IP, esc(s.Zombie))
		}
	}
	for _, g := range ov.Decoys {
		what := "likely real " + esc(g.LikelyReal)
		if g.LikelyReal == "" {
			what = "real scanner not told"
		}
		fmt.Fprintf(w, "  decoy group of %d sources, %s: %s\n", g.SourcesTotal, what, esc(strings.Join(g.Evidence, "; ")))
	}
	for _, d := range r.Details {
		renderDetail(w, d, st)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, st.heading("FIRST SCAN EVENT"))
	if fe := r.FirstEvent; fe != nil {
		flags := "-"
		if fe.Flags != nil {
			flags = esc(*fe.Flags)
		}
		fmt.Fprintf(w, "  %s  %s -> %s %s  %s %s  (frame %d, %s)\n", fe.TS, fe.Src, fe.Dst, portOrProto(fe.Port, fe.IPProto), fe.Proto, flags,
			fe.Frame, fe.Technique)
	} else {
		fmt.Fprintln(w, "  none")
	}
	if len(ov.Targets) > 0 {
		fmt.Fprintf(w, "\n%s\n", st.heading(fmt.Sprintf("TARGETS (%d)", len(ov.Targets))))
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  IP\tPACKETS\tPORTS HIT")
		for _, t := range ov.Targets {
			fmt.Fprintf(tw, "  %s\t%d\t%s\n", t.IP, t.Pkts, shortPorts(t.PortsHit, 12))
		}
		tw.Flush()
	}
}

// renderDetail prints one suspect's scanner_detail as a compact block of
// labelled lines.
func renderDetail(w io.Writer, d *mcp.ScannerDetail, st style) {
	fmt.Fprintf(w, "\n%s %s\n", st.heading("SCANNER"), st.suspect(d.IP.String()))
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	for _, e := range d.Episodes {
		fmt.Fprintf(tw, "  episode\t%s .. %s  %d probes  %s/s\n", e.Start, e.End, e.Probes, nump(e.RatePPS))
	}
	o := d.Outcomes
	fmt.Fprintf(tw, "  outcomes\topen %d  closed %d  filtered %d  unfiltered %d  unanswered %d\n", o.Open, o.Closed, o.Filtered,
		o.Unfiltered, o.Unanswered)
	fmt.Fprintf(tw, "  open ports\t%s\n", shortPorts(d.OpenPorts, maxDetailPorts))
	fmt.Fprintf(tw, "  first probe\t%s\n", event(d.FirstProbe))
	fmt.Fprintf(tw, "  first answer\t%s\n", event(d.FirstAnswer))
	fmt.Fprintf(tw, "  first open\t%s\n", event(d.FirstOpen))
	use := "no"
	if d.FollowedByUse {
		use = "yes, ports " + shortPorts(d.UsedPorts, 0)
	}
	fmt.Fprintf(tw, "  followed by use\t%s\n", use)
	fmt.Fprintf(tw, "  tool\t%s\n", toolText(d.Tool, true))
	if d.DistinctProtocols > 0 {
		fmt.Fprintf(tw, "  protocols\t%d swept; open %s; closed %s\n", d.DistinctProtocols, shortPorts(d.OpenProtocols, maxDetailPorts),
			shortPorts(d.ClosedProtocols, maxDetailPorts))
	}
	if is := d.IdleScan; is != nil {
		fmt.Fprintf(tw, "  idle scan\tprober of zombie %s port %d: %d IP ID probes (zombie IP IDs %d..%d), %d SYNs spoofed from the zombie\n",
			is.Zombie, is.ZombiePort, is.IPIDProbes, is.FirstIPID, is.LastIPID, is.SpoofedProbes)
	}
	if d.IdleScanBy != "" {
		fmt.Fprintf(tw, "  idle scan\tzombie: the SYNs from this address were sent by %s\n", esc(d.IdleScanBy))
	}
	if d.DecoyRole != "" || len(d.DecoyEvidence) > 0 {
		role := d.DecoyRole
		if role == "" {
			role = "undetermined"
		}
		fmt.Fprintf(tw, "  decoy group\t%s: %s\n", role, esc(strings.Join(d.DecoyEvidence, "; ")))
	}
	tw.Flush()
}

// portOrProto names a probe's port, or for a protocol probe (nmap -sO)
// its IP protocol.
func portOrProto(port uint16, proto *int) string {
	if proto != nil {
		return fmt.Sprintf("protocol %d", *proto)
	}
	return fmt.Sprintf("port %d", port)
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

// event is one probe event on one line, or "-".
func event(e *scan.ProbeEvent) string {
	if e == nil {
		return "-"
	}
	flags := ""
	if e.Flags != nil {
		flags = " " + esc(*e.Flags)
	}
	return fmt.Sprintf("%s  %s -> %s %s  %s%s  %s  (frame %d, %s)", e.TS, e.Src, e.Dst, portOrProto(e.Port, e.IPProto), e.Proto, flags,
		e.Outcome, e.Frame, e.Technique)
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

func joinOr(xs []string) string {
	if len(xs) == 0 {
		return "-"
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = termEscape(x, false)
	}
	return strings.Join(out, ",")
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
