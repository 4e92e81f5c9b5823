package intel

import (
	"bufio"
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
)

type registryRow struct {
	prefix   netip.Prefix
	name     string
	gr       string
	category string
}

func readRegistry(t *testing.T) []registryRow {
	t.Helper()
	f, err := os.Open("testdata/iana-special.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []registryRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 4 {
			t.Fatalf("registry line %q: %d columns", line, len(f))
		}
		p := netip.MustParsePrefix(strings.TrimSpace(f[0]))
		rows = append(rows, registryRow{prefix: p, name: strings.TrimSpace(f[1]), gr: strings.TrimSpace(f[2]), category: strings.TrimSpace(f[3])})
	}
	if len(rows) < 25+25 {
		t.Fatalf("registry has %d rows, want the 26 IPv4 and 25 IPv6 blocks plus extras", len(rows))
	}
	return rows
}

// oracle: unmap, then the longest prefix among the registry rows; public
// when none matches or the row is globally reachable (T or N/A).
func oracle(rows []registryRow, a netip.Addr) (string, bool) {
	a = a.Unmap()
	best := -1
	for i, r := range rows {
		if r.prefix.Contains(a) && (best < 0 || r.prefix.Bits() > rows[best].prefix.Bits()) {
			best = i
		}
	}
	if best < 0 || rows[best].gr != "F" {
		return CategoryPublic, false
	}
	return rows[best].category, true
}

func TestClassifyRegistryRows(t *testing.T) {
	rows := readRegistry(t)
	for _, r := range rows {
		for _, a := range []netip.Addr{r.prefix.Addr(), lastAddr(r.prefix), lastAddr(r.prefix).Prev()} {
			if !a.IsValid() || !r.prefix.Contains(a) {
				continue
			}
			wantCat, wantSpecial := oracle(rows, a)
			t.Run(r.prefix.String()+"/"+a.String(), func(t *testing.T) {
				cat, special := Classify(a)
				if cat != wantCat || special != wantSpecial {
					t.Errorf("Classify(%v) = %q, %v, want %q, %v", a, cat, special, wantCat, wantSpecial)
				}
			})
		}
		// The row itself is what Describe names for its first address,
		// unless a more specific row covers it or it is the mapped block.
		first := r.prefix.Addr()
		if r.prefix.Addr().Is4In6() { // unmapped first: the IPv4 rows answer
			continue
		}
		moreSpecific := false
		for _, o := range rows {
			if o.prefix.Bits() > r.prefix.Bits() && o.prefix.Contains(first) {
				moreSpecific = true
			}
		}
		if !moreSpecific {
			d := Describe(first)
			if d.Block == nil || *d.Block != r.prefix.String() {
				t.Errorf("Describe(%v).Block = %v, want %v", first, d.Block, r.prefix)
			}
		}
	}
}

