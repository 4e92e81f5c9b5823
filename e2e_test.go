package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"porthunter/mcp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildE2EBinary builds the product once per test binary run into a temp dir.
func buildE2EBinary(t *testing.T) string {
	t.Helper()
	e2eBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "porthunter-e2e-")
		if err != nil {
			e2eBinErr = err
			return
		}
		e2eBinPath = filepath.Join(dir, "porthunter")
		out, err := exec.Command("go", "build", "-o", e2eBinPath, ".").CombinedOutput()
		if err != nil {
			e2eBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if e2eBinErr != nil {
		t.Fatal(e2eBinErr)
	}
	return e2eBinPath
}

// session pipes lines into the binary with env and returns the answers by
// id, the raw stdout and the exit error.
func e2eSession(t *testing.T, bin string, env []string, lines []string) (map[string]map[string]any, string) {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("server exit: %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("server did not exit after stdin closed; stderr:\n%s", stderr.String())
	}
	answers := map[string]map[string]any{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("stdout line is not JSON: %q", sc.Text())
		}
		id, _ := json.Marshal(m["id"])
		if _, dup := answers[string(id)]; dup {
			t.Fatalf("two answers for id %s", id)
		}
		answers[string(id)] = m
	}
	return answers, stdout.String()
}

func e2eToolCall(id int, name string, args map[string]any) string {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call",
		"params": map[string]any{"name": name, "arguments": args}})
	return string(b)
}

