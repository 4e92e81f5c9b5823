package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"porthunter/policy"
)

// readmeExample is a README block produced by the program:
//
//	<!-- example TOOL {"arg": ...} -->   a tool answer (structuredContent)
//	<!-- example-cli ARGS... -->         a terminal command's output
//
// followed by a fenced block. generated_at is pinned, so the only thing
// that can change a block is a change of the answer.
var readmeExample = regexp.MustCompile("(?s)<!-- (example|example-cli) ([^\n]*?) -->\n```(json|text)\n(.*?)```")

var generatedAt = regexp.MustCompile(`"generated_at":\s*"[^"]*"`)

const readmeGeneratedAt = `"generated_at": "2026-11-29T12:00:00Z"`

// TestReadmeExamples keeps the README's examples true: every example is
// run against the bundled fixtures and must equal the README's block.
// `go test . -run TestReadmeExamples -update` rewrites them.
func TestReadmeExamples(t *testing.T) {
	t.Parallel() // no time bound of its own: runs beside the other such tests
	src, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, "fixtures", map[string]string{"PORT_HUNTER_TOKEN": "readme"})
	n := 0
	out := readmeExample.ReplaceAllFunc(src, func(block []byte) []byte {
		m := readmeExample.FindSubmatch(block)
		kind, spec, lang, got := string(m[1]), string(m[2]), string(m[3]), string(m[4])
		var want string
		switch kind {
		case "example":
			want = runReadmeTool(t, cfg, spec)
		case "example-cli":
			var b bytes.Buffer
			args := strings.Fields(spec)
			if code := run(context.Background(), args, strings.NewReader(""), &b, io.Discard, func(string) string { return "" }); code != 0 {
				t.Errorf("porthunter %s: exit %d", spec, code)
			}
			want = b.String()
		}
		n++
		if got != want && !*update {
			t.Errorf("README example %q is stale; run go test . -run TestReadmeExamples -update\n--- README\n%s\n--- now\n%s", spec, got, want)
		}
		return []byte(fmt.Sprintf("<!-- %s %s -->\n```%s\n%s```", kind, spec, lang, want))
	})
	if n < 7 {
		t.Errorf("README has %d examples, want one per tool and the terminal report", n)
	}
	if *update {
		if err := os.WriteFile("README.md", out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func runReadmeTool(t *testing.T, cfg policy.Config, spec string) string {
	t.Helper()
	name, argsJSON, _ := strings.Cut(spec, " ")
	args := map[string]any{}
	if err := json.Unmarshal([]byte(argsJSON), &args); err != nil {
		t.Fatalf("README example %q: %v", spec, err)
	}
	args["auth_token"] = "readme"
	req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": name, "arguments": args}})
	var out bytes.Buffer
	if err := serve(context.Background(), cfg, bytes.NewReader(append(req, '\n')), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Error  json.RawMessage
		Result struct {
			StructuredContent json.RawMessage
		}
	}
	if err := json.Unmarshal(out.Bytes(), &resp); err != nil || resp.Error != nil {
		t.Fatalf("README example %q: %s", spec, out.Bytes())
	}
	sc := resp.Result.StructuredContent
	var b bytes.Buffer
	if err := json.Indent(&b, sc, "", "  "); err != nil {
		t.Fatal(err)
	}
	text := scalarArray.ReplaceAllStringFunc(b.String(), func(a string) string {
		items := strings.Fields(strings.Trim(a, "[]"))
		return "[" + strings.Join(items, " ") + "]"
	})
	return generatedAt.ReplaceAllString(text, readmeGeneratedAt) + "\n"
}

// scalarArray is an indented array of numbers or simple strings, printed
// on one line in the README to keep the examples short.
var scalarArray = regexp.MustCompile(`\[\s*\n(\s*("[^"\s]*"|-?[0-9.]+),?\n)+\s*\]`)