// TestClassifyTable is the literal table (issue 5): expected answers typed
// by hand from the registries, not computed.
func TestClassifyTable(t *testing.T) {
	const invalid = "invalid_ip"
	cases := []struct{ in, want string }{
		// bad input
		{"abc", invalid}, {"999.1.1.1", invalid}, {"1.2.3", invalid}, {"", invalid}, {"   ", invalid},
		{"010.0.0.1", invalid}, {"0x7f.0.0.1", invalid}, {"1.2.3.4/32", invalid}, {"1.2.3.4 5", invalid},
		{"1.2.3.4.5", invalid}, {"::g", invalid}, {"1:2:3:4:5:6:7:8:9", invalid}, {"fe80::1%", invalid},
		{"1.2.3.4%eth0", invalid}, {strings.Repeat("1", 200), invalid},
		// white space around is trimmed
		{" 8.8.8.8", "public"}, {"8.8.8.8\n", "public"}, {"\t2606:4700::1 ", "public"},
		// IPv4 registry
		{"0.0.0.0", "unspecified"}, {"0.1.2.3", "this_network"}, {"0.255.255.255", "this_network"},
		{"10.0.0.0", "private"}, {"10.255.255.255", "private"}, {"100.64.0.0", "cgnat"}, {"100.127.255.255", "cgnat"},
		{"100.63.255.255", "public"}, {"100.128.0.0", "public"}, {"127.0.0.1", "loopback"}, {"127.255.255.254", "loopback"},
		{"169.254.169.254", "link_local"}, {"172.16.0.1", "private"}, {"172.31.255.255", "private"}, {"172.32.0.0", "public"},
		{"192.0.0.1", "reserved"}, {"192.0.0.8", "reserved"}, {"192.0.0.9", "public"}, {"192.0.0.10", "public"},
		{"192.0.0.11", "reserved"}, {"192.0.0.170", "reserved"}, {"192.0.0.171", "reserved"}, {"192.0.0.255", "reserved"},
		{"192.0.2.1", "documentation"}, {"192.31.196.1", "public"}, {"192.52.193.1", "public"},
		{"192.88.99.1", "reserved"}, {"192.88.99.2", "reserved"}, {"192.168.1.1", "private"}, {"192.175.48.1", "public"},
		{"198.18.0.1", "benchmarking"}, {"198.19.255.255", "benchmarking"}, {"198.20.0.0", "public"},
		{"198.51.100.7", "documentation"}, {"203.0.113.9", "documentation"}, {"224.0.0.1", "multicast"},
		{"239.255.255.255", "multicast"}, {"240.0.0.1", "reserved"}, {"255.255.255.254", "reserved"},
		{"255.255.255.255", "broadcast"}, {"8.8.8.8", "public"}, {"1.1.1.1", "public"}, {"31.0.4.7", "public"},
		// IPv4-mapped and IPv4-compatible
		{"::ffff:10.1.2.3", "private"}, {"::ffff:8.8.8.8", "public"}, {"::ffff:127.0.0.1", "loopback"},
		{"::ffff:0.0.0.0", "unspecified"}, {"::10.1.2.3", "reserved"}, {"::8.8.8.8", "reserved"},
		// IPv6 registry
		{"::1", "loopback"}, {"::", "unspecified"}, {"64:ff9b::808:808", "public"}, {"64:ff9b:1::1", "reserved"},
		{"100::1", "reserved"}, {"100:0:0:1::1", "reserved"}, {"2001::1", "public"}, {"2001:0:4136:e378:8000:63bf:3fff:fdd2", "public"},
		{"2001:1::1", "public"}, {"2001:1::2", "public"}, {"2001:1::3", "public"}, {"2001:1::4", "reserved"},
		{"2001:2::1", "benchmarking"}, {"2001:3::1", "public"}, {"2001:4:112::1", "public"}, {"2001:4:113::1", "reserved"},
		{"2001:10::1", "reserved"}, {"2001:20::1", "public"}, {"2001:30::1", "public"}, {"2001:1ff::1", "reserved"},
		{"2001:200::1", "public"}, {"2001:db8::1", "documentation"}, {"2002:c000:204::1", "public"},
		{"2620:4f:8000::1", "public"}, {"3fff::1", "documentation"}, {"3fff:fff::1", "documentation"}, {"3fff:1000::1", "public"},
		{"5f00::1", "reserved"}, {"fc00::1", "private"}, {"fd12:3456::1", "private"}, {"fe80::1", "link_local"},
		{"fe80::1%eth0", "link_local"}, {"fec0::1", "reserved"}, {"ff02::1", "multicast"}, {"4000::1", "reserved"},
		{"8000::1", "reserved"}, {"1000::1", "reserved"}, {"2606:4700:4700::1111", "public"}, {"2a0f:1000::1", "public"},
		// more bad input: leading zeros, stray separators, ports, brackets
		{"01.2.3.4", invalid}, {"1.02.3.4", invalid}, {"00.0.0.0", invalid}, {"1.2.3.4.", invalid}, {".1.2.3.4", invalid},
		{"1..2.3", invalid}, {"256.0.0.0", invalid}, {"-1.0.0.0", invalid}, {"1.2.3.4:80", invalid}, {"[::1]", invalid},
		{"::1/128", invalid}, {"2001:db8::1::2", invalid}, {"gggg::1", invalid}, {"02001:db8::1", invalid},
		{"::ffff:999.1.1.1", invalid}, {"1 .2.3.4", invalid}, {"\t\n", invalid}, {"8.8.8.8\x00", invalid},
		// white space of every kind around a valid address
		{"8.8.8.8 \r\n", "public"}, {"\v10.0.0.1\f", "private"}, {"  ::1  ", "loopback"},
		// upper-case hex and a zero-padded IPv6 group are valid IPv6 text
		{"2001:0DB8::1", "documentation"}, {"FE80::1", "link_local"},
		// zones: kept for display, ignored for classification
		{"fe80::1%25eth0", "link_local"}, {"ff02::1%1", "multicast"}, {"2606:4700::1%eth0", "public"},
		{"::ffff:10.0.0.1%eth0", "private"}, {"fd00::1%wlan0", "private"},
		// more IPv4-mapped rows: the IPv4 registry answers after unmapping
		{"::ffff:192.0.0.9", "public"}, {"::ffff:192.0.2.1", "documentation"}, {"::ffff:100.64.0.1", "cgnat"},
		{"::ffff:255.255.255.255", "broadcast"}, {"::ffff:224.0.0.1", "multicast"}, {"::ffff:0:0", "unspecified"},
		{"::ffff:169.254.1.1", "link_local"}, {"::ffff:198.18.0.1", "benchmarking"},
		// more IPv4-compatible (::/96, deprecated): reserved whatever the tail,
		// except ::1 and :: themselves
		{"::192.168.1.1", "reserved"}, {"::1.1.1.1", "reserved"}, {"::0.0.0.1", "loopback"}, {"::0.0.0.2", "reserved"},
		{"::0.0.0.0", "unspecified"},
	}
	if len(cases) < 60 {
		t.Fatalf("only %d cases", len(cases))
	}
	// The same table end to end: the answer enrich_ip gives (invalid_ip,
	// private_ip with the category, or an enrichment) from a DB with no
	// data, where any network request fails the test.
	db := openTest(t, Options{OTXKey: "k", GreyNoiseKey: "k"})
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			a, err := ParseIP(c.in)
			e, eerr := db.EnrichInput(context.Background(), c.in)
			if c.want == invalid {
				if !errors.Is(err, ErrInvalidIP) {
					t.Errorf("ParseIP(%q) = %v, %v, want ErrInvalidIP", c.in, a, err)
				}
				if !errors.Is(eerr, ErrInvalidIP) {
					t.Errorf("EnrichInput(%q) error = %v, want ErrInvalidIP", c.in, eerr)
				}
				return
			}
			if err != nil || eerr != nil {
				t.Fatalf("ParseIP(%q) = %v, EnrichInput = %v", c.in, err, eerr)
			}
			cat, special := Classify(a)
			if cat != c.want || special != (c.want != "public") {
				t.Errorf("Classify(%v) = %q, %v, want %q", a, cat, special, c.want)
			}
			switch {
			case c.want == "public" && e.Skip != nil:
				t.Errorf("EnrichInput(%q) skipped: %+v", c.in, *e.Skip)
			case c.want == "public" && (e.Classification.Scope != "public" || e.IP != a.String()):
				t.Errorf("EnrichInput(%q) = ip %q scope %q, want %v public", c.in, e.IP, e.Classification.Scope, a)
			case c.want != "public" && (e.Skip == nil || e.Skip.Reason != "private_ip" || e.Skip.Category != c.want):
				t.Errorf("EnrichInput(%q) = %+v, want private_ip %s", c.in, e.Skip, c.want)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	cases := []struct {
		in, block, name, embedded string
		public                    bool
	}{
		{"10.1.2.3", "10.0.0.0/8", "Private-Use", "", false},
		{"192.0.0.9", "192.0.0.9/32", "Port Control Protocol Anycast", "", true},
		{"64:ff9b::808:808", "64:ff9b::/96", "IPv4-IPv6 Translat.", "8.8.8.8", true},
		{"2002:c000:204::1", "2002::/16", "6to4", "192.0.2.4", true},
		// RFC 4380 §4 example: server 65.54.227.120, client 192.0.2.45.
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::/32", "TEREDO", "192.0.2.45", true},
		{"2001:4:112::1", "2001:4:112::/48", "AS112-v6", "", true},
	}
	for _, c := range cases {
		a := netip.MustParseAddr(c.in)
		d := Describe(a)
		if d.Block == nil || *d.Block != c.block || *d.Name != c.name || d.GloballyReachable != c.public {
			t.Errorf("Describe(%v) = block %v name %v reachable %v, want %s %s %v", a, d.Block, d.Name, d.GloballyReachable, c.block, c.name, c.public)
		}
		got := ""
		if d.EmbeddedIPv4 != nil {
			got = *d.EmbeddedIPv4
		}
		if got != c.embedded {
			t.Errorf("Describe(%v).EmbeddedIPv4 = %q, want %q", a, got, c.embedded)
		}
	}
	if d := Describe(netip.MustParseAddr("8.8.8.8")); d.Block != nil || d.Scope != "public" || d.Category != "public" {
		t.Errorf("Describe(8.8.8.8) = %+v", d)
	}
	if d := Describe(netip.Addr{}); d.GloballyReachable {
		t.Errorf("Describe(zero) is reachable")
	}
}

func TestParseIPMatchesNetip(t *testing.T) {
	for _, s := range []string{"1.2.3.4", "::ffff:1.2.3.4", "fe80::1%eth0", "2001:DB8::1", "::ffff:1.2.3.4%x", "1.2.3.04", " ::1 "} {
		got, err := ParseIP(s)
		ref, rerr := netip.ParseAddr(strings.TrimSpace(s))
		if (err == nil) != (rerr == nil) {
			t.Errorf("ParseIP(%q) err %v, netip err %v", s, err, rerr)
			continue
		}
		if err == nil && got != ref.WithZone("").Unmap() {
			t.Errorf("ParseIP(%q) = %v, want %v", s, got, ref.WithZone("").Unmap())
		}
	}
	_, from, _ := parseInput("::ffff:1.2.3.4")
	if from != "ipv4_mapped" {
		t.Errorf("normalized_from = %q", from)
	}
	_, from, _ = parseInput("fe80::1%eth0")
	if from != "zone" {
		t.Errorf("normalized_from = %q", from)
	}
}

func FuzzParseIP(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "::ffff:1.2.3.4", "fe80::1%eth0", " 8.8.8.8\n", "1.2.3.4/24", "", "010.1.1.1", "2001:db8::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseIP(s)
		trimmed := strings.TrimSpace(s)
		ref, rerr := netip.ParseAddr(trimmed)
		refOK := rerr == nil && len(s) <= MaxInputLen && !strings.Contains(trimmed, "/")
		if err != nil {
			if !errors.Is(err, ErrInvalidIP) {
				t.Fatalf("ParseIP(%q) error %v is not ErrInvalidIP", s, err)
			}
			if refOK {
				t.Fatalf("ParseIP(%q) = %v, netip accepts it", s, err)
			}
			if a.IsValid() {
				t.Fatalf("ParseIP(%q) returned %v with an error", s, a)
			}
			return
		}
		if !refOK {
			t.Fatalf("ParseIP(%q) = %v, netip rejects it", s, a)
		}
		if want := ref.WithZone("").Unmap(); a != want {
			t.Fatalf("ParseIP(%q) = %v, want %v", s, a, want)
		}
		if a.Zone() != "" || a.Is4In6() {
			t.Fatalf("ParseIP(%q) = %v not normalised", s, a)
		}
		cat, special := Classify(a)
		if cat == "" || special == Describe(a).GloballyReachable {
			t.Fatalf("Classify(%v) = %q, %v inconsistent", a, cat, special)
		}
	})
}