const e2eInitLine = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`

// e2eStructured returns the structuredContent of a tools/call answer and
// checks that the text block carries the same JSON.
func e2eStructured(t *testing.T, ans map[string]any) (map[string]any, bool) {
	t.Helper()
	res, ok := ans["result"].(map[string]any)
	if !ok {
		t.Fatalf("no result in %v", ans)
	}
	sc, _ := res["structuredContent"].(map[string]any)
	content, _ := res["content"].([]any)
	if len(content) == 0 {
		t.Fatalf("no content in %v", res)
	}
	text, _ := content[0].(map[string]any)["text"].(string)
	var fromText map[string]any
	if err := json.Unmarshal([]byte(text), &fromText); err != nil {
		t.Fatalf("text block is not JSON: %q", text)
	}
	a, _ := json.Marshal(sc)
	b, _ := json.Marshal(fromText)
	if !bytes.Equal(a, b) {
		t.Fatalf("text block differs from structuredContent:\n%s\n%s", a, b)
	}
	isErr, _ := res["isError"].(bool)
	return sc, isErr
}

// TestErrorCodesThroughBinary makes every contract error code happen
// through the real binary, the way a client sees it.
func TestErrorCodesThroughBinary(t *testing.T) {
	t.Parallel() // no time bound of its own: runs beside the other such tests
	bin := buildE2EBinary(t)
	base := t.TempDir()
	dir := filepath.Join(base, "data")
	e2eMust(t, os.Mkdir(dir, 0o755))
	demo, err := os.ReadFile("fixtures/demo.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	e2eMust(t, os.WriteFile(filepath.Join(dir, "demo.pcapng"), demo, 0o644))
	e2eMust(t, os.WriteFile(filepath.Join(dir, "capture.bin"), demo, 0o644))
	e2eMust(t, os.WriteFile(filepath.Join(dir, "text.pcap"), []byte("hello, I am not a capture\n"), 0o644))
	e2eMust(t, os.WriteFile(filepath.Join(dir, "broken.pcapng"), demo[:20], 0o644))
	e2eMust(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	e2eMust(t, syscall.Mkfifo(filepath.Join(dir, "fifo.pcap"), 0o644))
	e2eMust(t, os.WriteFile(filepath.Join(base, "outside.pcapng"), demo, 0o644))
	e2eMust(t, os.Symlink(filepath.Join(base, "outside.pcapng"), filepath.Join(dir, "escape.pcapng")))
	e2eMust(t, os.Symlink("demo.pcapng", filepath.Join(dir, "inside.pcapng")))
	big, err := os.Create(filepath.Join(dir, "big.pcap"))
	e2eMust(t, err)
	e2eMust(t, big.Truncate(2<<20)) // sparse, over the 1 MiB limit below
	big.Close()
	ips := make([]string, 1001)
	for i := range ips {
		ips[i] = fmt.Sprintf("100.64.%d.%d", i>>8, i&255)
	}

	tok := "e2e-token"
	cases := []struct {
		name string
		tool string
		args map[string]any
		want string // error code, or "" for success
	}{
		{"ok", "list_suspects", map[string]any{"auth_token": tok, "path": "demo.pcapng"}, ""},
		{"capture named .bin is read", "first_scan_event", map[string]any{"auth_token": tok, "path": "capture.bin"}, ""},
		{"symlink inside", "first_scan_event", map[string]any{"auth_token": tok, "path": "inside.pcapng"}, ""},
		{"wrong token", "scan_overview", map[string]any{"auth_token": "nope", "path": "demo.pcapng"}, "unauthorized"},
		{"missing token", "scan_overview", map[string]any{"path": "demo.pcapng"}, "unauthorized"},
		{"dotdot", "scan_overview", map[string]any{"auth_token": tok, "path": "../outside.pcapng"}, "path_outside_allowed_dir"},
		{"absolute outside", "scan_overview", map[string]any{"auth_token": tok, "path": filepath.Join(base, "outside.pcapng")}, "path_outside_allowed_dir"},
		{"symlink escape", "scan_overview", map[string]any{"auth_token": tok, "path": "escape.pcapng"}, "path_outside_allowed_dir"},
		{"not found", "scan_overview", map[string]any{"auth_token": tok, "path": "missing.pcap"}, "path_not_found"},
		{"directory", "scan_overview", map[string]any{"auth_token": tok, "path": "sub"}, "not_a_regular_file"},
		{"fifo", "scan_overview", map[string]any{"auth_token": tok, "path": "fifo.pcap"}, "not_a_regular_file"},
		{"text named pcap", "scan_overview", map[string]any{"auth_token": tok, "path": "text.pcap"}, "unsupported_file_type"},
		{"too large", "scan_overview", map[string]any{"auth_token": tok, "path": "big.pcap"}, "file_too_large"},
		{"malformed", "scan_overview", map[string]any{"auth_token": tok, "path": "broken.pcapng"}, "malformed_capture"},
		{"bad top_k", "scan_overview", map[string]any{"auth_token": tok, "path": "demo.pcapng", "top_k": -1}, "invalid_argument"},
		{"bad type", "list_suspects", map[string]any{"auth_token": tok, "path": "demo.pcapng", "min_ports": "ten"}, "invalid_argument"},
		{"missing path", "scan_overview", map[string]any{"auth_token": tok}, "invalid_argument"},
		{"invalid ip", "enrich_ip", map[string]any{"auth_token": tok, "ip": "999.1.1.1"}, "invalid_ip"},
		{"detail invalid ip", "scanner_detail", map[string]any{"auth_token": tok, "path": "demo.pcapng", "ip": "x"}, "invalid_ip"},
		{"too many ips", "correlate", map[string]any{"auth_token": tok, "ips": ips}, "too_many_ips"},
	}
	lines := []string{e2eInitLine, `{"jsonrpc":"2.0","method":"notifications/initialized"}`}
	for i, c := range cases {
		lines = append(lines, e2eToolCall(i+1, c.tool, c.args))
	}
	answers, _ := e2eSession(t, bin, []string{"PORT_HUNTER_ALLOWED_DIR=" + dir, "PORT_HUNTER_TOKEN=" + tok, "PORT_HUNTER_MAX_PCAP_MB=1"}, lines)
	seen := map[string]bool{}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ans, ok := answers[fmt.Sprint(i+1)]
			if !ok {
				t.Fatalf("no answer")
			}
			sc, isErr := e2eStructured(t, ans)
			if c.want == "" {
				if isErr || sc["ok"] != true {
					t.Fatalf("%s = %v, want ok", c.tool, sc)
				}
				return
			}
			if !isErr || sc["ok"] != false || sc["error"] != c.want {
				t.Fatalf("%s(%v) = %v, want error %s", c.tool, c.args["path"], sc, c.want)
			}
			if d, _ := sc["detail"].(string); d == "" || strings.Contains(d, dir) {
				t.Errorf("detail %q: want a sentence that does not reveal the allowed directory", d)
			}
			if g, _ := sc["generated_at"].(string); !strings.HasSuffix(g, "Z") {
				t.Errorf("generated_at %q not UTC", g)
			}
			seen[c.want] = true
		})
	}
	for _, code := range contractCodes {
		if !seen[code] {
			t.Errorf("contract code %s never produced through the binary", code)
		}
	}
}

// contractCodes are the error codes of the contract (CONTRACT.md §4).
var contractCodes = []string{"unauthorized", "path_outside_allowed_dir", "path_not_found", "not_a_regular_file",
	"unsupported_file_type", "file_too_large", "malformed_capture", "invalid_ip", "invalid_argument", "too_many_ips"}

func e2eMust(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var (
	e2eBinOnce sync.Once
	e2eBinPath string
	e2eBinErr  error
)

// TestShellPipe is how a shell script drives the server: printf lines into
// the binary, one answer per request on stdout, exit 0 soon after EOF.
func TestShellPipe(t *testing.T) {
	bin := buildE2EBinary(t)
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	abs, err := filepath.Abs("fixtures")
	e2eMust(t, err)
	script := `printf '%s\n' \
  '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}' \
  '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
  '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_suspects","arguments":{"auth_token":"sh-token","path":"demo.pcapng"}}}' \
  '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"first_scan_event","arguments":{"auth_token":"sh-token","path":"demo.pcapng"}}}' \
  '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"scan_overview","arguments":{"auth_token":"sh-token","path":"stealth.pcap"}}}' \
  '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"enrich_ip","arguments":{"auth_token":"sh-token","ip":"10.0.0.5"}}}' \
  '{"jsonrpc":"2.0","id":6,"method":"ping"}' | "$BIN"`
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "BIN=" + bin, "PORT_HUNTER_ALLOWED_DIR=" + abs, "PORT_HUNTER_TOKEN=sh-token"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("exit: %v; stderr:\n%s", err, stderr.String())
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v", el)
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	ids := map[string]bool{}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["jsonrpc"] != "2.0" {
			t.Fatalf("stdout line is not a JSON-RPC message: %q", l)
		}
		ids[fmt.Sprint(m["id"])] = true
	}
	if len(lines) != 6 || len(ids) != 6 {
		t.Fatalf("want 6 answers (one per request), got %d:\n%s", len(lines), stdout.String())
	}
	if !strings.Contains(stdout.String(), `\"src\":\"203.0.113.66\"`) {
		t.Errorf("first_scan_event did not name the demo scanner:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "serving MCP") {
		t.Errorf("stderr carries no log: %q", stderr.String())
	}
}

