package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"porthunter/pcapng"
)

// The terminal commands as a user and a pipeline see them. Exit codes,
// terminals and signals are tested on the built binary (buildE2EBinary,
// runBin); the reports and exports of every fixture through run, the
// function main calls (runMain), with buffers for streams.

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

// runMain runs the command line in this process through run, the
// function main calls, with only env in its environment; stdout and
// stderr are buffers, as a pipe is not a terminal. It answers what
// runBin answers, without a process per run: the export and report
// checks make hundreds of runs, and a process costs more than the
// analysis of a fixture. TestExitCodes, TestTerminal and the e2e tests
// keep the real process.
func runMain(t *testing.T, env []string, args ...string) binRun {
	t.Helper()
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr, func(k string) string { return vars[k] })
	return binRun{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// checkGolden compares got with testdata/golden/name, or rewrites it
// under -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden := filepath.Join("testdata", "golden", name)
	if *update {
		e2eMust(t, os.MkdirAll(filepath.Dir(golden), 0o755))
		e2eMust(t, os.WriteFile(golden, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (create with -update)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (rewrite with go test . -run %s -update):\n--- got\n%s\n--- want\n%s", golden,
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
	t.Parallel() // analyzes fixtures only; no timing assertion
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
				r := runMain(t, c.env, append([]string{"analyze", "fixtures/" + fx}, c.args...)...)
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
		r := runMain(t, []string{"COLUMNS=80"}, "analyze", "--wide", "fixtures/ipv6_scan.pcapng")
		if r.code != 0 || strings.Contains(r.stdout, "…") || !strings.Contains(r.stdout, "2026-03-14T09:26:53.589793123Z") {
			t.Fatalf("exit %d, stdout:\n%s", r.code, r.stdout)
		}
		checkGolden(t, "analyze-ipv6_scan.pcapng.wide.txt", r.stdout)
	})
}

// exportFormats are analyze's exports and their golden files' suffixes.
var exportFormats = []struct{ format, ext string }{
	{"ndjson", "ndjson"}, {"csv", "csv"}, {"eve", "eve.json"}, {"ecs", "ecs.json"}, {"zeek", "notice.log"},
}

// exportFixtures are the captures whose exports are golden: a port scan,
// a sweep, a block scan, a ping sweep, a distributed scan, IPv6 and UDP.
var exportFixtures = []string{"stealth.pcap", "horizontal.pcap", "distributed.pcap", "ipv6_scan.pcapng", "udp_scan.pcap",
	"lab/nmap_block.pcap", "lab/nmap_pingsweep.pcap"}

// TestExportGolden: each export of each fixture equals
// testdata/golden/export-<fixture>.<ext>.
func TestExportGolden(t *testing.T) {
	t.Parallel() // analyzes fixtures only; no timing assertion
	for _, fx := range exportFixtures {
		for _, f := range exportFormats {
			t.Run(fx+"/"+f.format, func(t *testing.T) {
				r := runMain(t, nil, "analyze", "--format", f.format, "fixtures/"+fx)
				if r.code != 0 || r.stderr != "" {
					t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
				}
				checkGolden(t, fmt.Sprintf("export-%s.%s", strings.ReplaceAll(fx, "/", "-"), f.ext), r.stdout)
			})
		}
	}
}

// allCaptures is every capture of fixtures/ and fixtures/lab/.
func allCaptures(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"fixtures/*.pcap*", "fixtures/lab/*.pcap*"} {
		m, err := filepath.Glob(pat)
		e2eMust(t, err)
		for _, f := range m {
			if !strings.HasSuffix(f, ".json") {
				out = append(out, f)
			}
		}
	}
	return out
}

