// Command porthunter is a local MCP server (stdio) that reads PCAP and
// PCAPNG captures and answers who scanned the network, how, when, with
// what result and with which tool, and who the scanning addresses are.
//
// Nothing but the JSON-RPC writer ever writes to stdout in server mode;
// diagnostics go to stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"porthunter/mcp"
	"porthunter/policy"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

// commit is the source revision, set by release builds (-ldflags "-X
// main.commit=..."): they are built with -buildvcs=false so that the
// binary does not depend on the checkout, which drops vcs.revision.
var commit = ""

// Exit statuses of the contract (§1), and of analyze --fail-on.
const (
	exitOK    = 0
	exitFatal = 1
	exitUsage = 2
	// exitMatch: analyze ran, and --fail-on matched something, so a
	// pipeline can stop on it while telling it apart from a failure.
	exitMatch = 3
)

// exitTable documents the exit statuses, for help and the README.
const exitTable = `exit status:
  0  success; for analyze --fail-on, nothing matched (also serve at stdin EOF, SIGTERM, SIGINT)
  1  runtime error: a file that cannot be read, an invalid environment variable
  2  usage error: an unknown command or flag, a missing or invalid argument
  3  analyze --fail-on matched (the report or export is still printed in full)`

// gcPercent paces the garbage collector. An analysis's memory is mostly
// pointer-free arrays, which the collector need not scan, so collecting
// when the heap has grown by half (instead of doubled) costs little CPU
// and lowers the peak resident memory by about a fifth.
const gcPercent = 50

