package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"porthunter/intel"
	"porthunter/policy"
)

// `porthunter intel` builds and checks offline intel (docs/INTEL.md §8):
//
//	intel fetch --out DIR   on a connected host: download the freely
//	                        licensed datasets, verified, with MANIFEST.json
//	intel verify DIR        on the air-gapped host: the manifest, the sums
//	                        and every file's parse
//	intel status            what the server would load from
//	                        PORT_HUNTER_INTEL_DIR, and what is stale
//
// fetch is the only command of the binary that opens a network
// connection, and only when run; the server never does unless
// PORT_HUNTER_ONLINE is set.

// intelFetchSources and intelFetchClient are what intel fetch uses. Tests
// point them at a local server; no flag or variable changes them.
var (
	intelFetchSources = intel.DefaultFetchSources
	intelFetchClient  *http.Client
)

// intelHelp is the usage of intel's commands, for porthunter intel --help.
const intelHelp = `commands:
  fetch --out DIR [--only NAME,...] [--force] [--json] | --list
        download the open intel sources into DIR, with MANIFEST.json and SHA256SUMS
        (on a host with internet access; --list names the sources and their licences)
  verify DIR [--json]
        check a copied bundle: the manifest's sums and sizes and every file's parse (exit 1 on any error)
  status [--json]
        what the server would load from PORT_HUNTER_INTEL_DIR: each file's provider, entries, age and staleness`

func cmdIntel(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return usageErrorf("intel needs a command: fetch --out DIR, verify DIR or status")
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "fetch":
		return cmdIntelFetch(ctx, rest, stdout, stderr, reportWidth(0, getenv))
	case "verify":
		return cmdIntelVerify(ctx, rest, stdout, stderr, reportWidth(0, getenv))
	case "status":
		return cmdIntelStatus(ctx, rest, stdout, stderr, getenv)
	default:
		return usageErrorf("intel: unknown command %q: fetch --out DIR, verify DIR or status", sub)
	}
}

// errIntelFailed is the exit of a command that printed its own report of
// what went wrong: exit status 1, one closing line.
type errIntelFailed struct{ msg string }

func (e *errIntelFailed) Error() string { return e.msg }

func cmdIntelFetch(ctx context.Context, args []string, stdout, stderr io.Writer, width int) error {
	fl := flag.NewFlagSet("intel fetch", flag.ContinueOnError)
	fl.SetOutput(termWriter{stderr})
	out := fl.String("out", "", "the bundle directory (created when missing; files already there are updated)")
	only := fl.String("only", "", "comma-separated source names (see --list); default all")
	force := fl.Bool("force", false, "download every file whole: no conditional request, no waiting out a publisher's minimum interval")
	list := fl.Bool("list", false, "print the sources (name, file, URL, licence) and fetch nothing")
	asJSON := fl.Bool("json", false, "print the results as JSON")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: porthunter intel fetch --out DIR [--only NAME,...] [--force] [--json] | --list")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return usageErrorf("%v", err)
	}
	if fl.NArg() != 0 {
		return usageErrorf("intel fetch takes no argument besides its flags (--out DIR)")
	}
	srcs := intelFetchSources()
	if *only != "" {
		var picked []intel.FetchSource
		for _, name := range strings.Split(*only, ",") {
			i := slices.IndexFunc(srcs, func(s intel.FetchSource) bool { return s.Name == strings.TrimSpace(name) })
			if i < 0 {
				return usageErrorf("intel fetch: no source %q; --list names them", name)
			}
			picked = append(picked, srcs[i])
		}
		srcs = picked
	}
	if *list {
		t := &table{cols: []column{{head: "NAME", shrink: 2, min: 8}, {head: "FILE", shrink: 3, min: 10, cut: cutLeft},
			{head: "URL", shrink: 1, min: 24, cut: cutMiddle}, {head: "LICENCE", shrink: 4, min: 8}}}
		for _, s := range srcs {
			t.add(s.Name, s.File, s.URL, s.License)
		}
		t.write(termWriter{stdout}, width, false, style{})
		return nil
	}
	if *out == "" {
		fl.Usage()
		return usageErrorf("intel fetch needs --out DIR")
	}
	p := &progressLine{w: stderr, on: isTerminal(stderr)}
	res, err := intel.Fetch(ctx, intel.FetchOptions{Dir: *out, Sources: srcs, Client: intelFetchClient, Force: *force,
		Log: p, Progress: p.show, UserAgent: "porthunter/" + version + " (intel fetch)"})
	p.clear()
	if err != nil && len(res) == 0 {
		return err
	}
	failed := 0
	for _, r := range res {
		if r.Status == intel.FetchFailed {
			failed++
		}
	}
	if *asJSON {
		type jsonResult struct {
			Source  string `json:"source"`
			File    string `json:"file"`
			Status  string `json:"status"`
			Kept    bool   `json:"kept,omitempty"`
			Bytes   int64  `json:"bytes"`
			Entries int    `json:"entries"`
			Error   string `json:"error,omitempty"`
		}
		list := []jsonResult{}
		for _, r := range res {
			j := jsonResult{Source: r.Source, File: r.File, Status: r.Status, Kept: r.Kept, Bytes: r.Bytes, Entries: r.Entries}
			if r.Err != nil {
				j.Error = r.Err.Error()
			}
			list = append(list, j)
		}
		enc := json.NewEncoder(termWriter{stdout})
		enc.SetIndent("", "  ")
		if err := enc.Encode(list); err != nil {
			return err
		}
	} else {
		t := &table{cols: []column{{head: "FILE", shrink: 2, min: 12, cut: cutLeft}, {head: "SOURCE", shrink: 1, min: 8},
			{head: "STATUS", shrink: 3, min: 6}, {head: "BYTES", right: true}, {head: "ENTRIES", right: true}}}
		for _, r := range res {
			status := r.Status
			if r.Status == intel.FetchFailed && r.Kept {
				status += " (old copy kept)"
			}
			t.add(r.File, r.Source, status, strconv.FormatInt(r.Bytes, 10), strconv.Itoa(r.Entries))
		}
		t.write(termWriter{stdout}, width, false, style{})
		fmt.Fprintf(stdout, "\nbundle %s: %s and %s list every file; copy the directory to the air-gapped host and run porthunter intel verify there\n",
			termEscape(*out, false), intel.ManifestName, intel.SumsName)
	}
	if err != nil {
		return err
	}
	if failed > 0 {
		return &errIntelFailed{fmt.Sprintf("intel fetch: %d of %d sources failed (stderr says why)", failed, len(res))}
	}
	return nil
}