// exportLines is the export of every capture in format, the lines of all.
func exportLines(t *testing.T, format string) []string {
	t.Helper()
	var lines []string
	for _, f := range allCaptures(t) {
		r := runMain(t, nil, "analyze", "--format", format, f)
		if r.code != 0 {
			t.Fatalf("%s: exit %d: %s", f, r.code, r.stderr)
		}
		if r.stdout != "" {
			lines = append(lines, strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")...)
		}
	}
	return lines
}

// fieldDefs reads testdata/<name>: field path -> type columns, skipping
// comments.
func fieldDefs(t *testing.T, name string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	e2eMust(t, err)
	defs := map[string][]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		cols := strings.Split(l, "\t")
		key := cols[0]
		if key == "allowed" || key == "expected_event_types" {
			key += " " + cols[1]
			cols = cols[1:]
		}
		defs[key] = cols[1:]
	}
	return defs
}

// flatten walks a decoded JSON document: every leaf (a scalar or an
// array) under its dotted path.
func flatten(prefix string, v any, out map[string]any) {
	m, ok := v.(map[string]any)
	if !ok {
		out[prefix] = v
		return
	}
	for k, x := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		flatten(p, x, out)
	}
}

// TestEVESchema: every eve record of every capture uses only fields of
// Suricata's EVE schema (testdata/eve-fields.tsv), with their types, and
// a timestamp of the schema's pattern.
func TestEVESchema(t *testing.T) {
	t.Parallel() // analyzes fixtures only; no timing assertion
	defs := fieldDefs(t, "eve-fields.tsv")
	tsPattern := regexp.MustCompile(defs["timestamp"][1])
	lines := exportLines(t, "eve")
	if len(lines) < 20 {
		t.Fatalf("%d eve records over the fixtures", len(lines))
	}
	for _, l := range lines {
		var doc map[string]any
		dec := json.NewDecoder(strings.NewReader(l))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("not JSON: %v: %s", err, l)
		}
		leaves := map[string]any{}
		flatten("", doc, leaves)
		for path, v := range leaves {
			typ := ""
			if strings.HasPrefix(path, "alert.metadata.") {
				typ = defs["alert.metadata.*"][0]
			} else if d, ok := defs[path]; ok {
				typ = d[0]
			} else {
				t.Errorf("field %s is not in Suricata's EVE schema: %s", path, l)
				continue
			}
			if !jsonTypeIs(v, typ) {
				t.Errorf("field %s = %v (%T), want %s", path, v, v, typ)
			}
		}
		if doc["event_type"] != "alert" || !tsPattern.MatchString(doc["timestamp"].(string)) {
			t.Errorf("event_type %v, timestamp %v", doc["event_type"], doc["timestamp"])
		}
		for _, k := range []string{"src_ip", "dest_ip"} {
			if s, ok := doc[k].(string); ok {
				if _, err := netip.ParseAddr(s); err != nil {
					t.Errorf("%s %q", k, s)
				}
			}
		}
	}
}

