package intel

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// failTransport fails the test if any request is attempted.
type failTransport struct{ t *testing.T }

func (f failTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("unexpected network request to %s", r.URL.Host)
	return nil, http.ErrHandlerTimeout
}

// intelDir copies testdata/intel into a temporary directory with fixed
// modification times, so dataset dates taken from mtimes are stable.
func intelDir(t testing.TB, extra map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	ents, err := os.ReadDir("testdata/intel")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range ents {
		files[e.Name()] = readFixture(t, e.Name())
	}
	for k, v := range extra {
		files[k] = v
	}
	mtime := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func openTest(t *testing.T, o Options) *DB {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return testNow }
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Transport: failTransport{t}}
	}
	db, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// enriched fails the test on an error from Enrich.
func enriched(t testing.TB) func(Enrichment, error) Enrichment {
	return func(e Enrichment, err error) Enrichment {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
}

// mustBuildRanges is buildRanges without a context to end.
func mustBuildRanges(t testing.TB, spans []span, nIDs int) rangeSet {
	t.Helper()
	set, err := buildRanges(context.Background(), spans, nIDs)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, got)
	}
}

func TestSources(t *testing.T) {
	db := openTest(t, Options{Dir: os.DirFS(intelDir(t, map[string][]byte{"delegated-broken-latest": []byte("garbage|x\n")}))})
	got := map[string]SourceStatus{}
	for _, s := range db.Sources() {
		got[s.File+"|"+s.Provider] = s
	}
	want := []struct {
		key, status string
		entries     int
	}{
		{"ip2asn-combined.tsv|ip2asn", "loaded", 3},
		{"delegated-testrir-extended-latest|rir_delegated", "loaded", 3},
		{"dbip-city-lite-2026-01.csv|dbip_csv", "loaded", 1},
		{"dbip-country-lite-2026-01.csv|dbip_csv", "loaded", 2},
		{"firehol_level1.netset|list:firehol_level1", "loaded", 2},
		{"drop_v4.json|list:spamhaus_drop", "loaded", 1},
		{"ipblocklist.csv|list:feodo", "loaded", 1},
		{"otx-pulses.json|otx_import", "loaded", 3},
		{"greynoise-community.jsonl|greynoise_import", "loaded", 1},
		{"README.txt|", "ignored", 0},
		{"delegated-broken-latest|rir_delegated", "error", 0},
		{"|otx", "disabled", 0},
		{"|greynoise", "disabled", 0},
	}
	if len(got) != len(want) {
		t.Errorf("Sources() has %d entries, want %d: %+v", len(got), len(want), db.Sources())
	}
	for _, w := range want {
		s, ok := got[w.key]
		if !ok || s.Status != w.status || s.Entries != w.entries {
			t.Errorf("source %s = %+v, want %s with %d entries", w.key, s, w.status, w.entries)
		}
	}
	if s := got["|otx"]; deref(s.Error) != "offline_mode" {
		t.Errorf("otx disabled reason %s", deref(s.Error))
	}
}

