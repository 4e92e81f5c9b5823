package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"porthunter/capture"
	"porthunter/intel"
	"porthunter/mcp"
	"porthunter/policy"
	"porthunter/scan"
)

// Output formats of analyze (--format).
var analyzeFormats = []string{"text", "json", "ndjson", "csv", "eve", "ecs", "zeek"}

const analyzeHelp = `The report fits the width: --width N, else the COLUMNS environment variable,
else 80 columns, whether stdout is a terminal or a pipe. Table cells too long
for it end in "…"; --wide prints every value whole. Colours only on a terminal,
and never with NO_COLOR set.

The suspects table lists the --top sources with the most distinct probes (the
order of list_suspects), by first seen. --json prints the same report as JSON,
with every suspect's scanner_detail.

--format exports the findings, one per suspect, by first seen: ndjson (one JSON
object per line), csv (a header row, then one row each), eve (Suricata EVE
"alert" records), ecs (Elastic Common Schema documents, one per line), zeek (a
notice.log of Scan::Port_Scan and Scan::Address_Scan notices). Exports list
every suspect unless --top is given.

--home CIDR,... names the home networks that decide each suspect's
direction (default PORT_HUNTER_HOME_NETS, else RFC 1918, ULA and link-local).
--known FILE reads an allow-list of known scanners, one network and a label
per line (default PORT_HUNTER_KNOWN_SCANNERS): the sources it matches are
suppressed and counted by label, in every format. PORT_HUNTER_DARKNETS and the
offline intel of PORT_HUNTER_INTEL_DIR weigh in as in list_suspects (README:
Triage).

--fail-on suspects exits 3 when at least one source is listed (any, not only
the --top shown), after printing everything. --fail-on priority>=LEVEL
(LEVEL: low, medium, high, critical) exits 3 when a listed source has that
priority or a higher one; suppressed sources never match.

` + exitTable

// analyzeOpts are analyze's flags.
type analyzeOpts struct {
	asJSON bool
	format string
	width  int
	wide   bool
	window float64
	topK   int
	th     scan.Thresholds
	failOn string
	since  string
	until  string
	home   string
	known  string
}

// analyzeFlags defines analyze's flags on fl.
func analyzeFlags(fl *flag.FlagSet) *analyzeOpts {
	o := &analyzeOpts{}
	def, sd := mcp.Defaults[mcp.OverviewArgs](), mcp.Defaults[mcp.SuspectsArgs]()
	fl.BoolVar(&o.asJSON, "json", false, "print the report as JSON (same as --format json)")
	fl.StringVar(&o.format, "format", "text", "output: "+strings.Join(analyzeFormats, ", "))
	fl.IntVar(&o.width, "width", 0, fmt.Sprintf("report width in columns, %d to %d (default: COLUMNS, else %d)", minWidth, maxWidth, defaultWidth))
	fl.BoolVar(&o.wide, "wide", false, "print every value whole: no cut cells, no folded lines, full timestamps")
	fl.Float64Var(&o.window, "window", def.TimeWindowS, "timeline window in seconds (time_window_s)")
	fl.IntVar(&o.topK, "top", def.TopK, "suspects (the most active) and rows per table (top_k); exports: all unless given")
	o.th = sd.Thresholds()
	fl.IntVar(&o.th.MinPorts, "min-ports", o.th.MinPorts, "distinct ports on one host that make a scan")
	fl.IntVar(&o.th.MinHosts, "min-hosts", o.th.MinHosts, "distinct hosts on one port that make a scan")
	fl.Float64Var(&o.th.MinRatePPS, "min-rate", o.th.MinRatePPS, "minimum probes per second of a scan episode")
	fl.StringVar(&o.since, "since", "", "analyse only packets at or after this RFC 3339 time (e.g. 2026-03-14T09:27:00Z)")
	fl.StringVar(&o.until, "until", "", "analyse only packets before this RFC 3339 time")
	fl.StringVar(&o.failOn, "fail-on", "", "exit 3 when this matches: suspects, or priority>=LEVEL (low, medium, high, critical)")
	fl.StringVar(&o.home, "home", "", "home networks, CIDRs or addresses separated by commas (default PORT_HUNTER_HOME_NETS, else RFC 1918, ULA, link-local)")
	fl.StringVar(&o.known, "known", "", "known-scanners file: one network and its label per line; matches are suppressed (default PORT_HUNTER_KNOWN_SCANNERS)")
	return o
}

