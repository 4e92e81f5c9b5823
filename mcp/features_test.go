package mcp

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"porthunter/pcapng"
)

// request sends one request (params as a Go value, with the modern _meta
// when modern) and returns the answer.
func (s *testSession) request(id int, method string, params map[string]any, modern bool) map[string]any {
	s.t.Helper()
	if params == nil {
		params = map[string]any{}
	}
	if modern {
		params["_meta"] = map[string]any{"io.modelcontextprotocol/protocolVersion": "2026-07-28",
			"io.modelcontextprotocol/clientCapabilities": map[string]any{}}
	}
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	s.send(string(b))
	for {
		m, _ := s.recv()
		if m["method"] == "notifications/progress" {
			continue
		}
		if m["id"] != float64(id) {
			s.t.Fatalf("%s: answer to %v", method, m["id"])
		}
		return m
	}
}

func result(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	r, ok := m["result"].(map[string]any)
	if !ok {
		t.Fatalf("no result: %v", m)
	}
	return r
}

// TestCapabilitiesByMode: without the token every feature is declared,
// in both eras; with it, completion is not.
func TestCapabilitiesByMode(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want []string
	}{
		{nil, []string{"prompts", "resources", "tools"}},
		{map[string]string{"PORT_HUNTER_REQUIRE_TOKEN": "false"}, []string{"completions", "prompts", "resources", "tools"}},
	} {
		s := startSession(t, testConfig(t, "../fixtures", c.env))
		init := result(t, s.request(1, "initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
			"clientInfo": map[string]any{"name": "t", "version": "1"}}, false))
		disc := result(t, s.request(2, "server/discover", nil, true))
		for _, caps := range []any{init["capabilities"], disc["capabilities"]} {
			var got []string
			for k, v := range caps.(map[string]any) {
				if !reflect.DeepEqual(v, map[string]any{}) {
					t.Errorf("%s: %v (no listChanged, no subscribe)", k, v)
				}
				got = append(got, k)
			}
			if fmt.Sprint(sortedStrings(got)) != fmt.Sprint(c.want) {
				t.Errorf("%v: capabilities %v, want %v", c.env, got, c.want)
			}
		}
		s.close()
	}
}

