package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"porthunter/capture"
	"porthunter/policy"
	"porthunter/scan"
)

// cliMaxBytes is the file limit of the terminal commands: the analyst
// names the file on the command line, so no configured limit applies; the
// sandbox still checks it is a regular file and a capture by its magic.
const cliMaxBytes = math.MaxInt64 - 1

// openCLI analyzes a file named on the command line.
func openCLI(ctx context.Context, cfg policy.Config, file string, stderr io.Writer) (*capture.Result, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	sb, err := policy.NewSandbox(filepath.Dir(abs), cliMaxBytes)
	if err != nil {
		return nil, err
	}
	defer sb.Close()
	z := capture.NewAnalyzer(cfg, sb)
	var progress func(done, total int64)
	if isTerminal(stderr) {
		progress = func(done, total int64) {
			if total > 0 {
				fmt.Fprintf(stderr, "\rreading %s: %3d%%", termEscape(filepath.Base(file), false), done*100/total)
			}
		}
		defer fmt.Fprint(stderr, "\r\033[K")
	}
	return z.Analyze(ctx, filepath.Base(abs), progress)
}

// openCLIFiles analyzes the files of a rotated capture set as one
// capture: ordered by their first packet, read one after the other into
// one analysis, frames numbered on across files (capture.ReadFiles). Each
// file is opened through a sandbox rooted at its own directory
// (openCLIFile), so the checks of openCLI apply to every file.
func openCLIFiles(ctx context.Context, cfg policy.Config, names []string, stderr io.Writer) (*capture.Result, error) {
	var progress func(done, total int64)
	if isTerminal(stderr) {
		progress = func(done, total int64) {
			if total > 0 {
				fmt.Fprintf(stderr, "\rreading %d files: %3d%%", len(names), done*100/total)
			}
		}
		defer fmt.Fprint(stderr, "\r\033[K")
	}
	return capture.ReadFiles(ctx, cfg, names, openCLIFile, progress)
}

// openCLIFile opens one file of a set named on the command line
// (openCaptureCLI); its sandbox is closed at once, the open file stays
// readable.
func openCLIFile(name string) (*policy.File, error) {
	f, sb, err := openCaptureCLI(name)
	if err != nil {
		return nil, err
	}
	sb.Close()
	return f, nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// cmdAnalyze is `porthunter analyze FILE... [--json] [flags]`. Several
// files are one rotated capture set, analysed as one capture (openCLIFiles).
func cmdAnalyze(ctx context.Context, cfg policy.Config, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fl := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fl.SetOutput(termWriter{stderr}) // the flag package prints an unknown flag's name as given
	asJSON := fl.Bool("json", false, "print the tools' JSON answers instead of tables")
	window := fl.Float64("window", 60, "timeline window in seconds (time_window_s)")
	topK := fl.Int("top", 20, "rows per table (top_k)")
	th := scan.DefaultThresholds()
	fl.IntVar(&th.MinPorts, "min-ports", th.MinPorts, "distinct ports on one host that make a scan")
	fl.IntVar(&th.MinHosts, "min-hosts", th.MinHosts, "distinct hosts on one port that make a scan")
	fl.Float64Var(&th.MinRatePPS, "min-rate", th.MinRatePPS, "minimum probes per second of a scan episode")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: porthunter analyze FILE... [--json] [--window S] [--top K] [--min-ports N] [--min-hosts N] [--min-rate R]")
		fl.PrintDefaults()
	}
	files, err := parseInterleaved(fl, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fl.Usage()
		return usageErrorf("analyze takes at least one FILE")
	}
	if *window <= 0 || *topK < 1 || th.MinPorts < 1 || th.MinHosts < 1 || th.MinRatePPS < 0 {
		return usageErrorf("analyze: --window, --top, --min-ports and --min-hosts must be positive, --min-rate not negative")
	}
	var res *capture.Result
	if len(files) == 1 {
		res, err = openCLI(ctx, cfg, files[0], stderr)
	} else {
		res, err = openCLIFiles(ctx, cfg, files, stderr)
	}
	if err != nil {
		return err
	}
	answer := map[string]any{
		"overview":    overviewView(res, strings.Join(files, ","), *window, *topK),
		"suspects":    suspectsView(res, th),
		"first_event": res.Analysis.FirstEvent(th),
	}
	if *asJSON {
		enc := json.NewEncoder(termWriter{stdout})
		enc.SetIndent("", "  ")
		return enc.Encode(answer)
	}
	// The terminal report adds each listed suspect's scanner_detail
	// answer (at most --top of them); --json keeps the three answers.
	answer["details"] = suspectDetails(res, answer["suspects"].([]scan.Suspect), *topK)
	var generic map[string]any
	b, err := json.Marshal(answer)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &generic); err != nil {
		return err
	}
	renderReport(stdout, generic, newStyle(stdout, getenv))
	return nil
}

