package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"porthunter/intel"
)

// intelTestServer serves the intel package's synthetic fixtures over TLS
// on a local port and points intel fetch at it: nothing here touches the
// internet.
func intelTestServer(t *testing.T) {
	t.Helper()
	files := map[string]string{
		"ip2asn-combined.tsv":               "ip2asn-combined.tsv",
		"delegated-testrir-extended-latest": "delegated-testrir-extended-latest",
		"drop_v4.json":                      "drop_v4.json",
		"firehol_level1.netset":             "firehol_level1.netset",
		"ipblocklist.csv":                   "ipblocklist.csv",
	}
	bodies := map[string][]byte{}
	for path, name := range files {
		b, err := os.ReadFile(filepath.Join("intel", "testdata", "intel", name))
		if err != nil {
			t.Fatal(err)
		}
		bodies["/"+path] = b
	}
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Last-Modified", "Thu, 01 Jan 2026 06:00:00 GMT")
		w.Write(b)
	}))
	t.Cleanup(ts.Close)
	srcs := []intel.FetchSource{
		{Name: "iptoasn", URL: ts.URL + "/ip2asn-combined.tsv", File: "ip2asn-combined.tsv", Format: intel.FormatIP2ASN, MaxBytes: 1 << 20},
		{Name: "testrir", URL: ts.URL + "/delegated-testrir-extended-latest", File: "delegated-testrir-extended-latest", Format: intel.FormatRIR, MaxBytes: 1 << 20},
		{Name: "spamhaus-drop-v4", URL: ts.URL + "/drop_v4.json", File: "drop_v4.json", Format: intel.FormatList, MaxBytes: 1 << 20},
		{Name: "firehol-level1", URL: ts.URL + "/firehol_level1.netset", File: "firehol_level1.netset", Format: intel.FormatList, MaxBytes: 1 << 20},
		{Name: "feodo", URL: ts.URL + "/ipblocklist.csv", File: "ipblocklist.csv", Format: intel.FormatList, MaxBytes: 1 << 20, MayBeEmpty: true},
		{Name: "gone", URL: ts.URL + "/gone.netset", File: "gone.netset", Format: intel.FormatList, MaxBytes: 1 << 20},
	}
	oldSrcs, oldClient := intelFetchSources, intelFetchClient
	intelFetchSources = func() []intel.FetchSource { return srcs }
	intelFetchClient = ts.Client()
	t.Cleanup(func() { intelFetchSources, intelFetchClient = oldSrcs, oldClient })
}

// runIntelCLI runs porthunter with args and env, returning the exit status,
// stdout and stderr.
func runIntelCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

// TestIntelCommands: fetch on the "connected host" (a local server), then
// verify the copy, then status as the server would read it, and each
// fails with a non-zero exit when something is wrong.
func TestIntelCommands(t *testing.T) {
	intelTestServer(t)
	root := t.TempDir()
	bundle := filepath.Join(root, "intel")

	code, out, errs := runIntelCLI(t, nil, "intel", "fetch", "--out", bundle, "--only", "iptoasn,testrir,spamhaus-drop-v4,firehol-level1,feodo")
	if code != 0 {
		t.Fatalf("fetch: exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"ip2asn-combined.tsv", "iptoasn", "downloaded", "intel verify"} {
		if !strings.Contains(out, want) {
			t.Errorf("fetch output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "ok   drop_v4.json: ") {
		t.Errorf("fetch stderr:\n%s", errs)
	}

	code, out, _ = runIntelCLI(t, nil, "intel", "verify", bundle)
	if code != 0 || !strings.Contains(out, "5 loaded, ") || !strings.Contains(out, ", 0 errors, ") || !strings.Contains(out, "MANIFEST.json of ") {
		t.Errorf("verify: exit %d\n%s", code, out)
	}
	code, out, _ = runIntelCLI(t, nil, "intel", "verify", bundle, "--json")
	var rep intel.BundleReport
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil || rep.Loaded != 5 || len(rep.Files) != 5 {
		t.Errorf("verify --json: exit %d %v\n%s", code, err, out)
	}

	env := map[string]string{"PORT_HUNTER_ALLOWED_DIR": root, "PORT_HUNTER_INTEL_DIR": "intel"}
	code, out, _ = runIntelCLI(t, env, "intel", "status")
	if code != 0 || !strings.Contains(out, "online providers: off") || !strings.Contains(out, "list:spamhaus_drop") {
		t.Errorf("status: exit %d\n%s", code, out)
	}

	// A copy damaged on the way, and a file that does not load.
	if err := os.WriteFile(filepath.Join(bundle, "drop_v4.json"), []byte(`{"cidr":"31.0.4.0/24","sblid":"SBL000003"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "broken.mmdb"), []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runIntelCLI(t, nil, "intel", "verify", bundle)
	if code != 1 || !strings.Contains(out, "error   drop_v4.json: ") || !strings.Contains(out, "error   broken.mmdb: intel: broken.mmdb offset") ||
		!strings.Contains(errs, "2 errors") {
		t.Errorf("verify of a damaged bundle: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = runIntelCLI(t, env, "intel", "status")
	if code != 1 || !strings.Contains(out, "error   broken.mmdb") || !strings.Contains(out, "MANIFEST.json says") {
		t.Errorf("status of a damaged directory: exit %d\n%s", code, out)
	}

	// A source that fails is reported and fails the fetch; the others
	// still land.
	code, out, errs = runIntelCLI(t, nil, "intel", "fetch", "--out", bundle, "--only", "gone,iptoasn")
	if code != 1 || !strings.Contains(errs, "FAIL gone.netset: HTTP 404") || !strings.Contains(errs, "1 of 2 sources failed") || !strings.Contains(out, "iptoasn") {
		t.Errorf("fetch with a failing source: exit %d\n%s\n%s", code, out, errs)
	}
}

// TestIntelUsage: the commands' misuse is exit status 2, and status
// without an intel directory, or with one that is missing, is 1.
func TestIntelUsage(t *testing.T) {
	for _, args := range [][]string{{"intel"}, {"intel", "nope"}, {"intel", "fetch"}, {"intel", "fetch", "--out", "x", "extra"},
		{"intel", "fetch", "--only", "nope", "--out", "x"}, {"intel", "verify"}, {"intel", "verify", "a", "b"}, {"intel", "status", "x"}} {
		if code, _, _ := runIntelCLI(t, nil, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	dir := t.TempDir()
	if code, _, errs := runIntelCLI(t, map[string]string{"PORT_HUNTER_ALLOWED_DIR": dir}, "intel", "status"); code != 1 || !strings.Contains(errs, "PORT_HUNTER_INTEL_DIR is not set") {
		t.Errorf("status without a directory: exit %d %s", code, errs)
	}
	if code, _, errs := runIntelCLI(t, map[string]string{"PORT_HUNTER_ALLOWED_DIR": dir, "PORT_HUNTER_INTEL_DIR": "missing"}, "intel", "status"); code != 1 || !strings.Contains(errs, `PORT_HUNTER_INTEL_DIR "missing"`) {
		t.Errorf("status with a missing directory: exit %d %s", code, errs)
	}
	if code, out, _ := runIntelCLI(t, nil, "intel", "verify", t.TempDir()); code != 1 || !strings.Contains(out, "no MANIFEST.json") {
		t.Errorf("verify of an empty directory: exit %d %s", code, out)
	}
	if code, out, _ := runIntelCLI(t, nil, "intel", "fetch", "--list"); code != 0 || !strings.Contains(out, "https://www.spamhaus.org/drop/drop_v4.json") {
		t.Errorf("fetch --list: exit %d %s", code, out)
	}
}