func sortedStrings(xs []string) []string {
	out := append([]string(nil), xs...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestResourcesWithoutToken: the captures are listed, paged and read in
// both eras, their templates listed, and a URI that leaves the directory
// is not found.
func TestResourcesWithoutToken(t *testing.T) {
	s := startSession(t, testConfig(t, "../fixtures", map[string]string{"PORT_HUNTER_REQUIRE_TOKEN": "false"}))
	id := 0
	for _, modern := range []bool{false, true} {
		id++
		r := result(t, s.request(id, "resources/list", nil, modern))
		list := r["resources"].([]any)
		if len(list) < 15 || r["nextCursor"] != nil {
			t.Fatalf("resources/list: %d resources, cursor %v", len(list), r["nextCursor"])
		}
		if modern && (r["ttlMs"] != 0.0 || r["cacheScope"] != "private" || r["resultType"] != "complete") {
			t.Errorf("modern resources/list hints: %v %v %v", r["ttlMs"], r["cacheScope"], r["resultType"])
		}
		uri := ""
		for _, x := range list {
			res := x.(map[string]any)
			if res["name"] == "demo.pcapng" {
				uri = res["uri"].(string)
			}
		}
		if uri != "porthunter://capture/demo.pcapng/overview" {
			t.Fatalf("demo.pcapng listed as %q", uri)
		}
		id++
		r = result(t, s.request(id, "resources/templates/list", nil, modern))
		if n := len(r["resourceTemplates"].([]any)); n != 3 {
			t.Errorf("%d templates", n)
		}
		for _, c := range []struct {
			uri, mime, want string
		}{
			{uri, mimeJSON, `"scanners_total":1`},
			{"porthunter://capture/demo.pcapng/scanner/203.0.113.66", mimeJSON, `"found":true`},
			{"porthunter://capture/demo.pcapng/scanner/203.0.113.66%3A", "", ""}, // not an address
			{"porthunter://capture/demo.pcapng/report", mimeMarkdown, "frame 229"},
			{"porthunter://capture/stealth.pcap/overview", mimeJSON, `"total_pkts":125`},
		} {
			id++
			m := s.request(id, "resources/read", map[string]any{"uri": c.uri}, modern)
			if c.mime == "" {
				if code := errCode(m); code != map[bool]int{false: -32002, true: -32602}[modern] {
					t.Errorf("%s: %v", c.uri, m)
				}
				continue
			}
			r := result(t, m)
			content := r["contents"].([]any)[0].(map[string]any)
			if content["uri"] != c.uri || content["mimeType"] != c.mime || !strings.Contains(content["text"].(string), c.want) {
				t.Errorf("%s: %.300v", c.uri, content)
			}
			if modern && (r["cacheScope"] != "private" || r["ttlMs"] == nil) {
				t.Errorf("%s: no caching hints: %v", c.uri, r)
			}
		}
		for _, bad := range []string{
			"porthunter://capture/..%2Fgo.mod/overview", "porthunter://capture/../go.mod/overview",
			"porthunter://capture/%2Fetc%2Fpasswd/overview", "porthunter://capture/missing.pcap/overview",
			"porthunter://capture/demo.pcapng", "file:///etc/passwd", "porthunter://evidence/00/x",
			"porthunter://capture/demo.pcapng/overview?x=1", "porthunter://capture/%zz/overview",
		} {
			id++
			m := s.request(id, "resources/read", map[string]any{"uri": bad}, modern)
			if code := errCode(m); code != map[bool]int{false: -32002, true: -32602}[modern] {
				t.Errorf("%s: %v", bad, m)
			}
		}
		id++
		if m := s.request(id, "resources/read", map[string]any{"uri": "porthunter://capture/README.md/overview"}, modern); errCode(m) != -32602 {
			t.Errorf("not a capture: %v", m)
		} else if d := m["error"].(map[string]any)["data"].(map[string]any); d["error"] != "unsupported_file_type" || d["fix"] == "" {
			t.Errorf("not a capture: data %v", d)
		}
		id++
		if m := s.request(id, "resources/list", map[string]any{"cursor": "bogus"}, modern); errCode(m) != -32602 {
			t.Errorf("bad cursor: %v", m)
		}
	}
	s.close()
}

// TestResourcesPaged: a directory of more captures than a page lists
// them all once, across pages, each with its overview URI.
func TestResourcesPaged(t *testing.T) {
	dir := t.TempDir()
	b, _ := os.ReadFile("../fixtures/stealth.pcap")
	for i := range 250 {
		must(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("c %03d#.pcap", i)), b, 0o644))
	}
	s := startSession(t, testConfig(t, dir, map[string]string{"PORT_HUNTER_REQUIRE_TOKEN": "false"}))
	seen := map[string]bool{}
	var cursor any
	for page := 1; page < 10; page++ {
		params := map[string]any{}
		if cursor != nil {
			params["cursor"] = cursor
		}
		r := result(t, s.request(page, "resources/list", params, false))
		for _, x := range r["resources"].([]any) {
			u := x.(map[string]any)["uri"].(string)
			if seen[u] {
				t.Errorf("listed twice: %s", u)
			}
			seen[u] = true
		}
		if cursor = r["nextCursor"]; cursor == nil {
			break
		}
	}
	if len(seen) != 250 || !seen["porthunter://capture/c%20007%23.pcap/overview"] {
		t.Errorf("%d resources", len(seen))
	}
	m := s.request(99, "resources/read", map[string]any{"uri": "porthunter://capture/c%20007%23.pcap/overview"}, false)
	if !strings.Contains(result(t, m)["contents"].([]any)[0].(map[string]any)["text"].(string), `"ok":true`) {
		t.Errorf("%v", m)
	}
	s.close()
}