func main() {
	debug.SetGCPercent(gcPercent)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// usageError is a bad command line (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// matchError is analyze --fail-on matching (exit status 3).
type matchError struct{ msg string }

func (e *matchError) Error() string { return e.msg }

// command is one entry of the command table.
type command struct {
	name, args, summary string
	// help is more of the command's usage, printed by --help after the
	// summary; flags defines its flags on a FlagSet, for their
	// defaults in the usage (nil: none).
	help        string
	flags       func(*flag.FlagSet)
	needsConfig bool
	run         func(ctx context.Context, cfg policy.Config, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error
}

func commands() []command {
	return []command{
		{"serve", "", "MCP server on stdin/stdout until stdin closes or SIGTERM (the default)", serveHelp, nil, true,
			func(ctx context.Context, cfg policy.Config, args []string, stdin io.Reader, stdout, stderr io.Writer, _ func(string) string) error {
				if err := parseNone("serve", args); err != nil {
					return err
				}
				return mcp.Serve(ctx, cfg, version, stdin, stdout, stderr)
			}},
		{"analyze", "FILE... [flags]", "overview, suspects and first scan event of a capture (several files: one rotated set), as a report, JSON or an export",
			analyzeHelp, func(fl *flag.FlagSet) { analyzeFlags(fl) }, true,
			func(ctx context.Context, cfg policy.Config, args []string, _ io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
				return cmdAnalyze(ctx, cfg, args, stdout, stderr, getenv)
			}},
		{"bench", "FILE", "size, packets, duration, packets/s, MB/s and peak memory of the analysis", "", nil, true,
			func(ctx context.Context, cfg policy.Config, args []string, _ io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
				return cmdBench(ctx, cfg, args, stdout, stderr, getenv)
			}},
		{"carve", "FILE --ip ADDR -o OUT.pcapng", "write every packet to and from ADDR into a new pcapng for Wireshark", carveHelp,
			func(fl *flag.FlagSet) { carveFlags(fl) }, true,
			func(ctx context.Context, cfg policy.Config, args []string, _ io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
				return cmdCarve(ctx, cfg, args, stdout, stderr, getenv)
			}},
		{"intel", "fetch|verify|status ...", "offline intel: fetch --out DIR on a connected host, verify DIR after the copy, status of PORT_HUNTER_INTEL_DIR (docs/INTEL.md §8)",
			intelHelp, nil, false,
			func(ctx context.Context, _ policy.Config, args []string, _ io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
				return cmdIntel(ctx, args, stdout, stderr, getenv)
			}},
		{"version", "", "version, Go version and build settings", "", nil, false,
			func(_ context.Context, _ policy.Config, args []string, _ io.Reader, stdout, _ io.Writer, _ func(string) string) error {
				if err := parseNone("version", args); err != nil {
					return err
				}
				printVersion(stdout)
				return nil
			}},
		{"help", "[COMMAND | TOOL]", "this text, a command's usage, or one tool's arguments", "", nil, false,
			func(_ context.Context, _ policy.Config, args []string, _ io.Reader, stdout, _ io.Writer, _ func(string) string) error {
				switch len(args) {
				case 0:
					printUsage(stdout)
					return nil
				case 1:
					return printTopicHelp(stdout, args[0])
				}
				return usageErrorf("help takes at most one COMMAND or TOOL")
			}},
	}
}

const serveHelp = `Reads newline-delimited JSON-RPC 2.0 on stdin and answers on stdout; logs go to
stderr. The environment configures it (porthunter help lists the variables).`

// run is main without the process: arguments, streams and environment in,
// exit status out.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	name := "serve"
	if len(args) > 0 {
		name, args = args[0], args[1:]
	}
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	cmd := findCommand(name)
	if cmd == nil {
		fmt.Fprintf(stderr, "porthunter: unknown command %q\n", name)
		printUsage(stderr)
		return exitUsage
	}
	// --help and -h are answered before anything else, whatever the
	// environment holds or the other arguments say.
	if wantsHelp(args) {
		printCommandUsage(termWriter{stdout}, cmd)
		return exitOK
	}
	var cfg policy.Config
	if cmd.needsConfig {
		var err error
		cfg, err = policy.LoadConfig(getenv)
		if err != nil {
			fmt.Fprintf(stderr, "porthunter: %v\n", err)
			return exitFatal
		}
	}
	err := cmd.run(ctx, cfg, args, stdin, stdout, stderr, getenv)
	var ue *usageError
	var me *matchError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		printCommandUsage(termWriter{stdout}, cmd)
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "porthunter: %s\n", termEscape(err.Error(), false))
		fmt.Fprintf(stderr, "usage: %s (porthunter %s --help for more)\n", termEscape(synopsis(cmd), false), cmd.name)
		return exitUsage
	case errors.As(err, &me):
		fmt.Fprintf(stderr, "porthunter: %s\n", termEscape(me.msg, false))
		return exitMatch
	default:
		fmt.Fprintf(stderr, "porthunter: %s\n", termEscape(cliMessage(err), false))
		return exitFatal
	}
}

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return &c
		}
	}
	return nil
}

// wantsHelp reports whether args ask for the usage: -h, -help or --help
// before a "--" that ends the flags.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// parseNone checks that a command without arguments got none.
func parseNone(name string, args []string) error {
	if len(args) != 0 {
		return usageErrorf("%s takes no arguments", name)
	}
	return nil
}

