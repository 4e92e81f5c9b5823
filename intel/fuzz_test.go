package intel

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
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

// otxReference is the loader the streaming one replaced: the whole export
// decoded at once (encoding/json: keys matched without regard to case, a
// repeated key's last value wins, a value of the wrong type fails the
// file). It returns the pulse id of every network it would index.
func otxReference(data []byte) ([]otxPair, []string, error) {
	type pulse struct {
		ID         string `json:"id"`
		Indicators []struct {
			Indicator  string          `json:"indicator"`
			Type       string          `json:"type"`
			IsActive   json.RawMessage `json:"is_active"`
			Expiration *string         `json:"expiration"`
		} `json:"indicators"`
	}
	var pulses []pulse
	dec := json.NewDecoder(bytes.NewReader(data))
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		if err := dec.Decode(&pulses); err != nil {
			return nil, nil, err
		}
	} else {
		var doc struct {
			Results []pulse `json:"results"`
			pulse
		}
		if err := dec.Decode(&doc); err != nil {
			return nil, nil, err
		}
		pulses = append(doc.Results, doc.pulse)
	}
	var pairs []otxPair
	var ids []string
	for _, pj := range pulses {
		for _, ind := range pj.Indicators {
			switch ind.Type {
			case "IPv4", "IPv6", "CIDR":
			default:
				continue
			}
			active := strings.TrimSpace(string(ind.IsActive))
			if !otxActive(active != "0" && active != "false", ind.Expiration, testNow) {
				continue
			}
			if p, ok := parseListEntry(ind.Indicator); ok && !isSpecialEntry(p) {
				pairs = append(pairs, otxPair{net: p})
				ids = append(ids, cleanText(pj.ID))
			}
		}
	}
	return pairs, ids, nil
}

// repeatedKey reports whether an object of data has two keys equal but
// for case: encoding/json then decodes the second array into the first's
// elements, mixing their fields, which the reference must not be held to.
func repeatedKey(data []byte) bool {
	sc := newJSONScanner(bufio.NewReader(bytes.NewReader(data)))
	var keys [][]string // per open container
	for {
		kind, err := sc.next()
		if err != nil {
			return false
		}
		switch kind {
		case jsonObject, jsonArray:
			keys = append(keys, nil)
		case jsonObjectEnd, jsonArrayEnd:
			keys = keys[:len(keys)-1]
		case jsonKey:
			k := strings.ToLower(sc.text())
			top := &keys[len(keys)-1]
			if slices.Contains(*top, k) {
				return true
			}
			*top = append(*top, k)
		}
	}
}

// FuzzOTXImport: no panic, a consistent table, and every network the
// whole-document decoder indexed answered with its pulse (the streaming
// loader also reads what that one failed on: values of the wrong type, a
// repeated key's every value).
func FuzzOTXImport(f *testing.F) {
	f.Add(readFixture(f, "otx-pulses.json"))
	f.Add([]byte(`[{"id":"x","indicators":[{"indicator":"31.0.0.0/8","type":"CIDR"}]}]`))
	f.Add([]byte(`{"ID":"y","Indicators":[{"Indicator":"31.0.0.1","Type":"IPv4","is_active":false},{"indicator":"2a0f::/32","type":"CIDR"}],"results":[{"id":"y","indicators":[{"indicator":"31.0.0.1","type":"IPv4","is_active":1}]}]}`))
	f.Add(dupPulses(3, false))
	f.Fuzz(func(t *testing.T, data []byte) {
		var st loadStats
		tbl, err := loadOTXImport(context.Background(), bytes.NewReader(data), testNow, &st)
		refPairs, refIDs, refErr := otxReference(data)
		if repeatedKey(data) {
			refPairs = nil
		}
		if err != nil {
			if refErr == nil && len(refPairs) > 0 && !strings.Contains(err.Error(), "nested deeper") && !strings.Contains(err.Error(), "longer than") {
				t.Fatalf("the streaming loader failed (%v) where the whole decode indexed %d networks", err, len(refPairs))
			}
			return
		}
		checkSet(t, tbl.set)
		if st.entries != len(tbl.pulseIdx) || len(tbl.first) != len(tbl.set.parent)+1 {
			t.Fatalf("%d entries, %d pairs, %d networks, %d parents", st.entries, len(tbl.pulseIdx), len(tbl.first)-1, len(tbl.set.parent))
		}
		for i, pr := range refPairs {
			found := false
			for _, p := range tbl.lookup(pr.net.Addr()) {
				if int(p) >= len(tbl.pulses) {
					t.Fatalf("pulse index %d of %d", p, len(tbl.pulses))
				}
				found = found || tbl.pulses[p].id == refIDs[i]
			}
			if !found {
				t.Fatalf("%v: pulse %q not answered", pr.net, refIDs[i])
			}
		}
		for _, a := range fuzzProbes {
			ps := tbl.lookup(a)
			if !slices.IsSorted(ps) || len(slices.Compact(slices.Clone(ps))) != len(ps) {
				t.Fatalf("lookup(%v) = %v, want sorted and distinct", a, ps)
			}
		}
	})
}

