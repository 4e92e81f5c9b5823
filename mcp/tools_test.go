package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"porthunter/scan"
)

// callTool runs one call on s as the server does and returns the
// structuredContent decoded, the text block and isError.
func callTool(t *testing.T, s *server, name string, args map[string]any) (map[string]any, string, bool) {
	t.Helper()
	var td *toolDef
	for _, x := range s.tools {
		if x.name == name {
			td = x
		}
	}
	if td == nil {
		t.Fatalf("no tool %s", name)
	}
	raw, _ := json.Marshal(args)
	res := s.runTool(context.Background(), td, &call{}, raw)
	sc := res["structuredContent"].(json.RawMessage)
	text := res["content"].([]any)[0].(map[string]any)["text"].(string)
	if text != string(sc) {
		t.Errorf("%s: text block differs from structuredContent", name)
	}
	var m map[string]any
	if err := json.Unmarshal(sc, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := Validate(t, td.outputSchema(), m); err != nil {
		t.Errorf("%s %v: answer invalid under its output schema: %v\n%.600s", name, args, err, sc)
	}
	return m, text, res["isError"].(bool)
}

func newTestServer(t testing.TB, env map[string]string) *server {
	t.Helper()
	cfg := testConfig(t, "../fixtures", env)
	s, err := newServer(cfg, "test", io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	return s
}

// TestAnswersValidate calls every tool, successfully, with "not found",
// paged, and with every error it can return, and validates each answer
// under the tool's output schema as the SDK clients do: the scanner_detail
// error and not-found answers were rejected by both TypeScript clients
// when the schema was written apart from the answers.
func TestAnswersValidate(t *testing.T) {
	s := newTestServer(t, map[string]string{"PORT_HUNTER_TOKEN": "secret-token"})
	tok := "secret-token"
	ok := []struct {
		name string
		args map[string]any
	}{
		{"scan_overview", map[string]any{"path": "demo.pcapng"}},
		{"scan_overview", map[string]any{"path": "demo.pcapng", "detail": "full", "time_window_s": 0.5, "limit": 2}},
		{"list_suspects", map[string]any{"path": "demo.pcapng"}},
		{"list_suspects", map[string]any{"path": "horizontal.pcap", "detail": "full", "limit": 1}},
		{"first_scan_event", map[string]any{"path": "demo.pcapng"}},
		{"first_scan_event", map[string]any{"path": "ng-le.pcapng"}},
		{"scanner_detail", map[string]any{"path": "demo.pcapng", "ip": "203.0.113.66"}},
		{"scanner_detail", map[string]any{"path": "demo.pcapng", "ip": "203.0.113.66", "detail": "full", "limit": 1}},
		{"scanner_detail", map[string]any{"path": "demo.pcapng", "ip": "198.51.100.254"}}, // not in the capture
		{"enrich_ip", map[string]any{"ip": "8.8.8.8"}},
		{"enrich_ip", map[string]any{"ip": "8.8.8.8", "detail": "full"}},
		{"enrich_ip", map[string]any{"ip": "192.168.0.10"}},
		{"correlate", map[string]any{"ips": []string{"abc", "192.168.0.10", "8.8.8.8", "203.0.113.66"}, "path": "demo.pcapng"}},
		{"correlate", map[string]any{"ips": []string{"8.8.8.8", "1.1.1.1"}, "detail": "full", "limit": 1}},
		{"list_captures", map[string]any{}},
		{"list_captures", map[string]any{"dir": ".", "limit": 2}},
		{"report", map[string]any{"path": "demo.pcapng"}},
		{"report", map[string]any{"path": "stealth.pcap", "scanners": 1, "since": "2026-03-14T09:27:00Z"}},
		{"report", map[string]any{"path": "ng-le.pcapng"}}, // no scan
		{"carve", map[string]any{"path": "demo.pcapng", "ip": "203.0.113.66"}},
		{"carve", map[string]any{"path": "demo.pcapng", "ip": "198.51.100.254"}}, // nothing to keep
		{"carve", map[string]any{"paths": []string{"stealth.pcap", "udp_scan.pcap"}, "ip": "10.0.0.9", "until": "2026-03-14T09:27:00Z"}},
	}
	for _, c := range ok {
		c.args["auth_token"] = tok
		m, _, isErr := callTool(t, s, c.name, c.args)
		if isErr || m["ok"] != true {
			t.Errorf("%s %v: %v", c.name, c.args, m)
		}
	}
	errs := []struct {
		name, code string
		args       map[string]any
	}{
		{"scanner_detail", "unauthorized", map[string]any{"path": "demo.pcapng", "ip": "1.2.3.4", "auth_token": "wrong"}},
		{"scanner_detail", "path_outside_allowed_dir", map[string]any{"path": "../go.mod", "ip": "1.2.3.4"}},
		{"scanner_detail", "path_not_found", map[string]any{"path": "missing.pcap", "ip": "1.2.3.4"}},
		{"scanner_detail", "not_a_regular_file", map[string]any{"path": "lab", "ip": "1.2.3.4"}},
		{"scanner_detail", "unsupported_file_type", map[string]any{"path": "README.md", "ip": "1.2.3.4"}},
		{"scanner_detail", "invalid_ip", map[string]any{"path": "demo.pcapng", "ip": "999.1.1.1"}},
		{"scanner_detail", "invalid_argument", map[string]any{"path": "demo.pcapng", "ip": "1.2.3.4", "limit": 0}},
		{"scanner_detail", "invalid_argument", map[string]any{"path": "demo.pcapng", "ip": "1.2.3.4", "cursor": "nope"}},
		{"scan_overview", "invalid_argument", map[string]any{"path": "demo.pcapng", "time_window_s": 0}},
		{"scan_overview", "invalid_argument", map[string]any{"path": "demo.pcapng", "detail": "everything"}},
		{"list_suspects", "invalid_argument", map[string]any{"path": "demo.pcapng", "min_port": 3}},
		{"first_scan_event", "invalid_argument", map[string]any{}},
		{"enrich_ip", "invalid_ip", map[string]any{"ip": "abc"}},
		{"correlate", "too_many_ips", map[string]any{"ips": make([]string, 1001)}},
		{"correlate", "invalid_argument", map[string]any{"ips": "8.8.8.8"}},
		{"list_captures", "path_outside_allowed_dir", map[string]any{"dir": ".."}},
		{"list_captures", "path_not_found", map[string]any{"dir": "missing"}},
		{"list_captures", "path_not_found", map[string]any{"dir": "demo.pcapng"}},
		{"list_captures", "invalid_argument", map[string]any{"cursor": "nope"}},
		{"report", "path_not_found", map[string]any{"path": "missing.pcap"}},
		{"report", "invalid_argument", map[string]any{"path": "demo.pcapng", "scanners": 0}},
		{"carve", "invalid_ip", map[string]any{"path": "demo.pcapng", "ip": "nope"}},
		{"carve", "invalid_argument", map[string]any{"path": "demo.pcapng"}},
		{"carve", "unauthorized", map[string]any{"path": "demo.pcapng", "ip": "1.2.3.4", "auth_token": "wrong"}},
	}
	for _, c := range errs {
		if _, ok := c.args["auth_token"]; !ok {
			c.args["auth_token"] = tok
		}
		m, _, isErr := callTool(t, s, c.name, c.args)
		if !isErr || m["ok"] != false || m["error"] != c.code {
			t.Errorf("%s %v: got %v, want error %s", c.name, c.args, m, c.code)
			continue
		}
		if d, _ := m["detail"].(string); d == "" {
			t.Errorf("%s %s: no detail", c.name, c.code)
		}
		if f, _ := m["fix"].(string); len(f) < 20 {
			t.Errorf("%s %s: fix %q says nothing", c.name, c.code, f)
		}
	}
}

// TestErrorAnswerFitsEverySchema: every code's error answer is valid
// under every tool's output schema, and has a fix.
func TestErrorAnswerFitsEverySchema(t *testing.T) {
	for _, e := range errorCodes {
		res := errorResult(fmt.Errorf("%w: something", e.err))
		var m map[string]any
		json.Unmarshal(res["structuredContent"].(json.RawMessage), &m)
		if m["error"] != e.code || m["fix"] != e.fix || e.fix == "" {
			t.Errorf("%v: %v", e.err, m)
		}
		for _, td := range toolTable() {
			if err := Validate(t, td.outputSchema(), m); err != nil {
				t.Errorf("%s: error %s invalid: %v", td.name, e.code, err)
			}
		}
	}
	res := errorResult(errors.New("unexpected"))
	if !strings.Contains(string(res["structuredContent"].(json.RawMessage)), `"error":"internal_error"`) {
		t.Errorf("an error without a code: %s", res["structuredContent"])
	}
}

// TestNoHTMLEscaping: a model reads ">=" and "&", not "\u003e=".
func TestNoHTMLEscaping(t *testing.T) {
	res := errorResult(fmt.Errorf("%w: top_k must be >= 1 & <= 1000", ErrInvalidArgument))
	b := res["structuredContent"].(json.RawMessage)
	if bytes.Contains(b, []byte(`\u003e`)) || bytes.Contains(b, []byte(`\u0026`)) || !bytes.Contains(b, []byte(">= 1 & <=")) {
		t.Errorf("escaped: %s", b)
	}
}

// TestSchemasFromTypes: the schemas describe the argument and answer
// types member for member, with real types, and the defaults the
// decoder applies are the schema's.
func TestSchemasFromTypes(t *testing.T) {
	for _, td := range toolTable() {
		in := td.inputSchema()
		props := in["properties"].(map[string]any)
		if len(props) != len(Fields(td.args))+1 {
			t.Errorf("%s: %d input properties for %d arguments", td.name, len(props), len(Fields(td.args)))
		}
		// The decoder's defaults are the schema's.
		v := reflect.New(td.args)
		raw := []byte(`{}`)
		if td.name == "scanner_detail" {
			raw = []byte(`{"path":"x","ip":"1.2.3.4"}`)
		} else if td.name == "enrich_ip" {
			raw = []byte(`{"ip":"1.2.3.4"}`)
		} else if td.name == "correlate" {
			raw = []byte(`{"ips":[]}`)
		} else if td.name == "list_captures" {
			raw = []byte(`{}`)
		} else if td.name == "carve" {
			raw = []byte(`{"path":"x","ip":"1.2.3.4"}`)
		} else {
			raw = []byte(`{"path":"x"}`)
		}
		if err := DecodeArgs(raw, v.Interface()); err != nil {
			t.Fatalf("%s: %v", td.name, err)
		}
		for _, f := range Fields(td.args) {
			d, ok := props[f.Name].(map[string]any)["default"]
			if !ok {
				continue
			}
			got, _ := json.Marshal(v.Elem().FieldByIndex(f.Index).Interface())
			want, _ := json.Marshal(d)
			if string(got) != string(want) {
				t.Errorf("%s.%s: decoder default %s, schema default %s", td.name, f.Name, got, want)
			}
		}
		out := td.outputSchema()
		for name, p := range out["properties"].(map[string]any) {
			if p.(map[string]any)["type"] == "object" && p.(map[string]any)["properties"] == nil && p.(map[string]any)["additionalProperties"] == nil {
				t.Errorf("%s: output member %s is a bare object", td.name, name)
			}
		}
	}
}

// TestOpenWorldOnlyOnline: openWorldHint says whether a call may leave
// the host, which it may only with online lookups enabled.
func TestOpenWorldOnlyOnline(t *testing.T) {
	for _, online := range []bool{false, true} {
		for _, td := range toolTable() {
			got := td.descriptor(online)["annotations"].(map[string]any)["openWorldHint"].(bool)
			if want := online && (td.name == "enrich_ip" || td.name == "correlate" || td.name == "report"); got != want {
				t.Errorf("online %v: %s openWorldHint %v", online, td.name, got)
			}
		}
	}
}

// TestPagingSuspects pages list_suspects one source at a time: the pages
// together are the whole list, in order, and a cursor does not serve
// another call.
func TestPagingSuspects(t *testing.T) {
	s := newTestServer(t, map[string]string{"PORT_HUNTER_REQUIRE_TOKEN": "false"})
	whole, _, _ := callTool(t, s, "list_suspects", map[string]any{"path": "distributed.pcap", "limit": 1000})
	all := whole["suspects"].([]any)
	if len(all) < 2 || whole["next_cursor"] != nil || whole["truncated"] != false {
		t.Fatalf("distributed.pcap lists %d suspects: %v", len(all), whole)
	}
	var got []any
	cursor := ""
	for i := 0; i < len(all)+1; i++ {
		args := map[string]any{"path": "distributed.pcap", "limit": 1}
		if cursor != "" {
			args["cursor"] = cursor
		}
		m, _, isErr := callTool(t, s, "list_suspects", args)
		if isErr {
			t.Fatal(m)
		}
		got = append(got, m["suspects"].([]any)...)
		if int(m["total"].(float64)) != len(all) {
			t.Errorf("total %v, want %d", m["total"], len(all))
		}
		c, _ := m["next_cursor"].(string)
		if c == "" {
			break
		}
		if m["truncated"] != true {
			t.Errorf("a page with next_cursor not truncated")
		}
		cursor = c
	}
	if fmt.Sprint(got) != fmt.Sprint(all) {
		t.Errorf("pages differ from the whole list:\n%v\n%v", got, all)
	}
	// A cursor of another capture or other arguments is refused.
	first, _, _ := callTool(t, s, "list_suspects", map[string]any{"path": "distributed.pcap", "limit": 1})
	for _, args := range []map[string]any{
		{"path": "horizontal.pcap", "limit": 1, "cursor": first["next_cursor"]},
		{"path": "distributed.pcap", "limit": 2, "cursor": first["next_cursor"]},
		{"path": "distributed.pcap", "limit": 1, "min_ports": 3, "cursor": first["next_cursor"]},
	} {
		m, _, isErr := callTool(t, s, "list_suspects", args)
		if !isErr || m["error"] != "invalid_argument" || !strings.Contains(m["detail"].(string), "cursor") {
			t.Errorf("%v: %v", args, m)
		}
	}
}

// TestDetailNotFound: an address that sent nothing is found false with a
// null scanner, valid under the schema (callTool checks).
func TestDetailNotFound(t *testing.T) {
	s := newTestServer(t, map[string]string{"PORT_HUNTER_REQUIRE_TOKEN": "false"})
	m, _, isErr := callTool(t, s, "scanner_detail", map[string]any{"path": "demo.pcapng", "ip": "::ffff:198.51.100.254"})
	if isErr || m["found"] != false || m["scanner"] != nil || m["ip"] != "198.51.100.254" {
		t.Errorf("%v", m)
	}
}

// TestEnrichWithoutIntel: a public address with no intel configured is
// answered in under 600 characters, naming no provider that is not
// configured.
func TestEnrichWithoutIntel(t *testing.T) {
	s := newTestServer(t, map[string]string{"PORT_HUNTER_REQUIRE_TOKEN": "false"})
	m, text, _ := callTool(t, s, "enrich_ip", map[string]any{"ip": "8.8.8.8"})
	if len(text) >= 600 {
		t.Errorf("%d characters: %s", len(text), text)
	}
	if strings.Contains(text, "otx") || strings.Contains(text, "greynoise") || strings.Contains(text, "disabled") {
		t.Errorf("names providers that are not configured: %s", text)
	}
	if e := m["enrichment"].(map[string]any); e["consulted"] != "none" {
		t.Errorf("consulted %v", e["consulted"])
	}
}

// TestPortRanges: ranges are written sorted and merged, capped by items,
// and read back.
func TestPortRanges(t *testing.T) {
	for _, c := range []struct {
		in   []int
		max  int
		want Ports
		cut  bool
	}{
		{nil, 0, "", false},
		{[]int{22}, 0, "22", false},
		{[]int{1, 2, 3, 5, 7, 8, 8, 9, 3306}, 0, "1-3,5,7-9,3306", false},
		{[]int{1, 2, 3, 5, 7, 8, 9, 3306}, 2, "1-3,5", true},
		{[]int{0, 65535}, 2, "0,65535", false},
	} {
		got, cut := portRanges(c.in, c.max)
		if got != c.want || cut != c.cut {
			t.Errorf("portRanges(%v, %d) = %q %v, want %q %v", c.in, c.max, got, cut, c.want, c.cut)
		}
		if c.max == 0 {
			back, ok := got.Expand()
			want := []int{}
			for i, p := range c.in {
				if i == 0 || p != c.in[i-1] {
					want = append(want, p)
				}
			}
			if !ok || fmt.Sprint(back) != fmt.Sprint(want) && len(want) > 0 {
				t.Errorf("Expand(%q) = %v %v", got, back, ok)
			}
		}
	}
}

// TestDefaultsAgree: the defaults written in the argument types are the
// engine's, so the CLI, the schema and the engine cannot disagree.
func TestDefaultsAgree(t *testing.T) {
	if got, want := Defaults[SuspectsArgs]().Thresholds(), scan.DefaultThresholds(); got != want {
		t.Errorf("list_suspects defaults %+v, engine %+v", got, want)
	}
	if got := Defaults[OverviewArgs]().TimeWindowS; got != scan.DefaultWindowS {
		t.Errorf("time_window_s default %v, engine %v", got, scan.DefaultWindowS)
	}
}

// TestPageFitsBudget: a page asked larger than the budget allows stops
// before its answer passes AnswerBudget characters, says so, and the
// cursors page through every result once, in order.
func TestPageFitsBudget(t *testing.T) {
	s := newTestServer(t, map[string]string{"PORT_HUNTER_REQUIRE_TOKEN": "false"})
	ips := make([]string, 1000)
	for i := range ips {
		ips[i] = fmt.Sprintf("2001:db8:%x::%x", i, i+1) // documentation addresses: skipped, about 120 characters each
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		args := map[string]any{"ips": ips, "limit": 1000, "detail": "full"}
		if cursor != "" {
			args["cursor"] = cursor
		}
		m, text, isErr := callTool(t, s, "correlate", args)
		if isErr || len(text) > AnswerBudget {
			t.Fatalf("page %d: %d characters, error %v", pages, len(text), m["error"])
		}
		for _, r := range m["results"].([]any) {
			seen = append(seen, r.(map[string]any)["ip"].(string))
		}
		c, _ := m["next_cursor"].(string)
		if c == "" {
			if pages == 0 {
				t.Fatalf("1000 results in one answer of %d characters", len(text))
			}
			break
		}
		cursor = c
	}
	if len(seen) != len(ips) {
		t.Fatalf("%d results over the pages, want %d", len(seen), len(ips))
	}
	for i, ip := range seen {
		if want := netip.MustParseAddr(ips[i]).String(); ip != want {
			t.Fatalf("result %d is %s, want %s", i, ip, want)
		}
	}
}

// TestDetect2Answers: the idle-scan link, the decoy roles and the
// protocol sweep reach the answers, valid under their schemas: the
// overview lists every decoy group with detail full (it once listed as
// many as there were distributed scans), and its summary keeps the
// deciding evidence only.
func TestDetect2Answers(t *testing.T) {
	s := newTestServer(t, map[string]string{"PORT_HUNTER_TOKEN": "tok"})
	call := func(name string, args map[string]any) map[string]any {
		t.Helper()
		args["auth_token"] = "tok"
		m, _, isErr := callTool(t, s, name, args)
		if isErr {
			t.Fatalf("%s %v: %v", name, args, m)
		}
		return m
	}
	for _, detail := range []string{"summary", "full"} {
		ov := call("scan_overview", map[string]any{"path": "lab/nmap_decoy.pcap", "detail": detail})["overview"].(map[string]any)
		decoys := ov["decoys"].([]any)
		if len(decoys) != 1 {
			t.Fatalf("%s: decoys %v", detail, decoys)
		}
		g := decoys[0].(map[string]any)
		ev := g["evidence"].([]any)
		if g["likely_real"] != "198.51.100.10" || detail == "summary" && len(ev) != 1 || detail == "full" && len(ev) != 2 {
			t.Errorf("%s: group %v", detail, g)
		}
		roles := map[string]int{}
		for _, x := range ov["scanners"].([]any) {
			roles[x.(map[string]any)["decoy_role"].(string)]++
		}
		if roles["likely_real"] != 1 || roles["decoy"] != 5 {
			t.Errorf("%s: scanners' roles %v", detail, roles)
		}
	}
	sus := call("list_suspects", map[string]any{"path": "lab/nmap_idle.pcap"})["suspects"].([]any)
	byIP := map[string]map[string]any{}
	for _, x := range sus {
		byIP[x.(map[string]any)["ip"].(string)] = x.(map[string]any)
	}
	if byIP["198.51.100.10"]["zombie"] != "10.66.0.50" || byIP["10.66.0.50"]["idle_scan_by"] != "198.51.100.10" {
		t.Errorf("idle suspects %v", byIP)
	}
	d := call("scanner_detail", map[string]any{"path": "lab/nmap_idle.pcap", "ip": "198.51.100.10"})["scanner"].(map[string]any)
	if is, _ := d["idle_scan"].(map[string]any); is["zombie"] != "10.66.0.50" || is["zombie_port"] != 80.0 {
		t.Errorf("prober's idle_scan %v", d["idle_scan"])
	}
	d = call("scanner_detail", map[string]any{"path": "lab/nmap_protoscan.pcap", "ip": "198.51.100.10"})["scanner"].(map[string]any)
	if d["open_protocols"] != "1,6,17" || d["distinct_protocols"] != 256.0 || !strings.HasPrefix(d["closed_protocols"].(string), "0,3-5,") {
		t.Errorf("protocol scan detail: %v %v %v", d["open_protocols"], d["distinct_protocols"], d["closed_protocols"])
	}
	fe := call("first_scan_event", map[string]any{"path": "lab/nmap_protoscan6.pcapng"})["first_event"].(map[string]any)
	if fe["technique"] != "ip_protocol_scan" || fe["ip_proto"] == nil {
		t.Errorf("first event %v", fe)
	}
}