// style colours the terminal report: bold headings and suspect addresses
// in red, only when stdout is a terminal and NO_COLOR is unset or empty
// (https://no-color.org), so files, pipes and tests get plain text.
type style struct{ on bool }

// ANSI SGR sequences of the report.
const (
	sgrBold  = "\033[1m"
	sgrRed   = "\033[31m"
	sgrPlain = "\033[39m" // default colour: as long as sgrRed, see suspectsHeader
	sgrReset = "\033[0m"
)

func newStyle(w io.Writer, getenv func(string) string) style {
	return style{on: isTerminal(w) && (getenv == nil || getenv("NO_COLOR") == "")}
}

func (s style) wrap(sgr, text string) string {
	if !s.on {
		return text
	}
	return sgr + text + sgrReset
}

func (s style) heading(text string) string { return s.wrap(sgrBold, text) }
func (s style) suspect(text string) string { return s.wrap(sgrRed, text) }

// ipHeader is the IP column's heading. tabwriter counts escape sequences
// as width, so when addresses are red the heading carries an invisible
// sequence of the same length, and the columns stay aligned.
func (s style) ipHeader() string { return s.wrap(sgrPlain, "IP") }

// renderReport prints the answers as aligned tables. It reads the same
// JSON the tools return (by contract key), so the terminal report and the
// MCP answers cannot disagree.
func renderReport(w io.Writer, a map[string]any, st style) {
	ov, _ := a["overview"].(map[string]any)
	cap, _ := ov["capture"].(map[string]any)
	fmt.Fprintf(w, "capture   %s\n", str(ov["file"]))
	fmt.Fprintf(w, "format    %s %s%s, %s packets over %s s\n", str(cap["format"]), str(cap["version"]),
		map[bool]string{true: " (gzip)", false: ""}[cap["compressed"] == true], num(ov["total_pkts"]), num(ov["interval_s"]))
	if fs, ok := cap["files"].([]any); ok {
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		for _, f := range fs {
			m, _ := f.(map[string]any)
			first, _ := m["first_frame"].(float64)
			n, _ := m["frames"].(float64)
			fmt.Fprintf(tw, "file\t%s\t%s\tfirst packet %s\tframes %s-%s\n", str(m["name"]), str(m["format"]), str(m["first_ts"]),
				num(first), num(first+n-1))
		}
		tw.Flush()
	}
	if tr, ok := cap["truncated"].(map[string]any); ok {
		fmt.Fprintf(w, "TRUNCATED after frame %s: %s\n", num(tr["after_frame"]), str(tr["reason"]))
	}
	if st, ok := cap["stats"].(map[string]any); ok && st["no_return_traffic"] == true {
		fmt.Fprintln(w, "note      no return traffic in this capture: outcomes unknown, attempts counted")
	}
	fmt.Fprintf(w, "patterns  %s\n\n", list(ov["suspected_patterns"]))

	sus, _ := a["suspects"].([]any)
	fmt.Fprintln(w, st.heading(fmt.Sprintf("SUSPECTS (%d)", len(sus))))
	if len(sus) > 0 {
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  "+st.ipHeader()+"\tKIND\tPORTS\tHOSTS\tPROBES\tRATE/S\tFLAGS\tOPEN\tTOOL\tFIRST SEEN")
		for _, s := range sus {
			m, _ := s.(map[string]any)
			tool := "-"
			if t, ok := m["tool"].(map[string]any); ok {
				tool = fmt.Sprintf("%s (%s)", str(t["name"]), num(t["confidence"]))
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st.suspect(str(m["ip"])), str(m["kind"]), num(m["distinct_ports"]),
				num(m["distinct_hosts"]), num(m["probes"]), num(m["rate_pps"]), list(m["flags_seen"]), shortList(m["open_ports"], maxTableOpenPorts), tool, str(m["first_seen"]))
		}
		tw.Flush()
	}
	for _, d := range listOf(a["details"]) {
		renderDetail(w, d, st)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, st.heading("FIRST SCAN EVENT"))
	if fe, ok := a["first_event"].(map[string]any); ok {
		fmt.Fprintf(w, "  %s  %s -> %s port %s  %s %s  (frame %s, %s)\n", str(fe["ts"]), str(fe["src"]), str(fe["dst"]), num(fe["port"]),
			str(fe["proto"]), str(fe["flags"]), num(fe["frame"]), str(fe["technique"]))
	} else {
		fmt.Fprintln(w, "  none")
	}
	if tl, ok := ov["targets"].([]any); ok && len(tl) > 0 {
		fmt.Fprintf(w, "\n%s\n", st.heading(fmt.Sprintf("TARGETS (%d)", len(tl))))
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  IP\tPACKETS\tPORTS HIT")
		for _, t := range tl {
			m, _ := t.(map[string]any)
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", str(m["ip"]), num(m["pkts"]), shortList(m["ports_hit"], 12))
		}
		tw.Flush()
	}
}

