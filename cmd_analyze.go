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
	"time"

	"porthunter/capture"
	"porthunter/mcp"
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
	def, sd := mcp.Defaults[mcp.OverviewArgs](), mcp.Defaults[mcp.SuspectsArgs]()
	window := fl.Float64("window", def.TimeWindowS, "timeline window in seconds (time_window_s)")
	topK := fl.Int("top", def.TopK, "rows per table (top_k)")
	th := sd.Thresholds()
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
	rep, err := buildReport(ctx, res, strings.Join(files, ","), *window, *topK, th)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(termWriter{stdout})
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	renderReport(stdout, rep, newStyle(stdout, getenv))
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
	ov, _ := mcp.BuildOverview(res, args[0], mcp.Defaults[mcp.OverviewArgs](), 0, false)
	_, nsus, _ := res.Analysis.SuspectsPage(ctx, th, 0, mcp.Defaults[mcp.SuspectsArgs]().Limit) // list_suspects' default answer
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
