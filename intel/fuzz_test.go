package intel

import (
	"bufio"
	"bytes"
	"net/netip"
	"testing"
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
		tbl, err := loadIP2ASN(fuzzLines(data), &st)
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
		tbl, _, err := loadRIR(fuzzLines(data), &st)
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
		geo, asn, err := loadDBIP(fuzzLines(data), &st)
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
		res, err := loadList(fuzzLines(data), &st)
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
		tbl, err := loadOTXImport(bytes.NewReader(data), data[:min(len(data), SniffLen)], testNow, &st)
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
