package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 19 through the binary: direction, priority, known scanners,
// ignore, sort and an explicit min_rate_pps, in MCP answers and in
// analyze. The expected values are computed by hand from the fixtures:
//
//   - demo.pcapng: 203.0.113.66 nmap-scans 1000 ports of 10.0.0.5 and
//     finds 22, 80 and 443 open: open_admin 3 + open_other 1 +
//     tool_fingerprint 1 = 5, high, inbound; with 203.0.113.0/24 home it
//     is internal (+3): 8, critical.
//   - stealth.pcap: 198.51.100.7 (FIN/NULL/Xmas/Maimon, 3.164/s, listed by
//     the sequential test among others) and 198.51.100.8 (ACK, 76.27/s);
//     both nmap, nothing open: 1, low.

// triageDir is an allowed directory holding the fixtures the tests use
// and a known-scanners file.
func triageDir(t *testing.T, known string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"demo.pcapng", "stealth.pcap", "slow_below_threshold.pcap"} {
		b, err := os.ReadFile(filepath.Join("fixtures", f))
		e2eMust(t, err)
		e2eMust(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	e2eMust(t, os.WriteFile(filepath.Join(dir, "known.txt"), []byte(known), 0o644))
	return dir
}

func TestTriageThroughBinary(t *testing.T) {
	bin := buildE2EBinary(t)
	dir := triageDir(t, "# ours\n198.51.100.8\tQualys appliance\n\n192.0.2.0/24 Censys research\n")
	call := func(id int, args map[string]any) string {
		args["auth_token"] = "TEST_TOKEN"
		return e2eToolCall(id, "list_suspects", args)
	}
	env := []string{"PORT_HUNTER_ALLOWED_DIR=" + dir, "PORT_HUNTER_KNOWN_SCANNERS=known.txt"}
	answers, _ := e2eSession(t, bin, env, []string{e2eInitLine,
		call(1, map[string]any{"path": "demo.pcapng"}),
		call(2, map[string]any{"path": "demo.pcapng", "home_nets": []string{"10.0.0.0/8", "203.0.113.0/24"}}),
		call(3, map[string]any{"path": "demo.pcapng", "ignore": []string{"203.0.113.66"}}),
		call(4, map[string]any{"path": "stealth.pcap", "min_rate_pps": 10}),
		call(5, map[string]any{"path": "demo.pcapng", "home_nets": []string{"10.0.0.0/33"}}),
		call(6, map[string]any{"path": "stealth.pcap", "sort": "first_seen"}),
		call(7, map[string]any{"path": "slow_below_threshold.pcap"}),
		e2eToolCall(8, "first_scan_event", map[string]any{"auth_token": "TEST_TOKEN", "path": "stealth.pcap", "ignore": []string{"198.51.100.7"}}),
		e2eToolCall(9, "first_scan_event", map[string]any{"auth_token": "TEST_TOKEN", "path": "demo.pcapng", "ignore": []string{"203.0.113.0/24"}}),
	})
	get := func(id string) map[string]any {
		sc, isErr := e2eStructured(t, answers[id])
		if isErr {
			t.Fatalf("call %s: error %v", id, sc)
		}
		return sc
	}
	suspects := func(sc map[string]any) []map[string]any {
		var out []map[string]any
		for _, s := range sc["suspects"].([]any) {
			out = append(out, s.(map[string]any))
		}
		return out
	}

	// 1: defaults; the known scanners do not match.
	sc := get("1")
	s := suspects(sc)[0]
	site := sc["site"].(map[string]any)
	if s["ip"] != "203.0.113.66" || s["direction"] != "inbound" || s["priority"] != "high" || s["priority_score"] != 5.0 ||
		site["home_nets_default"] != true || site["home_nets_total"] != 6.0 || site["suppressed_total"] != 0.0 {
		t.Errorf("defaults: suspect %v site %v", s, site)
	}
	var codes []string
	for _, r := range s["priority_reasons"].([]any) {
		codes = append(codes, r.(map[string]any)["code"].(string))
	}
	if strings.Join(codes, ",") != "open_admin,open_other,tool_fingerprint" || len(s["attack"].([]any)) != 1 || s["attack"].([]any)[0] != "T1046" {
		t.Errorf("reasons %v attack %v", codes, s["attack"])
	}

	// 2: the scanner's network is home too: internal, critical.
	s = suspects(get("2"))[0]
	if s["direction"] != "internal" || s["priority"] != "critical" || s["priority_score"] != 8.0 {
		t.Errorf("home_nets: %v", s)
	}

	// 3: ignore suppresses, and says so.
	sc = get("3")
	site = sc["site"].(map[string]any)
	sup := site["suppressed"].([]any)
	if sc["total"] != 0.0 || len(sc["suspects"].([]any)) != 0 || site["suppressed_total"] != 1.0 || len(sup) != 1 ||
		sup[0].(map[string]any)["label"] != "ignored by this call" || sup[0].(map[string]any)["sources"] != 1.0 ||
		sup[0].(map[string]any)["probes"] != 1000.0 {
		t.Errorf("ignore: %v", sc)
	}

	// 4: an explicit min_rate_pps drops the 3.164/s trw scanner too.
	sc = get("4")
	site = sc["site"].(map[string]any)
	if sc["total"] != 0.0 || site["rate_filtered"] != 1.0 || site["suppressed_total"] != 1.0 {
		t.Errorf("min_rate_pps 10 with 198.51.100.8 known: %v", sc)
	}

	// 5: a bad CIDR is invalid_argument, valid under the output schema.
	sc, isErr := e2eStructured(t, answers["5"])
	if !isErr || sc["error"] != "invalid_argument" || !strings.Contains(sc["detail"].(string), `"10.0.0.0/33" is not a CIDR`) {
		t.Errorf("bad home_nets: %v", sc)
	}

	// 6: the known-scanners file suppresses 198.51.100.8 by its label.
	sc = get("6")
	sup = sc["site"].(map[string]any)["suppressed"].([]any)
	if sc["total"] != 1.0 || suspects(sc)[0]["ip"] != "198.51.100.7" || len(sup) != 1 ||
		sup[0].(map[string]any)["label"] != "Qualys appliance" || sup[0].(map[string]any)["probes"] != 25.0 {
		t.Errorf("known scanners: %v", sc)
	}
	if bt := sc["below_threshold"].([]any); len(bt) != 0 || sc["below_threshold_total"] != 0.0 {
		t.Errorf("stealth.pcap near misses: %v", bt)
	}

	// 7: nothing listed, and the near miss says how close it came:
	// 198.51.100.20 probes 8 ports of 10.0.0.12 (fixtures/README.md).
	sc = get("7")
	bt := sc["below_threshold"].([]any)
	if sc["total"] != 0.0 || len(bt) != 1 || sc["below_threshold_total"] != 1.0 {
		t.Fatalf("slow_below_threshold.pcap: %v", sc)
	}
	if m := bt[0].(map[string]any); m["ip"] != "198.51.100.20" || m["rule"] != "ports_on_host" || m["value"] != 8.0 ||
		m["threshold"] != 10.0 || m["probes"] != 8.0 {
		t.Errorf("near miss %v", m)
	}

	// 8: first_scan_event without 198.51.100.7 (ignored) and
	// 198.51.100.8 (known): none, both counted. 9: demo's only scanner
	// ignored: none.
	sc = get("8")
	sup = sc["suppressed"].([]any)
	if sc["first_event"] != nil || sc["suppressed_total"] != 2.0 || len(sup) != 2 ||
		sup[0].(map[string]any)["label"] != "Qualys appliance" || sup[1].(map[string]any)["label"] != "ignored by this call" {
		t.Errorf("first_scan_event with ignore and known: %v", sc)
	}
	if sc = get("9"); sc["first_event"] != nil || sc["suppressed_total"] != 1.0 {
		t.Errorf("first_scan_event of demo, ignored: %v", sc)
	}
}

func TestTriageConfigAtStart(t *testing.T) {
	bin := buildE2EBinary(t)
	dir := triageDir(t, "198.51.100.8\n")
	for _, c := range []struct {
		env  []string
		want string
	}{
		{[]string{"PORT_HUNTER_HOME_NETS=10.0.0.0/8,nonsense"}, `PORT_HUNTER_HOME_NETS: "nonsense" is not a CIDR`},
		{[]string{"PORT_HUNTER_KNOWN_SCANNERS=known.txt"}, `PORT_HUNTER_KNOWN_SCANNERS "known.txt": line 1: 198.51.100.8 has no label`},
		{[]string{"PORT_HUNTER_KNOWN_SCANNERS=missing.txt"}, `PORT_HUNTER_KNOWN_SCANNERS "missing.txt"`},
		{[]string{"PORT_HUNTER_DARKNETS=10.0.0.14/31,10.0.0.300"}, `PORT_HUNTER_DARKNETS: "10.0.0.300" is not a CIDR`},
	} {
		r := runBin(t, bin, append([]string{"PORT_HUNTER_ALLOWED_DIR=" + dir}, c.env...), "serve")
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != 1 || !strings.Contains(r.stderr, c.want) || len(lines) != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and one line with %q", c.env, r.code, r.stderr, c.want)
		}
	}
}

