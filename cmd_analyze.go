package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"porthunter/capture"
	"porthunter/mcp"
	"porthunter/policy"
	"porthunter/scan"
)

const analyzeHelp = `The suspects table lists every source listed under the thresholds; --json prints
the same answers as JSON. Colours only on a terminal, and never with NO_COLOR set.`

// analyzeOpts are analyze's flags.
type analyzeOpts struct {
	asJSON bool
	window float64
	topK   int
	th     scan.Thresholds
}

// analyzeFlags defines analyze's flags on fl.
func analyzeFlags(fl *flag.FlagSet) *analyzeOpts {
	o := &analyzeOpts{}
	def, sd := mcp.Defaults[mcp.OverviewArgs](), mcp.Defaults[mcp.SuspectsArgs]()
	fl.BoolVar(&o.asJSON, "json", false, "print the tools' JSON answers instead of tables")
	fl.Float64Var(&o.window, "window", def.TimeWindowS, "timeline window in seconds (time_window_s)")
	fl.IntVar(&o.topK, "top", def.TopK, "rows per table (top_k)")
	o.th = sd.Thresholds()
	fl.IntVar(&o.th.MinPorts, "min-ports", o.th.MinPorts, "distinct ports on one host that make a scan")
	fl.IntVar(&o.th.MinHosts, "min-hosts", o.th.MinHosts, "distinct hosts on one port that make a scan")
	fl.Float64Var(&o.th.MinRatePPS, "min-rate", o.th.MinRatePPS, "minimum probes per second of a scan episode")
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
	if len(files) == 0 {
		return usageErrorf("analyze takes at least one FILE")
	}
	if o.window <= 0 || o.topK < 1 || o.th.MinPorts < 1 || o.th.MinHosts < 1 || o.th.MinRatePPS < 0 {
		return usageErrorf("analyze: --window, --top, --min-ports and --min-hosts must be positive, --min-rate not negative")
	}
	label := "reading " + filepath.Base(files[0])
	if len(files) > 1 {
		label = fmt.Sprintf("reading %d files", len(files))
	}
	bar := newProgress(stderr, termEscape(label, false), reportWidth(0, getenv))
	res, err := capture.ReadFiles(ctx, cfg, files, openCaptureCLI, bar.update)
	bar.finish()
	if err != nil {
		return err
	}
	rep, err := buildReport(ctx, res, strings.Join(files, ","), o.window, o.topK, o.th)
	if err != nil {
		return err
	}
	if o.asJSON {
		enc := json.NewEncoder(termWriter{stdout})
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	renderReport(stdout, rep, newStyle(stdout, getenv))
	return nil
}

// reportWidth is the width of what the terminal commands draw: --width
// when given, else COLUMNS when it holds a width in range, else
// defaultWidth. The terminal is not asked its size: that takes an ioctl
// through package unsafe, which the product does not import (or a child
// process), so the width is the same on a terminal and in a pipe, and a
// shell that exports COLUMNS passes its terminal's width.
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
	sgrPlain = "\033[39m" // default colour: as long as sgrRed, see suspectsHeader
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

// ipHeader is the IP column's heading. tabwriter counts escape sequences
// as width, so when addresses are red the heading carries an invisible
// sequence of the same length, and the columns stay aligned.
func (s style) ipHeader() string { return s.wrap(sgrPlain, "IP") }

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
