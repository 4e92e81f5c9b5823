package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"porthunter/mcp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostileLines are requests no client should send. For each, want is the
// number of answer lines it deserves (0 for notifications and stray
// responses) and, when not 0, the error code (or 0 for a result).
var hostileLines = []struct {
	line string
	want int
	code int
	id   string // the id the answer echoes (JSON text); "" when it has none
}{
	{"\xff\xfe\xfd not utf-8", 1, -32700, ""},
	// Invalid UTF-8 inside a string is replaced by U+FFFD (encoding/json's
	// rule), so the request is served.
	{`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"` + "\xff" + `"}}`, 1, 0, `1`},
	{`null`, 1, -32600, ""},
	{`true`, 1, -32600, ""},
	{`[]`, 1, -32600, ""},
	{`[1,2,3]`, 1, -32600, ""},
	{`{}`, 1, -32600, ""},
	{`{"jsonrpc":2,"id":2,"method":"ping"}`, 1, -32600, `2`},
	{`{"jsonrpc":"2.0","id":3,"method":["ping"]}`, 1, -32600, `3`},
	{`{"jsonrpc":"2.0","id":[4],"method":"ping"}`, 1, -32600, ""},
	{`{"jsonrpc":"2.0","id":{"a":5},"method":"ping"}`, 1, -32600, ""},
	{`{"jsonrpc":"2.0","id":false,"method":"ping"}`, 1, -32600, ""},
	{`{"jsonrpc":"2.0","id":6.0,"method":"ping"}`, 1, -32600, ""},
	{`{"jsonrpc":"2.0","id":1e400,"method":"ping"}`, 1, -32600, ""},
	{`{"jsonrpc":"2.0","id":123456789012345678901234567890123456789,"method":"ping"}`, 1, 0, `123456789012345678901234567890123456789`},
	{`{"jsonrpc":"2.0","id":"` + strings.Repeat("i", 1000) + `","method":"ping"}`, 1, 0, `"` + strings.Repeat("i", 1000) + `"`},
	{`{"jsonrpc":"2.0","id":7,"method":"ping","params":"x"}`, 1, -32602, `7`},
	{`{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":5}}`, 1, -32602, `8`},
	{`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"scan_overview","arguments":[1]}}`, 1, 0, `9`},
	{`{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"scan_overview","arguments":"x"}}`, 1, 0, `10`},
	{`{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"scan_overview","arguments":{"auth_token":["t"]}}}`, 1, 0, `11`},
	{`{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"nope"}}`, 1, -32602, `12`},
	{`{"jsonrpc":"2.0","id":13,"method":"no/such/method"}`, 1, -32601, `13`},
	{`{"jsonrpc":"2.0","id":14,"method":"initialize","params":{"protocolVersion":7}}`, 1, 0, `14`},
	{`{"jsonrpc":"2.0","id":15,"method":"tools/list","params":{"cursor":7}}`, 1, -32602, `15`},
	{`{"jsonrpc":"2.0","id":16,"method":"tools/call","params":{"name":"correlate","arguments":{"auth_token":"t","ips":[[]]}}}`, 1, 0, `16`},
	{`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":999}}`, 0, 0, ""},
	{`{"jsonrpc":"2.0","method":"notifications/cancelled","params":"junk"}`, 0, 0, ""},
	{`{"jsonrpc":"2.0","method":"notifications/cancelled"}`, 0, 0, ""},
	{`{"jsonrpc":"2.0","id":17,"result":{}}`, 0, 0, ""},
	{`{"jsonrpc":"2.0","id":18,"error":{"code":1,"message":"x"}}`, 0, 0, ""},
	// Member names are exact: "Method" is not method, and a proxy that
	// let this ping through must not see the server run tools/call.
	{`{"jsonrpc":"2.0","id":21,"method":"ping","Method":"tools/call","params":{"name":"nope"}}`, 1, 0, `21`},
	{`{"jsonrpc":"2.0","id":22,"method":"ping","method":"tools/call","params":{"name":"nope"}}`, 1, -32600, `22`},
	{`{"jsonrpc":"2.0","id":23,"id":24,"method":"ping"}`, 1, -32600, ""},
	// Resource URIs, prompt arguments, completions and globs are as
	// hostile as paths: refused by protocol code, or a tool error, never
	// a file outside the allowed directory (the token is required here).
	{`{"jsonrpc":"2.0","id":40,"method":"resources/read","params":{"uri":"porthunter://capture/..%2F..%2Fetc%2Fpasswd/overview"}}`, 1, -32002, `40`},
	{`{"jsonrpc":"2.0","id":41,"method":"resources/read","params":{"uri":"porthunter://capture/` + strings.Repeat("%2F..", 3000) + `/overview"}}`, 1, -32002, `41`},
	{`{"jsonrpc":"2.0","id":42,"method":"resources/read","params":{"uri":7}}`, 1, -32602, `42`},
	{`{"jsonrpc":"2.0","id":43,"method":"resources/read"}`, 1, -32602, `43`},
	{`{"jsonrpc":"2.0","id":44,"method":"resources/read","params":{"uri":"porthunter://evidence/00000000000000000000000000000000/x"}}`, 1, -32002, `44`},
	{`{"jsonrpc":"2.0","id":45,"method":"resources/list","params":{"cursor":"AAAA"}}`, 1, -32602, `45`},
	{`{"jsonrpc":"2.0","id":46,"method":"resources/templates/list","params":{"cursor":""}}`, 1, -32602, `46`},
	{`{"jsonrpc":"2.0","id":47,"method":"prompts/get","params":{"name":"triage_capture","arguments":{"path":"../../etc/passwd"}}}`, 1, 0, `47`},
	{`{"jsonrpc":"2.0","id":48,"method":"prompts/get","params":{"name":"triage_capture","arguments":["x"]}}`, 1, -32602, `48`},
	{`{"jsonrpc":"2.0","id":49,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"triage_capture"},"argument":{"name":"path","value":""}}}`, 1, -32601, `49`},
	{`{"jsonrpc":"2.0","id":50,"method":"tools/call","params":{"name":"scan_overview","arguments":{"auth_token":"t","glob":"` + strings.Repeat("*", 300) + `"}}}`, 1, 0, `50`},
	{`{"jsonrpc":"2.0","id":51,"method":"tools/call","params":{"name":"list_suspects","arguments":{"auth_token":"t","glob":"../../*"}}}`, 1, 0, `51`},
	{`{"jsonrpc":"2.0","id":52,"method":"tools/call","params":{"name":"carve","arguments":{"auth_token":"t","paths":["a","a"],"ip":"1.2.3.4","since":"x"}}}`, 1, 0, `52`},
	{`{"jsonrpc":"2.0","id":53,"method":"tools/call","params":{"name":"list_captures","arguments":{"auth_token":"t","dir":"/"}}}`, 1, 0, `53`},
	{`{"jsonrpc":"2.0","id":54,"method":"tools/call","params":{"name":"scan_overview","arguments":{"auth_token":"t","paths":` + `[` + strings.TrimSuffix(strings.Repeat(`"x",`, 2000), ",") + `]}}}`, 1, 0, `54`},
	{strings.Repeat("[", 100000) + strings.Repeat("]", 100000), 1, -32700, ""}, // deeper than encoding/json accepts
	{`{"a":` + strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat("}", 20001), 1, -32700, ""},
	{`{"jsonrpc":"2.0","id":19,"method":"ping","params":{"pad":"` + strings.Repeat("x", 10<<20) + `"}}`, 1, -32600, ""},
	{`{"jsonrpc":"2.0","id":20,"method":"ping"}`, 1, 0, `20`},
}

