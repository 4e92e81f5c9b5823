package intel

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// TestEmptyLists: a list that lists nothing today (only its header) loads
// with no entries; an empty file, or a header followed by lines that are
// not a list, does not.
func TestEmptyLists(t *testing.T) {
	feodoEmpty := "##########\n# Feodo Tracker Botnet C2 IP Blocklist\n# Last updated: 2026-01-01 00:00:00 UTC\n#\n# END 0 entries\n"
	edropStub := "; This list has been merged into https://www.spamhaus.org/drop/drop.txt\n; Last-Modified: Thu, 01 Jan 2026 00:00:00 GMT\n; EOF\n"
	longHeader := strings.Repeat("# a header longer than the sniffed head\n", SniffLen/30) + "31.0.9.9\n"
	cases := []struct {
		name, data       string
		status, provider string
		entries          int
		asOf             string
	}{
		{"ipblocklist.txt", feodoEmpty, "loaded", "list:feodo", 0, "2026-01-01T00:00:00Z"},
		{"edrop.txt", edropStub, "loaded", "list:spamhaus_edrop", 0, "2026-01-01T00:00:00Z"},
		{"long.netset", longHeader, "loaded", "list:long", 1, ""},
		{"bogons.netset", "# bogons only\n10.0.0.0/8\n", "loaded", "list:bogons", 0, ""},
		{"empty.txt", "", "error", "", 0, ""},
		{"notes.txt", "# a header\nthen prose that lists nothing\n", "ignored", "", 0, ""},
	}
	for _, c := range cases {
		ds, st := load(t, c.name, []byte(c.data))
		if st.Status != c.status || st.Provider != c.provider || st.Entries != c.entries || (c.asOf != "" && deref(st.AsOf) != c.asOf) {
			t.Errorf("%s: %+v (error %s), want %s %s with %d entries as of %s", c.name, st, deref(st.Error), c.status, c.provider, c.entries, c.asOf)
		}
		if c.status == "loaded" {
			if _, ok := ds.list.lookup(ip("31.0.9.8")); ok {
				t.Errorf("%s: an empty list found an address", c.name)
			}
		} else if ds != nil {
			t.Errorf("%s: a dataset for a file not loaded", c.name)
		}
	}
}

// TestDocumentationEntries: a list entry inside a documentation block and
// narrower than it is kept (the sample set lists 203.0.113.66); the whole
// block, like any other bogon, is dropped.
func TestDocumentationEntries(t *testing.T) {
	data := "# SYNTHETIC TEST DATA\n203.0.113.66\n198.51.100.0/28\n2001:db8:1::/48\n203.0.113.0/24\n192.0.2.0/24\n192.168.1.1\n"
	ds, st := mustLoad(t, "lab.txt", []byte(data))
	if st.Entries != 3 || st.Dropped != 3 {
		t.Errorf("entries %d dropped %d, want 3 and 3", st.Entries, st.Dropped)
	}
	for a, want := range map[string]string{"203.0.113.66": "203.0.113.66/32", "198.51.100.7": "198.51.100.0/28", "2001:db8:1::5": "2001:db8:1::/48",
		"203.0.113.67": "", "192.0.2.1": "", "192.168.1.1": ""} {
		e, ok := ds.list.lookup(ip(a))
		if got := e.prefix.String(); ok != (want != "") || (ok && got != want) {
			t.Errorf("lookup(%s) = %s %v, want %q", a, got, ok, want)
		}
	}
}

// TestBundleFilesSkipped: a bundle's manifest, checksum list and notes
// are not intel and are not reported.
func TestBundleFilesSkipped(t *testing.T) {
	dir := intelDir(t, map[string][]byte{ManifestName: []byte(`{"files":[]}`), SumsName: []byte("00  x\n"), "README.md": []byte("# notes\n")})
	db := openTest(t, Options{Dir: os.DirFS(dir)})
	for _, s := range db.Sources() {
		if s.File == ManifestName || s.File == SumsName || s.File == "README.md" {
			t.Errorf("reported %+v", s)
		}
	}
}

// TestHealth: the summary every answer carries names the files in error
// (a broken MMDB, a list over nothing but garbage), the stale ones, the
// ignored count and the directory's own error.
func TestHealth(t *testing.T) {
	dir := intelDir(t, map[string][]byte{
		"GeoLite2-City.mmdb": []byte("this is not a MaxMind database"),
		"delegated-x-latest": []byte("garbage\n"),
	})
	var log bytes.Buffer
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC) // a month after the fixtures' dates
	db := openTest(t, Options{Dir: os.DirFS(dir), Log: &log, Now: func() time.Time { return now }})
	h := db.Health()
	if !h.DirConfigured || !h.Configured() || h.Loaded != 9 || h.Ignored != 1 || len(h.Failed) != 2 {
		t.Fatalf("health %+v", h)
	}
	failed := map[string]string{}
	for _, p := range h.Failed {
		failed[p.File] = p.Reason
	}
	if !strings.Contains(failed["GeoLite2-City.mmdb"], "metadata marker not found") || !strings.Contains(failed["delegated-x-latest"], ErrNoEntries.Error()) {
		t.Errorf("failed %q", failed)
	}
	stale := map[string]bool{}
	for _, p := range h.Stale {
		stale[p.File] = true
		if !strings.Contains(p.Reason, "is refreshed every") {
			t.Errorf("stale reason %q", p.Reason)
		}
	}
	// Lists and imports go stale after 7 days, ASN and RIR data after 30;
	// DB-IP (monthly) after 62.
	for _, f := range []string{"firehol_level1.netset", "drop_v4.json", "ipblocklist.csv", "ip2asn-combined.tsv", "delegated-testrir-extended-latest"} {
		if !stale[f] {
			t.Errorf("%s not stale on %s: %+v", f, now.Format(time.DateOnly), h.Stale)
		}
	}
	if stale["dbip-country-lite-2026-01.csv"] {
		t.Error("a DB-IP monthly file is stale after a month")
	}
	for _, want := range []string{`intel: error "GeoLite2-City.mmdb": intel: GeoLite2-City.mmdb offset `, `intel: error "delegated-x-latest": `,
		`intel: stale "firehol_level1.netset": as of 2026-01-01, and list:firehol_level1 is refreshed every 7 days`} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}

	db = openTest(t, Options{DirError: errors.New("PORT_HUNTER_INTEL_DIR: no such directory")})
	h = db.Health()
	if !h.Configured() || h.Loaded != 0 || len(h.Failed) != 1 || h.Failed[0].File != "" || !strings.Contains(h.Failed[0].Reason, "no such directory") {
		t.Errorf("health without the directory: %+v", h)
	}
	if h := openTest(t, Options{}).Health(); h.Configured() || len(h.Failed) != 0 {
		t.Errorf("health of nothing configured: %+v", h)
	}
}

// TestInspect: the report intel verify and intel status print is the one
// Open's Sources gives, with staleness judged at the given time.
func TestInspect(t *testing.T) {
	dir := intelDir(t, nil)
	sts, err := Inspect(t.Context(), os.DirFS(dir), testNow)
	if err != nil {
		t.Fatal(err)
	}
	db := openTest(t, Options{Dir: os.DirFS(dir)})
	if len(sts) != len(db.Sources())-2 { // Sources adds the two online providers
		t.Errorf("Inspect gave %d files, Sources %d", len(sts), len(db.Sources())-2)
	}
	for _, s := range sts {
		if s.Status == "loaded" && (s.Stale || s.FreshFor == 0) {
			t.Errorf("%s: stale %v fresh for %v on the day after its date", s.File, s.Stale, s.FreshFor)
		}
	}
}