// cmdAnalyze is `porthunter analyze FILE... [flags]`. Several files are
// one rotated capture set, analysed as one capture (capture.ReadFiles).
func cmdAnalyze(ctx context.Context, cfg policy.Config, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fl := newFlagSet("analyze")
	o := analyzeFlags(fl)
	files, err := parseInterleaved(fl, args)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fl.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if len(files) == 0 {
		return usageErrorf("analyze takes at least one FILE")
	}
	if o.window <= 0 || o.topK < 1 || o.th.MinPorts < 1 || o.th.MinHosts < 1 || o.th.MinRatePPS < 0 {
		return usageErrorf("analyze: --window, --top, --min-ports and --min-hosts must be positive, --min-rate not negative")
	}
	if !slices.Contains(analyzeFormats, o.format) {
		return usageErrorf("analyze: --format %q: one of %s", o.format, strings.Join(analyzeFormats, ", "))
	}
	if o.asJSON {
		if set["format"] && o.format != "json" {
			return usageErrorf("analyze: --json and --format %s disagree", o.format)
		}
		o.format = "json"
	}
	if set["width"] && (o.width < minWidth || o.width > maxWidth) {
		return usageErrorf("analyze: --width %d: from %d to %d columns", o.width, minWidth, maxWidth)
	}
	failOn, level, err := parseFailOn(o.failOn)
	if err != nil {
		return err
	}
	win, err := parseWindow(o.since, o.until)
	if err != nil {
		return err
	}
	site, err := analyzeSite(cfg, o)
	if err != nil {
		return err
	}
	if db := analyzeIntel(ctx, cfg, stderr); db != nil {
		site.Reputation = mcp.Reputation(ctx, db)
	}
	width := reportWidth(o.width, getenv)

	label := "reading " + filepath.Base(files[0])
	if len(files) > 1 {
		label = fmt.Sprintf("reading %d files", len(files))
	}
	bar := newProgress(stderr, termEscape(label, false), width)
	res, err := capture.ReadFiles(ctx, cfg, files, win, openCaptureCLI, bar.update)
	bar.finish()
	if err != nil {
		return err
	}
	name := strings.Join(files, ",")
	var total int
	switch o.format {
	case "text", "json":
		rep, err := buildReport(ctx, res, name, o.window, o.topK, o.th, site)
		if err != nil {
			return err
		}
		total = rep.SuspectsTotal
		if o.format == "json" {
			enc := json.NewEncoder(termWriter{stdout})
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
		} else {
			renderReport(stdout, rep, newView(width, o.wide, newStyle(stdout, getenv), rep.Overview))
		}
	default:
		limit := -1 // every suspect
		if set["top"] {
			limit = o.topK
		}
		ex, err := buildExport(ctx, res, name, o.th, site, limit)
		if err != nil {
			return err
		}
		total = ex.total
		if err := writeExport(termWriter{stdout}, o.format, ex); err != nil {
			return err
		}
	}
	switch {
	case failOn == failOnSuspects && total > 0:
		return &matchError{msg: fmt.Sprintf("--fail-on suspects: %d listed", total)}
	case failOn == failOnPriority && total > 0:
		// The first source in priority order has the highest priority.
		pg, err := res.Analysis.TriagePageOf(ctx, o.th, site, scan.SortPriority, 0, 1)
		if err != nil {
			return err
		}
		if s := pg.Suspects[0]; scan.PriorityRank(s.Priority) <= scan.PriorityRank(level) {
			return &matchError{msg: fmt.Sprintf("--fail-on priority>=%s: %s has priority %s", level, s.IP, s.Priority)}
		}
	}
	return nil
}

// analyzeSite is the site context of analyze: --home, else
// PORT_HUNTER_HOME_NETS; the known scanners of --known, else of
// PORT_HUNTER_KNOWN_SCANNERS. The CLI reads the file as it reads the
// captures, from the file system as the operator names it.
func analyzeSite(cfg policy.Config, o *analyzeOpts) (scan.Site, error) {
	site := scan.Site{Home: cfg.Home(), Darknets: cfg.DarknetNets()}
	if o.home != "" {
		nets, err := policy.ParsePrefixes(o.home)
		if err != nil || len(nets) == 0 {
			return site, usageErrorf("analyze: --home %q: CIDRs or addresses separated by commas (%v)", o.home, err)
		}
		site.Home = nets
	}
	file, what := o.known, "--known"
	if file == "" {
		file, what = cfg.KnownScanners, policy.EnvKnownScanners
	}
	if file == "" {
		return site, nil
	}
	b, err := readSmallFile(file, policy.MaxKnownFileBytes)
	if err == nil {
		site.Known, err = mcp.KnownScanners(b)
	}
	if err != nil {
		return site, usageErrorf("analyze: %s %q: %v", what, file, err)
	}
	return site, nil
}