// TestResourcesWithToken: with the token required nothing of the
// directory is listed, capture URIs are refused, completion is not
// offered, and the evidence a tool call made is readable by its URI.
func TestResourcesWithToken(t *testing.T) {
	s := startSession(t, testConfig(t, "../fixtures", nil))
	if r := result(t, s.request(1, "resources/list", nil, false)); len(r["resources"].([]any)) != 0 {
		t.Errorf("listed with the token required: %v", r)
	}
	if r := result(t, s.request(2, "resources/templates/list", nil, false)); len(r["resourceTemplates"].([]any)) != 0 {
		t.Errorf("templates with the token required: %v", r)
	}
	if m := s.request(3, "resources/read", map[string]any{"uri": "porthunter://capture/demo.pcapng/overview"}, false); errCode(m) != -32002 ||
		!strings.Contains(m["error"].(map[string]any)["message"].(string), "PORT_HUNTER_REQUIRE_TOKEN") {
		t.Errorf("capture read with the token required: %v", m)
	}
	if m := s.request(4, "completion/complete", map[string]any{"ref": map[string]any{"type": "ref/prompt", "name": "triage_capture"},
		"argument": map[string]any{"name": "path", "value": "d"}}, false); errCode(m) != -32601 {
		t.Errorf("completion with the token required: %v", m)
	}
	// carve without the token: unauthorized, nothing made.
	sc, isErr := toolCall(t, s, 5, "carve", map[string]any{"path": "demo.pcapng", "ip": "203.0.113.66"})
	if !isErr || sc["error"] != "unauthorized" {
		t.Errorf("carve without the token: %v", sc)
	}
	m := s.request(6, "tools/call", map[string]any{"name": "carve", "arguments": map[string]any{"auth_token": "tok", "path": "demo.pcapng", "ip": "203.0.113.66"}}, false)
	link := checkCarveResult(t, m)
	checkCarveRead(t, s.request(7, "resources/read", map[string]any{"uri": link["uri"]}, false), link)
	if r := result(t, s.request(8, "resources/list", nil, false)); len(r["resources"].([]any)) != 0 {
		t.Errorf("evidence listed with the token required: %v", r)
	}
	s.close()
}

// checkCarveResult checks a carve's tools/call result: the JSON, and a
// resource_link to the pcapng after it; it returns the link.
func checkCarveResult(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	sc, isErr := structured(t, m)
	if isErr || sc["packets"].(float64) < 1000 {
		t.Fatalf("carve: %v", sc)
	}
	content := result(t, m)["content"].([]any)
	if len(content) != 2 {
		t.Fatalf("carve content: %v", content)
	}
	link := content[1].(map[string]any)
	if link["type"] != "resource_link" || link["uri"] != sc["uri"] || link["mimeType"] != mimePcapng || link["size"] != sc["size_bytes"] {
		t.Errorf("link %v for %v", link, sc)
	}
	link["sha256"], link["packets"] = sc["sha256"], sc["packets"]
	return link
}

// checkCarveRead checks resources/read of a carve: base64 of a pcapng of
// the packets said, with its SHA-256.
func checkCarveRead(t *testing.T, m map[string]any, link map[string]any) {
	t.Helper()
	c := result(t, m)["contents"].([]any)[0].(map[string]any)
	blob, err := base64.StdEncoding.DecodeString(c["blob"].(string))
	if err != nil {
		t.Fatal(err)
	}
	meta := c["_meta"].(map[string]any)
	if meta["porthunter/sha256"] != link["sha256"] || meta["porthunter/packets"] != link["packets"] || c["mimeType"] != mimePcapng {
		t.Errorf("read: %v, want %v", meta, link)
	}
	rd, err := pcapng.NewReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, err := rd.Next(); err != nil {
			break
		}
		n++
	}
	if float64(n) != link["packets"] {
		t.Errorf("%d packets in the blob, %v said", n, link["packets"])
	}
}