// progressLine shows a download's progress on one terminal line, redrawn
// in place at most ten times a second, and clears it before a log line.
// On anything but a terminal it shows nothing and passes the log through.
type progressLine struct {
	w     io.Writer
	on    bool
	shown bool
	last  time.Time
}

func (p *progressLine) show(file string, done, total int64) {
	if !p.on || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	line := fmt.Sprintf("fetch %s: %.1f MiB", file, float64(done)/(1<<20))
	if total > 0 {
		line += fmt.Sprintf(" of %.1f MiB (%d%%)", float64(total)/(1<<20), done*100/total)
	}
	fmt.Fprintf(p.w, "\r\033[K%s", termEscape(line, false))
	p.shown = true
}

func (p *progressLine) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// Write is the fetch's log: one line at a time, escaped for the terminal
// (it may quote a server's words).
func (p *progressLine) Write(b []byte) (int, error) {
	p.clear()
	return termWriter{p.w}.Write(b)
}

func cmdIntelVerify(ctx context.Context, args []string, stdout, stderr io.Writer, width int) error {
	fl := flag.NewFlagSet("intel verify", flag.ContinueOnError)
	fl.SetOutput(termWriter{stderr})
	asJSON := fl.Bool("json", false, "print the report as JSON")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: porthunter intel verify DIR [--json]")
		fl.PrintDefaults()
	}
	dirs, err := parseInterleaved(fl, args)
	if err != nil {
		return err
	}
	if len(dirs) != 1 {
		fl.Usage()
		return usageErrorf("intel verify takes one DIR")
	}
	abs, err := filepath.Abs(dirs[0])
	if err != nil {
		return err
	}
	// The directory is read through a sandbox rooted at it, as the server
	// reads PORT_HUNTER_INTEL_DIR: no link leads out of it, no FIFO is
	// opened.
	sb, err := policy.NewSandbox(abs, intel.MaxFileBytes)
	if err != nil {
		return err
	}
	defer sb.Close()
	fsys, err := sb.DirFS(".")
	if err != nil {
		return err
	}
	rep, err := intel.CheckBundle(ctx, fsys, time.Now(), true)
	if err != nil {
		return err
	}
	return printBundle(stdout, dirs[0], rep, *asJSON, width)
}