// analyzeIntel opens the offline intel of PORT_HUNTER_INTEL_DIR for the
// priority's intel rules, as the server does: through the sandbox, never
// online, what it loads logged on stderr. Nil when unset; a directory that
// cannot be opened is a warning, not a reason to stop.
func analyzeIntel(ctx context.Context, cfg policy.Config, stderr io.Writer) *intel.DB {
	if cfg.IntelDir == "" {
		return nil
	}
	sb, err := policy.NewSandbox(cfg.AllowedDir, cfg.MaxPcapBytes)
	if err == nil {
		defer sb.Close()
		var dir fs.FS
		if dir, err = sb.DirFS(cfg.IntelDir); err == nil {
			db, err := intel.Open(ctx, intel.Options{Dir: dir, AllowPrivate: cfg.AllowPrivate, Log: stderr})
			if err == nil {
				return db
			}
		}
	}
	fmt.Fprintf(stderr, "porthunter: warning: PORT_HUNTER_INTEL_DIR %q: %v; priorities without intel\n", cfg.IntelDir, err)
	return nil
}

// readSmallFile reads a regular file of at most max bytes.
func readSmallFile(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
	return policy.ReadAllMax(f, max)
}

// failOn is what --fail-on matches.
type failOn int

const (
	failOnNothing  failOn = iota
	failOnSuspects        // any source listed under the thresholds
	failOnPriority        // a listed source of the level or higher
)

// parseFailOn reads --fail-on: suspects, or priority>=LEVEL with its
// level. A level it does not know is refused, so that a pipeline with a
// typo fails loudly instead of passing everything.
func parseFailOn(s string) (failOn, string, error) {
	switch {
	case s == "":
		return failOnNothing, "", nil
	case s == "suspects":
		return failOnSuspects, "", nil
	case strings.HasPrefix(s, "priority"):
		level, ok := strings.CutPrefix(s, "priority>=")
		switch level {
		case scan.PriorityLow, scan.PriorityMedium, scan.PriorityHigh, scan.PriorityCritical:
			if ok {
				return failOnPriority, level, nil
			}
		}
		return 0, "", usageErrorf("analyze: --fail-on %q: write priority>=LEVEL, LEVEL one of low, medium, high, critical", s)
	}
	return 0, "", usageErrorf("analyze: --fail-on %q: the condition is suspects or priority>=LEVEL", s)
}

// reportWidth is the report's width: --width when given, else COLUMNS
// when it holds a width in range, else defaultWidth. The terminal is not
// asked its size: that takes an ioctl through package unsafe, which the
// product does not import (or a child process), so the width is the same
// on a terminal and in a pipe, and a shell that exports COLUMNS passes
// its terminal's width.
func reportWidth(flagWidth int, getenv func(string) string) int {
	if flagWidth > 0 {
		return flagWidth
	}
	if getenv != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(getenv("COLUMNS"))); err == nil && n >= minWidth && n <= maxWidth {
			return n
		}
	}
	return defaultWidth
}

// style colours the terminal report: bold headings and suspect addresses
// in red, only when stdout is a terminal that shows colours
// (terminalOut) and NO_COLOR is unset or empty (https://no-color.org), so
// files, pipes and tests get plain text.
type style struct{ on bool }

// ANSI SGR sequences of the report.
const (
	sgrBold  = "\033[1m"
	sgrRed   = "\033[31m"
	sgrReset = "\033[0m"
)

func newStyle(w io.Writer, getenv func(string) string) style {
	return style{on: (getenv == nil || getenv("NO_COLOR") == "") && terminalOut(w)}
}

func (s style) wrap(sgr, text string) string {
	if !s.on {
		return text
	}
	return sgr + text + sgrReset
}

func (s style) heading(text string) string { return s.wrap(sgrBold, text) }
func (s style) suspect(text string) string { return s.wrap(sgrRed, text) }

// parseInterleaved parses flags that may come before, between or after the
// file names (`analyze x.pcap --json`) and returns the file names. A "--"
// ends the flags: every argument after it is a file name.
func parseInterleaved(fl *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	rest := args
	for len(rest) > 0 {
		if err := fl.Parse(rest); err != nil {
			if err == flag.ErrHelp {
				return nil, err
			}
			return nil, usageErrorf("%v", err)
		}
		dashes := len(fl.Args()) < len(rest) && rest[len(rest)-len(fl.Args())-1] == "--"
		rest = fl.Args()
		if dashes {
			return append(files, rest...), nil
		}
		if len(rest) > 0 {
			files = append(files, rest[0])
			rest = rest[1:]
		}
	}
	return files, nil
}

// parseWindow reads --since and --until as a tool call's since and until
// (capture.ParseBound); either may be empty.
func parseWindow(since, until string) (capture.Window, error) {
	var w capture.Window
	for _, b := range []struct {
		name, v string
		t       *time.Time
	}{{"since", since, &w.Since}, {"until", until, &w.Until}} {
		t, ok := capture.ParseBound(b.v)
		if !ok {
			return w, usageErrorf("analyze: --%s %q: an RFC 3339 time between 1970 and 2262, such as 2026-03-14T09:27:00Z", b.name, b.v)
		}
		*b.t = t
	}
	if !w.Ordered() {
		return w, usageErrorf("analyze: --since must be before --until")
	}
	return w, nil
}