// jsonTokens lists the tokens of data's first value as encoding/json's
// Decoder gives them (UseNumber).
func jsonTokens(data []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out []string
	for depth := 0; ; {
		tok, err := dec.Token()
		if err != nil {
			return out, err
		}
		switch v := tok.(type) {
		case json.Delim:
			out = append(out, v.String())
			if v == '{' || v == '[' {
				depth++
			} else {
				depth--
			}
		case string:
			out = append(out, "s:"+v)
		case json.Number:
			out = append(out, "n:"+string(v))
		case bool:
			out = append(out, fmt.Sprint(v))
		case nil:
			out = append(out, "null")
		}
		if depth == 0 {
			return out, nil
		}
	}
}

// scanTokens is jsonTokens by jsonScanner.
func scanTokens(data []byte) ([]string, error) {
	sc := newJSONScanner(bufio.NewReader(bytes.NewReader(data)))
	var out []string
	for {
		kind, err := sc.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		switch kind {
		case jsonObject:
			out = append(out, "{")
		case jsonObjectEnd:
			out = append(out, "}")
		case jsonArray:
			out = append(out, "[")
		case jsonArrayEnd:
			out = append(out, "]")
		case jsonKey, jsonString:
			out = append(out, "s:"+sc.text())
		case jsonNumber:
			out = append(out, "n:"+string(sc.buf))
		case jsonTrue:
			out = append(out, "true")
		case jsonFalse:
			out = append(out, "false")
		case jsonNull:
			out = append(out, "null")
		}
	}
}

// FuzzJSONScan: on an object or array, jsonScanner gives encoding/json's
// tokens, and fails where it fails (or on its own limits).
func FuzzJSONScan(f *testing.F) {
	f.Add(readFixture(f, "otx-pulses.json"))
	f.Add([]byte(`{"a\u00e9\ud83d\ude00\n":[-0.5e+3,1E2,0,true,false,null,"\ud800x","\xff",{}],"A":[[]]}`))
	f.Add([]byte(`[01]`))
	f.Add([]byte("[\"\xff\xfe\",\"\x7f\"] trailing"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if trimmed := bytes.TrimLeft(data, " \t\r\n"); len(trimmed) == 0 || (trimmed[0] != '{' && trimmed[0] != '[') {
			return // a scalar at the top is not an export; encoding/json reads "01" as two values
		}
		want, wantErr := jsonTokens(data)
		got, gotErr := scanTokens(data)
		if gotErr != nil && strings.Contains(gotErr.Error(), "nested deeper") {
			return
		}
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("encoding/json: %v, jsonScanner: %v", wantErr, gotErr)
		}
		if wantErr == nil && !slices.Equal(want, got) {
			t.Fatalf("tokens differ:\n%q\n%q", want, got)
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

// FuzzLoadFile: any file under any name goes through detection and the
// loaders without a panic, and a status says loaded exactly when a dataset
// is returned, with counts that add up.
func FuzzLoadFile(f *testing.F) {
	f.Add("ipblocklist.txt", []byte("# Feodo\n# END 0 entries\n"))
	f.Add("edrop.txt", []byte("; merged into drop.txt\n; EOF\n"))
	f.Add("notes.txt", []byte("# header\nprose\n"))
	f.Add("x.txt", []byte(""))
	f.Add("lab.txt", []byte("203.0.113.66\n203.0.113.0/24\n10.0.0.0/8\n"))
	f.Add("ip2asn-combined.tsv", readFixture(f, "ip2asn-combined.tsv"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		if !fs.ValidPath(name) || name == "." || strings.Contains(name, "/") {
			return
		}
		fsys := fstest.MapFS{name: &fstest.MapFile{Data: data}}
		ds, st := loadFile(context.Background(), fsys, name, testNow, 64<<20)
		if (ds != nil) != (st.Status == "loaded") {
			t.Fatalf("dataset %v with status %+v", ds != nil, st)
		}
		switch st.Status {
		case "loaded", "error", "ignored", "refused":
		default:
			t.Fatalf("status %q", st.Status)
		}
		if st.Entries < 0 || st.Skipped < 0 || st.Dropped < 0 || (st.Status != "loaded" && st.Error == nil) {
			t.Fatalf("status %+v", st)
		}
		if ds != nil && ds.list != nil && len(ds.list.entries) != st.Entries {
			t.Fatalf("%d list entries, status says %d", len(ds.list.entries), st.Entries)
		}
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