// TestHostileClient pipes every hostile line into the real binary: each
// gets the answer it deserves, stdout carries only JSON-RPC lines, and the
// server exits 0 at EOF.
func TestHostileClient(t *testing.T) {
	t.Parallel() // no time bound of its own: runs beside the other such tests
	bin := buildE2EBinary(t)
	var in bytes.Buffer
	want := 0
	for _, h := range hostileLines {
		in.WriteString(h.line + "\n")
		want += h.want
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"PORT_HUNTER_ALLOWED_DIR=" + t.TempDir(), "PORT_HUNTER_TOKEN=t"}
	cmd.Stdin = &in
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != want {
		t.Fatalf("%d answer lines, want %d", len(lines), want)
	}
	byID := map[string]map[string]any{}
	var noID []map[string]any // inline answers, in input order
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["jsonrpc"] != "2.0" {
			t.Fatalf("not a JSON-RPC line: %q", l)
		}
		if strings.Contains(l, `"id":null`) {
			t.Errorf("id null on the wire: %s", l)
		}
		if _, has := m["id"]; !has {
			noID = append(noID, m)
			continue
		}
		var id json.RawMessage
		json.Unmarshal([]byte(l), &struct {
			ID *json.RawMessage `json:"id"`
		}{&id})
		byID[string(id)] = m
	}
	for _, h := range hostileLines {
		if h.want == 0 {
			continue
		}
		var m map[string]any
		if h.id == "" {
			if len(noID) == 0 {
				t.Fatalf("%.50q: no answer without id left", h.line)
			}
			m, noID = noID[0], noID[1:]
		} else {
			want := h.id
			if m = byID[want]; m == nil {
				t.Errorf("%.50q: no answer with id %.40s", h.line, want)
				continue
			}
		}
		if got := errCode(m); got != h.code {
			t.Errorf("%.50q: code %d, want %d", h.line, got, h.code)
		}
	}
}

