package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"porthunter/intel"
)

// lockedBuffer is a stderr the server's goroutines may write at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// intelSession runs one session of the requests (tools/list, enrich_ip of
// 31.0.9.9, correlate of it) and returns the answers by id and stderr.
func intelSession(t *testing.T, dir string, env map[string]string) (map[float64]map[string]any, string) {
	t.Helper()
	cfg := testConfig(t, dir, env)
	lines := []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"enrich_ip","arguments":{"auth_token":"tok","ip":"31.0.9.9"}}}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"correlate","arguments":{"auth_token":"tok","ips":["31.0.9.9","10.0.0.1"]}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"enrich_ip","arguments":{"auth_token":"tok","ip":"10.0.0.1"}}}`,
	}
	var stdout bytes.Buffer
	var stderr lockedBuffer
	if err := Serve(context.Background(), cfg, "test", strings.NewReader(strings.Join(lines, "\n")+"\n"), &stdout, &stderr); err != nil {
		t.Fatalf("serve: %v (stderr %s)", err, stderr.String())
	}
	out := map[float64]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		id, _ := m["id"].(float64)
		out[id] = m
	}
	return out, stderr.String()
}

// intelMember is the intel member of a tools/call answer.
func intelMember(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	sc, isErr := structured(t, m)
	in, ok := sc["intel"].(map[string]any)
	if isErr || !ok {
		t.Fatalf("no intel member in %v", sc)
	}
	return in
}

// description is the tools/list description of a tool.
func description(t *testing.T, list map[string]any, name string) string {
	t.Helper()
	for _, x := range list["result"].(map[string]any)["tools"].([]any) {
		if tl := x.(map[string]any); tl["name"] == name {
			return tl["description"].(string)
		}
	}
	t.Fatalf("no tool %s", name)
	return ""
}

// TestIntelDirMissing: a PORT_HUNTER_INTEL_DIR that does not exist stopped
// the server at start. It is one warning line, the server serves, and
// every intel answer says the directory failed.
func TestIntelDirMissing(t *testing.T) {
	ans, stderr := intelSession(t, t.TempDir(), map[string]string{"PORT_HUNTER_INTEL_DIR": "no-such-dir"})
	if want := `porthunter: warning: PORT_HUNTER_INTEL_DIR "no-such-dir": `; !strings.Contains(stderr, want) || strings.Count(stderr, "PORT_HUNTER_INTEL_DIR") != 1 {
		t.Errorf("stderr lacks one line %q:\n%s", want, stderr)
	}
	for _, id := range []float64{2, 3, 4} {
		in := intelMember(t, ans[id])
		failed, _ := in["failed"].([]any)
		if in["configured"] != true || in["loaded"] != 0.0 || len(failed) != 1 || !strings.HasPrefix(failed[0].(string), `intel directory: PORT_HUNTER_INTEL_DIR "no-such-dir": `) {
			t.Errorf("answer %v: intel %v", id, in)
		}
	}
	if d := description(t, ans[1], "enrich_ip"); !strings.Contains(d, "PORT_HUNTER_INTEL_DIR is set but no intel file loaded; 1 failed to load; online providers off.") {
		t.Errorf("enrich_ip description: %s", d)
	}
}

// TestIntelFailuresShow: a broken MMDB logged nothing and no answer said
// so. Each file that fails is one stderr line with its reason, each stale
// one too, and both are named in every intel answer and counted in the
// tool descriptions.
func TestIntelFailuresShow(t *testing.T) {
	dir := t.TempDir()
	idir := filepath.Join(dir, "intel")
	must(t, os.Mkdir(idir, 0o755))
	fresh := time.Now().UTC().Format("2006-01-02 15:04:05")
	files := map[string]string{
		"ip2asn-combined.tsv": "# SYNTHETIC TEST DATA\n31.0.0.0\t31.0.15.255\t64496\tDE\tEXAMPLE-AS-1 Example One GmbH\n",
		"GeoLite2-City.mmdb":  "not a MaxMind database at all",
		"old.netset":          "# SYNTHETIC TEST DATA\n# Last updated: 2020-01-01 00:00:00 UTC\n31.0.9.0/24\n",
		"new.netset":          "# SYNTHETIC TEST DATA\n# Last updated: " + fresh + " UTC\n31.0.9.9\n",
		"notes.txt":           "prose, not a list\n",
	}
	for name, data := range files {
		must(t, os.WriteFile(filepath.Join(idir, name), []byte(data), 0o644))
	}
	ans, stderr := intelSession(t, dir, map[string]string{"PORT_HUNTER_INTEL_DIR": "intel"})
	for _, want := range []string{
		"intel: loaded 3 of 5 files (",
		`intel: error "GeoLite2-City.mmdb": intel: GeoLite2-City.mmdb offset `,
		`intel: ignored "notes.txt": intel: unrecognised file format`,
		`intel: stale "old.netset": as of 2020-01-01, and list:old is refreshed every 7 days`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, `"new.netset"`) || strings.Contains(stderr, `"ip2asn-combined.tsv"`) {
		t.Errorf("stderr names a file that loaded fresh:\n%s", stderr)
	}
	for _, id := range []float64{2, 3, 4} {
		in := intelMember(t, ans[id])
		failed, _ := in["failed"].([]any)
		stale, _ := in["stale"].([]any)
		if in["configured"] != true || in["loaded"] != 3.0 || in["ignored"] != 1.0 || len(failed) != 1 || len(stale) != 1 ||
			!strings.HasPrefix(failed[0].(string), "GeoLite2-City.mmdb: intel: GeoLite2-City.mmdb offset ") ||
			stale[0] != "old.netset (as of 2020-01-01, refresh every 7 days)" {
			t.Errorf("answer %v: intel %v", id, in)
		}
	}
	sc, _ := structured(t, ans[2])
	if e := sc["enrichment"].(map[string]any); e["asn"] != "AS64496" || e["threat"].(map[string]any)["listed"] != true {
		t.Errorf("the sources that loaded are not used: %v", e)
	}
	for _, tool := range []string{"enrich_ip", "correlate"} {
		want := "On this server, at start: 3 offline intel files loaded (ip2asn, list:new, list:old); 1 failed to load; 1 past their refresh interval; online providers off."
		if d := description(t, ans[1], tool); !strings.Contains(d, want) {
			t.Errorf("%s description lacks %q: %s", tool, want, d)
		}
	}
	if d := description(t, ans[1], "scan_overview"); strings.Contains(d, "On this server") {
		t.Errorf("scan_overview's description speaks of intel: %s", d)
	}
}

// TestIntelNotConfigured: without intel the answers and descriptions say
// so, and nothing is logged about it.
func TestIntelNotConfigured(t *testing.T) {
	ans, stderr := intelSession(t, t.TempDir(), nil)
	if strings.Contains(stderr, "intel:") || strings.Contains(stderr, "warning") {
		t.Errorf("stderr speaks of intel that is not configured:\n%s", stderr)
	}
	if in := intelMember(t, ans[2]); in["configured"] != false || in["loaded"] != 0.0 || len(in) != 2 {
		t.Errorf("intel %v", in)
	}
	if d := description(t, ans[1], "correlate"); !strings.Contains(d, "no offline intel is configured (PORT_HUNTER_INTEL_DIR is unset); online providers off. Answers then carry each address's classification only.") {
		t.Errorf("correlate description: %s", d)
	}
}

// TestIntelStateCaps: the member names at most five failed and five stale
// sources, with totals, and cuts long names and reasons.
func TestIntelStateCaps(t *testing.T) {
	var h intel.Health
	h.DirConfigured = true
	for i := range 7 {
		h.Failed = append(h.Failed, intel.Problem{File: fmt.Sprintf("f%d.mmdb", i), Reason: strings.Repeat("é", 200)})
		h.Stale = append(h.Stale, intel.Problem{File: strings.Repeat("n", 300), AsOf: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), FreshFor: 7 * 24 * time.Hour})
	}
	st := IntelStateOf(h)
	if len(st.Failed) != 5 || st.FailedTotal != 7 || len(st.Stale) != 5 || st.StaleTotal != 7 {
		t.Fatalf("state %+v", st)
	}
	for _, s := range append(st.Failed, st.Stale...) {
		if len(s) > 2*maxIntelText+40 || !strings.Contains(s, "...") {
			t.Errorf("not cut: %d bytes %q", len(s), s)
		}
	}
	b, _ := json.Marshal(st)
	if len(b) > 2500 {
		t.Errorf("intel member of %d characters", len(b))
	}
}
