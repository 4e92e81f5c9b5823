package mcp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"porthunter/policy"
)

// testSession is an in-process server on pipes.
type testSession struct {
	t     *testing.T
	in    *io.PipeWriter
	lines chan string
	done  chan error
}

func testConfig(t testing.TB, dir string, env map[string]string) policy.Config {
	t.Helper()
	m := map[string]string{"PORT_HUNTER_ALLOWED_DIR": dir, "PORT_HUNTER_TOKEN": "tok"}
	for k, v := range env {
		m[k] = v
	}
	cfg, err := policy.LoadConfig(func(k string) string { return m[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startSession(t *testing.T, cfg policy.Config) *testSession {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &testSession{t: t, in: inW, lines: make(chan string, 1024), done: make(chan error, 1)}
	go func() {
		err := Serve(context.Background(), cfg, "test", inR, outW, io.Discard)
		outW.Close()
		s.done <- err
	}()
	go func() {
		br := bufio.NewReaderSize(outR, 1<<20)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				s.lines <- line
			}
			if err != nil {
				close(s.lines)
				return
			}
		}
	}()
	t.Cleanup(func() { inW.Close() })
	return s
}

func (s *testSession) send(line string) {
	s.t.Helper()
	if _, err := io.WriteString(s.in, line+"\n"); err != nil {
		s.t.Fatal(err)
	}
}

// recv returns the next line as a map, checking it is one JSON-RPC message
// ending in "\n" with no "id": null.
func (s *testSession) recv() (map[string]any, string) {
	s.t.Helper()
	select {
	case line, ok := <-s.lines:
		if !ok {
			s.t.Fatal("server closed stdout")
		}
		if !strings.HasSuffix(line, "\n") || strings.HasSuffix(line, "\r\n") {
			s.t.Fatalf("bad line ending: %q", line)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			s.t.Fatalf("stdout line is not JSON: %q", line)
		}
		if m["jsonrpc"] != "2.0" {
			s.t.Fatalf("not JSON-RPC 2.0: %q", line)
		}
		if id, ok := m["id"]; ok && id == nil {
			s.t.Fatalf("id: null on the wire: %q", line)
		}
		return m, strings.TrimSpace(line)
	case <-time.After(60 * time.Second):
		s.t.Fatal("no answer within 60 s")
	}
	return nil, ""
}

func (s *testSession) close() {
	s.t.Helper()
	s.in.Close()
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		s.t.Fatal("server did not return after stdin EOF")
	}
}

func errCode(m map[string]any) int {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(float64)
	return int(c)
}

func TestProtocolBasics(t *testing.T) {
	s := startSession(t, testConfig(t, t.TempDir(), nil))
	type exp struct {
		line    string
		rawID   string // "" = the answer must have no id
		code    int    // 0 = result
		checkFn func(t *testing.T, m map[string]any)
	}
	init := func(v, want string) exp {
		return exp{`{"jsonrpc":"2.0","id":"i-` + v + `","method":"initialize","params":{"protocolVersion":"` + v + `","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
			`"i-` + v + `"`, 0, func(t *testing.T, m map[string]any) {
				r := m["result"].(map[string]any)
				if r["protocolVersion"] != want {
					t.Errorf("initialize %s answered %v, want %s", v, r["protocolVersion"], want)
				}
				// The token is required here: no completion (discover.go).
				if !reflect.DeepEqual(r["capabilities"], map[string]any{"tools": map[string]any{}, "resources": map[string]any{}, "prompts": map[string]any{}}) {
					t.Errorf("capabilities %v", r["capabilities"])
				}
			}}
	}
	cases := []exp{
		{`{"jsonrpc":"2.0","id":1,"method":"ping"}`, "1", 0, func(t *testing.T, m map[string]any) {
			if !reflect.DeepEqual(m["result"], map[string]any{}) {
				t.Errorf("ping result %v, want {}", m["result"])
			}
		}},
		init("2025-11-25", "2025-11-25"), init("2025-06-18", "2025-06-18"), init("2025-03-26", "2025-03-26"),
		init("2024-11-05", "2024-11-05"), init("1900-01-01", "2025-11-25"), init("2026-07-28", "2025-11-25"),
		{`{"jsonrpc":"2.0","method":"notifications/initialized"}`, "-", 0, nil},
		{`{"jsonrpc":"2.0","method":"notifications/whatever","params":{}}`, "-", 0, nil},
		{`{"jsonrpc":"2.0","id":"abc-1","method":"ping"}`, `"abc-1"`, 0, nil},
		{`{"jsonrpc":"2.0","id":0,"method":"ping"}`, `0`, 0, nil},
		{`{"jsonrpc":"2.0","id":4294967296,"method":"ping"}`, `4294967296`, 0, nil},
		{`{"jsonrpc":"2.0","id":-7,"method":"ping"}`, `-7`, 0, nil},
		{`{"jsonrpc":"2.0","id":2,"method":"nope"}`, "2", -32601, nil},
		{`{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"cursor":"x"}}`, "3", -32602, nil},
		{`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"nope"}}`, "4", -32602, nil},
		{`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{}}`, "5", -32602, nil},
		{`this is not json`, "", -32700, nil},
		{`{"jsonrpc":"2.0","id":null,"method":"ping"}`, "", -32600, nil},
		{`{"jsonrpc":"2.0","id":1.5,"method":"ping"}`, "", -32600, nil},
		{`[{"jsonrpc":"2.0","id":6,"method":"ping"}]`, "", -32600, nil},
		{`{"jsonrpc":"2.0","id":7}`, "7", -32600, nil},
		{`{"jsonrpc":"2.0","id":8,"method":"ping","params":{"pad":"` + strings.Repeat("x", 1<<20) + `"}}`, "", -32600, nil},
		{`{"jsonrpc":"2.0","id":9,"method":"ping"}`, "9", 0, nil}, // still serving after the long line
	}
	for _, c := range cases {
		s.send(c.line)
		if c.rawID == "-" {
			continue // a notification: nothing comes back
		}
		m, raw := s.recv()
		if c.rawID == "" {
			if _, has := m["id"]; has {
				t.Errorf("%.60s: answer has an id: %s", c.line, raw)
			}
		} else if !strings.Contains(raw, `"id":`+c.rawID+`,`) {
			t.Errorf("%.60s: id not echoed byte for byte: %s", c.line, raw)
		}
		if got := errCode(m); got != c.code {
			t.Errorf("%.60s: code %d, want %d (%s)", c.line, got, c.code, raw)
		}
		if c.checkFn != nil {
			c.checkFn(t, m)
		}
	}
	s.close()
}

func TestToolsList(t *testing.T) {
	s := startSession(t, testConfig(t, t.TempDir(), nil))
	s.send(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	m1, raw1 := s.recv()
	s.send(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`)
	_, raw2 := s.recv()
	if raw1 != raw2 {
		t.Error("tools/list is not deterministic")
	}
	if strings.Contains(raw1, `"$schema"`) || strings.Contains(raw1, `"$ref"`) || strings.Contains(raw1, "nextCursor") {
		t.Error("tools/list has $schema, $ref or a cursor")
	}
	list := m1["result"].(map[string]any)["tools"].([]any)
	var names []string
	for _, x := range list {
		tl := x.(map[string]any)
		names = append(names, tl["name"].(string))
		for _, k := range []string{"inputSchema", "outputSchema"} {
			sc := tl[k].(map[string]any)
			if sc["type"] != "object" {
				t.Errorf("%s %s root type %v", tl["name"], k, sc["type"])
			}
			for _, bad := range []string{"oneOf", "anyOf", "allOf", "not"} {
				if _, ok := sc[bad]; ok {
					t.Errorf("%s %s has top-level %s", tl["name"], k, bad)
				}
			}
		}
		if d, _ := tl["description"].(string); d == "" {
			t.Errorf("%s has no description", tl["name"])
		}
	}
	want := "list_captures scan_overview list_suspects first_scan_event scanner_detail enrich_ip correlate report carve"
	if strings.Join(names, " ") != want {
		t.Errorf("tools %v, want %s", names, want)
	}
	s.close()
}

const modernMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"}}`

func TestModernEra(t *testing.T) {
	s := startSession(t, testConfig(t, t.TempDir(), nil))
	s.send(`{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{` + modernMeta + `}}`)
	m, _ := s.recv()
	r := m["result"].(map[string]any)
	if r["resultType"] != "complete" || r["cacheScope"] != "public" || r["ttlMs"] == nil {
		t.Errorf("discover: %v", r)
	}
	if v, _ := r["supportedVersions"].([]any); len(v) == 0 || v[0] != "2026-07-28" {
		t.Errorf("supportedVersions %v", r["supportedVersions"])
	}
	if meta, _ := r["_meta"].(map[string]any); meta["io.modelcontextprotocol/serverInfo"] == nil {
		t.Errorf("no serverInfo in _meta: %v", r)
	}
	s.send(`{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{` + modernMeta + `}}`)
	m, _ = s.recv()
	r = m["result"].(map[string]any)
	if r["resultType"] != "complete" || r["cacheScope"] == nil || r["ttlMs"] == nil || len(r["tools"].([]any)) != 9 {
		t.Errorf("modern tools/list: %v", r)
	}
	s.send(`{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"1900-01-01","io.modelcontextprotocol/clientCapabilities":{}}}}`)
	m, _ = s.recv()
	e := m["error"].(map[string]any)
	d, _ := e["data"].(map[string]any)
	if errCode(m) != -32022 || d["requested"] != "1900-01-01" || d["supported"] == nil {
		t.Errorf("unsupported version: %v", m)
	}
	s.send(`{"jsonrpc":"2.0","id":4,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`)
	if m, _ = s.recv(); errCode(m) != -32602 {
		t.Errorf("missing clientCapabilities: %v", m)
	}
	s.send(`{"jsonrpc":"2.0","id":5,"method":"ping","params":{` + modernMeta + `}}`)
	if m, _ = s.recv(); errCode(m) != -32601 {
		t.Errorf("modern ping: %v", m)
	}
	s.send(`{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"enrich_ip","arguments":{"auth_token":"tok","ip":"10.1.2.3"},` + modernMeta + `}}`)
	m, _ = s.recv()
	r = m["result"].(map[string]any)
	if r["resultType"] != "complete" || r["isError"] != false {
		t.Errorf("modern tools/call: %v", r)
	}
	s.close()
}

