package intel

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/netip"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"testing/iotest"
	"time"
)

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/intel/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// load runs the directory loader on one in-memory file.
func load(t *testing.T, name string, data []byte) (*dataset, SourceStatus) {
	t.Helper()
	fsys := fstest.MapFS{name: &fstest.MapFile{Data: data, ModTime: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)}}
	return loadFile(context.Background(), fsys, name, testNow, MaxIntelMemory)
}

func mustLoad(t *testing.T, name string, data []byte) (*dataset, SourceStatus) {
	t.Helper()
	ds, st := load(t, name, data)
	if ds == nil || st.Status != "loaded" {
		t.Fatalf("loadFile(%s) = %+v (error %v)", name, st, deref(st.Error))
	}
	return ds, st
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestIP2ASN(t *testing.T) {
	raw := readFixture(t, "ip2asn-combined.tsv")
	for _, v := range []struct {
		name string
		data []byte
	}{{"ip2asn-combined.tsv", raw}, {"ip2asn-combined.tsv.gz", gz(t, raw)}, {"asn-ranges.dat", raw}} {
		t.Run(v.name, func(t *testing.T) {
			ds, st := mustLoad(t, v.name, v.data)
			if st.Format != FormatIP2ASN || st.Provider != "ip2asn" {
				t.Errorf("format %q provider %q", st.Format, st.Provider)
			}
			// 3 routed rows, 1 "Not routed", 2 broken lines.
			if st.Entries != 3 || st.Dropped != 1 || st.Skipped != 2 {
				t.Errorf("entries %d dropped %d skipped %d, want 3 1 2", st.Entries, st.Dropped, st.Skipped)
			}
			if deref(st.AsOf) != "2026-01-01T10:00:00Z" { // the file's mtime
				t.Errorf("as_of %s", deref(st.AsOf))
			}
			cases := []struct {
				ip, org, cc, start, end string
				asn                     uint32
			}{
				{"31.0.0.0", "EXAMPLE-AS-1 Example One GmbH", "DE", "31.0.0.0", "31.0.3.255", 64496},
				{"31.0.3.255", "EXAMPLE-AS-1 Example One GmbH", "DE", "31.0.0.0", "31.0.3.255", 64496},
				{"31.0.4.7", "EXAMPLE-AS-2 Example Two Ltd", "FR", "31.0.4.0", "31.0.7.255", 64500},
				{"31.0.7.255", "EXAMPLE-AS-2 Example Two Ltd", "FR", "31.0.4.0", "31.0.7.255", 64500},
				{"2a0f:1000:1::5", "EXAMPLE-AS-V6 Example Six KK", "JP", "2a0f:1000::", "2a0f:1000:ffff:ffff:ffff:ffff:ffff:ffff", 65536},
			}
			for _, c := range cases {
				f, s, e, ok := ds.asn.lookup(ip(c.ip))
				if !ok || f.asn != c.asn || f.org != c.org || f.country != c.cc || s.String() != c.start || e.String() != c.end {
					t.Errorf("lookup(%s) = %+v %v %v %v", c.ip, f, s, e, ok)
				}
			}
			for _, miss := range []string{"31.0.8.1", "30.255.255.255", "31.0.16.1", "2a0f:1001::", "8.8.8.8"} {
				if _, _, _, ok := ds.asn.lookup(ip(miss)); ok {
					t.Errorf("lookup(%s) found", miss)
				}
			}
		})
	}
}

func TestIP2ASNU32(t *testing.T) {
	// 31.0.0.0 = 520093696, 31.0.3.255 = 520094719
	data := "# SYNTHETIC TEST DATA\n520093696\t520094719\t64496\tDE\tEXAMPLE-AS-1\n4294967295\t4294967296\t1\tDE\tOVERFLOW\n"
	ds, st := mustLoad(t, "ip2asn-v4-u32.tsv", []byte(data))
	if st.Entries != 1 || st.Skipped != 1 {
		t.Errorf("entries %d skipped %d", st.Entries, st.Skipped)
	}
	if f, _, _, ok := ds.asn.lookup(ip("31.0.2.2")); !ok || f.asn != 64496 {
		t.Errorf("lookup = %+v %v", f, ok)
	}
}

func TestRIR(t *testing.T) {
	raw := readFixture(t, "delegated-testrir-extended-latest")
	for _, name := range []string{"delegated-testrir-extended-latest", "delegated-testrir-extended-latest.gz"} {
		data := raw
		if strings.HasSuffix(name, ".gz") {
			data = gz(t, raw)
		}
		ds, st := mustLoad(t, name, data)
		// DE v4, FR v4 (768), JP v6 stored; available and asn rows dropped; the banana row broken.
		if st.Entries != 3 || st.Dropped != 2 || st.Skipped != 1 {
			t.Errorf("%s: entries %d dropped %d skipped %d, want 3 2 1", name, st.Entries, st.Dropped, st.Skipped)
		}
		if deref(st.AsOf) != "2026-01-01T00:00:00Z" {
			t.Errorf("as_of %s", deref(st.AsOf))
		}
		cases := map[string]string{
			"31.0.0.0": "DE", "31.0.3.255": "DE", "31.0.4.0": "FR", "31.0.6.255": "FR", // 768 = 31.0.4.0–31.0.6.255
			"31.0.7.0": "", "31.0.8.5": "", "2a0f:1000:ffff::1": "JP", "2a0f:1001::": "",
		}
		for a, want := range cases {
			f, ok := ds.rir.lookup(ip(a))
			if ok != (want != "") || f.country != want || (ok && f.registry != "testrir") {
				t.Errorf("%s: lookup(%s) = %+v %v, want %q", name, a, f, ok, want)
			}
		}
	}
}

func TestDBIP(t *testing.T) {
	ds, st := mustLoad(t, "dbip-country-lite-2026-01.csv", readFixture(t, "dbip-country-lite-2026-01.csv"))
	if st.Entries != 2 || deref(st.AsOf) != "2026-01-01T00:00:00Z" || ds.attribution != attributionDBIP {
		t.Errorf("country: %+v attribution %q", st, ds.attribution)
	}
	if f, ok := ds.geo.lookup(ip("2a0f:1000::9")); !ok || f.country != "JP" || f.lat != nil {
		t.Errorf("country lookup = %+v %v", f, ok)
	}
	ds, st = mustLoad(t, "dbip-city-lite-2026-01.csv.gz", gz(t, readFixture(t, "dbip-city-lite-2026-01.csv")))
	f, ok := ds.geo.lookup(ip("31.0.1.1"))
	if !ok || f.country != "DE" || f.city != "Berlin" || f.region != "Berlin" || f.continent != "EU" || f.lat == nil || *f.lat != 52.52 || *f.lon != 13.40 {
		t.Errorf("city lookup = %+v %v (%+v)", f, ok, st)
	}
	asnCSV := "# SYNTHETIC TEST DATA\n31.0.0.0,31.0.3.255,64496,\"EXAMPLE-AS-1, Example \"\"One\"\" GmbH\"\n31.0.4.0,31.0.7.255,64500\n1.2.3.4,junk,1,x\n"
	ds, st = mustLoad(t, "dbip-asn-lite-2026-01.csv", []byte(asnCSV))
	if st.Entries != 1 || st.Skipped != 2 {
		t.Errorf("asn: %+v", st)
	}
	if a, _, _, ok := ds.asn.lookup(ip("31.0.0.1")); !ok || a.asn != 64496 || a.org != `EXAMPLE-AS-1, Example "One" GmbH` {
		t.Errorf("asn lookup = %+v %v", a, ok)
	}
}

func TestLists(t *testing.T) {
	type want struct {
		ip, entry, ref string
	}
	cases := []struct {
		file, data, provider, asOf string
		entries, skipped, dropped  int
		hits                       []want
		misses                     []string
	}{
		{file: "firehol_level1.netset", data: string(readFixture(t, "firehol_level1.netset")), provider: "list:firehol_level1",
			asOf: "2026-01-01T00:00:00Z", entries: 2, dropped: 1,
			hits: []want{{"31.0.4.200", "31.0.4.0/24", ""}, {"31.0.9.9", "31.0.9.9/32", ""}}, misses: []string{"10.1.2.3", "31.0.9.8"}},
		{file: "drop_v4.json", data: string(readFixture(t, "drop_v4.json")), provider: "list:spamhaus_drop",
			asOf: "2026-01-01T00:00:00Z", entries: 1,
			hits: []want{{"31.0.4.7", "31.0.4.0/24", "SBL000002"}}, misses: []string{"31.0.5.0"}},
		{file: "drop_v6.txt", provider: "list:spamhaus_drop", asOf: "2026-01-01T00:00:00Z", entries: 1, skipped: 1,
			data: "; SYNTHETIC TEST DATA\n; Last-Modified: Thu, 01 Jan 2026 00:00:00 GMT\n2a0f:1000:10::/48 ; SBL000009\nnot-an-ip ; SBL0\n",
			hits: []want{{"2a0f:1000:10:1::1", "2a0f:1000:10::/48", "SBL000009"}}},
		{file: "ipblocklist.csv", data: string(readFixture(t, "ipblocklist.csv")), provider: "list:feodo",
			asOf: "2026-01-01T00:00:00Z", entries: 1, hits: []want{{"31.0.9.9", "31.0.9.9/32", "ExampleBot"}}},
		{file: "ipblocklist_recommended.csv", provider: "list:feodo", asOf: "2026-01-01T00:00:00Z", entries: 1,
			data: "# SYNTHETIC TEST DATA\n# Last updated: 2026-01-01 00:00:00 UTC\n# \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\"2026-01-01 00:00:00\",\"31.0.9.9\",\"443\",\"online\",\"2026-01-01\",\"ExampleBot\"\n# END 1 entries\n",
			hits: []want{{"31.0.9.9", "31.0.9.9/32", "ExampleBot"}}},
		{file: "all.txt", provider: "list:all", asOf: "2026-01-01T10:00:00Z", entries: 4, skipped: 2, dropped: 1,
			data:   "# SYNTHETIC TEST DATA\n31.0.9.9\n2a0f:1000::7\n::ffff:31.0.9.10\nnot-an-ip\n192.168.1.1\n31.0.9.1/24 # host bits set\n" + strings.Repeat("x", MaxLineLen+10) + "\n",
			hits:   []want{{"2a0f:1000::7", "2a0f:1000::7/128", ""}, {"31.0.9.10", "31.0.9.10/32", ""}, {"31.0.9.200", "31.0.9.0/24", ""}, {"31.0.9.9", "31.0.9.9/32", ""}},
			misses: []string{"192.168.1.1", "31.0.10.0"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			for _, zip := range []bool{false, true} {
				name, data := c.file, []byte(c.data)
				if zip {
					name, data = name+".gz", gz(t, data)
				}
				ds, st := mustLoad(t, name, data)
				if st.Format != FormatList || st.Provider != c.provider || deref(st.AsOf) != c.asOf ||
					st.Entries != c.entries || st.Skipped != c.skipped || st.Dropped != c.dropped {
					t.Errorf("%s: status %+v as_of %s, want %s %s entries %d skipped %d dropped %d", name, st, deref(st.AsOf), c.provider, c.asOf, c.entries, c.skipped, c.dropped)
				}
				for _, h := range c.hits {
					le, ok := ds.list.lookup(ip(h.ip))
					if !ok || le.prefix.String() != h.entry || le.ref != h.ref {
						t.Errorf("%s: lookup(%s) = %v %q %v, want %s %q", name, h.ip, le.prefix, le.ref, ok, h.entry, h.ref)
					}
				}
				for _, m := range c.misses {
					if _, ok := ds.list.lookup(ip(m)); ok {
						t.Errorf("%s: lookup(%s) found", name, m)
					}
				}
			}
		})
	}
}

func TestListSpamhausLicence(t *testing.T) {
	ds, _ := mustLoad(t, "drop_v4.json", readFixture(t, "drop_v4.json"))
	if ds.license != licenseSpamhaus || ds.attribution != attributionSpamhs {
		t.Errorf("licence %q attribution %q", ds.license, ds.attribution)
	}
	ds, _ = mustLoad(t, "firehol_level1.netset", readFixture(t, "firehol_level1.netset"))
	if ds.license != "" || ds.attribution != "" {
		t.Errorf("firehol licence %q attribution %q, want none", ds.license, ds.attribution)
	}
}

func TestOTXImport(t *testing.T) {
	ds, st := mustLoad(t, "otx-pulses.json", readFixture(t, "otx-pulses.json"))
	// 3 IP/CIDR indicators indexed; 1 expired + 1 inactive dropped; the domain ignored.
	if st.Entries != 3 || st.Dropped != 2 {
		t.Errorf("status %+v", st)
	}
	if got := ds.otx.lookup(ip("31.0.9.9")); len(got) != 2 {
		t.Errorf("lookup(31.0.9.9) = %v pulses, want 2", got)
	}
	if got := ds.otx.lookup(ip("31.0.4.77")); len(got) != 1 || ds.otx.pulses[got[0]].name != "Example scanning campaign" {
		t.Errorf("lookup(31.0.4.77) = %v", got)
	}
	for _, miss := range []string{"31.0.9.10", "31.0.9.11", "31.0.5.1"} {
		if got := ds.otx.lookup(ip(miss)); len(got) != 0 {
			t.Errorf("lookup(%s) = %v, want none", miss, got)
		}
	}
	p := ds.otx.pulses[0]
	if p.tlp != "white" || p.author != "example-author" || len(p.malware) != 1 || p.malware[0] != "ExampleBot" || len(p.tags) != 2 {
		t.Errorf("pulse = %+v", p)
	}
}

func TestGreyNoiseImport(t *testing.T) {
	ds, st := mustLoad(t, "greynoise-community.jsonl", readFixture(t, "greynoise-community.jsonl"))
	if st.Entries != 1 || st.Skipped != 1 {
		t.Errorf("status %+v", st)
	}
	r, ok := ds.gn.byIP[ip("31.0.9.9")]
	if !ok || r.classification != "malicious" || r.noise == nil || !*r.noise || r.riot == nil || *r.riot {
		t.Errorf("record = %+v %v", r, ok)
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name   string
		data   []byte
		status string
	}{
		{"delegated-broken", []byte("# SYNTHETIC TEST DATA\nnothing|here\n"), "error"},
		{"ip2asn-empty.tsv", []byte("# only a comment\n"), "error"},
		{"notes.md", []byte("# Notes\nSome words that are not addresses.\n"), "ignored"},
		{"bad.gz", []byte{0x1f, 0x8b, 0, 0}, "error"},
		{"bin.dat", []byte{0, 1, 2, 3, 0, 0}, "ignored"},
		{"x.mmdb", []byte("not an mmdb at all"), "error"},
	}
	for _, c := range cases {
		ds, st := load(t, c.name, c.data)
		if ds != nil || st.Status != c.status || st.Error == nil {
			t.Errorf("%s: %+v error %s, want status %s", c.name, st, deref(st.Error), c.status)
		}
	}
}

func TestGzipBomb(t *testing.T) {
	// A stream that inflates past the cap stops with ErrFileTooLarge.
	o, err := openFile(context.Background(), fstest.MapFS{"ip2asn.tsv.gz": &fstest.MapFile{Data: gz(t, bytes.Repeat([]byte("1.2.3.4\n"), 2000))}}, "ip2asn.tsv.gz", 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	lr := &lineReader{r: o.r}
	for {
		if _, ok := lr.next(); !ok {
			break
		}
	}
	if !errors.Is(lr.err, ErrFileTooLarge) {
		t.Errorf("read error = %v, want ErrFileTooLarge", lr.err)
	}
}

func TestDetectFormat(t *testing.T) {
	cases := []struct{ name, head, want string }{
		{"geolite2-city.mmdb", "", FormatMMDB},
		{"ip2asn-v6.tsv", "", FormatIP2ASN},
		{"delegated-apnic-latest", "", FormatRIR},
		{"dbip-city-lite-2026-01.csv", "", FormatDBIP},
		{"otx-export.json", "", FormatOTXImport},
		{"greynoise-saved.jsonl", "", FormatGreyNoiseImport},
		{"asn.txt", "# c\n1.0.0.0\t1.0.0.255\t13335\tUS\tX\n", FormatIP2ASN},
		{"stats", "2.3|arin|20260101|1|19700101|20260101|-0500\n", FormatRIR},
		{"geo.csv", "1.0.0.0,1.0.0.255,AU\n", FormatDBIP},
		{"feed.json", "{\"cidr\":\"1.2.3.0/24\"}\n", FormatList},
		{"feed2.json", "{\"ip\":\"1.2.3.4\",\"noise\":true}\n", FormatGreyNoiseImport},
		{"page1.json", "{\"results\":[{\"indicators\":[]}]}", FormatOTXImport},
		{"c2.csv", "\"first_seen_utc\",\"dst_ip\"\n", FormatList},
		{"list", "; comment\n1.2.3.0/24 ; SBL1\n", FormatList},
		{"readme", "hello world\n", ""},
		{"empty", "", ""},
	}
	for _, c := range cases {
		if got := detectFormat(c.name, []byte(c.head)); got != c.want {
			t.Errorf("detectFormat(%q, %q) = %q, want %q", c.name, c.head, got, c.want)
		}
	}
	for base, want := range map[string]string{"drop_v4.json": "spamhaus_drop", "drop.txt": "spamhaus_drop", "edrop.txt": "spamhaus_edrop",
		"ipblocklist_recommended.txt": "feodo", "firehol_level1.netset": "firehol_level1", "all.txt": "all", "we!rd name.lst": "we_rd_name"} {
		if got := listName(base); got != want {
			t.Errorf("listName(%q) = %q, want %q", base, got, want)
		}
	}
}

func TestSplitCSV(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		ok   bool
	}{
		{`a,b,c`, []string{"a", "b", "c"}, true},
		{`"a,1","b""x",`, []string{"a,1", `b"x`, ""}, true},
		{`"open`, nil, false},
		{`"a"x,b`, nil, false},
		{``, []string{""}, true},
	}
	for _, c := range cases {
		got, ok := splitCSV([]byte(c.in), nil)
		if ok != c.ok || (ok && strings.Join(got, "|") != strings.Join(c.want, "|")) {
			t.Errorf("splitCSV(%q) = %q %v, want %q %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestLineReaderIotest(t *testing.T) {
	raw := readFixture(t, "ip2asn-combined.tsv")
	for name, r := range map[string]func() *lineReader{
		"one byte": func() *lineReader { return fuzzLines2(iotest.OneByteReader(bytes.NewReader(raw))) },
		"half":     func() *lineReader { return fuzzLines2(iotest.HalfReader(bytes.NewReader(raw))) },
		"data+err": func() *lineReader { return fuzzLines2(iotest.DataErrReader(bytes.NewReader(raw))) },
	} {
		var st loadStats
		tbl, err := loadIP2ASN(context.Background(), r(), &st)
		if err != nil || st.entries != 3 || st.skipped != 2 || st.dropped != 1 || tbl.set.len() != 3 {
			t.Errorf("%s: %v %+v", name, err, st)
		}
	}
	// A read error is reported, not taken for the end of the file.
	var st loadStats
	_, err := loadIP2ASN(context.Background(), fuzzLines2(iotest.TimeoutReader(iotest.OneByteReader(bytes.NewReader(raw)))), &st)
	if !errors.Is(err, iotest.ErrTimeout) {
		t.Errorf("timeout reader: %v", err)
	}
}

func fuzzLines2(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, MaxLineLen)}
}

func TestLookupAllocs(t *testing.T) {
	ds, _ := mustLoad(t, "ip2asn-combined.tsv", readFixture(t, "ip2asn-combined.tsv"))
	lists, _ := mustLoad(t, "drop_v4.json", readFixture(t, "drop_v4.json"))
	a, b := ip("31.0.4.7"), ip("2a0f:1000::1")
	if n := testing.AllocsPerRun(100, func() {
		ds.asn.lookup(a)
		ds.asn.lookup(b)
		lists.list.lookup(a)
		Classify(a)
	}); n != 0 {
		t.Errorf("lookups allocate %v times", n)
	}
}