func TestEnrichOffline(t *testing.T) {
	db := openTest(t, Options{Dir: os.DirFS(intelDir(t, nil)), OTXKey: "secret-otx", GreyNoiseKey: "secret-gn"})
	ctx := context.Background()
	e, err := db.EnrichInput(ctx, "::ffff:31.0.4.7")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "enrich-31.0.4.7.golden.json", marshal(t, e))
	if strings.Contains(string(marshal(t, e)), "secret") {
		t.Error("a key appears in the answer")
	}

	// Field by field, against the fixtures.
	if deref(e.ASN) != "AS64500" || *e.ASNumber != 64500 || deref(e.Org) != "EXAMPLE-AS-2 Example Two Ltd" {
		t.Errorf("asn %s org %s", deref(e.ASN), deref(e.Org))
	}
	if e.Network == nil || e.Network.Start != "31.0.4.0" || e.Network.End != "31.0.7.255" || len(e.Network.CIDRs) != 1 || e.Network.CIDRs[0] != "31.0.4.0/22" {
		t.Errorf("network %+v", e.Network)
	}
	if deref(e.Geo.Country) != "FR" || deref(e.Geo.Kind) != "registration" || deref(e.Geo.Registry) != "testrir" || e.Geo.City != nil {
		t.Errorf("geo %+v", e.Geo)
	}
	if e.IP != "31.0.4.7" || e.Input != "::ffff:31.0.4.7" || deref(e.NormalizedFrom) != "ipv4_mapped" || e.Version != 4 {
		t.Errorf("ip %s input %s from %s", e.IP, e.Input, deref(e.NormalizedFrom))
	}
	if !e.Threat.Listed || len(e.Threat.Blocklists) != 2 {
		t.Fatalf("blocklists %+v", e.Threat.Blocklists)
	}
	if e.Threat.OTX.Status != "ok" || deref(e.Threat.OTX.Source) != "otx_import" || *e.Threat.OTX.PulseCount != 1 {
		t.Errorf("otx %+v", e.Threat.OTX)
	}
	if e.Threat.GreyNoise.Status != "not_found" || deref(e.Threat.GreyNoise.Source) != "greynoise_import" {
		t.Errorf("greynoise %+v", e.Threat.GreyNoise)
	}
	if e.Partial {
		t.Error("partial with every provider fine")
	}

	// 31.0.7.1: past the 768-address RIR block, so the country is the AS's.
	e = enriched(t)(db.Enrich(ctx, netip.MustParseAddr("31.0.7.1")))
	if deref(e.Geo.Country) != "FR" || e.Geo.Registry != nil || !hasField(e, "ip2asn", "geo.country") || hasField(e, "rir_delegated", "geo.country") {
		t.Errorf("31.0.7.1 geo %+v sources %+v", e.Geo, e.Sources)
	}
	// 31.0.1.1: DB-IP city wins the geo over the RIR and the AS country.
	e = enriched(t)(db.Enrich(ctx, netip.MustParseAddr("31.0.1.1")))
	if deref(e.Geo.City) != "Berlin" || deref(e.Geo.Kind) != "geolocation" || !hasField(e, "dbip_csv", "geo.country") || deref(e.Geo.Registry) != "testrir" {
		t.Errorf("31.0.1.1 geo %+v", e.Geo)
	}
	if s := source(e, "dbip_csv"); s == nil || deref(s.Attribution) != attributionDBIP || deref(s.Dataset) != "dbip-city-lite-2026-01.csv" {
		t.Errorf("dbip source %+v", s)
	}
	// 31.0.9.9: listed by FireHOL and Feodo, two pulses, GreyNoise import.
	e = enriched(t)(db.Enrich(ctx, netip.MustParseAddr("31.0.9.9")))
	if len(e.Threat.Blocklists) != 2 || *e.Threat.OTX.PulseCount != 2 || e.Threat.OTX.Pulses[0].Name != "Example scanning campaign" ||
		e.Threat.GreyNoise.Status != "ok" || deref(e.Threat.GreyNoise.Classification) != "malicious" || e.ASN != nil {
		t.Errorf("31.0.9.9 threat %+v asn %v", e.Threat, e.ASN)
	}
	if s := source(e, "ip2asn"); s == nil || s.Status != "not_found" {
		t.Errorf("ip2asn source %+v", s)
	}
	// IPv6.
	e = enriched(t)(db.Enrich(ctx, netip.MustParseAddr("2a0f:1000::99")))
	if deref(e.ASN) != "AS65536" || deref(e.Geo.Country) != "JP" || e.Version != 6 {
		t.Errorf("v6 asn %s geo %+v", deref(e.ASN), e.Geo)
	}
}

func hasField(e Enrichment, provider, field string) bool {
	s := source(e, provider)
	if s == nil {
		return false
	}
	for _, f := range s.Fields {
		if f == field {
			return true
		}
	}
	return false
}

func source(e Enrichment, provider string) *Source {
	for i := range e.Sources {
		if e.Sources[i].Provider == provider {
			return &e.Sources[i]
		}
	}
	return nil
}