// TestPrompts: listed in both modes, each rendered with its arguments
// quoted, every malformed call refused with -32602, and the token never
// in a text.
func TestPrompts(t *testing.T) {
	s := startSession(t, testConfig(t, "../fixtures", map[string]string{"PORT_HUNTER_TOKEN": "the-secret-token"}))
	r := result(t, s.request(1, "prompts/list", nil, true))
	if n := len(r["prompts"].([]any)); n != 3 || r["cacheScope"] != "public" {
		t.Errorf("prompts/list: %v", r)
	}
	id := 1
	for _, c := range []struct {
		name string
		args map[string]any
		want []string
	}{
		{"triage_capture", map[string]any{"path": "demo.pcapng"}, []string{`scan_overview {"path":"demo.pcapng"}`, "report", "auth_token"}},
		{"triage_capture", map[string]any{"path": "sensor1/cap.pcap*", "since": "2026-03-14T09:27:00Z"}, []string{`{"glob":"sensor1/cap.pcap*","since":"2026-03-14T09:27:00Z"}`}},
		{"investigate_scanner", map[string]any{"path": "demo.pcapng", "ip": "::ffff:203.0.113.66"}, []string{`scanner_detail {"ip":"203.0.113.66","path":"demo.pcapng"}`, "carve"}},
		{"compare_captures", map[string]any{"path_a": "a\".pcap", "path_b": "b.pcap"}, []string{`{"path":"a\".pcap"}`}},
	} {
		id++
		m := s.request(id, "prompts/get", map[string]any{"name": c.name, "arguments": c.args}, id%2 == 0)
		r := result(t, m)
		msg := r["messages"].([]any)[0].(map[string]any)
		text := msg["content"].(map[string]any)["text"].(string)
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s %v: no %q in\n%s", c.name, c.args, w, text)
			}
		}
		if strings.Contains(text, "the-secret-token") || msg["role"] != "user" {
			t.Errorf("%s: %v", c.name, msg)
		}
	}
	for _, bad := range []map[string]any{
		{"name": "nope"},
		{"arguments": map[string]any{"path": "x"}},
		{"name": "triage_capture"},
		{"name": "triage_capture", "arguments": map[string]any{"path": ""}},
		{"name": "triage_capture", "arguments": map[string]any{"path": 7}},
		{"name": "triage_capture", "arguments": map[string]any{"path": "x", "extra": "y"}},
		{"name": "triage_capture", "arguments": map[string]any{"path": "x\ny"}},
		{"name": "triage_capture", "arguments": map[string]any{"path": strings.Repeat("x", 5000)}},
		{"name": "triage_capture", "arguments": map[string]any{"path": "x", "since": "yesterday"}},
		{"name": "investigate_scanner", "arguments": map[string]any{"path": "x", "ip": "999.1.1.1"}},
		{"name": "compare_captures", "arguments": map[string]any{"path_a": "x"}},
	} {
		id++
		if m := s.request(id, "prompts/get", bad, false); errCode(m) != -32602 {
			t.Errorf("%v: %v", bad, m)
		}
	}
	s.close()
}