// maxDetailPorts is how many open ports a detail block lists.
const maxDetailPorts = 20

// maxTableOpenPorts is how many open ports a row of the suspects table
// lists: the column is as wide as its widest cell, so one scanner that
// found hundreds open would push every row off the screen. The detail
// block and scanner_detail give more.
const maxTableOpenPorts = 8

// suspectDetails is scanner_detail's answer for the first topK suspects.
func suspectDetails(res *capture.Result, sus []scan.Suspect, topK int) []*scan.Detail {
	var ds []*scan.Detail
	for i, s := range sus {
		if i == topK {
			break
		}
		if d, ok := res.Analysis.Detail(s.IP); ok {
			ds = append(ds, d)
		}
	}
	return ds
}

// renderDetail prints one suspect's scanner_detail answer as a compact
// block of labelled lines.
func renderDetail(w io.Writer, v any, st style) {
	d, _ := v.(map[string]any)
	fmt.Fprintf(w, "\n%s %s\n", st.heading("SCANNER"), st.suspect(str(d["ip"])))
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	for _, e := range listOf(d["episodes"]) {
		m, _ := e.(map[string]any)
		fmt.Fprintf(tw, "  episode\t%s .. %s  %s probes  %s/s\n", str(m["start"]), str(m["end"]), num(m["probes"]), num(m["rate_pps"]))
	}
	o, _ := d["outcomes"].(map[string]any)
	fmt.Fprintf(tw, "  outcomes\topen %s  closed %s  filtered %s  unfiltered %s  unanswered %s\n", num(o["open"]), num(o["closed"]),
		num(o["filtered"]), num(o["unfiltered"]), num(o["unanswered"]))
	fmt.Fprintf(tw, "  open ports\t%s\n", shortList(d["open_ports"], maxDetailPorts))
	fmt.Fprintf(tw, "  first probe\t%s\n", event(d["first_probe"]))
	fmt.Fprintf(tw, "  first answer\t%s\n", event(d["first_answer"]))
	fmt.Fprintf(tw, "  first open\t%s\n", event(d["first_open"]))
	use := "no"
	if d["followed_by_use"] == true {
		use = "yes, ports " + list(d["used_ports"])
	}
	fmt.Fprintf(tw, "  followed by use\t%s\n", use)
	tool := "-"
	if t, ok := d["tool"].(map[string]any); ok {
		tool = fmt.Sprintf("%s (%s)", str(t["name"]), num(t["confidence"]))
		var ev []string
		for _, e := range listOf(t["evidence"]) {
			ev = append(ev, str(e))
		}
		if len(ev) > 0 {
			tool += ": " + strings.Join(ev, "; ")
		}
	}
	fmt.Fprintf(tw, "  tool\t%s\n", tool)
	tw.Flush()
}

