package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"porthunter/capture"
	"porthunter/internal/testcap"
	"porthunter/mcp"
	"porthunter/pcapng"
	"porthunter/scan"
)

// readAllRecords reads every record of a capture, copying the data.
func readAllRecords(t *testing.T, path string) []pcapng.Record {
	t.Helper()
	recs, err := testcap.ReadAll(path)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func analyzeJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), append([]string{"analyze", "--json"}, args...), strings.NewReader(""), &out, &errb,
		func(string) string { return "" }); code != 0 {
		t.Fatalf("analyze %v: exit %d: %s", args, code, errb.String())
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAnalyzeRotatedSet splits demo.pcapng into two files at frame
// 1300, names them on the command line in reverse order, and expects the
// analysis of the one capture: same suspects and first event (frames
// numbered on across files), same packet count.
func TestAnalyzeRotatedSet(t *testing.T) {
	recs := readAllRecords(t, "fixtures/demo.pcapng")
	const split = 1300
	if len(recs) <= split {
		t.Fatalf("demo.pcapng has %d records", len(recs))
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "part-b.pcap"), filepath.Join(dir, "part-a.pcap") // names sort against time order
	writeCapture(t, a, recs[:split-1])
	writeCapture(t, b, recs[split-1:])

	whole := analyzeJSON(t, "fixtures/demo.pcapng")
	set := analyzeJSON(t, b, a)
	for _, k := range []string{"suspects", "first_event"} {
		if !reflect.DeepEqual(whole[k], set[k]) {
			w, _ := json.Marshal(whole[k])
			s, _ := json.Marshal(set[k])
			t.Errorf("%s differs:\nwhole %s\nset   %s", k, w, s)
		}
	}
	ow, ovs := whole["overview"].(map[string]any), set["overview"].(map[string]any)
	if ow["total_pkts"] != ovs["total_pkts"] || !reflect.DeepEqual(ow["scanners"], ovs["scanners"]) {
		t.Errorf("overview differs: %v/%v packets", ow["total_pkts"], ovs["total_pkts"])
	}
	capr := ovs["capture"].(map[string]any)
	files, _ := capr["files"].([]any)
	if len(files) != 2 {
		t.Fatalf("capture.files = %v", capr["files"])
	}
	f0, f1 := files[0].(map[string]any), files[1].(map[string]any)
	if f0["name"] != a || f1["name"] != b || f1["first_frame"] != float64(split) || f0["frames"] != float64(split-1) {
		t.Errorf("files = %v", files)
	}
	if capr["sha256"] != "" || f0["sha256"] == "" || f0["format"] != "pcapng" {
		t.Errorf("capture = %v", capr)
	}
	if _, ok := whole["overview"].(map[string]any)["capture"].(map[string]any)["files"]; ok {
		t.Error("one file: capture.files present")
	}
}

// TestAnalyzeNoColourOffTerminal: a report written to a buffer (not a
// terminal) has no escape sequences, whatever NO_COLOR says; a style that
// is on colours headings and addresses without moving a column.
func TestAnalyzeNoColourOffTerminal(t *testing.T) {
	for _, env := range []string{"", "1"} {
		var out bytes.Buffer
		code := run(context.Background(), []string{"analyze", "fixtures/stealth.pcap"}, strings.NewReader(""), &out, io.Discard,
			func(k string) string {
				if k == "NO_COLOR" {
					return env
				}
				return ""
			})
		if code != 0 || strings.Contains(out.String(), "\033") || !strings.Contains(out.String(), "SUSPECTS (2)") {
			t.Errorf("NO_COLOR=%q: exit %d, output %q", env, code, out.String())
		}
	}
	on := style{on: true}
	if got := on.suspect("198.51.100.7"); got != "\033[31m198.51.100.7\033[0m" {
		t.Errorf("suspect = %q", got)
	}
	if (style{}).heading("SUSPECTS") != "SUSPECTS" {
		t.Error("style off still decorates")
	}
	rep := analyzeReport(t, "fixtures/distributed.pcap")
	var plain, coloured strings.Builder
	renderReport(&plain, rep, newView(80, false, style{}, rep.Overview))
	renderReport(&coloured, rep, newView(80, false, on, rep.Overview))
	if !strings.Contains(coloured.String(), "\033[31m203.0.113.101\033[0m") {
		t.Errorf("addresses not coloured:\n%s", coloured.String())
	}
	if got := sgrPattern.ReplaceAllString(coloured.String(), ""); got != plain.String() {
		t.Errorf("colours move the text:\n--- coloured, escapes removed\n%s\n--- plain\n%s", got, plain.String())
	}
}

// sgrPattern matches the report's colour sequences.
var sgrPattern = regexp.MustCompile("\033\\[[0-9;]*m")

// analyzeReport is the report analyze builds for file with the default
// flags.
func analyzeReport(t *testing.T, files ...string) *report {
	t.Helper()
	res, err := capture.ReadFiles(context.Background(), testConfig(t, ".", nil), files, capture.Window{}, openCaptureCLI, nil)
	if err != nil {
		t.Fatal(err)
	}
	def := mcp.Defaults[mcp.OverviewArgs]()
	rep, err := buildReport(context.Background(), res, strings.Join(files, ","), def.TimeWindowS, def.TopK,
		mcp.Defaults[mcp.SuspectsArgs]().Thresholds(), scan.Site{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestSuspectsTableCapsOpenPorts: a scanner that found many ports open
// must not widen the suspects table: its cell is cut at a comma.
func TestSuspectsTableCapsOpenPorts(t *testing.T) {
	var open []string
	for p := 2; p <= 600; p += 2 { // 300 ports no range merges
		open = append(open, strconv.Itoa(p))
	}
	rate := 10.0
	rep := &report{
		Overview: &mcp.Overview{SuspectedPatterns: []string{"syn_scan"}, Capture: &capture.Report{}},
		Suspects: []mcp.Suspect{{Priority: "high", IP: netip.MustParseAddr("192.0.2.7"), Kind: "vertical", DistinctPorts: 300, DistinctHosts: 1,
			Probes: 300, RatePPS: &rate, FlagsSeen: []string{"SYN"}, OpenPorts: mcp.Ports(strings.Join(open, ","))}},
		Details:       []*mcp.ScannerDetail{nil},
		SuspectsTotal: 1,
	}
	for _, width := range []int{80, 120} {
		var b strings.Builder
		renderReport(&b, rep, newView(width, false, style{}, rep.Overview))
		out := b.String()
		if !regexp.MustCompile(`  2,[0-9,]*(…|\.\.\. \(292 more\)) +SYN`).MatchString(out) {
			t.Fatalf("width %d: open ports not cut at a comma:\n%s", width, out)
		}
		for _, line := range strings.Split(out, "\n") {
			if textWidth(line) > width {
				t.Fatalf("width %d: line of %d columns: %q", width, textWidth(line), line)
			}
		}
	}
}

// TestGzipNotCaptureNamesNoBytes: a gzip file whose content is not a
// capture is refused without echoing the content's first bytes.
func TestGzipNotCaptureNamesNoBytes(t *testing.T) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte("S3CRET_TOKEN=hunter2\n"))
	zw.Close()
	path := filepath.Join(t.TempDir(), "secret.gz")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stderr := runCLI("analyze", path)
	if code != exitFatal || !strings.Contains(stderr, "not a pcap or pcapng capture") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, leak := range []string{"S3CR", "53 33", "5333"} {
		if strings.Contains(stderr, leak) {
			t.Errorf("stderr %q echoes the content's first bytes (%q)", stderr, leak)
		}
	}
}

// TestAnalyzeWindow: --since and --until restrict the analysis as a tool
// call's since and until do. The frames keep the whole file's numbers:
// the demo scan's first probe is frame 229 with or without a window that
// holds it. A window that ends before the scan holds none. Bad bounds are
// usage errors.
func TestAnalyzeWindow(t *testing.T) {
	analyze := func(args ...string) (int, map[string]any, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"analyze", "--json"}, args...), strings.NewReader(""), &stdout, &stderr,
			func(string) string { return "" })
		var rep map[string]any
		if code == 0 {
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("%v: %v", args, err)
			}
		}
		return code, rep, stderr.String()
	}
	code, rep, stderr := analyze("--since", "2026-03-14T09:26:55.5Z", "--until", "2026-03-14T09:26:56Z", "fixtures/demo.pcapng")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	fe, _ := rep["first_event"].(map[string]any)
	win, _ := rep["overview"].(map[string]any)["capture"].(map[string]any)["window"].(map[string]any)
	if fe["frame"] != 229.0 || fe["ts"] != "2026-03-14T09:26:55.591027Z" || win["since"] != "2026-03-14T09:26:55.5Z" ||
		win["records_before"] != 218.0 || win["records_after"] != 1620.0 {
		t.Errorf("first event %v, window %v; want frame 229 and 218 records before, 1620 after", fe, win)
	}
	if code, rep, _ := analyze("--until", "2026-03-14T09:26:55Z", "fixtures/demo.pcapng"); code != 0 || rep["suspects_total"] != 0.0 {
		t.Errorf("a window before the scan: exit %d, %v suspects", code, rep["suspects_total"])
	}
	for _, args := range [][]string{{"--since", "yesterday"}, {"--since", "2026-03-14T10:00:00Z", "--until", "2026-03-14T09:00:00Z"}} {
		if code, _, stderr := analyze(append(args, "fixtures/demo.pcapng")...); code != 2 || !strings.Contains(stderr, "--since") {
			t.Errorf("%v: exit %d, %q; want a usage error about --since", args, code, stderr)
		}
	}
}