// TestPipelinedFlood writes thousands of requests without reading any
// answer until the end: the server neither deadlocks nor drops one.
func TestPipelinedFlood(t *testing.T) {
	bin := buildE2EBinary(t)
	const n = 5000
	cmd := exec.Command(bin)
	cmd.Env = []string{"PORT_HUNTER_ALLOWED_DIR=fixtures", "PORT_HUNTER_TOKEN=t"}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	e2eMust(t, cmd.Start())
	go func() {
		w := bufio.NewWriter(stdin)
		for i := 0; i < n; i++ {
			if i%3 == 0 {
				fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"first_scan_event","arguments":{"auth_token":"t","path":"stealth.pcap"}}}`+"\n", i)
			} else {
				fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%d,"method":"ping"}`+"\n", i)
			}
		}
		w.Flush()
		stdin.Close()
	}()
	time.Sleep(500 * time.Millisecond) // let the pipe fill before reading
	seen := map[string]bool{}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("bad line %q", sc.Text())
		}
		seen[fmt.Sprint(m["id"])] = true
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Fatalf("%d distinct answers, want %d", len(seen), n)
	}
}

// TestNoGoroutineLeak: after a session with calls, cancellations and
// faults ends at EOF, serve leaves no goroutine behind.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	var in bytes.Buffer
	for i, h := range hostileLines[:len(hostileLines)-3] { // without the 10 MiB line
		in.WriteString(h.line + "\n")
		fmt.Fprintf(&in, `{"jsonrpc":"2.0","id":"c%d","method":"tools/call","params":{"name":"list_suspects","arguments":{"auth_token":"tok","path":"demo.pcapng"}}}`+"\n", i)
		fmt.Fprintf(&in, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"c%d"}}`+"\n", i)
	}
	err := serve(context.Background(), testConfig(t, "fixtures", nil), &in, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after serve, %d before:\n%s", g, before, buf[:runtime.Stack(buf, true)])
	}
}

// TestStdoutClosed: a client that closes its end of stdout does not make
// the server spin or hang; it stops at EOF of stdin.
func TestStdoutClosed(t *testing.T) {
	bin := buildE2EBinary(t)
	cmd := exec.Command(bin)
	cmd.Env = []string{"PORT_HUNTER_ALLOWED_DIR=fixtures", "PORT_HUNTER_TOKEN=t"}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	e2eMust(t, cmd.Start())
	stdout.Close()
	for i := 0; i < 100; i++ {
		fmt.Fprintf(stdin, `{"jsonrpc":"2.0","id":%d,"method":"ping"}`+"\n", i)
	}
	stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done: // any status: writing to a closed pipe may end it by SIGPIPE
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("server hung after its stdout was closed")
	}
}

// TestStdinClosedMidRequest: stdin ends in the middle of a request (a
// client killed while writing) and while a call is still running. The
// requests read whole are answered, including the running call, the cut
// one gets a parse error, and the server exits 0.
func TestStdinClosedMidRequest(t *testing.T) {
	t.Parallel() // no time bound of its own: runs beside the other such tests
	bin := buildE2EBinary(t)
	dir := t.TempDir()
	writeBigCapture(t, dir+"/big.pcap", 300_000)
	cmd := exec.Command(bin)
	cmd.Env = []string{"PORT_HUNTER_ALLOWED_DIR=" + dir, "PORT_HUNTER_TOKEN=t"}
	cmd.Stdin = strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_suspects","arguments":{"auth_token":"t","path":"big.pcap"}}}` + "\n" +
		`{"jsonrpc":"2.0","id":2,"method":"ping"}` + "\n" +
		`{"jsonrpc":"2.0","id":3,"meth`)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	got := map[string]int{} // id (JSON text, "none" for none) → error code (0: result)
	for _, l := range strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["jsonrpc"] != "2.0" {
			t.Fatalf("not a JSON-RPC line: %.200q", l)
		}
		id := "none"
		if v, ok := m["id"]; ok {
			id = fmt.Sprint(v)
		}
		got[id] = errCode(m)
		if id == "1" {
			r, _ := m["result"].(map[string]any)
			if r == nil || r["isError"] != false {
				t.Errorf("the call running at EOF: %.300s", l)
			}
		}
	}
	want := map[string]int{"1": 0, "2": 0, "none": -32700}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("answers %v, want %v", got, want)
	}
}