// TestCompletion: capture paths and set globs by prefix, the scanners of
// an analysed capture (none before it is analysed), and -32602 for what
// does not exist.
func TestCompletion(t *testing.T) {
	s := startSession(t, testConfig(t, "../fixtures", map[string]string{"PORT_HUNTER_REQUIRE_TOKEN": "false"}))
	complete := func(id int, ref map[string]any, name, value string, ctx map[string]any, modern bool) map[string]any {
		p := map[string]any{"ref": ref, "argument": map[string]any{"name": name, "value": value}}
		if ctx != nil {
			p["context"] = map[string]any{"arguments": ctx}
		}
		return s.request(id, "completion/complete", p, modern)
	}
	prompt := map[string]any{"type": "ref/prompt", "name": "investigate_scanner"}
	tmpl := map[string]any{"type": "ref/resource", "uri": "porthunter://capture/{path}/scanner/{ip}"}
	values := func(m map[string]any) []any {
		t.Helper()
		return result(t, m)["completion"].(map[string]any)["values"].([]any)
	}
	if v := values(complete(1, prompt, "path", "de", nil, false)); fmt.Sprint(v) != "[demo.pcapng]" {
		t.Errorf("path de: %v", v)
	}
	if v := values(complete(2, tmpl, "path", "pcap-", nil, true)); len(v) != 5 {
		t.Errorf("path pcap-: %v", v)
	}
	if v := values(complete(3, prompt, "ip", "", map[string]any{"path": "demo.pcapng"}, false)); len(v) != 0 {
		t.Errorf("scanners before any analysis: %v", v)
	}
	toolCall(t, s, 4, "list_suspects", map[string]any{"path": "demo.pcapng"})
	if v := values(complete(5, tmpl, "ip", "203.", map[string]any{"path": "demo.pcapng"}, true)); fmt.Sprint(v) != "[203.0.113.66]" {
		t.Errorf("scanners of demo: %v", v)
	}
	if v := values(complete(6, prompt, "since", "2026", nil, false)); len(v) != 0 {
		t.Errorf("since: %v", v)
	}
	for i, bad := range []map[string]any{
		{"ref": map[string]any{"type": "ref/prompt", "name": "nope"}, "argument": map[string]any{"name": "path", "value": ""}},
		{"ref": map[string]any{"type": "ref/prompt", "name": "triage_capture"}, "argument": map[string]any{"name": "nope", "value": ""}},
		{"ref": map[string]any{"type": "ref/resource", "uri": "porthunter://capture/{path}/overview"}, "argument": map[string]any{"name": "ip", "value": ""}},
		{"ref": map[string]any{"type": "ref/resource", "uri": "file:///{path}"}, "argument": map[string]any{"name": "path", "value": ""}},
		{"ref": map[string]any{"type": "ref/other"}, "argument": map[string]any{"name": "path", "value": ""}},
		{"ref": map[string]any{"type": "ref/prompt", "name": "triage_capture"}},
		{"ref": map[string]any{"type": "ref/prompt", "name": "triage_capture"}, "argument": map[string]any{"name": "path", "value": strings.Repeat("a", 5000)}},
	} {
		if m := s.request(10+i, "completion/complete", bad, false); errCode(m) != -32602 {
			t.Errorf("%v: %v", bad, m)
		}
	}
	s.close()
}

// TestCarveEvidenceDir: with PORT_HUNTER_EVIDENCE_DIR each carve is also
// a new file there (mode 0640 at most, never one overwritten), the tool
// is no longer read-only, and the directory cannot be the allowed one.
func TestCarveEvidenceDir(t *testing.T) {
	base := t.TempDir()
	allowed, ev := filepath.Join(base, "captures"), filepath.Join(base, "evidence")
	must(t, os.MkdirAll(allowed, 0o755))
	must(t, os.MkdirAll(ev, 0o755))
	demo, _ := os.ReadFile("../fixtures/demo.pcapng")
	must(t, os.WriteFile(filepath.Join(allowed, "demo.pcapng"), demo, 0o644))
	s := startSession(t, testConfig(t, allowed, map[string]string{"PORT_HUNTER_EVIDENCE_DIR": ev}))
	r := result(t, s.request(1, "tools/list", nil, false))
	for _, x := range r["tools"].([]any) {
		tl := x.(map[string]any)
		if ro := tl["annotations"].(map[string]any)["readOnlyHint"]; ro != (tl["name"] != "carve") {
			t.Errorf("%s readOnlyHint %v", tl["name"], ro)
		}
	}
	var names []string
	for i := range 2 {
		m := s.request(2+i, "tools/call", map[string]any{"name": "carve", "arguments": map[string]any{"auth_token": "tok", "path": "demo.pcapng", "ip": "203.0.113.66"}}, false)
		sc, _ := structured(t, m)
		name, _ := sc["written_to"].(string)
		b, err := os.ReadFile(filepath.Join(ev, name))
		if name == "" || err != nil || fmt.Sprintf("%x", sha256Sum(b)) != sc["sha256"] {
			t.Fatalf("written_to %q: %v", name, err)
		}
		fi, _ := os.Stat(filepath.Join(ev, name))
		if fi.Mode().Perm()&^0o640 != 0 {
			t.Errorf("mode %v", fi.Mode())
		}
		names = append(names, name)
	}
	if names[0] == names[1] {
		t.Errorf("two carves, one file name: %v", names)
	}
	s.close()
	for _, bad := range []string{allowed, base, filepath.Join(base, "missing")} {
		cfg := testConfig(t, allowed, map[string]string{"PORT_HUNTER_EVIDENCE_DIR": bad})
		if _, err := newServer(cfg, "test", nil, nil); err == nil || !strings.Contains(err.Error(), "PORT_HUNTER_EVIDENCE_DIR") {
			t.Errorf("evidence dir %s: %v", bad, err)
		}
	}
}

