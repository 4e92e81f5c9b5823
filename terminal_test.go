package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The terminal commands as a user and a pipeline see them: every test
// here runs the built binary (buildE2EBinary), its stdout a pipe.

// binRun is one run of the binary: exit status and streams.
type binRun struct {
	code           int
	stdout, stderr string
}

// runBin runs the binary with args in the repository's directory, with
// only PATH and env in its environment.
func runBin(t *testing.T, bin string, env []string, args ...string) binRun {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	cmd.Stdin = strings.NewReader("")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := binRun{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkGolden compares got with testdata/golden/name, or rewrites it
// under -update-golden.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden := filepath.Join("testdata", "golden", name)
	if *updateGolden {
		e2eMust(t, os.MkdirAll(filepath.Dir(golden), 0o755))
		e2eMust(t, os.WriteFile(golden, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (create with -update-golden)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (rewrite with go test -run %s -update-golden .):\n--- got\n%s\n--- want\n%s", golden,
			t.Name(), got, want)
	}
}

// reportFixtures are the captures whose terminal report is golden.
var reportFixtures = []string{"demo.pcapng", "stealth.pcap", "udp_scan.pcap", "horizontal.pcap", "ipv6_scan.pcapng",
	"connect_scan.pcap", "distributed.pcap", "slow_below_threshold.pcap", "lab/nmap_pingsweep.pcap", "lab/nmap_block.pcap"}

// TestAnalyzeGolden: the report of each fixture at 80 and at 120
// columns, the width given by COLUMNS or --width (the flag first), with
// and without NO_COLOR (a pipe is never coloured), equals
// testdata/golden/analyze-<fixture>.<width>.txt, and no line is wider.
func TestAnalyzeGolden(t *testing.T) {
	bin := buildE2EBinary(t)
	for _, fx := range reportFixtures {
		for _, c := range []struct {
			name  string
			width int
			env   []string
			args  []string
		}{
			{"default", 80, nil, nil},
			{"COLUMNS", 80, []string{"COLUMNS=80", "NO_COLOR=1"}, nil},
			{"flag", 120, nil, []string{"--width", "120"}},
			{"COLUMNS", 120, []string{"COLUMNS=120", "NO_COLOR=1"}, nil},
			{"flag over COLUMNS", 120, []string{"COLUMNS=60"}, []string{"--width", "120"}},
			{"COLUMNS out of range", 80, []string{"COLUMNS=5"}, nil},
		} {
			t.Run(fmt.Sprintf("%s/%d/%s", fx, c.width, c.name), func(t *testing.T) {
				r := runBin(t, bin, c.env, append([]string{"analyze", "fixtures/" + fx}, c.args...)...)
				if r.code != 0 || r.stderr != "" {
					t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
				}
				if strings.Contains(r.stdout, "\033") {
					t.Errorf("escape sequences in a pipe:\n%s", r.stdout)
				}
				for _, l := range strings.Split(r.stdout, "\n") {
					if textWidth(l) > c.width {
						t.Errorf("line of %d columns at %d: %q", textWidth(l), c.width, l)
					}
				}
				checkGolden(t, fmt.Sprintf("analyze-%s.%d.txt", strings.ReplaceAll(fx, "/", "-"), c.width), r.stdout)
			})
		}
	}
	t.Run("wide", func(t *testing.T) {
		r := runBin(t, bin, []string{"COLUMNS=80"}, "analyze", "--wide", "fixtures/ipv6_scan.pcapng")
		if r.code != 0 || strings.Contains(r.stdout, "…") || !strings.Contains(r.stdout, "2026-03-14T09:26:53.589793123Z") {
			t.Fatalf("exit %d, stdout:\n%s", r.code, r.stdout)
		}
		checkGolden(t, "analyze-ipv6_scan.pcapng.wide.txt", r.stdout)
	})
}

// writeActivityCapture writes a capture of three vertical SYN scanners
// whose order of first appearance is not their order of activity:
// 198.51.100.1 starts first with 12 ports, 198.51.100.2 second with 40,
// 198.51.100.3 third with 25.
func writeActivityCapture(t *testing.T, path string) {
	var recs []pcapRecord
	ts := int64(1_773_480_000) * 1e9
	for i, s := range []struct {
		src   string
		ports int
	}{{"198.51.100.1", 12}, {"198.51.100.2", 40}, {"198.51.100.3", 25}} {
		for p := 1; p <= s.ports; p++ {
			at := ts + int64(i)*int64(time.Second) + int64(p)*int64(10*time.Millisecond)
			recs = append(recs, pcapRecord{at, ipv4TCP(netip.MustParseAddr(s.src), netip.MustParseAddr("10.0.0.5"), 40000, uint16(p), 0x02)})
		}
	}
	slices.SortFunc(recs, func(a, b pcapRecord) int { return int(a.ns - b.ns) })
	writeRawPcap(t, path, recs)
}

type pcapRecord struct {
	ns   int64
	data []byte
}

// writeRawPcap writes IPv4 packets (link type 101, raw IP) as a
// microsecond pcap.
func writeRawPcap(t *testing.T, path string, recs []pcapRecord) {
	t.Helper()
	f, err := os.Create(path)
	e2eMust(t, err)
	w := bufio.NewWriter(f)
	le := func(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
	w.Write(le(0xa1b2c3d4))
	w.Write([]byte{2, 0, 4, 0})
	w.Write(make([]byte, 8))
	w.Write(le(65535))
	w.Write(le(101))
	for _, r := range recs {
		w.Write(le(uint32(r.ns / 1e9)))
		w.Write(le(uint32(r.ns % 1e9 / 1e3)))
		w.Write(le(uint32(len(r.data))))
		w.Write(le(uint32(len(r.data))))
		w.Write(r.data)
	}
	e2eMust(t, w.Flush())
	e2eMust(t, f.Close())
}

// TestTopPicksMostActive: --top K lists the K sources with the most
// distinct probes, in the order of first seen, table, detail blocks and
// --json alike.
func TestTopPicksMostActive(t *testing.T) {
	bin := buildE2EBinary(t)
	path := filepath.Join(t.TempDir(), "three.pcap")
	writeActivityCapture(t, path)

	r := runBin(t, bin, nil, "analyze", "--top", "2", path)
	rows := regexp.MustCompile(`(?m)^  \d\d:\d\d:\d\d  (198\.51\.100\.\d)`).FindAllStringSubmatch(r.stdout, -1)
	blocks := regexp.MustCompile(`(?m)^SCANNER (\S+)`).FindAllStringSubmatch(r.stdout, -1)
	if r.code != 0 || len(rows) != 2 || rows[0][1] != "198.51.100.2" || rows[1][1] != "198.51.100.3" ||
		len(blocks) != 2 || blocks[0][1] != "198.51.100.2" || blocks[1][1] != "198.51.100.3" ||
		!strings.Contains(r.stdout, "SUSPECTS (2 of 3: the 2 with the most probes), by first seen") {
		t.Fatalf("exit %d, rows %q, blocks %q:\n%s", r.code, rows, blocks, r.stdout)
	}

	j := runBin(t, bin, nil, "analyze", "--json", "--top", "2", path)
	var rep struct {
		Suspects []struct {
			IP string `json:"ip"`
		} `json:"suspects"`
		SuspectsTotal int `json:"suspects_total"`
		Details       []struct {
			IP      string `json:"ip"`
			Targets []struct {
				IP string `json:"ip"`
			} `json:"targets"`
			Episodes []any `json:"episodes"`
		} `json:"details"`
	}
	e2eMust(t, json.Unmarshal([]byte(j.stdout), &rep))
	if rep.SuspectsTotal != 3 || len(rep.Suspects) != 2 || rep.Suspects[0].IP != "198.51.100.2" || len(rep.Details) != 2 ||
		rep.Details[1].IP != "198.51.100.3" || len(rep.Details[1].Targets) != 1 || rep.Details[1].Targets[0].IP != "10.0.0.5" ||
		len(rep.Details[0].Episodes) == 0 {
		t.Errorf("--json --top 2: %s", j.stdout)
	}

}

// TestHelpEveryCommand: --help, -h and -help print the command's usage
// on stdout and exit 0, whatever the environment; help COMMAND too.
func TestHelpEveryCommand(t *testing.T) {
	bin := buildE2EBinary(t)
	for _, c := range commands() {
		for _, flag := range []string{"--help", "-h", "-help"} {
			r := runBin(t, bin, []string{"PORT_HUNTER_MAX_PCAP_MB=lots"}, c.name, flag)
			if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "usage: porthunter "+c.name) {
				t.Errorf("%s %s: exit %d, stdout %q, stderr %q", c.name, flag, r.code, r.stdout, r.stderr)
			}
		}
		if r := runBin(t, bin, nil, "help", c.name); r.code != 0 || !strings.HasPrefix(r.stdout, "usage: porthunter "+c.name) {
			t.Errorf("help %s: exit %d, stdout %q", c.name, r.code, r.stdout)
		}
	}
	r := runBin(t, bin, nil, "analyze", "--help")
	for _, want := range []string{"-json", "-top", "-min-ports"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("analyze --help lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := runBin(t, bin, nil, "help"); !strings.Contains(r.stdout, "exit status:\n  0  success") {
		t.Errorf("help lacks the exit statuses:\n%s", r.stdout)
	}
}

// TestFilesAsNamed: analyze, carve and bench read a capture through a
// symbolic link that leaves its directory (current.pcap), and refuse a
// FIFO, a device, a directory and a file cut in its header in plain
// words, never naming an allowed directory.
func TestFilesAsNamed(t *testing.T) {
	bin := buildE2EBinary(t)
	dir := t.TempDir()
	e2eMust(t, os.Mkdir(filepath.Join(dir, "rotated"), 0o755))
	e2eMust(t, os.Mkdir(filepath.Join(dir, "live"), 0o755))
	demo, err := os.ReadFile("fixtures/demo.pcapng")
	e2eMust(t, err)
	e2eMust(t, os.WriteFile(filepath.Join(dir, "rotated", "demo-0001.pcapng"), demo, 0o644))
	current := filepath.Join(dir, "live", "current.pcap")
	e2eMust(t, os.Symlink(filepath.Join("..", "rotated", "demo-0001.pcapng"), current))
	e2eMust(t, os.WriteFile(filepath.Join(dir, "ten.pcapng"), demo[:10], 0o644))
	e2eMust(t, os.WriteFile(filepath.Join(dir, "cut.pcapng"), demo[:40], 0o644))
	stealth, err := os.ReadFile("fixtures/stealth.pcap")
	e2eMust(t, err)
	e2eMust(t, os.WriteFile(filepath.Join(dir, "ten.pcap"), stealth[:10], 0o644))
	fifo := filepath.Join(dir, "live.pcap")
	e2eMust(t, syscall.Mkfifo(fifo, 0o644))

	if r := runBin(t, bin, nil, "analyze", current); r.code != 0 || !strings.Contains(r.stdout, "203.0.113.66") {
		t.Errorf("analyze through a link: exit %d, %s", r.code, r.stderr)
	}
	if r := runBin(t, bin, nil, "bench", current); r.code != 0 || !strings.Contains(r.stdout, "packets    2643") {
		t.Errorf("bench through a link: exit %d, %s", r.code, r.stderr)
	}
	out := filepath.Join(dir, "carved.pcapng")
	if r := runBin(t, bin, nil, "carve", current, "--ip", "203.0.113.66", "-o", out); r.code != 0 || !strings.Contains(r.stderr, "carved") {
		t.Errorf("carve through a link: exit %d, %s", r.code, r.stderr)
	}
	for _, c := range []struct {
		file, want string
	}{
		{fifo, fifo + " is a named pipe (FIFO), not a capture file"},
		{"/dev/null", "/dev/null is a device, not a capture file"},
		{dir, dir + " is a directory, not a capture file"},
		{filepath.Join(dir, "ten.pcap"), "ten.pcap: file is 10 bytes; a pcap header needs 24"},
		{filepath.Join(dir, "ten.pcapng"), "ten.pcapng: file is 10 bytes; a pcapng section header needs 28"},
		{filepath.Join(dir, "cut.pcapng"), "cut.pcapng: file is 40 bytes; its pcapng section header block needs 60"},
		{filepath.Join(dir, "nope.pcap"), "nope.pcap does not exist"},
	} {
		for _, args := range [][]string{{"analyze", c.file}, {"bench", c.file}, {"carve", c.file, "--ip", "10.0.0.1", "-o", out + "2"}} {
			done := make(chan binRun, 1)
			go func() { done <- runBin(t, bin, nil, args...) }()
			select {
			case r := <-done:
				if r.code != 1 || !strings.Contains(r.stderr, c.want) || strings.Contains(r.stderr, "allowed") {
					t.Errorf("%q: exit %d, stderr %q, want 1 and %q", args, r.code, r.stderr, c.want)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("%q did not return: it waits on the FIFO", args)
			}
		}
	}
}

// TestTerminal runs the binary on a terminal (script(1) gives it one):
// colours unless NO_COLOR, and a progress bar on stderr for analyze,
// carve and bench, erased when done; none when stderr is a file.
func TestTerminal(t *testing.T) {
	bin := buildE2EBinary(t)
	script, err := exec.LookPath("script")
	if err != nil || exec.Command(script, "-qec", "true", "/dev/null").Run() != nil {
		t.Skip("no script(1) of util-linux to give the binary a terminal")
	}
	dir := t.TempDir()
	big := filepath.Join(dir, "big.pcap")
	writeBigCapture(t, big, 1_500_000)
	onTTY := func(env []string, cmdline string) string {
		t.Helper()
		cmd := exec.Command(script, "-qec", cmdline, "/dev/null")
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "TERM=xterm", "BIN=" + bin}, env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmdline, err, out)
		}
		return string(out)
	}
	out := onTTY(nil, `"$BIN" analyze fixtures/stealth.pcap`)
	if !strings.Contains(out, "\033[31m198.51.100.7\033[0m") || !strings.Contains(out, "\033[1mSUSPECTS") {
		t.Errorf("no colours on a terminal:\n%q", out)
	}
	if out := onTTY([]string{"NO_COLOR=1"}, `"$BIN" analyze fixtures/stealth.pcap`); strings.Contains(out, "\033[3") {
		t.Errorf("colours with NO_COLOR:\n%q", out)
	}
	for _, cmdline := range []string{
		`"$BIN" analyze ` + big + ` >/dev/null`,
		`"$BIN" bench ` + big + ` >/dev/null`,
		`"$BIN" carve ` + big + ` --ip 198.51.100.0 -o ` + filepath.Join(dir, "c.pcapng"),
	} {
		out := onTTY(nil, cmdline)
		if !regexp.MustCompile(`\r(reading|carving) big\.pcap  \[[=> ]+\] +\d+%`).MatchString(out) || !strings.Contains(out, "\r\033[K") {
			t.Errorf("%s: no progress bar on a terminal:\n%q", cmdline, out)
		}
		os.Remove(filepath.Join(dir, "c.pcapng"))
		quiet := onTTY(nil, cmdline+" 2>"+filepath.Join(dir, "stderr"))
		stderr, _ := os.ReadFile(filepath.Join(dir, "stderr"))
		if strings.Contains(quiet, "[=") || strings.Contains(string(stderr), "\r") {
			t.Errorf("%s: a progress bar with stderr in a file: %q, %q", cmdline, quiet, stderr)
		}
		os.Remove(filepath.Join(dir, "c.pcapng"))
	}
}
