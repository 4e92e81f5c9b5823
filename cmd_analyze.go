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

	"porthunter/policy"
	"porthunter/scan"
)

// cliMaxBytes is the file limit of the terminal commands: the analyst
// names the file on the command line, so no configured limit applies; the
// sandbox still checks it is a regular file and a capture by its magic.
const cliMaxBytes = math.MaxInt64 - 1

// openCLI analyzes a file named on the command line.
func openCLI(ctx context.Context, cfg policy.Config, file string, stderr io.Writer) (*analysisResult, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	sb, err := policy.NewSandbox(filepath.Dir(abs), cliMaxBytes)
	if err != nil {
		return nil, err
	}
	defer sb.Close()
	z := newAnalyzer(cfg, sb)
	var progress func(done, total int64)
	if isTerminal(stderr) {
		progress = func(done, total int64) {
			if total > 0 {
				fmt.Fprintf(stderr, "\rreading %s: %3d%%", filepath.Base(file), done*100/total)
			}
		}
		defer fmt.Fprint(stderr, "\r\033[K")
	}
	return z.analyze(ctx, filepath.Base(abs), progress)
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

// cmdAnalyze is `porthunter analyze FILE [--json] [flags]`.
func cmdAnalyze(ctx context.Context, cfg policy.Config, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fl.SetOutput(stderr)
	asJSON := fl.Bool("json", false, "print the tools' JSON answers instead of tables")
	window := fl.Float64("window", 60, "timeline window in seconds (time_window_s)")
	topK := fl.Int("top", 20, "rows per table (top_k)")
	th := scan.DefaultThresholds()
	fl.IntVar(&th.MinPorts, "min-ports", th.MinPorts, "distinct ports on one host that make a scan")
	fl.IntVar(&th.MinHosts, "min-hosts", th.MinHosts, "distinct hosts on one port that make a scan")
	fl.Float64Var(&th.MinRatePPS, "min-rate", th.MinRatePPS, "minimum probes per second of a scan episode")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: porthunter analyze FILE [--json] [--window S] [--top K] [--min-ports N] [--min-hosts N] [--min-rate R]")
		fl.PrintDefaults()
	}
	// Let flags follow the file name too: `analyze x.pcap --json`.
	var files []string
	rest := args
	for len(rest) > 0 {
		if err := fl.Parse(rest); err != nil {
			return usageErrorf("%v", err)
		}
		rest = fl.Args()
		if len(rest) > 0 {
			files = append(files, rest[0])
			rest = rest[1:]
		}
	}
	if len(files) != 1 {
		fl.Usage()
		return usageErrorf("analyze takes exactly one FILE")
	}
	if *window <= 0 || *topK < 1 || th.MinPorts < 1 || th.MinHosts < 1 || th.MinRatePPS < 0 {
		return usageErrorf("analyze: --window, --top, --min-ports and --min-hosts must be positive, --min-rate not negative")
	}
	res, err := openCLI(ctx, cfg, files[0], stderr)
	if err != nil {
		return err
	}
	answer := map[string]any{
		"overview":    overviewView(res, files[0], *window, *topK),
		"suspects":    suspectsView(res, th),
		"first_event": res.an.FirstEvent(th),
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(answer)
	}
	var generic map[string]any
	b, err := json.Marshal(answer)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &generic); err != nil {
		return err
	}
	renderReport(stdout, generic)
	return nil
}