// TestBusyStillReadsCancellations fills the limit of calls in flight with
// slow calls through the binary: one more call is refused at once (busy),
// and a cancellation still arrives, ending the call it names and freeing
// its slot within 100 ms. Before, the call past the limit made the server
// stop reading stdin until a call ended, so no cancellation could get in.
func TestBusyStillReadsCancellations(t *testing.T) {
	dir := t.TempDir()
	writeSlowCapture(t, dir+"/slow.pcap", 2<<30)
	s := startE2EServer(t, "PORT_HUNTER_ALLOWED_DIR="+dir, "PORT_HUNTER_TOKEN=t", "PORT_HUNTER_MAX_PCAP_MB=4096", "PORT_HUNTER_MAX_ANALYSES=1")
	call := func(id, tool, args, meta string) string {
		return `{"jsonrpc":"2.0","id":"` + id + `","method":"tools/call","params":{"name":"` + tool + `","arguments":{"auth_token":"t",` + args + `}` + meta + `}}`
	}
	slow, fast := `"path":"slow.pcap"`, `"ip":"10.0.0.1"`
	// answer returns the answer to id, skipping progress notifications,
	// and its structuredContent.
	answer := func(id string, d time.Duration) map[string]any {
		t.Helper()
		deadline := time.Now().Add(d)
		for {
			m := s.next(t, time.Until(deadline))
			if m["method"] == "notifications/progress" {
				continue
			}
			if m["id"] != id {
				t.Fatalf("an answer to %v while waiting for %s: %.300v", m["id"], id, m)
			}
			sc, _ := e2eStructured(t, m)
			return sc
		}
	}

	s.send(t, call("reader", "list_suspects", slow, `,"_meta":{"progressToken":"p"}`))
	if m := s.next(t, 5*time.Second); m["method"] != "notifications/progress" {
		t.Fatalf("want the first call reading, got %v", m)
	}
	for i := 1; i < mcp.MaxInflightCalls; i++ { // these wait for the reader: one analysis at a time
		s.send(t, call(fmt.Sprint("wait", i), "list_suspects", slow, ""))
	}
	start := time.Now()
	s.send(t, call("extra", "enrich_ip", fast, ""))
	sc := answer("extra", 2*time.Second)
	refused := time.Since(start)
	if d, _ := sc["detail"].(string); sc["error"] != "busy" || !strings.Contains(d, fmt.Sprint(mcp.MaxInflightCalls, " calls")) {
		t.Fatalf("the call past the limit: %v, want error busy naming the limit", sc)
	}
	if refused > 500*time.Millisecond {
		t.Errorf("the call past the limit was refused after %v", refused)
	}

	// Cancel the reading call, then probe with fast calls until one is
	// accepted: busy until the cancelled call has returned its slot.
	start = time.Now()
	s.send(t, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"reader"}}`)
	probes := 0
	for {
		probes++
		id := fmt.Sprint("probe", probes)
		s.send(t, call(id, "enrich_ip", fast, ""))
		sc := answer(id, 2*time.Second)
		if sc["ok"] == true {
			break
		}
		if sc["error"] != "busy" || time.Since(start) > 2*time.Second {
			t.Fatalf("probe %d: %v", probes, sc)
		}
	}
	freed := time.Since(start)
	t.Logf("refused after %v; slot free %v after the cancellation (%d probes)", refused, freed, probes)
	if freed > 100*time.Millisecond {
		t.Errorf("the cancelled call's slot was free only %v after the cancellation", freed)
	}
	e2eMust(t, s.cmd.Process.Signal(syscall.SIGTERM))
}