// TestEvidenceStoreLRU: past MaxEvidenceBytes the least recently used
// evidence is dropped; reading one keeps it.
func TestEvidenceStoreLRU(t *testing.T) {
	st := newEvidenceStore()
	mk := func(i int) *evidence {
		return &evidence{id: fmt.Sprintf("%032x", i), name: "x", data: make([]byte, MaxCarveBytes)}
	}
	for i := range 4 {
		st.put(mk(i))
	}
	st.get(fmt.Sprintf("%032x", 0)) // 0 is now the most recent
	st.put(mk(4))
	if st.get(fmt.Sprintf("%032x", 1)) != nil || st.get(fmt.Sprintf("%032x", 0)) == nil || st.get(fmt.Sprintf("%032x", 4)) == nil {
		t.Error("LRU order not kept")
	}
	if st.bytes > MaxEvidenceBytes {
		t.Errorf("%d bytes held", st.bytes)
	}
}

// TestReportTool: the report cites the frames of the first probe, the
// first open port and the first scan event, links the whole report, and
// its resource has the same text.
func TestReportTool(t *testing.T) {
	s := startSession(t, testConfig(t, "../fixtures", map[string]string{"PORT_HUNTER_REQUIRE_TOKEN": "false"}))
	m := s.request(1, "tools/call", map[string]any{"name": "report", "arguments": map[string]any{"path": "demo.pcapng"}}, false)
	sc, isErr := structured(t, m)
	if isErr {
		t.Fatal(sc)
	}
	md := sc["markdown"].(string)
	for _, want := range []string{"# PortHunter incident report", "## What was read", "frame 229", "First probe: frame", "First answer: frame",
		"Found open", "Follow-up use", "Intel:", "SHA-256"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	link := result(t, m)["content"].([]any)[1].(map[string]any)
	if link["type"] != "resource_link" || link["mimeType"] != mimeMarkdown {
		t.Fatalf("link %v", link)
	}
	c := result(t, s.request(2, "resources/read", map[string]any{"uri": link["uri"]}, true))["contents"].([]any)[0].(map[string]any)
	if c["text"] != md {
		t.Errorf("resource text differs from the answer's")
	}
	s.close()
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

// TestResourceSecretsRedacted: a URI, prompt argument or completion
// value carrying the token is never echoed with it.
func TestResourceSecretsRedacted(t *testing.T) {
	const secret = "the-secret-token"
	for _, env := range []map[string]string{{"PORT_HUNTER_TOKEN": secret}, {"PORT_HUNTER_TOKEN": secret, "PORT_HUNTER_REQUIRE_TOKEN": "false"}} {
		s := startSession(t, testConfig(t, "../fixtures", env))
		for i, line := range []string{
			`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"porthunter://capture/` + secret + `/overview"}}`,
			`{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"porthunter://capture/demo.pcapng/scanner/` + secret + `"}}`,
			`{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"porthunter://evidence/` + secret + `/x"}}`,
			`{"jsonrpc":"2.0","id":4,"method":"prompts/get","params":{"name":"triage_capture","arguments":{"path":"` + secret + `"}}}`,
			`{"jsonrpc":"2.0","id":5,"method":"prompts/get","params":{"name":"` + secret + `"}}`,
			`{"jsonrpc":"2.0","id":6,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"` + secret + `"},"argument":{"name":"path","value":""}}}`,
		} {
			s.send(line)
			_, raw := s.recv()
			if strings.Contains(raw, secret) {
				t.Errorf("line %d echoes the token: %s", i+1, raw)
			}
		}
		s.close()
	}
}

// TestReportTriage: the report applies the server's site context as
// list_suspects does: a known scanner is suppressed and said so, and each
// scanner described carries its priority, direction and reasons.
func TestReportTriage(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("../fixtures/stealth.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stealth.pcap"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "known.txt"), []byte("198.51.100.8/32 Qualys appliance\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startSession(t, testConfig(t, dir, map[string]string{"PORT_HUNTER_REQUIRE_TOKEN": "false", "PORT_HUNTER_KNOWN_SCANNERS": "known.txt"}))
	defer s.close()
	sc, isErr := structured(t, s.request(1, "tools/call", map[string]any{"name": "report", "arguments": map[string]any{"path": "stealth.pcap"}}, false))
	if isErr {
		t.Fatal(sc)
	}
	md := sc["markdown"].(string)
	for _, want := range []string{"### 1. 198.51.100.7:", "- Priority ", "inbound", "Suppressed as known scanners (`Qualys appliance`): 1 source"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "### 2.") || sc["scanners_total"] != 1.0 || strings.Contains(md, "ack_scan") {
		t.Errorf("the known scanner (an ACK scan) is described (scanners_total %v):\n%s", sc["scanners_total"], md)
	}
	// scan_overview leaves it out the same way, and says so.
	sc, _ = structured(t, s.request(2, "tools/call", map[string]any{"name": "scan_overview", "arguments": map[string]any{"path": "stealth.pcap"}}, false))
	ov := sc["overview"].(map[string]any)
	sup, _ := ov["suppressed"].([]any)
	if ov["scanners_total"] != 1.0 || ov["suppressed_total"] != 1.0 || len(sup) != 1 || sup[0].(map[string]any)["label"] != "Qualys appliance" ||
		slices.Contains(ov["suspected_patterns"].([]any), any("ack_scan")) {
		t.Errorf("overview: scanners_total %v, suppressed %v (%v), patterns %v", ov["scanners_total"], sup, ov["suppressed_total"], ov["suspected_patterns"])
	}
	// A call's ignore leaves out the other scanner too, under its own label.
	sc, _ = structured(t, s.request(5, "tools/call", map[string]any{"name": "scan_overview", "arguments": map[string]any{"path": "stealth.pcap",
		"ignore": []string{"198.51.100.7"}}}, false))
	if ov := sc["overview"].(map[string]any); ov["scanners_total"] != 0.0 || ov["suppressed_total"] != 2.0 {
		t.Errorf("overview with ignore: scanners_total %v, suppressed_total %v, want 0 and 2", ov["scanners_total"], ov["suppressed_total"])
	}
	sc, _ = structured(t, s.request(6, "tools/call", map[string]any{"name": "report", "arguments": map[string]any{"path": "stealth.pcap",
		"ignore": []string{"198.51.100.7/32"}}}, false))
	if md := sc["markdown"].(string); sc["scanners_total"] != 0.0 || !strings.Contains(md, "(`ignored by this call`): 1 source") {
		t.Errorf("report with ignore: scanners_total %v\n%s", sc["scanners_total"], md)
	}
	// scanner_detail gives the listed scanner's triage, and the known
	// scanner's label.
	detail := func(id int, ip string) map[string]any {
		sc, _ := structured(t, s.request(id, "tools/call", map[string]any{"name": "scanner_detail", "arguments": map[string]any{"path": "stealth.pcap", "ip": ip}}, false))
		return sc["scanner"].(map[string]any)
	}
	if d := detail(3, "198.51.100.7"); d["priority"] != "low" || d["direction"] != "inbound" || d["priority_score"] != 1.0 || d["suppressed_by"] != nil {
		t.Errorf("detail of the scanner: priority %v direction %v score %v suppressed_by %v", d["priority"], d["direction"], d["priority_score"], d["suppressed_by"])
	}
	if d := detail(4, "198.51.100.8"); d["suppressed_by"] != "Qualys appliance" || d["priority"] != nil {
		t.Errorf("detail of the known scanner: suppressed_by %v priority %v", d["suppressed_by"], d["priority"])
	}
}