// TestExitOnEOF: the server exits 0 within a second of stdin closing.
func TestExitOnEOF(t *testing.T) {
	bin := buildE2EBinary(t)
	cmd := exec.Command(bin)
	cmd.Env = []string{"PORT_HUNTER_ALLOWED_DIR=" + t.TempDir(), "PORT_HUNTER_TOKEN=x"}
	in, err := cmd.StdinPipe()
	e2eMust(t, err)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	e2eMust(t, cmd.Start())
	io.WriteString(in, `{"jsonrpc":"2.0","id":1,"method":"ping"}`+"\n")
	time.Sleep(100 * time.Millisecond)
	in.Close()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
		if el := time.Since(start); el > time.Second {
			t.Errorf("exit took %v", el)
		}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no exit within 5 s of EOF")
	}
	if strings.TrimSpace(stdout.String()) != `{"jsonrpc":"2.0","id":1,"result":{}}` {
		t.Errorf("stdout %q", stdout.String())
	}
}

// TestCommandLine: exit statuses of the contract (§1).
func TestCommandLine(t *testing.T) {
	t.Parallel() // no time bound of its own: runs beside the other such tests
	bin := buildE2EBinary(t)
	for _, c := range []struct {
		args []string
		env  []string
		code int
		out  string
	}{
		{[]string{"version"}, nil, 0, "porthunter "},
		{[]string{"help"}, nil, 0, "usage:"},
		{[]string{"help", "list_suspects"}, nil, 0, "min_rate_pps   number   distinct probes per second of the scan episode; a value other than the default also drops"},
		{[]string{"help", "list_suspects"}, nil, 0, "sort           string   priority: highest priority first;"},
		{[]string{"help", "list_suspects"}, nil, 0, "home_nets      array    CIDRs or addresses of the home networks"},
		{[]string{"help", "nope"}, nil, 2, ""},
		{[]string{"frobnicate"}, nil, 2, ""},
		{[]string{"analyze"}, nil, 2, ""},
		{[]string{"bench"}, nil, 2, ""},
		{[]string{"serve"}, []string{"PORT_HUNTER_REQUIRE_TOKEN=maybe"}, 1, ""},
		{[]string{"serve"}, []string{"PORT_HUNTER_MAX_PCAP_MB=lots"}, 1, ""},
		{[]string{"analyze", "fixtures/demo.pcapng"}, nil, 0, "203.0.113.66"},
		{[]string{"analyze", "fixtures/README.md"}, nil, 1, ""},
		{[]string{"bench", "fixtures/demo.pcapng"}, nil, 0, "packets    2643"},
	} {
		cmd := exec.Command(bin, c.args...)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, c.env...)
		cmd.Stdin = strings.NewReader("")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.Contains(stdout.String(), c.out) {
			t.Errorf("%v %v: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, c.env, code, stdout.String(), stderr.String(), c.code, c.out)
		}
		if code != 0 && (stderr.Len() == 0 || stdout.Len() != 0) {
			t.Errorf("%v: a failure must explain itself on stderr only (stdout %q, stderr %q)", c.args, stdout.String(), stderr.String())
		}
	}
}