// renderReport prints the answers as aligned tables. It reads the same
// JSON the tools return (by contract key), so the terminal report and the
// MCP answers cannot disagree.
func renderReport(w io.Writer, a map[string]any) {
	ov, _ := a["overview"].(map[string]any)
	cap, _ := ov["capture"].(map[string]any)
	fmt.Fprintf(w, "capture   %s\n", str(ov["file"]))
	fmt.Fprintf(w, "format    %s %s%s, %s packets over %s s\n", str(cap["format"]), str(cap["version"]),
		map[bool]string{true: " (gzip)", false: ""}[cap["compressed"] == true], num(ov["total_pkts"]), num(ov["interval_s"]))
	if tr, ok := cap["truncated"].(map[string]any); ok {
		fmt.Fprintf(w, "TRUNCATED after frame %s: %s\n", num(tr["after_frame"]), str(tr["reason"]))
	}
	if st, ok := cap["stats"].(map[string]any); ok && st["no_return_traffic"] == true {
		fmt.Fprintln(w, "note      no return traffic in this capture: outcomes unknown, attempts counted")
	}
	fmt.Fprintf(w, "patterns  %s\n\n", list(ov["suspected_patterns"]))

	sus, _ := a["suspects"].([]any)
	fmt.Fprintf(w, "SUSPECTS (%d)\n", len(sus))
	if len(sus) > 0 {
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  IP\tKIND\tPORTS\tHOSTS\tPROBES\tRATE/S\tFLAGS\tOPEN\tTOOL\tFIRST SEEN")
		for _, s := range sus {
			m, _ := s.(map[string]any)
			tool := "-"
			if t, ok := m["tool"].(map[string]any); ok {
				tool = fmt.Sprintf("%s (%s)", str(t["name"]), num(t["confidence"]))
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", str(m["ip"]), str(m["kind"]), num(m["distinct_ports"]),
				num(m["distinct_hosts"]), num(m["probes"]), num(m["rate_pps"]), list(m["flags_seen"]), list(m["open_ports"]), tool, str(m["first_seen"]))
		}
		tw.Flush()
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, "FIRST SCAN EVENT\n")
	if fe, ok := a["first_event"].(map[string]any); ok {
		fmt.Fprintf(w, "  %s  %s -> %s port %s  %s %s  (frame %s, %s)\n", str(fe["ts"]), str(fe["src"]), str(fe["dst"]), num(fe["port"]),
			str(fe["proto"]), str(fe["flags"]), num(fe["frame"]), str(fe["technique"]))
	} else {
		fmt.Fprintln(w, "  none")
	}
	if tl, ok := ov["targets"].([]any); ok && len(tl) > 0 {
		fmt.Fprintf(w, "\nTARGETS (%d)\n", len(tl))
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  IP\tPACKETS\tPORTS HIT")
		for _, t := range tl {
			m, _ := t.(map[string]any)
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", str(m["ip"]), num(m["pkts"]), shortList(m["ports_hit"], 12))
		}
		tw.Flush()
	}
}

func str(v any) string {
	if v == nil {
		return "-"
	}
	if s, ok := v.(string); ok {
		if s == "" {
			return `""`
		}
		return s
	}
	return fmt.Sprint(v)
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
	return fmt.Sprint(v)
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
	sus := res.an.Suspects(th)
	el := time.Since(start)
	st := res.an.Capture()
	pkts := st.TotalPackets
	secs := el.Seconds()
	fmt.Fprintf(stdout, "file       %s\n", args[0])
	fmt.Fprintf(stdout, "size       %d bytes\n", res.capture.SizeBytes)
	fmt.Fprintf(stdout, "packets    %d\n", pkts)
	fmt.Fprintf(stdout, "suspects   %d (scanners in overview: %d)\n", len(sus), len(ov.Scanners))
	fmt.Fprintf(stdout, "duration   %.3f s\n", secs)
	if secs > 0 {
		fmt.Fprintf(stdout, "rate       %.0f packets/s, %.1f MB/s\n", float64(pkts)/secs, float64(res.capture.SizeBytes)/1e6/secs)
	}
	fmt.Fprintf(stdout, "peak_rss   %.1f MiB\n", float64(peakRSSBytes())/(1<<20))
	fmt.Fprintf(stdout, "cpus       %d (GOMAXPROCS %d)\n", runtime.NumCPU(), runtime.GOMAXPROCS(0))
	return nil
}