// newFlagSet is a command's flags, silent: errors and usage are printed
// by run, once, and --help's on stdout (the flag package would print them
// itself, to stderr, even when asked for help).
func newFlagSet(name string) *flag.FlagSet {
	fl := flag.NewFlagSet(name, flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	fl.Usage = func() {}
	return fl
}

func synopsis(c *command) string {
	return strings.TrimSpace("porthunter " + c.name + " " + c.args)
}

// printCommandUsage is a command's --help: synopsis, summary, more help
// and its flags with their defaults.
func printCommandUsage(w io.Writer, c *command) {
	fmt.Fprintf(w, "usage: %s\n\n%s.\n", synopsis(c), upperFirst(c.summary))
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", c.help)
	}
	if c.flags != nil {
		fl := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.flags(fl)
		fmt.Fprintln(w, "\nflags:")
		fl.SetOutput(w)
		fl.PrintDefaults()
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "porthunter %s: port-scan forensics over PCAP/PCAPNG captures, as an MCP server or at a terminal\n\n", version)
	fmt.Fprintln(w, "usage:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-45s %s\n", synopsis(&c), c.summary)
	}
	fmt.Fprintln(w, "\nporthunter COMMAND --help (or -h) prints a command's usage and flags.")
	fmt.Fprintln(w, "\nenvironment (server):")
	for _, v := range [][2]string{
		{"PORT_HUNTER_TOKEN", "auth_token every tool call must carry (default TEST_TOKEN: change it)"},
		{"PORT_HUNTER_REQUIRE_TOKEN", "true|false (default true)"},
		{"PORT_HUNTER_ALLOWED_DIR", "the only directory captures and intel are read from (default .)"},
		{"PORT_HUNTER_MAX_PCAP_MB", "largest capture accepted, MiB (default 50)"},
		{"PORT_HUNTER_ALLOW_PRIVATE", "enrich private/special addresses too (default false)"},
		{"PORT_HUNTER_INTEL_DIR", "offline intel files (ASN, country, blocklists, feeds)"},
		{"PORT_HUNTER_ONLINE", "allow the online providers (default false: no network at all)"},
		{"PORT_HUNTER_OTX_KEY, PORT_HUNTER_GREYNOISE_KEY", "API keys of the online providers"},
		{"PORT_HUNTER_MAX_ANALYSES", "captures read at once (default 2)"},
		{"PORT_HUNTER_CALL_TIMEOUT_S", "time limit of one tool call, seconds (default 300)"},
		{"PORT_HUNTER_MEMORY_MB", "memory budget of the analyses, MiB (default 1024)"},
		{"PORT_HUNTER_MAX_SET_FILES", "files one call may read as one capture (default 64)"},
		{"PORT_HUNTER_MAX_PACKETS", "records one call may read, all its files together (default 100000000)"},
		{"PORT_HUNTER_EVIDENCE_DIR", "where the carve tool also writes its pcapng files (default unset: memory only)"},
		{"PORT_HUNTER_HOME_NETS", "home networks, CIDRs separated by commas (default RFC 1918, ULA, link-local)"},
		{"PORT_HUNTER_KNOWN_SCANNERS", "allow-list file in the allowed directory: a network and a label per line"},
		{"PORT_HUNTER_DARKNETS", "CIDRs where no host lives: 3 probed addresses list a source"},
	} {
		fmt.Fprintf(w, "  %-45s %s\n", v[0], v[1])
	}
	fmt.Fprintln(w, "\nenvironment (terminal):")
	fmt.Fprintf(w, "  %-45s %s\n", "COLUMNS", "width of the analyze report when --width is not given (default 80)")
	fmt.Fprintf(w, "  %-45s %s\n", "NO_COLOR", "set and not empty: no colours, even on a terminal")
	fmt.Fprintf(w, "\ntools (porthunter help TOOL for arguments): %s\n", strings.Join(mcp.ToolNames(), ", "))
	fmt.Fprintf(w, "\n%s\n", exitTable)
}

// printTopicHelp prints a command's usage, or one tool's description and
// arguments from the tool table, the same source tools/list is built
// from.
func printTopicHelp(w io.Writer, name string) error {
	if c := findCommand(name); c != nil {
		printCommandUsage(w, c)
		return nil
	}
	if !mcp.WriteToolHelp(w, name) {
		return usageErrorf("no command or tool %q; porthunter help lists them", name)
	}
	return nil
}

func printVersion(w io.Writer) {
	fmt.Fprintf(w, "porthunter %s\n", version)
	if commit != "" {
		fmt.Fprintf(w, "commit     %s\n", commit)
	}
	fmt.Fprintf(w, "go         %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	fmt.Fprintf(w, "module     %s\n", bi.Main.Path)
	for _, s := range bi.Settings {
		switch s.Key {
		case "CGO_ENABLED", "-trimpath", "-ldflags", "GOAMD64", "GOARM64", "vcs.revision", "vcs.time", "vcs.modified":
			fmt.Fprintf(w, "build      %s=%s\n", s.Key, s.Value)
		}
	}
}