func TestEnrichPrivate(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, Options{Dir: os.DirFS(intelDir(t, nil))})
	e, err := db.EnrichInput(ctx, "10.1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	got := string(marshal(t, e))
	want := `{
  "ip": "10.1.2.3",
  "input": "10.1.2.3",
  "skipped": true,
  "reason": "private_ip",
  "category": "private",
  "block": "10.0.0.0/8",
  "name": "Private-Use",
  "rfc": "RFC 1918"
}
`
	if got != want {
		t.Errorf("private answer:\n%s\nwant:\n%s", got, want)
	}
	if _, err := db.EnrichInput(ctx, "999.1.1.1"); err == nil {
		t.Error("EnrichInput(999.1.1.1) accepted")
	}

	// AllowPrivate with online enabled: offline data runs, online never.
	db = openTest(t, Options{Dir: os.DirFS(intelDir(t, map[string][]byte{"local.txt": []byte("# SYNTHETIC TEST DATA\n31.0.9.9\n")})),
		AllowPrivate: true, Online: true, OTXKey: "k", GreyNoiseKey: "k"})
	e = enriched(t)(db.Enrich(ctx, netip.MustParseAddr("192.168.1.1")))
	if e.Skip != nil || e.Classification.Category != "private" || e.Classification.Scope != "private" {
		t.Fatalf("allow_private answer %+v", e)
	}
	for _, p := range []string{"otx", "greynoise"} {
		if s := source(e, p); s == nil || s.Status != "unsupported" || deref(s.Reason) != "not_public" {
			t.Errorf("%s source %+v", p, s)
		}
	}
	// The imports answer for themselves.
	if e.Threat.OTX.Status != "not_found" || e.Threat.GreyNoise.Status != "not_found" || e.Partial {
		t.Errorf("threat statuses %s %s", e.Threat.OTX.Status, e.Threat.GreyNoise.Status)
	}
}

func TestEnrichNoDataNoNetwork(t *testing.T) {
	// Keys set but Online false: no request may leave (failTransport).
	db := openTest(t, Options{OTXKey: "k", GreyNoiseKey: "k"})
	e := enriched(t)(db.Enrich(context.Background(), netip.MustParseAddr("8.8.8.8")))
	if e.ASN != nil || e.Org != nil || e.Network != nil || e.Geo.Country != nil || e.Threat.Listed {
		t.Errorf("invented data: %+v", e)
	}
	if len(e.Sources) != 2 || e.Sources[0].Status != "disabled" || deref(e.Sources[0].Reason) != "offline_mode" {
		t.Errorf("sources %+v", e.Sources)
	}
	db = openTest(t, Options{Online: true})
	e = enriched(t)(db.Enrich(context.Background(), netip.MustParseAddr("8.8.8.8")))
	if deref(e.Sources[0].Reason) != "no_api_key" || deref(e.Sources[1].Reason) != "no_api_key" {
		t.Errorf("sources %+v", e.Sources)
	}
}

func TestEnrichMMDBPrecedence(t *testing.T) {
	db := openTest(t, Options{Dir: os.DirFS(intelDir(t, map[string][]byte{"Test-City.mmdb": testMMDB(24, 6)}))})
	e := enriched(t)(db.Enrich(context.Background(), netip.MustParseAddr("31.0.2.3")))
	// The MMDB wins asn, org, network and geo; DB-IP still answers.
	if deref(e.ASN) != "AS64496" || deref(e.Org) != "EXAMPLE-AS-1 Example One GmbH" || e.Network.CIDRs[0] != "31.0.0.0/22" ||
		!hasField(e, "mmdb:Test-City.mmdb", "asn") || hasField(e, "ip2asn", "asn") {
		t.Errorf("asn %s org %s network %+v", deref(e.ASN), deref(e.Org), e.Network)
	}
	if deref(e.Geo.CountryName) != "Germany" || deref(e.Geo.Region) != "Land Berlin" || *e.Geo.Latitude != 52.5 || !hasField(e, "mmdb:Test-City.mmdb", "geo.location") {
		t.Errorf("geo %+v", e.Geo)
	}
	if s := source(e, "dbip_csv"); s == nil || s.Status != "ok" || len(s.Fields) != 0 {
		t.Errorf("dbip source %+v", s)
	}
	if s := source(e, "mmdb:Test-City.mmdb"); s == nil || deref(s.AsOf) != "2026-01-01T00:00:00Z" {
		t.Errorf("mmdb source %+v", s)
	}
}

func TestRefresh(t *testing.T) {
	dir := intelDir(t, nil)
	now := testNow
	db := openTest(t, Options{Dir: os.DirFS(dir), Now: func() time.Time { return now }})
	if ok, err := db.Refresh(context.Background(), false); ok || err != nil {
		t.Error("refreshed before the interval")
	}
	if ok, err := db.Refresh(context.Background(), true); ok || err != nil {
		t.Error("reloaded with nothing changed")
	}
	if err := os.WriteFile(filepath.Join(dir, "extra.txt"), []byte("# SYNTHETIC TEST DATA\n31.0.12.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	now = now.Add(RefreshInterval + time.Second)
	e := enriched(t)(db.Enrich(context.Background(), netip.MustParseAddr("31.0.12.1"))) // refreshes first
	if !e.Threat.Listed || e.Threat.Blocklists[0].List != "extra" {
		t.Errorf("after refresh: %+v", e.Threat.Blocklists)
	}
}
