package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Transcripts of whole JSON-RPC sessions with the built server
// (testdata/transcripts). NAME.in.jsonl holds the request lines of one
// session (leading # lines say what it pins and are not sent);
// NAME.want.jsonl is the session as it went: each request line as sent,
// then every line the server wrote in answer, with the values that change
// from run to run normalised (transcriptNormalise). The requests are sent
// one at a time, each after the answer to the one before, so the lines
// come in one order. Any other byte of an answer that changes fails the
// test; `go test -run TestTranscripts . -update` rewrites the .want files.

// transcriptDir holds the sessions.
const transcriptDir = "testdata/transcripts"

// transcriptFixtures are the fixtures the sessions' allowed directory
// holds, beside a copy of the sample intel (fixtures/intel).
var transcriptFixtures = []string{"demo.pcapng", "distributed.pcap", "ipv6_scan.pcapng", "stealth.pcap", "udp_scan.pcap"}

// transcriptAnswerWait bounds the wait for one answer.
const transcriptAnswerWait = 30 * time.Second

func TestTranscripts(t *testing.T) {
	t.Parallel() // no time bound of its own: runs beside the other such tests
	ins, err := filepath.Glob(filepath.Join(transcriptDir, "*.in.jsonl"))
	e2eMust(t, err)
	names := make([]string, 0, len(ins))
	for _, in := range ins {
		names = append(names, strings.TrimSuffix(filepath.Base(in), ".in.jsonl"))
	}
	tools := transcriptTools(t)
	for _, tool := range tools {
		if !slices.Contains(names, tool) {
			t.Errorf("tool %s has no session in %s: add %s.in.jsonl, then run go test -run TestTranscripts . -update", tool, transcriptDir, tool)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			reqs := transcriptRequests(t, filepath.Join(transcriptDir, name+".in.jsonl"))
			got := runTranscript(t, name, reqs)
			wantFile := filepath.Join(transcriptDir, name+".want.jsonl")
			if *update {
				e2eMust(t, os.WriteFile(wantFile, got, 0o644))
				return
			}
			want, err := os.ReadFile(wantFile)
			e2eMust(t, err)
			if !bytes.Equal(got, want) {
				t.Errorf("session %s differs from %s (go test -run TestTranscripts . -update rewrites it; review the diff):\n%s",
					name, wantFile, firstLineDiff(string(got), string(want)))
			}
		})
	}
}