// event is one probe event on one line, or "-".
func event(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return "-"
	}
	flags := ""
	if f, ok := m["flags"].(string); ok {
		flags = " " + f
	}
	return fmt.Sprintf("%s  %s -> %s port %s  %s%s  %s  (frame %s, %s)", str(m["ts"]), str(m["src"]), str(m["dst"]), num(m["port"]),
		str(m["proto"]), flags, str(m["outcome"]), num(m["frame"]), str(m["technique"]))
}

func listOf(v any) []any {
	xs, _ := v.([]any)
	return xs
}

// str is a JSON value as report text, terminal controls escaped: every
// string of the report comes through str or num.
func str(v any) string {
	if v == nil {
		return "-"
	}
	if s, ok := v.(string); ok {
		if s == "" {
			return `""`
		}
		return termEscape(s, false)
	}
	return termEscape(fmt.Sprint(v), false)
}

func num(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return fmt.Sprintf("%d", int64(x))
		}
		return fmt.Sprintf("%.2f", x)
	}
	return termEscape(fmt.Sprint(v), false)
}

func list(v any) string { return shortList(v, 0) }

// shortList joins a JSON array, keeping the first max items (0: all).
func shortList(v any, max int) string {
	xs, _ := v.([]any)
	if len(xs) == 0 {
		return "-"
	}
	var parts []string
	for i, x := range xs {
		if max > 0 && i == max {
			parts = append(parts, fmt.Sprintf("... (%d)", len(xs)))
			break
		}
		parts = append(parts, num(x))
	}
	return strings.Join(parts, ",")
}

// cmdBench is `porthunter bench FILE`: the analysis scan_overview and
// list_suspects need, timed, with the figures on stdout.
func cmdBench(ctx context.Context, cfg policy.Config, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: porthunter bench FILE")
		return usageErrorf("bench takes exactly one FILE")
	}
	start := time.Now()
	res, err := openCLI(ctx, cfg, args[0], io.Discard)
	if err != nil {
		return err
	}
	th := scan.DefaultThresholds()
	ov := overviewView(res, args[0], 60, 20)
	_, nsus, _ := res.Analysis.SuspectsTop(ctx, th, defSuspectLimit) // list_suspects' default answer
	el := time.Since(start)
	st := res.Analysis.Capture()
	pkts := st.TotalPackets
	secs := el.Seconds()
	fmt.Fprintf(stdout, "file       %s\n", termEscape(args[0], false))
	fmt.Fprintf(stdout, "size       %d bytes\n", res.Report.SizeBytes)
	fmt.Fprintf(stdout, "packets    %d\n", pkts)
	fmt.Fprintf(stdout, "suspects   %d (scanners in overview: %d)\n", nsus, len(ov.Scanners))
	fmt.Fprintf(stdout, "duration   %.3f s\n", secs)
	if secs > 0 {
		fmt.Fprintf(stdout, "rate       %.0f packets/s, %.1f MB/s\n", float64(pkts)/secs, float64(res.Report.SizeBytes)/1e6/secs)
	}
	fmt.Fprintf(stdout, "peak_rss   %.1f MiB\n", float64(peakRSSBytes())/(1<<20))
	fmt.Fprintf(stdout, "cpus       %d (GOMAXPROCS %d)\n", runtime.NumCPU(), runtime.GOMAXPROCS(0))
	return nil
}

// parseInterleaved parses flags that may come before, between or after the
// file names (`analyze x.pcap --json`) and returns the file names.
func parseInterleaved(fl *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	rest := args
	for len(rest) > 0 {
		if err := fl.Parse(rest); err != nil {
			return nil, usageErrorf("%v", err)
		}
		rest = fl.Args()
		if len(rest) > 0 {
			files = append(files, rest[0])
			rest = rest[1:]
		}
	}
	return files, nil
}