func TestTriageAnalyze(t *testing.T) {
	bin := buildE2EBinary(t)
	dir := triageDir(t, "203.0.113.0/24 Censys research\n")
	known := filepath.Join(dir, "known.txt")
	r := runBin(t, bin, nil, "analyze", "--known", known, "--fail-on", "suspects", "fixtures/demo.pcapng")
	if r.code != 0 || !strings.Contains(r.stdout, "known     Censys research: 1 source, 1000 probes, suppressed") ||
		!strings.Contains(r.stdout, "SUSPECTS (0)\n  none but the 1 source the known scanners suppressed") ||
		!strings.Contains(r.stdout, "FIRST SCAN EVENT\n  none") {
		t.Errorf("--known: exit %d, stdout:\n%s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	r = runBin(t, bin, []string{"PORT_HUNTER_KNOWN_SCANNERS=" + known}, "analyze", "--format", "ndjson", "fixtures/demo.pcapng")
	if r.code != 0 || r.stdout != "" {
		t.Errorf("PORT_HUNTER_KNOWN_SCANNERS in an export: exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	r = runBin(t, bin, nil, "analyze", "--home", "203.0.113.0/24", "fixtures/demo.pcapng")
	if r.code != 0 || !strings.Contains(r.stdout, "  critical  09:26:55  203.0.113.66") ||
		!strings.Contains(r.stdout, "priority       critical (score 8), outbound") ||
		!strings.Contains(r.stdout, "home      203.0.113.0/24") {
		t.Errorf("--home: exit %d, stdout:\n%s", r.code, r.stdout)
	}
	r = runBin(t, bin, nil, "help", "list_suspects")
	for _, want := range []string{"home_nets", "ignore", "sort", "priority (critical, high, medium, low)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help list_suspects lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestAnswersReadAsAnswers: first_answer and first_open show the answer
// (the target's segment back to the scanner, with its own flags), and a
// probe without flags reads NULL. nmap_null.pcap (tcpdump -nr): frame 1
// 198.51.100.10.63154 > 10.66.0.20.25 Flags [none]; frame 2
// 10.66.0.20.25 > 198.51.100.10.63154 Flags [R.]. demo.pcapng frame 230
// is 10.0.0.5's SYN/ACK from port 80.
func TestAnswersReadAsAnswers(t *testing.T) {
	bin := buildE2EBinary(t)
	r := runBin(t, bin, nil, "analyze", "--wide", "fixtures/lab/nmap_null.pcap")
	for _, want := range []string{
		"first probe    2026-11-29T21:16:36.779452Z frame 1 tcp NULL 10.66.0.20:25 closed null_scan",
		"first answer   2026-11-29T21:16:36.779512Z frame 2 10.66.0.20:25 -> 198.51.100.10 tcp RA closed null_scan",
		"2026-11-29T21:16:36.779452Z 198.51.100.10 -> 10.66.0.20:25 tcp NULL frame 1 null_scan",
	} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("nmap_null.pcap lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runBin(t, bin, nil, "analyze", "--json", "fixtures/demo.pcapng")
	for _, want := range []string{
		`"first_answer": {
        "ts": "2026-03-14T09:26:55.591138Z",
        "frame": 230,
        "src": "10.0.0.5",
        "dst": "203.0.113.66",
        "port": 80,
        "proto": "tcp",
        "flags": "SA",`,
	} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("demo.pcapng --json lacks %s", want)
		}
	}
}

// TestDarknets: slow_below_threshold.pcap's 198.51.100.21 probes one port
// on each of 10.0.0.13 to 10.0.0.17, 14 minutes apart (tcpdump -nr), far
// below every threshold. With 10.0.0.14/31 and 10.0.0.16/31 dark, its
// third darknet address is 10.0.0.16, probed at 10:09:54.323157 (frame
// 27): listed with reason darknet. Priority: 22 open (+3), 80 open (+1),
// 4 darknet addresses (+2), nmap (+1): 7, critical, inbound.
func TestDarknets(t *testing.T) {
	bin := buildE2EBinary(t)
	dir := triageDir(t, "")
	env := []string{"PORT_HUNTER_ALLOWED_DIR=" + dir, "PORT_HUNTER_DARKNETS=10.0.0.14/31 10.0.0.16/31"}
	answers, _ := e2eSession(t, bin, env, []string{e2eInitLine,
		e2eToolCall(1, "list_suspects", map[string]any{"auth_token": "TEST_TOKEN", "path": "slow_below_threshold.pcap", "detail": "full"}),
	})
	sc, isErr := e2eStructured(t, answers["1"])
	if isErr || sc["total"] != 1.0 {
		t.Fatalf("darknets: %v", sc)
	}
	s := sc["suspects"].([]any)[0].(map[string]any)
	reasons := s["reasons"].([]any)
	if s["ip"] != "198.51.100.21" || len(reasons) != 1 || reasons[0] != "darknet" || s["detected_at"] != "2026-03-14T10:09:54.323157Z" ||
		s["priority"] != "critical" || s["priority_score"] != 7.0 || s["direction"] != "inbound" {
		t.Errorf("darknet suspect %v", s)
	}
	site := sc["site"].(map[string]any)
	if site["darknets_total"] != 2.0 || len(site["darknets"].([]any)) != 2 {
		t.Errorf("site %v", site)
	}
	if bt := sc["below_threshold"].([]any); len(bt) != 1 || bt[0].(map[string]any)["ip"] != "198.51.100.20" {
		t.Errorf("near misses %v", bt)
	}
	r := runBin(t, bin, []string{"PORT_HUNTER_DARKNETS=10.0.0.14/31,10.0.0.16/31"}, "analyze", "--fail-on", "priority>=critical",
		"fixtures/slow_below_threshold.pcap")
	if r.code != 3 || !strings.Contains(r.stdout, "darknets  10.0.0.14/31, 10.0.0.16/31") ||
		!strings.Contains(r.stdout, "+2 darknet: It probed 4 darknet address(es), where no host") {
		t.Errorf("analyze with darknets: exit %d\n%s", r.code, r.stdout)
	}
}

// TestTriageIntel: with offline intel configured, a listing adds 3 and a
// benign classification subtracts 3. demo.pcapng's 203.0.113.66 scores
// 5 without intel (TestTriageThroughBinary); fixtures/intel lists it in
// sample_blocklist (203.0.113.64/28), sample_c2 and one OTX pulse: 8,
// critical. A GreyNoise import calling it benign makes it 2, medium.
func TestTriageIntel(t *testing.T) {
	bin := buildE2EBinary(t)
	dir := triageDir(t, "")
	e2eMust(t, os.CopyFS(filepath.Join(dir, "intel"), os.DirFS("fixtures/intel")))
	benign := filepath.Join(dir, "benign")
	e2eMust(t, os.Mkdir(benign, 0o755))
	e2eMust(t, os.WriteFile(filepath.Join(benign, "greynoise-sample.jsonl"), []byte(
		`{"ip":"203.0.113.66","noise":true,"riot":false,"classification":"benign","name":"Censys (sample)","link":"","last_seen":"2026-03-14"}`+"\n"), 0o644))
	call := e2eToolCall(1, "list_suspects", map[string]any{"auth_token": "TEST_TOKEN", "path": "demo.pcapng"})
	for _, c := range []struct {
		intel, priority string
		score           float64
		code, text      string
	}{
		{"intel", "critical", 8, "intel_listed", "Intel lists it: sample_blocklist, sample_c2, OTX import (1 pulse(s)) and 1 more."},
		{"benign", "medium", 2, "research_scanner", "Intel knows it as a benign scanner (Censys (sample)): research or indexing, not an attack."},
	} {
		env := []string{"PORT_HUNTER_ALLOWED_DIR=" + dir, "PORT_HUNTER_INTEL_DIR=" + c.intel, "PORT_HUNTER_ALLOW_PRIVATE=true"}
		answers, _ := e2eSession(t, bin, env, []string{e2eInitLine, call})
		sc, _ := e2eStructured(t, answers["1"])
		s := sc["suspects"].([]any)[0].(map[string]any)
		found := false
		for _, r := range s["priority_reasons"].([]any) {
			r := r.(map[string]any)
			found = found || r["code"] == c.code && r["text"] == c.text
		}
		if s["priority"] != c.priority || s["priority_score"] != c.score || !found {
			t.Errorf("intel %s: %v", c.intel, s)
		}
	}
	r := runBin(t, bin, []string{"PORT_HUNTER_INTEL_DIR=fixtures/intel", "PORT_HUNTER_ALLOW_PRIVATE=true"}, "analyze", "--wide",
		"fixtures/demo.pcapng")
	if r.code != 0 || !strings.Contains(r.stdout, "priority       critical (score 8), inbound") ||
		!strings.Contains(r.stdout, "+3 intel_listed: Intel lists it: sample_blocklist, sample_c2, OTX import (1 pulse(s)) and 1 more.") {
		t.Errorf("analyze with intel: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