// TestEvidenceAndSecrets: a session over every fixture with every tool
// leaves the captures byte-identical (hash and mtime), writes no file, and
// never prints the token or the API keys, not even in errors.
func TestEvidenceAndSecrets(t *testing.T) {
	t.Parallel() // no time bound of its own: runs beside the other such tests
	bin := buildE2EBinary(t)
	dir := t.TempDir()
	src, _ := filepath.Glob("fixtures/*.pcap*")
	type state struct {
		sum   [32]byte
		mtime time.Time
	}
	before := map[string]state{}
	var names []string
	for _, f := range src {
		if strings.HasSuffix(f, ".json") {
			continue
		}
		b, err := os.ReadFile(f)
		e2eMust(t, err)
		dst := filepath.Join(dir, filepath.Base(f))
		e2eMust(t, os.WriteFile(dst, b, 0o444))
		fi, _ := os.Stat(dst)
		before[dst] = state{sha256.Sum256(b), fi.ModTime()}
		names = append(names, filepath.Base(f))
	}
	const tok, otx, gn = "tok-Zq81-secret", "otx-key-Kq92-secret", "gn-key-Pw33-secret"
	lines := []string{e2eInitLine}
	id := 1
	for _, n := range names {
		for _, tl := range []string{"scan_overview", "list_suspects", "first_scan_event"} {
			lines = append(lines, e2eToolCall(id, tl, map[string]any{"auth_token": tok, "path": n}))
			id++
		}
		lines = append(lines, e2eToolCall(id, "scanner_detail", map[string]any{"auth_token": tok, "path": n, "ip": "203.0.113.66"}))
		id++
		lines = append(lines, e2eToolCall(id, "correlate", map[string]any{"auth_token": tok, "path": n, "ips": []string{"203.0.113.66", "8.8.8.8"}}))
		id++
	}
	lines = append(lines,
		e2eToolCall(id, "scan_overview", map[string]any{"auth_token": tok + "x", "path": names[0]}),
		e2eToolCall(id+1, "enrich_ip", map[string]any{"auth_token": otx, "ip": "8.8.8.8"}),
		e2eToolCall(id+2, "enrich_ip", map[string]any{"auth_token": tok, "ip": tok}))
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{"PORT_HUNTER_ALLOWED_DIR=" + dir, "PORT_HUNTER_TOKEN=" + tok, "PORT_HUNTER_OTX_KEY=" + otx,
		"PORT_HUNTER_GREYNOISE_KEY=" + gn, "PORT_HUNTER_ONLINE=false"}
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	if n := strings.Count(stdout.String(), "\n"); n != len(lines) {
		t.Errorf("%d answers for %d requests", n, len(lines))
	}
	out := stdout.String() + stderr.String()
	for _, secret := range []string{tok, otx, gn} {
		// The last calls send the token where answers quote the input:
		// it must come back redacted.
		rest := out
		if strings.Contains(rest, secret) {
			i := strings.Index(rest, secret)
			t.Errorf("secret %q printed: ...%s...", secret, rest[max(0, i-100):min(len(rest), i+100)])
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(before) {
		t.Errorf("%d files in the allowed directory after the session, %d before", len(entries), len(before))
	}
	for path, st := range before {
		b, err := os.ReadFile(path)
		e2eMust(t, err)
		fi, _ := os.Stat(path)
		if sha256.Sum256(b) != st.sum || !fi.ModTime().Equal(st.mtime) {
			t.Errorf("%s changed during the session", path)
		}
	}
}

// writeSlowCapture writes a pcap header and extends the file, sparse, to
// size bytes of zeros: empty records that take the reader about 4 s per
// GiB while costing no disk space, for the tests of calls in flight. The
// header is laid out here, not by pcapng.Writer: only classic pcap reads
// zeros as records (16 zero bytes are an empty record; a pcapng block
// cannot be all zeros), and the writer writes pcapng.
func writeSlowCapture(t *testing.T, path string, size int64) {
	t.Helper()
	hdr := make([]byte, 24)
	copy(hdr, []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0})
	hdr[16], hdr[17] = 0xff, 0xff // snaplen 65535
	hdr[20] = 101                 // raw IP
	f, err := os.Create(path)
	e2eMust(t, err)
	_, err = f.Write(hdr)
	e2eMust(t, err)
	e2eMust(t, f.Truncate(size))
	e2eMust(t, f.Close())
}

// e2eServer is the binary serving on pipes, its stdout read line by line
// as it comes.
type e2eServer struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string // closed at EOF of stdout
	exit  chan error
	err   bytes.Buffer
}

