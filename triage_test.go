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
		!strings.Contains(r.stdout, "SUSPECTS (0)\n  none but the 1 source the known scanners suppressed") {
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