// toolCall sends a tools/call and returns structuredContent and isError,
// checking the text block repeats the same JSON.
func toolCall(t *testing.T, s *testSession, id int, name string, args map[string]any) (map[string]any, bool) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": map[string]any{"name": name, "arguments": args}})
	s.send(string(b))
	m, _ := s.recv()
	return structured(t, m)
}

func TestToolArguments(t *testing.T) {
	dir := t.TempDir()
	demo, err := os.ReadFile("../fixtures/demo.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "demo.pcapng"), demo, 0o644))
	s := startSession(t, testConfig(t, dir, nil))
	cases := []struct {
		tool string
		args map[string]any
		code string
	}{
		{"scan_overview", map[string]any{"auth_token": "tok", "path": "demo.pcapng", "top_k": 0}, "invalid_argument"},
		{"scan_overview", map[string]any{"auth_token": "tok", "path": "demo.pcapng", "top_k": 2.5}, "invalid_argument"},
		{"scan_overview", map[string]any{"auth_token": "tok", "path": "demo.pcapng", "time_window_s": 0}, "invalid_argument"},
		{"scan_overview", map[string]any{"auth_token": "tok", "path": "demo.pcapng", "time_window_s": "60"}, "invalid_argument"},
		{"scan_overview", map[string]any{"auth_token": "tok", "path": 7}, "invalid_argument"},
		{"list_suspects", map[string]any{"auth_token": "tok", "path": "demo.pcapng", "min_port": 3}, "invalid_argument"},
		{"list_suspects", map[string]any{"auth_token": "tok", "path": "demo.pcapng", "min_rate_pps": -1}, "invalid_argument"},
		{"list_suspects", map[string]any{"auth_token": "tok", "path": "demo.pcapng", "limit": 0}, "invalid_argument"},
		{"list_suspects", map[string]any{"auth_token": "tok", "path": "demo.pcapng", "limit": "5"}, "invalid_argument"},
		{"correlate", map[string]any{"auth_token": "tok", "ips": "8.8.8.8"}, "invalid_argument"},
		{"correlate", map[string]any{"auth_token": "tok", "ips": []any{"8.8.8.8", 3}}, "invalid_argument"},
		{"enrich_ip", map[string]any{"auth_token": 5, "ip": "8.8.8.8"}, "unauthorized"},
		{"enrich_ip", map[string]any{"auth_token": "tok", "ip": "8.8.8.8.8"}, "invalid_ip"},
		{"enrich_ip", map[string]any{"auth_token": "tok", "ip": "8.8.8.8"}, ""},
		{"scan_overview", map[string]any{"auth_token": "tok", "path": "demo.pcapng", "top_k": 3, "time_window_s": 0.5}, ""},
	}
	for i, c := range cases {
		sc, isErr := toolCall(t, s, i+1, c.tool, c.args)
		if c.code == "" {
			if isErr || sc["ok"] != true {
				t.Errorf("%s %v: %v", c.tool, c.args, sc)
			}
			continue
		}
		if !isErr || sc["error"] != c.code {
			t.Errorf("%s %v: got %v, want %s", c.tool, c.args, sc, c.code)
		}
	}
	s.close()
}

func TestProgressAndCancel(t *testing.T) {
	if testing.Short() {
		t.Skip("writes two 14 MB captures")
	}
	dir := t.TempDir()
	writeBigCapture(t, filepath.Join(dir, "big.pcap"), 200_000)
	writeBigCapture(t, filepath.Join(dir, "big2.pcap"), 200_000)
	s := startSession(t, testConfig(t, dir, map[string]string{"PORT_HUNTER_MAX_PCAP_MB": "1024"}))

	// Progress: increasing, before the response, none after it.
	s.send(`{"jsonrpc":"2.0","id":"p1","method":"tools/call","params":{"name":"list_suspects","arguments":{"auth_token":"tok","path":"big.pcap"},"_meta":{"progressToken":"tok-1"}}}`)
	var last float64
	var n int
	for {
		m, raw := s.recv()
		if m["method"] == "notifications/progress" {
			p := m["params"].(map[string]any)
			if p["progressToken"] != "tok-1" {
				t.Fatalf("progress token %v", p["progressToken"])
			}
			v := p["progress"].(float64)
			if v <= last {
				t.Fatalf("progress not increasing: %v after %v", v, last)
			}
			last = v
			n++
			continue
		}
		if !strings.Contains(raw, `"id":"p1"`) || m["result"] == nil {
			t.Fatalf("unexpected %s", raw)
		}
		break
	}
	if n == 0 {
		t.Error("no progress notification for a 14 MB capture")
	}

	// Cancellation: no answer for the cancelled call, the next one answered.
	s.send(`{"jsonrpc":"2.0","id":"c1","method":"tools/call","params":{"name":"scan_overview","arguments":{"auth_token":"tok","path":"big2.pcap"}}}`)
	// Sent right behind the call: dispatch registers a call before it reads
	// the next line, so the cancellation always finds it running.
	s.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"c1","reason":"test"}}`)
	s.send(`{"jsonrpc":"2.0","id":"after","method":"ping"}`)
	m, raw := s.recv()
	if !strings.Contains(raw, `"id":"after"`) {
		t.Fatalf("got %s before the ping answer", raw)
	}
	_ = m
	s.close()
	for line := range s.lines {
		t.Errorf("line after cancellation: %s", line)
	}
}

// TestRequireTokenFalse: with PORT_HUNTER_REQUIRE_TOKEN=false a call without
// auth_token is served; with the default it is refused.
func TestRequireTokenFalse(t *testing.T) {
	for _, c := range []struct {
		env  string
		want any
	}{{"false", true}, {"no", true}, {"true", false}} {
		s := startSession(t, testConfig(t, "../fixtures", map[string]string{"PORT_HUNTER_REQUIRE_TOKEN": c.env}))
		sc, _ := toolCall(t, s, 1, "first_scan_event", map[string]any{"path": "demo.pcapng"})
		if sc["ok"] != c.want {
			t.Errorf("REQUIRE_TOKEN=%s: %v", c.env, sc)
		}
		s.close()
	}
}

// TestConcurrentCalls: 200 overlapping calls over several captures give
// the answers a sequential run gives (run under -race by make test).
func TestConcurrentCalls(t *testing.T) {
	files := []string{"demo.pcapng", "stealth.pcap", "udp_scan.pcap", "horizontal.pcap", "ipv6_scan.pcapng", "distributed.pcap"}
	tools := []string{"list_suspects", "first_scan_event", "scan_overview"}
	strip := func(m map[string]any) string {
		delete(m, "generated_at")
		b, _ := json.Marshal(m)
		return string(b)
	}
	// Sequential answers, one fresh server per call so no cache is shared.
	want := map[string]string{}
	for _, f := range files {
		for _, tl := range tools {
			s := startSession(t, testConfig(t, "../fixtures", nil))
			sc, _ := toolCall(t, s, 1, tl, map[string]any{"auth_token": "tok", "path": f})
			want[tl+" "+f] = strip(sc)
			s.close()
		}
	}
	s := startSession(t, testConfig(t, "../fixtures", map[string]string{"PORT_HUNTER_MAX_ANALYSES": "3"}))
	// The client keeps at most MaxInflightCalls calls outstanding, as a
	// client of the limit must, and sends a call refused as busy again
	// (with a new id), which should never happen: a call's slot is free
	// before its answer is written.
	const n = 200
	next, busy := 0, 0
	send := func(id int) {
		i := id % n
		f, tl := files[i%len(files)], tools[(i/len(files))%len(tools)]
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call",
			"params": map[string]any{"name": tl, "arguments": map[string]any{"auth_token": "tok", "path": f}}})
		s.send(string(b))
	}
	for ; next < MaxInflightCalls; next++ {
		send(next)
	}
	for done := 0; done < n; {
		m, _ := s.recv()
		id := int(m["id"].(float64))
		sc, _ := structured(t, m)
		if sc["error"] == "busy" {
			busy++
			send(id + n)
			continue
		}
		i := id % n
		f, tl := files[i%len(files)], tools[(i/len(files))%len(tools)]
		if got := strip(sc); got != want[tl+" "+f] {
			t.Fatalf("call %d %s %s differs from the sequential answer:\n%.300s\n%.300s", i, tl, f, got, want[tl+" "+f])
		}
		done++
		if next < n {
			send(next)
			next++
		}
	}
	if busy > 0 {
		t.Errorf("%d of %d calls refused as busy with at most %d outstanding", busy, n, MaxInflightCalls)
	}
	s.close()
}

// TestRedactKeepsShape: a token that is also a key or a common word of
// the answers never breaks them; only string values holding it change.
func TestRedactKeepsShape(t *testing.T) {
	s := startSession(t, testConfig(t, "../fixtures", map[string]string{"PORT_HUNTER_TOKEN": "suspects"}))
	sc, isErr := toolCall(t, s, 1, "list_suspects", map[string]any{"auth_token": "suspects", "path": "demo.pcapng"})
	if isErr || sc["ok"] != true || sc["suspects"] == nil {
		t.Fatalf("answer broken by redaction: %v", sc)
	}
	sc, _ = toolCall(t, s, 2, "enrich_ip", map[string]any{"auth_token": "suspects", "ip": "suspects!"})
	if d, _ := sc["detail"].(string); sc["error"] != "invalid_ip" || strings.Contains(d, "suspects") || !strings.Contains(d, "[redacted]") {
		t.Errorf("detail %q: want the quoted token redacted", d)
	}
	s.close()
}

// TestRedactSpecialCharacters: secrets holding & < > " or \ are redacted
// from every answer and log line: tool errors quoting the input (%q
// escapes " and \, JSON escapes & < >), JSON-RPC error messages (unknown
// method, unknown tool) and error data (the unsupported version asked
// for). Before, such a secret was looked for in the encoded answer, where
// it never appears as is, and JSON-RPC errors were not redacted at all.
func TestRedactSpecialCharacters(t *testing.T) {
	for _, tok := range []string{`tok&en-Zq81`, `tok<en-Zq81`, `tok>en-Zq81`, `tok"en-Zq81`, `tok\en-Zq81`, `<&>"\-Zq81`} {
		t.Run(tok, func(t *testing.T) {
			key := "k" + tok // an API key with the same characters
			cfg := testConfig(t, "../fixtures", map[string]string{"PORT_HUNTER_TOKEN": tok, "PORT_HUNTER_OTX_KEY": key})
			line := func(v any) string {
				b, _ := json.Marshal(v)
				return string(b)
			}
			call := func(id int, name string, args map[string]any) string {
				return line(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": map[string]any{"name": name, "arguments": args}})
			}
			lines := []string{
				call(1, "enrich_ip", map[string]any{"auth_token": tok, "ip": tok}),
				call(2, "enrich_ip", map[string]any{"auth_token": tok, "ip": "1.2.3.4/" + key + "/x"}),
				call(3, "scan_overview", map[string]any{"auth_token": tok, "path": "a/" + tok + ".pcap"}),
				call(4, "correlate", map[string]any{"auth_token": tok, "ips": []string{"8.8.8.8", tok}}),
				call(5, tok, map[string]any{"auth_token": tok}),
				line(map[string]any{"jsonrpc": "2.0", "id": 6, "method": "x/" + key}),
				line(map[string]any{"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": map[string]any{"_meta": map[string]any{
					metaProtocolVersion: tok, metaClientCaps: map[string]any{}}}}),
				line(map[string]any{"jsonrpc": "2.0", "id": 8, "method": "tools/list", "params": map[string]any{"_meta": map[string]any{
					metaProtocolVersion: map[string]any{"v": []string{key}}, metaClientCaps: map[string]any{}}}}),
			}
			var stdout, stderr bytes.Buffer
			in := strings.NewReader(strings.Join(lines, "\n") + "\n")
			if err := Serve(context.Background(), cfg, "test", in, &stdout, &stderr); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(stdout.String(), "\n"); n != len(lines) {
				t.Fatalf("%d answers to %d requests:\n%s", n, len(lines), stdout.String())
			}
			if n := strings.Count(stdout.String(), "[redacted]"); n < len(lines) {
				t.Errorf("%d redactions in %d answers that each quote a secret:\n%s", n, len(lines), stdout.String())
			}
			for _, sec := range []string{tok, key} {
				q := strconv.Quote(sec)
				forms := []string{sec, q[1 : len(q)-1]}
				for _, f := range append([]string(nil), forms...) {
					j, _ := json.Marshal(f)
					forms = append(forms, string(j[1:len(j)-1]))
				}
				for _, f := range forms {
					for _, out := range []string{stdout.String(), stderr.String()} {
						if i := strings.Index(out, f); i >= 0 {
							t.Errorf("secret %q printed as %q: ...%s...", sec, f, out[max(0, i-80):min(len(out), i+80)])
						}
					}
				}
			}
		})
	}
}

// TestRedactCost: an answer without a secret is not decoded (no
// allocation), and one with secrets is redacted in time linear in its
// size.
func TestRedactCost(t *testing.T) {
	r := newRedactor(`tok"en&<>\-1`, "", "short")
	var b strings.Builder
	b.WriteString(`{"rows":[`)
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&b, `{"ip":"10.0.%d.%d","note":"a \"quoted\" \\ value \u0026"},`, i>>8, i&255)
	}
	clean := []byte(b.String() + `{}]}`)
	if n := testing.AllocsPerRun(10, func() { r.json(clean) }); n != 0 {
		t.Errorf("%v allocations to look at an answer without a secret", n)
	}
	dirty, _ := json.Marshal(map[string]any{"rows": strings.Split(strings.Repeat(`x tok"en&<>\-1 y,`, 20000), ",")})
	start := time.Now()
	out := r.json(dirty)
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("%v to redact %d bytes", el, len(dirty))
	}
	if bytes.Contains(out, []byte(`tok\"en`)) || bytes.Count(out, []byte("[redacted]")) != 20000 {
		t.Errorf("not redacted: %.200s", out)
	}
}