func startE2EServer(t *testing.T, env ...string) *e2eServer {
	t.Helper()
	s := &e2eServer{cmd: exec.Command(buildE2EBinary(t), "serve"), lines: make(chan string, 1024), exit: make(chan error, 1)}
	s.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	s.cmd.Stderr = &s.err
	var err error
	s.in, err = s.cmd.StdinPipe()
	e2eMust(t, err)
	out, err := s.cmd.StdoutPipe()
	e2eMust(t, err)
	e2eMust(t, s.cmd.Start())
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
		s.exit <- s.cmd.Wait()
	}()
	t.Cleanup(func() { s.cmd.Process.Kill() })
	return s
}

func (s *e2eServer) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(s.in, line+"\n"); err != nil {
		t.Fatal(err)
	}
}

// linesUntil yields the stdout lines until stdout closes or deadline.
func (s *e2eServer) linesUntil(deadline time.Time) func(func(string) bool) {
	return func(yield func(string) bool) {
		timeout := time.After(time.Until(deadline))
		for {
			select {
			case l, ok := <-s.lines:
				if !ok || !yield(l) {
					return
				}
			case <-timeout:
				return
			}
		}
	}
}

// next returns the next stdout line, failing after d.
func (s *e2eServer) next(t *testing.T, d time.Duration) map[string]any {
	t.Helper()
	select {
	case l, ok := <-s.lines:
		if !ok {
			t.Fatalf("stdout closed; stderr:\n%s", s.err.String())
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("stdout line is not JSON: %q", l)
		}
		return m
	case <-time.After(d):
		t.Fatalf("no line within %v; stderr:\n%s", d, s.err.String())
	}
	return nil
}

