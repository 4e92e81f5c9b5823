package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"porthunter/intel"
	"porthunter/policy"
)

// sampleIntelDir is the sample intel set the demo uses (fixtures/README.md).
const sampleIntelDir = "fixtures/intel"

// sampleManifest is the manifest of the sample set as it should be: the
// files' sums, sizes, formats and entries, with fixed dates so that it
// changes only when a file does.
func sampleManifest(t *testing.T) (manifest, sums []byte) {
	t.Helper()
	sb, err := policy.NewSandbox(sampleIntelDir, intel.MaxFileBytes)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	fsys, err := sb.DirFS(".")
	if err != nil {
		t.Fatal(err)
	}
	sts, err := intel.Inspect(context.Background(), fsys, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m := intel.Manifest{Format: intel.ManifestFormat, Generator: "written by hand for PortHunter (go test . -run TestSampleIntel -update)",
		Updated: "2026-03-14T00:00:00Z"}
	for _, st := range sts {
		if st.Status != "loaded" {
			t.Fatalf("%s/%s does not load: %+v", sampleIntelDir, st.File, st)
		}
		b, err := os.ReadFile(filepath.Join(sampleIntelDir, st.File))
		if err != nil {
			t.Fatal(err)
		}
		m.Files = append(m.Files, intel.ManifestFile{File: st.File, Source: "porthunter-sample", Format: st.Format,
			SHA256: hexSum(b), Bytes: int64(len(b)), Entries: st.Entries, FetchedAt: m.Updated, CheckedAt: m.Updated,
			License: "CC0-1.0", RefreshDays: int(intel.FreshFor(st.Format) / (24 * time.Hour))})
	}
	slices.SortFunc(m.Files, func(a, b intel.ManifestFile) int { return strings.Compare(a.File, b.File) })
	manifest, err = json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var s bytes.Buffer
	for _, f := range m.Files {
		fmt.Fprintf(&s, "%s  %s\n", f.SHA256, f.File)
	}
	return append(manifest, '\n'), s.Bytes()
}

// TestSampleIntel: the sample set is a bundle that verifies, its manifest
// is current, and it enriches the demo capture's scanner in every field
// the demo shows.
func TestSampleIntel(t *testing.T) {
	manifest, sums := sampleManifest(t)
	for name, want := range map[string][]byte{intel.ManifestName: manifest, intel.SumsName: sums} {
		p := filepath.Join(sampleIntelDir, name)
		if *update {
			if err := os.WriteFile(p, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := os.ReadFile(p); !bytes.Equal(got, want) {
			t.Errorf("%s is stale: go test . -run TestSampleIntel -update", p)
		}
	}
	code, out, errs := runIntelCLI(t, nil, "intel", "verify", sampleIntelDir)
	if code != 0 || !strings.Contains(out, "6 loaded, ") || !strings.Contains(out, " 0 errors, 0 warnings") {
		t.Errorf("intel verify %s: exit %d\n%s%s", sampleIntelDir, code, out, errs)
	}

	cfg := testConfig(t, "fixtures", map[string]string{"PORT_HUNTER_INTEL_DIR": "intel", "PORT_HUNTER_ALLOW_PRIVATE": "true"})
	req := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"enrich_ip","arguments":{"auth_token":"tok","ip":"203.0.113.66"}}}` + "\n"
	var stdout, stderr bytes.Buffer
	if err := serve(context.Background(), cfg, strings.NewReader(req), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Result struct {
			StructuredContent struct {
				Enrichment struct {
					ASN    *string `json:"asn"`
					Org    *string `json:"org"`
					Geo    struct{ Country *string }
					Threat struct {
						Listed     bool     `json:"listed"`
						Blocklists []string `json:"blocklists"`
						OTX        *struct {
							PulseCount *int `json:"pulse_count"`
						} `json:"otx"`
						GreyNoise *struct {
							Classification *string `json:"classification"`
						} `json:"greynoise"`
					} `json:"threat"`
					Consulted string `json:"consulted"`
				} `json:"enrichment"`
				Intel struct {
					Loaded int      `json:"loaded"`
					Failed []string `json:"failed"`
				} `json:"intel"`
			} `json:"structuredContent"`
		} `json:"result"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil {
		t.Fatalf("%v: %s", err, stdout.Bytes())
	}
	sc := resp.Result.StructuredContent
	e := sc.Enrichment
	if deref(e.ASN) != "AS64499" || deref(e.Org) != "SAMPLE-BPH Example Bulletproof Hosting (sample)" || deref(e.Geo.Country) != "XC" ||
		!e.Threat.Listed || strings.Join(e.Threat.Blocklists, ",") != "sample_blocklist,sample_c2" ||
		e.Threat.OTX == nil || e.Threat.OTX.PulseCount == nil || *e.Threat.OTX.PulseCount != 1 ||
		e.Threat.GreyNoise == nil || deref(e.Threat.GreyNoise.Classification) != "malicious" || sc.Intel.Loaded != 6 || len(sc.Intel.Failed) != 0 {
		t.Errorf("enrich_ip 203.0.113.66 with the sample set: %s\nstderr:\n%s", stdout.Bytes(), stderr.String())
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func hexSum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