// transcriptTools is the names of the tools the server lists.
func transcriptTools(t *testing.T) []string {
	t.Helper()
	got := runTranscript(t, "tools", []string{e2eInitLine, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`})
	var tools []string
	for line := range strings.Lines(string(got)) {
		var m struct {
			ID     *int `json:"id"`
			Result struct {
				Tools []struct {
					Name string `json:"name"`
				} `json:"tools"`
			} `json:"result"`
		}
		if json.Unmarshal([]byte(line), &m) == nil && m.ID != nil && *m.ID == 1 {
			for _, tl := range m.Result.Tools {
				tools = append(tools, tl.Name)
			}
		}
	}
	if len(tools) == 0 {
		t.Fatalf("tools/list listed no tool:\n%s", got)
	}
	return tools
}

// transcriptRequests is the request lines of an .in.jsonl file, without
// its leading # lines and blank lines.
func transcriptRequests(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	e2eMust(t, err)
	var reqs []string
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSuffix(line, "\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !json.Valid([]byte(line)) {
			t.Fatalf("%s: not a JSON line: %q", file, line)
		}
		reqs = append(reqs, line)
	}
	return reqs
}

// runTranscript runs one session of reqs with a new server over a new
// allowed directory, and returns its transcript: a header naming the
// session, then each request line followed by the lines written in
// answer, normalised.
func runTranscript(t *testing.T, name string, reqs []string) []byte {
	t.Helper()
	began := time.Now()
	dir := t.TempDir()
	for _, f := range transcriptFixtures {
		b, err := os.ReadFile(filepath.Join("fixtures", f))
		e2eMust(t, err)
		e2eMust(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	e2eMust(t, os.CopyFS(filepath.Join(dir, "intel"), os.DirFS(sampleIntelDir)))
	s := startE2EServer(t, "PORT_HUNTER_ALLOWED_DIR="+dir, "PORT_HUNTER_TOKEN=tok",
		"PORT_HUNTER_INTEL_DIR=intel", "PORT_HUNTER_ALLOW_PRIVATE=true")
	var out bytes.Buffer
	fmt.Fprintf(&out, "# The session of %s.in.jsonl: each request line as sent, then the lines the server\n", name)
	fmt.Fprintf(&out, "# wrote in answer; wall-clock times, evidence ids and the allowed directory normalised.\n")
	fmt.Fprintf(&out, "# Written by go test -run TestTranscripts . -update\n")
	var answers []string
	for _, req := range reqs {
		out.WriteString(req + "\n")
		s.send(t, req)
		var m struct {
			ID json.RawMessage `json:"id"`
		}
		e2eMust(t, json.Unmarshal([]byte(req), &m))
		if m.ID == nil {
			continue // a notification: nothing comes back
		}
		for {
			line := transcriptLine(t, s)
			answers = append(answers, line)
			out.WriteString("\x00" + line + "\n")
			var a struct {
				ID json.RawMessage `json:"id"`
			}
			if json.Unmarshal([]byte(line), &a) == nil && bytes.Equal(a.ID, m.ID) {
				break
			}
		}
	}
	e2eMust(t, s.in.Close())
	for line := range s.linesUntil(time.Now().Add(transcriptAnswerWait)) {
		out.WriteString("\x00" + line + "\n") // written after the last answer: kept, to fail the comparison
	}
	if err := <-s.exit; err != nil {
		t.Fatalf("server exit: %v; stderr:\n%s", err, s.err.String())
	}
	return transcriptNormalise(out.Bytes(), dir, began, time.Now())
}

// transcriptLine is the server's next stdout line.
func transcriptLine(t *testing.T, s *e2eServer) string {
	t.Helper()
	select {
	case l, ok := <-s.lines:
		if !ok {
			t.Fatalf("stdout closed before the answer; stderr:\n%s", s.err.String())
		}
		return l
	case <-time.After(transcriptAnswerWait):
		t.Fatalf("no answer within %v; stderr:\n%s", transcriptAnswerWait, s.err.String())
	}
	return ""
}

var (
	// wallClockRE matches the times answers give: RFC 3339 in UTC and the
	// compact form of evidence names (20261204T124755Z).
	wallClockRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z|\d{8}T\d{6}Z`)
	// evidenceIDRE matches the random id of an evidence resource.
	evidenceIDRE = regexp.MustCompile(`porthunter://evidence/[0-9a-f]{32}/`)
)

// transcriptNormalise replaces in the answer lines (those marked by a
// leading NUL, which it removes) what changes from run to run: a time
// between began and ended (the session's wall clock: generated_at, the
// files' modification times, evidence names, the report's "Generated")
// by <wall-clock>, evidence ids by <id>, the allowed directory dir by
// <allowed-dir>, and the SHA-256 of a report's Markdown (which holds the
// time it was generated) by <sha256-of-markdown> once it is checked.
// Times outside the session, such as every packet's, stay.
func transcriptNormalise(b []byte, dir string, began, ended time.Time) []byte {
	began, ended = began.Add(-time.Second).Truncate(time.Second), ended.Add(time.Second)
	var out bytes.Buffer
	for line := range strings.Lines(string(b)) {
		rest, ok := strings.CutPrefix(line, "\x00")
		if !ok {
			out.WriteString(line)
			continue
		}
		rest = markdownHashNormalised(rest)
		rest = wallClockRE.ReplaceAllStringFunc(rest, func(s string) string {
			layout := time.RFC3339Nano
			if !strings.Contains(s, "-") {
				layout = "20060102T150405Z"
			}
			if ts, err := time.Parse(layout, s); err == nil && !ts.Before(began) && !ts.After(ended) {
				return "<wall-clock>"
			}
			return s
		})
		rest = evidenceIDRE.ReplaceAllString(rest, "porthunter://evidence/<id>/")
		rest = strings.ReplaceAll(rest, dir, "<allowed-dir>")
		out.WriteString(rest)
	}
	return out.Bytes()
}

// markdownHashNormalised is line with the SHA-256 of the Markdown an
// answer carries replaced by <sha256-of-markdown>, when the answer's
// sha256 is that of its markdown; any other line is returned as it is (a
// wrong hash then stays, and differs from the golden).
func markdownHashNormalised(line string) string {
	var m struct {
		Result struct {
			StructuredContent struct {
				Markdown string `json:"markdown"`
				SHA256   string `json:"sha256"`
			} `json:"structuredContent"`
		} `json:"result"`
	}
	if json.Unmarshal([]byte(line), &m) != nil {
		return line
	}
	sc := m.Result.StructuredContent
	if sum := sha256.Sum256([]byte(sc.Markdown)); sc.Markdown == "" || sc.SHA256 != hex.EncodeToString(sum[:]) {
		return line
	}
	return strings.ReplaceAll(line, sc.SHA256, "<sha256-of-markdown>")
}

// firstLineDiff says where got and want first differ, line by line.
func firstLineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl == wl {
			continue
		}
		at := 0
		for at < len(gl) && at < len(wl) && gl[at] == wl[at] {
			at++
		}
		from := max(0, at-80)
		return fmt.Sprintf("line %d, byte %d:\n got  …%s\n want …%s", i+1, at+1, gl[from:min(len(gl), at+160)], wl[from:min(len(wl), at+160)])
	}
	return "no line differs"
}