// TestStalledWork: a handler that ignores its context (a stage that does
// not look at it) still gets its call answered timeout within a second of
// the limit, a cancelled one is not answered, and no progress follows the
// answer; the slots stay taken while the work runs and are free within
// 100 ms of its end. Before, the answer waited for the work to return.
func TestStalledWork(t *testing.T) {
	cfg := testConfig(t, t.TempDir(), map[string]string{"PORT_HUNTER_CALL_TIMEOUT_S": "1"})
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s, err := newServer(cfg, "test", outW, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	release := make(chan struct{})
	s.tools = append(s.tools, &toolDef{name: "stall", args: reflect.TypeFor[struct{}](), answer: reflect.TypeFor[FirstEventAnswer](),
		run: func(_ context.Context, s *server, c *call, _ json.RawMessage) (enveloped, error) {
			<-release
			if p := s.progressFunc(c); p != nil {
				p(1, 2)
			}
			return &FirstEventAnswer{}, nil
		}})
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() { served <- s.serve(ctx, inR) }()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	send := func(l string) {
		t.Helper()
		if _, err := io.WriteString(inW, l+"\n"); err != nil {
			t.Fatal(err)
		}
	}

	start := time.Now()
	send(`{"jsonrpc":"2.0","id":"slow","method":"tools/call","params":{"name":"stall","arguments":{"auth_token":"tok"},"_meta":{"progressToken":"p"}}}`)
	send(`{"jsonrpc":"2.0","id":"gone","method":"tools/call","params":{"name":"stall","arguments":{"auth_token":"tok"}}}`)
	send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"gone"}}`)
	select {
	case l := <-lines:
		el := time.Since(start)
		if !strings.Contains(l, `"id":"slow"`) || !strings.Contains(l, `\"error\":\"timeout\"`) {
			t.Fatalf("got %s, want the timeout answer of the stalled call", l)
		}
		if el < cfg.CallTimeout || el > cfg.CallTimeout+time.Second {
			t.Errorf("timeout answered after %v, limit %v", el, cfg.CallTimeout)
		}
	case <-time.After(cfg.CallTimeout + 2*time.Second):
		t.Fatal("no answer within 2 s of the time limit while the work ignores its context")
	}
	if n := len(s.slots); n != 2 {
		t.Errorf("%d slots taken while two calls' work runs, want 2", n)
	}
	close(release)
	freed := time.Now()
	for len(s.slots) > 0 && time.Since(freed) < time.Second {
		time.Sleep(time.Millisecond)
	}
	if el := time.Since(freed); el > 100*time.Millisecond {
		t.Errorf("slots free %v after the work returned", el)
	}
	send(`{"jsonrpc":"2.0","id":"after","method":"ping"}`)
	if l := <-lines; l != `{"jsonrpc":"2.0","id":"after","result":{}}` {
		t.Errorf("after the work returned: %s (no late answer, no progress)", l)
	}
	inW.Close()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	outW.Close()
	for l := range lines {
		t.Errorf("more output: %s", l)
	}
}
