package intel

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func fuzzLines(data []byte) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(bytes.NewReader(data), MaxLineLen)}
}

// checkSet asserts the range table invariants: sorted, disjoint, start <= end.
func checkSet(t *testing.T, s rangeSet) {
	t.Helper()
	for i := range s.s4 {
		if s.s4[i] > s.e4[i] || (i > 0 && s.s4[i] <= s.e4[i-1]) {
			t.Fatalf("IPv4 ranges out of order at %d", i)
		}
	}
	for i := range s.s6 {
		if s.e6[i].less(s.s6[i]) || (i > 0 && !s.e6[i-1].less(s.s6[i])) {
			t.Fatalf("IPv6 ranges out of order at %d", i)
		}
	}
	// Every range's first address finds that range.
	for i := range s.s4 {
		if s.find(addr4(s.s4[i])) != s.id4[i] || s.find(addr4(s.e4[i])) != s.id4[i] {
			t.Fatalf("find disagrees with range %d", i)
		}
	}
}

var fuzzProbes = []netip.Addr{netip.MustParseAddr("31.0.4.7"), netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"),
	netip.MustParseAddr("2a0f:1000::1"), netip.MustParseAddr("::"), netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")}

func FuzzIP2ASN(f *testing.F) {
	f.Add(readFixture(f, "ip2asn-combined.tsv"))
	f.Add([]byte("520093696\t520094719\t64496\tDE\tX\n"))
	f.Add([]byte("1.0.0.0\t1.0.0.255\tAS13335\tus\tA\tB\n::\t::1\t1\tJP\t\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var st loadStats
		tbl, err := loadIP2ASN(context.Background(), fuzzLines(data), &st)
		if err != nil {
			if tbl != nil {
				t.Fatal("table with an error")
			}
			return
		}
		checkSet(t, tbl.set)
		if st.entries == 0 || tbl.set.len() == 0 {
			t.Fatalf("loaded with %d entries, %d ranges", st.entries, tbl.set.len())
		}
		for _, a := range fuzzProbes {
			if fact, s, e, ok := tbl.lookup(a); ok && (fact.asn == 0 || a.Less(s) || e.Less(a) || len(fact.org) > MaxTextField) {
				t.Fatalf("lookup(%v) = %+v %v-%v", a, fact, s, e)
			}
		}
	})
}

func FuzzRIR(f *testing.F) {
	f.Add(readFixture(f, "delegated-testrir-extended-latest"))
	f.Add([]byte("x|ZZ|ipv4|0.0.0.0|4294967296|0|allocated\nx|DE|ipv6|::|0|0|assigned\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var st loadStats
		tbl, _, err := loadRIR(context.Background(), fuzzLines(data), &st)
		if err != nil {
			if tbl != nil {
				t.Fatal("table with an error")
			}
			return
		}
		checkSet(t, tbl.set)
		for _, a := range fuzzProbes {
			if fact, ok := tbl.lookup(a); ok && fact.country != "" && len(fact.country) != 2 {
				t.Fatalf("lookup(%v) = %+v", a, fact)
			}
		}
	})
}

func FuzzDBIP(f *testing.F) {
	f.Add(readFixture(f, "dbip-country-lite-2026-01.csv"))
	f.Add(readFixture(f, "dbip-city-lite-2026-01.csv"))
	f.Add([]byte("31.0.0.0,31.0.3.255,64496,\"A, \"\"B\"\"\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var st loadStats
		geo, asn, err := loadDBIP(context.Background(), fuzzLines(data), &st)
		if err != nil {
			if geo != nil || asn != nil {
				t.Fatal("table with an error")
			}
			return
		}
		if (geo == nil) == (asn == nil) {
			t.Fatal("want exactly one table")
		}
		if geo != nil {
			checkSet(t, geo.set)
			for _, a := range fuzzProbes {
				if g, ok := geo.lookup(a); ok && g.lat != nil && (*g.lat < -90 || *g.lat > 90) {
					t.Fatalf("latitude %v", *g.lat)
				}
			}
		} else {
			checkSet(t, asn.set)
		}
	})
}

func FuzzList(f *testing.F) {
	for _, name := range []string{"firehol_level1.netset", "drop_v4.json", "ipblocklist.csv"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte("; x\n1.2.3.0/24 ; SBL1\n::ffff:1.2.3.4\n0.0.0.0/0\n2a0f::/16,x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var st loadStats
		res, err := loadList(context.Background(), fuzzLines(data), &st)
		if err != nil {
			if res.table != nil {
				t.Fatal("table with an error")
			}
			return
		}
		checkSet(t, res.table.set)
		if st.entries != len(res.table.entries) {
			t.Fatalf("%d entries counted, %d stored", st.entries, len(res.table.entries))
		}
		for _, e := range res.table.entries {
			if isSpecialEntry(e.prefix) || e.prefix != e.prefix.Masked() {
				t.Fatalf("stored %v", e.prefix)
			}
		}
		for _, a := range fuzzProbes {
			if e, ok := res.table.lookup(a); ok && !e.prefix.Contains(a) {
				t.Fatalf("lookup(%v) = %v", a, e.prefix)
			}
			if id := res.table.set.find(a); id >= 0 && len(res.table.set.chain(id)) > len(res.table.entries) {
				t.Fatal("chain longer than the list")
			}
		}
	})
}

func FuzzOTXImport(f *testing.F) {
	f.Add(readFixture(f, "otx-pulses.json"))
	f.Add([]byte(`[{"id":"x","indicators":[{"indicator":"31.0.0.0/8","type":"CIDR"}]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var st loadStats
		tbl, err := loadOTXImport(context.Background(), bytes.NewReader(data), data[:min(len(data), SniffLen)], testNow, &st)
		if err != nil {
			return
		}
		checkSet(t, tbl.set)
		for _, a := range fuzzProbes {
			for _, p := range tbl.lookup(a) {
				if int(p) >= len(tbl.pulses) {
					t.Fatalf("pulse index %d of %d", p, len(tbl.pulses))
				}
			}
		}
	})
}

func FuzzSniff(f *testing.F) {
	f.Add("ip2asn.tsv", []byte("1.0.0.0\t1.0.0.255\t1\tUS\tX\n"))
	f.Add("x.mmdb", []byte{0, 1})
	f.Add("notes", []byte("{\"noise\":true}"))
	f.Fuzz(func(t *testing.T, name string, head []byte) {
		got := detectFormat(name, head)
		switch got {
		case "", FormatIP2ASN, FormatRIR, FormatDBIP, FormatMMDB, FormatList, FormatOTXImport, FormatGreyNoiseImport:
		default:
			t.Fatalf("detectFormat = %q", got)
		}
		if n := listName(name); n == "" || len(n) > 70 {
			t.Fatalf("listName(%q) = %q", name, n)
		}
		headerDate(head)
	})
}

func FuzzGreyNoiseImport(f *testing.F) {
	f.Add(readFixture(f, "greynoise-community.jsonl"))
	f.Add([]byte("{\"ip\":\"::ffff:31.0.9.9\",\"noise\":null,\"riot\":true,\"name\":\"\\u0000x\"}\n{\"ip\":\"2a0f::1\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var st loadStats
		tbl, err := loadGreyNoiseImport(fuzzLines(data), &st)
		if err != nil {
			if tbl != nil {
				t.Fatal("table with an error")
			}
			return
		}
		if len(tbl.byIP) == 0 || len(tbl.byIP) > st.entries {
			t.Fatalf("%d addresses from %d entries", len(tbl.byIP), st.entries)
		}
		for a, r := range tbl.byIP {
			if !a.Is4() || a.Zone() != "" {
				t.Fatalf("stored %v", a)
			}
			for _, s := range []string{r.classification, r.name, r.link, r.lastSeen} {
				if len(s) > MaxTextField || !utf8.ValidString(s) {
					t.Fatalf("stored text %q", s)
				}
			}
		}
	})
}

// checkOnline asserts what any answer built from a service's body must
// satisfy: a known status, bounded lists and text, sane coordinates, and
// a JSON encoding.
func checkOnline(t *testing.T, r onlineResult, ttl time.Duration) {
	t.Helper()
	switch r.status {
	case StatusOK, StatusNotFound:
		if ttl <= 0 {
			t.Fatalf("%s answer with ttl %v", r.status, ttl)
		}
	case StatusError, StatusUnsupported:
		if ttl != 0 || r.otx != nil || r.gn != nil || r.asn != nil || r.geo != nil {
			t.Fatalf("%s answer carries data or ttl %v", r.status, ttl)
		}
		if r.status == StatusError && r.errCode == "" {
			t.Fatal("error without a code")
		}
	default:
		t.Fatalf("status %q", r.status)
	}
	texts := []string{}
	if o := r.otx; o != nil {
		if o.PulseCount == nil || *o.PulseCount < 0 || len(o.Pulses) > MaxPulsesShown ||
			len(o.MalwareFamilies) > MaxNamesShown || len(o.Adversaries) > MaxNamesShown || len(o.Validation) > MaxNamesShown {
			t.Fatalf("otx %+v", *o)
		}
		texts = append(texts, o.MalwareFamilies...)
		texts = append(texts, o.Adversaries...)
		for _, p := range o.Pulses {
			if len(p.Tags) > MaxNamesShown {
				t.Fatalf("%d tags", len(p.Tags))
			}
			texts = append(texts, p.ID, p.Name, deref(p.TLP), deref(p.Author), deref(p.Modified))
			texts = append(texts, p.Tags...)
		}
		for _, v := range o.Validation {
			texts = append(texts, v.Source, v.Name, v.Message)
		}
	}
	if g := r.gn; g != nil {
		texts = append(texts, deref(g.Classification), deref(g.Name), deref(g.Link), deref(g.LastSeen))
	}
	if r.asn != nil {
		if r.asn.asn == 0 {
			t.Fatal("AS 0")
		}
		texts = append(texts, r.asn.org)
	}
	if g := r.geo; g != nil {
		if g.country != "" && countryCode(g.country) != g.country {
			t.Fatalf("country %q", g.country)
		}
		if g.lat != nil && (math.IsNaN(*g.lat) || *g.lat < -90 || *g.lat > 90) {
			t.Fatalf("latitude %v", *g.lat)
		}
		if g.lon != nil && (math.IsNaN(*g.lon) || *g.lon < -180 || *g.lon > 180) {
			t.Fatalf("longitude %v", *g.lon)
		}
		texts = append(texts, g.countryName, g.city)
	}
	for _, s := range texts {
		if len(s) > MaxTextField || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("text %q", s)
		}
	}
	if _, err := json.Marshal(struct {
		O *OTX
		G *GreyNoise
	}{r.otx, r.gn}); err != nil {
		t.Fatal(err)
	}
}

// FuzzOTXResponse feeds parseOTX bodies and status codes as a hostile or
// broken OTX service could send them.
func FuzzOTXResponse(f *testing.F) {
	f.Add(200, []byte(otxBody(12)))
	f.Add(200, []byte(otxBody(0)))
	f.Add(200, []byte(`{"pulse_info":{"count":-3,"pulses":[{"author":"x","malware_families":"y","tags":[1]}],"related":{"a":{"adversary":[""]}}},"asn":"AS0 x","latitude":1e300}`))
	f.Add(200, []byte(`{"pulse_info":{"count":1},"country_code":"nl","city":"x","latitude":1000,"longitude":-500}`))
	f.Add(404, []byte(`{}`))
	f.Add(400, []byte(``))
	f.Add(302, []byte(`<html>`))
	p := newOTX(Options{}, nil, func() time.Time { return testNow })
	f.Fuzz(func(t *testing.T, code int, body []byte) {
		for _, a := range []netip.Addr{netip.MustParseAddr("31.0.9.9"), netip.MustParseAddr("2a0f:1000::1")} {
			r, ttl := parseOTX(p, a, code, body)
			checkOnline(t, r, ttl)
			if r.status == StatusOK || r.status == StatusNotFound {
				if r.otx == nil || r.gn != nil || deref(r.otx.Link) != "https://otx.alienvault.com/indicator/ip/"+a.String() {
					t.Fatalf("otx %s answer %+v", r.status, r)
				}
			}
		}
	})
}

// FuzzGreyNoiseResponse does the same for parseGreyNoise.
func FuzzGreyNoiseResponse(f *testing.F) {
	f.Add(200, []byte(gnOK))
	f.Add(404, []byte(gnNotObserved))
	f.Add(200, []byte(`{"noise":true,"riot":null}`))
	f.Add(400, []byte(`{"message":"Request is not a valid routable IPv4 address"}`))
	f.Add(200, []byte(`{"noise":false,"riot":false,"classification":"\u0007bad","name":"`+strings.Repeat("n", 300)+`"}`))
	p := newGreyNoise(Options{}, nil, func() time.Time { return testNow })
	f.Fuzz(func(t *testing.T, code int, body []byte) {
		r, ttl := parseGreyNoise(p, netip.MustParseAddr("31.0.9.9"), code, body)
		checkOnline(t, r, ttl)
		if r.status == StatusOK || r.status == StatusNotFound {
			if r.gn == nil || r.otx != nil || r.gn.Observed == nil || *r.gn.Observed != (r.status == StatusOK) || r.gn.Noise == nil || r.gn.Riot == nil {
				t.Fatalf("greynoise %s answer %+v", r.status, r)
			}
		}
	})
}