func cmdIntelStatus(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fl := flag.NewFlagSet("intel status", flag.ContinueOnError)
	fl.SetOutput(termWriter{stderr})
	asJSON := fl.Bool("json", false, "print the report as JSON")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: porthunter intel status [--json]   (reads PORT_HUNTER_ALLOWED_DIR and PORT_HUNTER_INTEL_DIR as the server does)")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return usageErrorf("%v", err)
	}
	if fl.NArg() != 0 {
		return usageErrorf("intel status takes no argument: it reads PORT_HUNTER_INTEL_DIR")
	}
	cfg, err := policy.LoadConfig(getenv)
	if err != nil {
		return err
	}
	var on []string
	if cfg.Online && cfg.OTXKey != "" {
		on = append(on, "otx")
	}
	if cfg.Online && cfg.GreyNoiseKey != "" {
		on = append(on, "greynoise")
	}
	switch {
	case len(on) > 0:
		fmt.Fprintf(stdout, "online providers: %s\n", strings.Join(on, ", "))
	case cfg.Online:
		fmt.Fprintln(stdout, "online providers: none (PORT_HUNTER_ONLINE is set, but no API key)")
	default:
		fmt.Fprintln(stdout, "online providers: off (PORT_HUNTER_ONLINE is not set)")
	}
	if cfg.IntelDir == "" {
		return &errIntelFailed{"PORT_HUNTER_INTEL_DIR is not set: enrich_ip and correlate answer from each address's classification alone; docs/INTEL.md §8 says which files to put there"}
	}
	sb, err := policy.NewSandbox(cfg.AllowedDir, cfg.MaxPcapBytes)
	if err != nil {
		return err
	}
	defer sb.Close()
	fsys, err := sb.DirFS(cfg.IntelDir)
	if err != nil {
		return &errIntelFailed{fmt.Sprintf("PORT_HUNTER_INTEL_DIR %q: %v (the server starts without offline intel)", cfg.IntelDir, err)}
	}
	rep, err := intel.CheckBundle(ctx, fsys, time.Now(), false)
	if err != nil {
		return err
	}
	return printBundle(stdout, cfg.IntelDir, rep, *asJSON, reportWidth(0, getenv))
}

// printBundle prints a check's report: one row per file, its problems and
// notes beneath it, and a closing count. The error is the exit status:
// one when the report has an error.
func printBundle(w io.Writer, dir string, rep *intel.BundleReport, asJSON bool, width int) error {
	if asJSON {
		enc := json.NewEncoder(termWriter{w})
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		head := "intel directory " + termEscape(dir, false)
		if m := rep.Manifest; m != nil {
			head += fmt.Sprintf(": %s of %s lists %d files", intel.ManifestName, termEscape(m.Updated, false), len(m.Files))
		}
		fmt.Fprintln(w, head)
		if rep.ManifestError != "" {
			fmt.Fprintf(w, "  %s\n", termEscape(rep.ManifestError, false))
		}
		for _, e := range rep.DirErrors {
			fmt.Fprintf(w, "  error: %s\n", termEscape(e, false))
		}
		fmt.Fprintln(w)
		// At 80 columns the file and provider names give up width first
		// (--json, or a wider COLUMNS, shows them whole).
		t := &table{cols: []column{{head: "FILE", shrink: 1, min: 16, cut: cutLeft}, {head: "PROVIDER", shrink: 2, min: 12},
			{head: "STATUS"}, {head: "ENTRIES", right: true}, {head: "AS OF"}, {head: "STALE"}, {head: "SUM"}}}
		for _, f := range rep.Files {
			asOf, stale, sum := "-", "-", "-"
			if f.AsOf != nil {
				asOf = (*f.AsOf)[:min(10, len(*f.AsOf))]
			}
			if f.Status == "loaded" && f.FreshFor > 0 {
				stale = "no"
				if f.Stale {
					stale = "yes"
				}
			}
			if f.SumOK != nil {
				sum = "ok"
				if !*f.SumOK {
					sum = "MISMATCH"
				}
			}
			t.add(f.File, orDash(f.Provider), f.Status, strconv.Itoa(f.Entries), asOf, stale, sum)
		}
		t.write(termWriter{w}, width, false, style{})
		for _, f := range rep.Files {
			if f.Skipped > 0 || f.Dropped > 0 {
				fmt.Fprintf(w, "note    %s: %d unusable lines, %d entries not stored\n", termEscape(f.File, false),
					f.Skipped, f.Dropped)
			}
		}
		for _, f := range rep.Files {
			for _, p := range f.Problems {
				fmt.Fprintf(w, "error   %s: %s\n", termEscape(f.File, false), termEscape(p, false))
			}
			for _, n := range f.Notes {
				fmt.Fprintf(w, "warning %s: %s\n", termEscape(f.File, false), termEscape(n, false))
			}
		}
		fmt.Fprintf(w, "\n%d loaded, %d stale, %d errors, %d warnings\n", rep.Loaded, rep.Stale, rep.Errors, rep.Warnings)
	}
	if rep.Errors > 0 {
		return &errIntelFailed{fmt.Sprintf("intel directory %s: %d errors", dir, rep.Errors)}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