// jsonTypeIs reports whether a decoded JSON value has a JSON Schema type
// (or "array of T").
func jsonTypeIs(v any, typ string) bool {
	if item, ok := strings.CutPrefix(typ, "array of "); ok {
		a, ok := v.([]any)
		if !ok || len(a) == 0 {
			return false
		}
		for _, x := range a {
			if !jsonTypeIs(x, item) {
				return false
			}
		}
		return true
	}
	switch typ {
	case "string":
		_, ok := v.(string)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		_, err := n.Int64()
		return ok && err == nil
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

// TestECSFields: every ecs document of every capture uses ECS fields
// (testdata/ecs-fields.tsv) with values of their type, arrays where ECS
// normalizes to arrays, allowed categorization values, and puts
// everything else under porthunter.*; the ATT&CK techniques are those a
// port scan, a sweep and a ping sweep map to.
func TestECSFields(t *testing.T) {
	t.Parallel() // analyzes fixtures only; no timing assertion
	defs := fieldDefs(t, "ecs-fields.tsv")
	seen := map[string]bool{}
	for _, l := range exportLines(t, "ecs") {
		var doc map[string]any
		dec := json.NewDecoder(strings.NewReader(l))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("not JSON: %v: %s", err, l)
		}
		leaves := map[string]any{}
		flatten("", doc, leaves)
		for path, v := range leaves {
			if strings.HasPrefix(path, "porthunter.") {
				continue
			}
			d, ok := defs[path]
			if !ok {
				t.Errorf("field %s is not an ECS field: %s", path, l)
				continue
			}
			if err := ecsValueIs(v, d); err != nil {
				t.Errorf("field %s = %v: %v", path, v, err)
			}
		}
		kind := leaves["event.kind"].(string)
		if !slices.Contains(strings.Split(defs["allowed event.kind"][0], ","), kind) {
			t.Errorf("event.kind %q not allowed", kind)
		}
		for _, c := range leaves["event.category"].([]any) {
			if !slices.Contains(strings.Split(defs["allowed event.category"][0], ","), c.(string)) {
				t.Errorf("event.category %q not allowed", c)
			}
			for _, ty := range leaves["event.type"].([]any) {
				if !slices.Contains(strings.Split(defs["expected_event_types "+c.(string)][0], ","), ty.(string)) {
					t.Errorf("event.type %q is not expected with event.category %q", ty, c)
				}
			}
		}
		if ids, ok := leaves["threat.technique.id"].([]any); ok {
			for _, id := range ids {
				seen[id.(string)] = true
			}
		}
		if ids, ok := leaves["threat.technique.subtechnique.id"].([]any); ok {
			for _, id := range ids {
				seen[id.(string)] = true
			}
		}
	}
	for _, id := range []string{"T1046", "T1595", "T1595.001", "T1018"} {
		if !seen[id] {
			t.Errorf("no fixture gave ATT&CK %s (seen %v)", id, seen)
		}
	}
}

// ecsValueIs checks a decoded JSON value against an ECS type and its
// normalization (def: type[, "array"]).
func ecsValueIs(v any, def []string) error {
	arr := len(def) > 1 && def[1] == "array"
	items := []any{v}
	if a, ok := v.([]any); ok {
		if !arr {
			return fmt.Errorf("an array for a field ECS does not normalize to one")
		}
		items = a
	} else if arr {
		return fmt.Errorf("ECS normalizes this field to an array")
	}
	for _, x := range items {
		switch def[0] {
		case "keyword", "match_only_text":
			if _, ok := x.(string); !ok {
				return fmt.Errorf("not a string")
			}
		case "ip":
			s, _ := x.(string)
			if _, err := netip.ParseAddr(s); err != nil {
				return err
			}
		case "date":
			s, _ := x.(string)
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				return err
			}
		case "long":
			n, _ := x.(json.Number)
			if _, err := n.Int64(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("type %s not checked", def[0])
		}
	}
	return nil
}

// TestZeekNotices: every notice.log has Zeek's header, rows of as many
// columns as #fields, values of the column types, and the scan notes.
func TestZeekNotices(t *testing.T) {
	t.Parallel() // analyzes fixtures only; no timing assertion
	rows := 0
	for _, f := range allCaptures(t) {
		r := runMain(t, nil, "analyze", "--format", "zeek", f)
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if r.code != 0 || len(lines) < 9 || lines[0] != `#separator \x09` || lines[4] != "#path\tnotice" ||
			!strings.HasPrefix(lines[len(lines)-1], "#close\t") {
			t.Fatalf("%s: exit %d:\n%s", f, r.code, r.stdout)
		}
		fields := strings.Split(strings.TrimPrefix(lines[6], "#fields\t"), "\t")
		types := strings.Split(strings.TrimPrefix(lines[7], "#types\t"), "\t")
		if len(fields) != len(types) || fields[0] != "ts" || types[0] != "time" {
			t.Fatalf("%s: header %q %q", f, lines[6], lines[7])
		}
		for _, l := range lines[8 : len(lines)-1] {
			rows++
			vals := strings.Split(l, "\t")
			if len(vals) != len(fields) {
				t.Fatalf("%s: %d values for %d fields: %q", f, len(vals), len(fields), l)
			}
			for i, v := range vals {
				if err := zeekValueIs(v, types[i]); err != nil {
					t.Errorf("%s: %s = %q: %v", f, fields[i], v, err)
				}
			}
			note := vals[slices.Index(fields, "note")]
			if note != "Scan::Port_Scan" && note != "Scan::Address_Scan" {
				t.Errorf("%s: note %q", f, note)
			}
		}
	}
	if rows < 20 {
		t.Errorf("%d notices over the fixtures", rows)
	}
}

func zeekValueIs(v, typ string) error {
	if v == "-" || v == "(empty)" && strings.HasPrefix(typ, "set[") {
		return nil
	}
	var err error
	switch typ {
	case "time", "interval", "double":
		_, err = strconv.ParseFloat(v, 64)
	case "addr":
		_, err = netip.ParseAddr(v)
	case "port", "count":
		_, err = strconv.ParseUint(v, 10, 64)
	}
	return err
}

// TestCSVExport: the csv export of every capture parses, under its
// header, one row per listed suspect.
func TestCSVExport(t *testing.T) {
	t.Parallel() // analyzes fixtures only; no timing assertion
	for _, f := range allCaptures(t) {
		r := runMain(t, nil, "analyze", "--format", "csv", f)
		recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
		if r.code != 0 || err != nil || len(recs) == 0 || !slices.Equal(recs[0], csvHeader) {
			t.Fatalf("%s: exit %d, %v:\n%s", f, r.code, err, r.stdout)
		}
		j := runMain(t, nil, "analyze", "--json", "--top", "1000", f)
		var rep struct {
			SuspectsTotal int `json:"suspects_total"`
		}
		e2eMust(t, json.Unmarshal([]byte(j.stdout), &rep))
		if len(recs)-1 != rep.SuspectsTotal {
			t.Errorf("%s: %d rows, %d suspects", f, len(recs)-1, rep.SuspectsTotal)
		}
	}
}

// TestExitCodes: 0 nothing matched, 1 runtime error, 2 usage error, 3
// --fail-on matched (the output is still printed).
func TestExitCodes(t *testing.T) {
	t.Parallel() // no time bound of its own: runs beside the other such tests
	bin := buildE2EBinary(t)
	for _, c := range []struct {
		args   []string
		code   int
		stdout string // a substring, "" for none
		stderr string
	}{
		{[]string{"analyze", "fixtures/stealth.pcap"}, 0, "SUSPECTS (2)", ""},
		{[]string{"analyze", "--fail-on", "suspects", "fixtures/stealth.pcap"}, 3, "SUSPECTS (2)", "--fail-on suspects: 2 listed"},
		{[]string{"analyze", "--fail-on", "suspects", "--format", "ndjson", "fixtures/horizontal.pcap"}, 3, `"src":"192.0.2.200"`, "1 listed"},
		{[]string{"analyze", "--fail-on", "suspects", "--top", "1", "fixtures/distributed.pcap"}, 3, "SUSPECTS (1 of 12", "12 listed"},
		{[]string{"analyze", "--fail-on", "suspects", "fixtures/slow_below_threshold.pcap"}, 0, "SUSPECTS (0)", ""},
		// stealth.pcap: two inbound nmap scans that found nothing open,
		// score 1 each (tool_fingerprint): low.
		{[]string{"analyze", "--fail-on", "priority>=medium", "fixtures/stealth.pcap"}, 0, "SUSPECTS (2)", ""},
		{[]string{"analyze", "--fail-on", "priority>=low", "fixtures/stealth.pcap"}, 3, "SUSPECTS (2)", "--fail-on priority>=low: 198.51.100.7 has priority low"},
		// demo.pcapng: 203.0.113.66 found 22 (+3), 80 and 443 (+1), nmap
		// (+1), inbound (+0): 5, high; with its network home, internal
		// (+3): 8, critical.
		{[]string{"analyze", "--fail-on", "priority>=high", "fixtures/demo.pcapng"}, 3, "  high      09:26:55  203.0.113.66", "has priority high"},
		{[]string{"analyze", "--fail-on", "priority>=critical", "fixtures/demo.pcapng"}, 0, "high (score 5), inbound", ""},
		{[]string{"analyze", "--fail-on", "priority>=critical", "--home", "10.0.0.0/8,203.0.113.0/24", "fixtures/demo.pcapng"}, 3,
			"critical (score 8), internal", "203.0.113.66 has priority critical"},
		{[]string{"analyze", "--fail-on", "priority>=urgent", "fixtures/stealth.pcap"}, 2, "", "LEVEL one of low, medium, high, critical"},
		{[]string{"analyze", "--fail-on", "priority=high", "fixtures/stealth.pcap"}, 2, "", "write priority>=LEVEL"},
		{[]string{"analyze", "--home", "10.0.0.0/33", "fixtures/stealth.pcap"}, 2, "", "--home \"10.0.0.0/33\""},
		{[]string{"analyze", "--known", "fixtures/missing.txt", "fixtures/stealth.pcap"}, 2, "", "--known \"fixtures/missing.txt\""},
		{[]string{"analyze", "--fail-on", "everything", "fixtures/stealth.pcap"}, 2, "", "the condition is suspects or priority>=LEVEL"},
		{[]string{"analyze", "--format", "xml", "fixtures/stealth.pcap"}, 2, "", "--format \"xml\""},
		{[]string{"analyze", "--json", "--format", "csv", "fixtures/stealth.pcap"}, 2, "", "disagree"},
		{[]string{"analyze", "--width", "20", "fixtures/stealth.pcap"}, 2, "", "--width 20"},
		{[]string{"analyze", "--nope", "fixtures/stealth.pcap"}, 2, "", "flag provided but not defined: -nope"},
		{[]string{"analyze", "fixtures/missing.pcap"}, 1, "", "fixtures/missing.pcap does not exist"},
		{[]string{"analyze", "--fail-on", "suspects", "fixtures/missing.pcap"}, 1, "", "does not exist"},
	} {
		r := runBin(t, bin, nil, c.args...)
		if r.code != c.code || !strings.Contains(r.stdout, c.stdout) || !strings.Contains(r.stderr, c.stderr) {
			t.Errorf("%q: exit %d, stdout %.200q, stderr %q; want exit %d, %q, %q", c.args, r.code, r.stdout, r.stderr, c.code,
				c.stdout, c.stderr)
		}
		if c.code == 2 && !strings.Contains(r.stderr, "usage: porthunter analyze") {
			t.Errorf("%q: a usage error without the usage: %q", c.args, r.stderr)
		}
	}
}

// TestHelpEveryCommand: --help, -h and -help print the command's usage
// on stdout and exit 0, whatever the environment; help COMMAND too.
func TestHelpEveryCommand(t *testing.T) {
	t.Parallel() // no time bound of its own: runs beside the other such tests
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
	for _, want := range []string{"-fail-on", "-format", "-width", "-wide", "ndjson, csv, eve, ecs, zeek", "3  analyze --fail-on matched"} {
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
	t.Parallel() // no time bound of its own: runs beside the other such tests
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

// writeActivityCapture writes a capture of three vertical SYN scanners
// whose order of first appearance is not their order of activity:
// 198.51.100.1 starts first with 12 ports, 198.51.100.2 second with 40,
// 198.51.100.3 third with 25.
func writeActivityCapture(t *testing.T, path string) {
	var recs []pcapng.Record
	ts := int64(1_773_480_000) * 1e9
	for i, s := range []struct {
		src   string
		ports int
	}{{"198.51.100.1", 12}, {"198.51.100.2", 40}, {"198.51.100.3", 25}} {
		for p := 1; p <= s.ports; p++ {
			at := ts + int64(i)*int64(time.Second) + int64(p)*int64(10*time.Millisecond)
			data := ipv4TCP(netip.MustParseAddr(s.src), netip.MustParseAddr("10.0.0.5"), 40000, uint16(p), 0x02)
			recs = append(recs, pcapng.Record{LinkType: pcapng.LinkRaw, Timestamp: at, Precision: 6, Data: data, OrigLen: len(data)})
		}
	}
	slices.SortFunc(recs, func(a, b pcapng.Record) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
	writeCapture(t, path, recs)
}

// TestTopPicksMostActive: --top K lists the K sources of the highest
// priority, most distinct probes first among equals (all three are low
// here: inbound, nothing open, no tool), in the order of first seen,
// table, detail blocks, --json and exports alike; without --top the
// exports list all.
func TestTopPicksMostActive(t *testing.T) {
	bin := buildE2EBinary(t)
	path := filepath.Join(t.TempDir(), "three.pcap")
	writeActivityCapture(t, path)

	r := runBin(t, bin, nil, "analyze", "--top", "2", path)
	rows := regexp.MustCompile(`(?m)^  low       \d\d:\d\d:\d\d  (198\.51\.100\.\d)`).FindAllStringSubmatch(r.stdout, -1)
	blocks := regexp.MustCompile(`(?m)^SCANNER (\S+)`).FindAllStringSubmatch(r.stdout, -1)
	if r.code != 0 || len(rows) != 2 || rows[0][1] != "198.51.100.2" || rows[1][1] != "198.51.100.3" ||
		len(blocks) != 2 || blocks[0][1] != "198.51.100.2" || blocks[1][1] != "198.51.100.3" ||
		!strings.Contains(r.stdout, "SUSPECTS (2 of 3: the 2 of the highest priority), by priority, then first seen") {
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

	all := runBin(t, bin, nil, "analyze", "--format", "ndjson", path)
	two := runBin(t, bin, nil, "analyze", "--format", "ndjson", "--top", "2", path)
	if n := strings.Count(all.stdout, "\n"); n != 3 || !strings.HasPrefix(all.stdout, `{"first_seen":"2026-03-14T09:20:00.010000Z"`) {
		t.Errorf("ndjson without --top: %d lines:\n%s", n, all.stdout)
	}
	if n := strings.Count(two.stdout, "\n"); n != 2 || strings.Contains(two.stdout, "198.51.100.1") {
		t.Errorf("ndjson --top 2: %d lines:\n%s", n, two.stdout)
	}
}

// TestTerminal runs the binary on a terminal (script(1) gives it one):
// colours unless NO_COLOR, and a progress bar on stderr for analyze,
// carve and bench, erased when done; none when stderr is a file.
func TestTerminal(t *testing.T) {
	t.Parallel() // runs the binary or reads captures only; no timing assertion
	bin := buildE2EBinary(t)
	script, err := exec.LookPath("script")
	if err != nil || exec.Command(script, "-qec", "true", "/dev/null").Run() != nil {
		t.Skip("no script(1) of util-linux to give the binary a terminal")
	}
	dir := t.TempDir()
	big := filepath.Join(dir, "big.pcap")
	// Progress is reported every 4096 records and the first report draws
	// the bar: 100,000 packets draw it about 24 times.
	writeBigCapture(t, big, 100_000)
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

// TestDemoTranscript: make demo prints each request and a summary of its
// answer, in the order asked, then the terminal report
// (testdata/golden/demo.txt).
func TestDemoTranscript(t *testing.T) {
	bin := buildE2EBinary(t)
	cmd := exec.Command("go", "run", "./fixtures/demo", bin)
	cmd.Env = append(os.Environ(), "COLUMNS=", "NO_COLOR=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go run ./fixtures/demo: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	last := -1
	for _, step := range []string{"-> initialize", "-> tools/list", "-> tools/call scan_overview", "-> tools/call list_suspects",
		"-> tools/call first_scan_event", "-> tools/call scanner_detail", "-> tools/call enrich_ip", "<- error unauthorized",
		"<- error path_outside_allowed_dir", "SUSPECTS (1), by priority, then first seen"} {
		i := strings.Index(out, step)
		if i <= last {
			t.Errorf("%q missing or out of order", step)
		}
		last = i
	}
	if strings.Contains(out, `"jsonrpc"`) {
		t.Errorf("raw JSON-RPC in the transcript:\n%s", out)
	}
	checkGolden(t, "demo.txt", out)
}
