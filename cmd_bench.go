package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"time"

	"porthunter/capture"
	"porthunter/mcp"
	"porthunter/policy"
	"porthunter/scan"
)

// cmdBench is `porthunter bench FILE`: the analysis scan_overview and
// list_suspects need, timed, with the figures on stdout and, on a
// terminal, a progress bar on stderr.
func cmdBench(ctx context.Context, cfg policy.Config, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fl := newFlagSet("bench")
	files, err := parseInterleaved(fl, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return usageErrorf("bench takes exactly one FILE")
	}
	file := files[0]
	start := time.Now()
	bar := newProgress(stderr, termEscape("reading "+filepath.Base(file), false), reportWidth(0, getenv))
	res, err := capture.ReadFiles(ctx, cfg, files, capture.Window{}, openCaptureCLI, bar.update)
	bar.finish()
	if err != nil {
		return err
	}
	th := scan.DefaultThresholds()
	ov, _ := mcp.BuildOverview(res, file, mcp.Defaults[mcp.OverviewArgs](), scan.Site{}, 0, false)
	_, nsus, _ := res.Analysis.SuspectsPage(ctx, th, 0, mcp.Defaults[mcp.SuspectsArgs]().Limit) // list_suspects' default answer
	el := time.Since(start)
	st := res.Analysis.Capture()
	pkts := st.TotalPackets
	secs := el.Seconds()
	fmt.Fprintf(stdout, "file       %s\n", termEscape(file, false))
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