// TestSignalStopsServer: SIGTERM or SIGINT while a long call runs ends the
// server with status 0 within a second, the call cancelled and not
// answered, whether stdin is still open or already closed. Before, the
// signal only cancelled the calls' context: the loop kept waiting for
// stdin, so the process lived on until the client's SIGKILL.
func TestSignalStopsServer(t *testing.T) {
	dir := t.TempDir()
	writeSlowCapture(t, filepath.Join(dir, "slow.pcap"), 2<<30)
	for _, c := range []struct {
		name       string
		sig        os.Signal
		closeStdin bool
	}{{"SIGTERM", syscall.SIGTERM, false}, {"SIGINT", os.Interrupt, false}, {"SIGTERM after EOF", syscall.SIGTERM, true}} {
		t.Run(c.name, func(t *testing.T) {
			s := startE2EServer(t, "PORT_HUNTER_ALLOWED_DIR="+dir, "PORT_HUNTER_TOKEN=t", "PORT_HUNTER_MAX_PCAP_MB=4096")
			s.send(t, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_suspects","arguments":{"auth_token":"t","path":"slow.pcap"},"_meta":{"progressToken":"p"}}}`)
			if m := s.next(t, 5*time.Second); m["method"] != "notifications/progress" {
				t.Fatalf("want a progress notification of the running call, got %v", m)
			}
			if c.closeStdin {
				s.in.Close()
			}
			start := time.Now()
			e2eMust(t, s.cmd.Process.Signal(c.sig))
			deadline := time.Now().Add(5 * time.Second)
			for l := range s.linesUntil(deadline) {
				if strings.Contains(l, `"id":1`) {
					t.Errorf("the call was answered after the signal: %.200s", l)
				}
			}
			select {
			case err := <-s.exit:
				if el := time.Since(start); err != nil || el > time.Second {
					t.Errorf("exit %v after %v, want status 0 within 1 s; stderr:\n%s", err, el, s.err.String())
				}
			case <-time.After(time.Until(deadline)):
				t.Fatalf("still running 5 s after the signal; stderr:\n%s", s.err.String())
			}
			t.Logf("exited %v after the signal", time.Since(start))
			if !strings.Contains(s.err.String(), "stopped by a signal; 1 calls in flight cancelled") {
				t.Errorf("stderr does not report the stop:\n%s", s.err.String())
			}
		})
	}
}

// TestSignalWithStdoutBlocked: a client that stops reading stdout blocks
// the server's writes; SIGTERM still ends it with status 0 within a
// second.
func TestSignalWithStdoutBlocked(t *testing.T) {
	cmd := exec.Command(buildE2EBinary(t), "serve")
	cmd.Env = []string{"PORT_HUNTER_ALLOWED_DIR=" + t.TempDir(), "PORT_HUNTER_TOKEN=t"}
	in, err := cmd.StdinPipe()
	e2eMust(t, err)
	outR, outW, err := os.Pipe() // never read
	e2eMust(t, err)
	defer outR.Close()
	cmd.Stdout = outW
	e2eMust(t, cmd.Start())
	outW.Close()
	defer cmd.Process.Kill()
	go func() {
		// About 200 KB of answers, several times what a pipe holds: the
		// writes block, and the writer of stdin with them.
		w := bufio.NewWriter(in)
		for i := 0; i < 5000; i++ {
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%d,"method":"ping"}`+"\n", i)
		}
		w.Flush()
	}()
	time.Sleep(300 * time.Millisecond) // let the pipe fill
	exit := make(chan error, 1)
	start := time.Now()
	e2eMust(t, cmd.Process.Signal(syscall.SIGTERM))
	go func() { exit <- cmd.Wait() }()
	select {
	case err := <-exit:
		if el := time.Since(start); err != nil || el > time.Second {
			t.Errorf("exit %v after %v, want status 0 within 1 s", err, el)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still running 5 s after SIGTERM with its stdout blocked")
	}
}

// TestCancelAfterReading: a call cancelled once its capture has been read,
// while the analysis groups and judges the targets (scan.FinishContext),
// gives back the analysis slot within 100 ms: with one analysis at a time,
// a call on another file that waited for it is answered within 100 ms of
// the cancellation (plus its own few milliseconds).
func TestCancelAfterReading(t *testing.T) {
	dir := t.TempDir()
	writeBigCapture(t, filepath.Join(dir, "big.pcap"), 2_000_000) // 144 MB, then ~0.6 s of Finish
	demo, err := os.ReadFile("fixtures/demo.pcapng")
	e2eMust(t, err)
	e2eMust(t, os.WriteFile(filepath.Join(dir, "demo.pcapng"), demo, 0o644))
	for i := 2; i <= 4; i++ {
		e2eMust(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("demo%d.pcapng", i)), demo, 0o644))
	}
	s := startE2EServer(t, "PORT_HUNTER_ALLOWED_DIR="+dir, "PORT_HUNTER_TOKEN=t", "PORT_HUNTER_MAX_ANALYSES=1", "PORT_HUNTER_MAX_PCAP_MB=200")

	// The honest cost of the waiting call: a first reading of the demo.
	start := time.Now()
	s.send(t, e2eToolCall(1, "list_suspects", map[string]any{"auth_token": "t", "path": "demo.pcapng"}))
	if m := s.next(t, 5*time.Second); m["id"] != float64(1) {
		t.Fatalf("got %v", m)
	}
	own := time.Since(start)

	// The bound is on the server's own latency; on a loaded machine (make
	// test runs the packages side by side) the scheduler adds its own, so
	// the best of three attempts is what is held to it.
	var best time.Duration
	for attempt := 0; attempt < 3; attempt++ {
		el := cancelWhileFinishing(t, s, 10*attempt+2, fmt.Sprintf("demo%d.pcapng", attempt+2))
		t.Logf("attempt %d: answered %v after the cancellation (its own cost %v)", attempt+1, el, own)
		if best == 0 || el < best {
			best = el
		}
		if best <= 100*time.Millisecond+own {
			break
		}
	}
	if best > 100*time.Millisecond+own {
		t.Errorf("the waiting call was answered %v after the cancellation at best, its own cost being %v", best, own)
	}
	e2eMust(t, s.cmd.Process.Signal(syscall.SIGTERM))
}

// cancelWhileFinishing starts a list_suspects of big.pcap (id), waits
// until its reading is over, cancels it and asks for list_suspects of
// waiting (id+1), which needs the analysis slot; it returns how long after
// the cancellation that answer came.
func cancelWhileFinishing(t *testing.T, s *e2eServer, id int, waiting string) time.Duration {
	t.Helper()
	s.send(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"list_suspects","arguments":{"auth_token":"t","path":"big.pcap"},"_meta":{"progressToken":"p%d"}}}`, id, id))
	// The reading is over when no progress has come for 1.5 times the
	// progress interval (under load it may not be; the bound holds for a
	// cancellation while reading too).
	deadline := time.Now().Add(10 * time.Second)
	for seen := false; ; {
		if time.Now().After(deadline) {
			t.Fatal("no end of the reading seen within 10 s")
		}
		select {
		case l, ok := <-s.lines:
			if !ok {
				t.Fatalf("stdout closed; stderr:\n%s", s.err.String())
			}
			var line map[string]any
			json.Unmarshal([]byte(l), &line)
			p, _ := line["params"].(map[string]any)
			if line["method"] != "notifications/progress" {
				t.Fatalf("the call ended before it could be cancelled: %.300s", l)
			}
			seen = p["progress"].(float64) > 0
			continue
		case <-time.After(mcp.ProgressInterval * 3 / 2):
			if !seen {
				continue
			}
		}
		break
	}
	start := time.Now()
	s.send(t, fmt.Sprintf(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":%d}}`, id))
	s.send(t, e2eToolCall(id+1, "list_suspects", map[string]any{"auth_token": "t", "path": waiting}))
	for {
		m := s.next(t, 5*time.Second)
		el := time.Since(start)
		if m["method"] == "notifications/progress" {
			continue // the reading was not over after all: a cancellation while reading
		}
		if m["id"] != float64(id+1) {
			t.Fatalf("got %.300v, want the answer to %d (%d was cancelled)", m, id+1, id)
		}
		return el
	}
}

// TestCallTimeout: a call over its time limit, through the binary, is
// answered timeout within a second of the limit, and its work stops: the
// next call is served at once. (The capture is sparse: seconds of
// reading for no disk space; the old test wrote 168 MB for this.)
func TestCallTimeout(t *testing.T) {
	dir := t.TempDir()
	writeSlowCapture(t, filepath.Join(dir, "slow.pcap"), 2<<30)
	s := startE2EServer(t, "PORT_HUNTER_ALLOWED_DIR="+dir, "PORT_HUNTER_TOKEN=t", "PORT_HUNTER_MAX_PCAP_MB=4096",
		"PORT_HUNTER_CALL_TIMEOUT_S=1", "PORT_HUNTER_MAX_ANALYSES=1")
	start := time.Now()
	s.send(t, e2eToolCall(1, "scan_overview", map[string]any{"auth_token": "t", "path": "slow.pcap"}))
	m := s.next(t, 3*time.Second)
	el := time.Since(start)
	sc, isErr := e2eStructured(t, m)
	if !isErr || sc["error"] != "timeout" || el < time.Second || el > 2*time.Second {
		t.Fatalf("after %v: %v (want the timeout error within 1 s of the 1 s limit)", el, sc)
	}
	if d, _ := sc["detail"].(string); !strings.Contains(d, "PORT_HUNTER_CALL_TIMEOUT_S") {
		t.Errorf("detail %q does not say which limit", d)
	}
	// One analysis at a time: this waits unless the timed-out reading
	// has stopped.
	start = time.Now()
	s.send(t, e2eToolCall(2, "list_suspects", map[string]any{"auth_token": "t", "path": "slow.pcap", "limit": 1}))
	s.send(t, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2}}`)
	s.send(t, e2eToolCall(3, "enrich_ip", map[string]any{"auth_token": "t", "ip": "10.0.0.1"}))
	if m := s.next(t, 2*time.Second); m["id"] != float64(3) {
		t.Errorf("want the answer to 3 (2 was cancelled), got %v", m)
	}
	s.in.Close()
	select {
	case err := <-s.exit:
		if err != nil || time.Since(start) > time.Second {
			t.Errorf("exit %v %v after stdin closed with the calls cancelled or timed out", err, time.Since(start))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server waits for work that timed out or was cancelled")
	}
}
