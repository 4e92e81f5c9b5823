package intel

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// naiveFind is the rule buildRanges implements, by brute force: among the
// entries covering a, the latest start wins, then the shortest, then the
// later id.
func naiveFind(spans []span, a netip.Addr) int32 {
	best := -1
	for i, s := range spans {
		if s.start.Compare(a) > 0 || s.end.Compare(a) < 0 {
			continue
		}
		if best < 0 {
			best = i
			continue
		}
		b := spans[best]
		c := s.start.Compare(b.start)
		if c > 0 || (c == 0 && (s.end.Compare(b.end) < 0 || (s.end == b.end && s.id > b.id))) {
			best = i
		}
	}
	if best < 0 {
		return -1
	}
	return spans[best].id
}

func TestBuildRangesRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	base4 := netip.MustParseAddr("31.0.0.0")
	base6 := netip.MustParseAddr("2a0f:1000::")
	at := func(base netip.Addr, n int) netip.Addr {
		for range n {
			base = base.Next()
		}
		return base
	}
	for round := 0; round < 200; round++ {
		var spans []span
		n := 1 + r.IntN(12)
		for i := 0; i < n; i++ {
			base := base4
			if r.IntN(3) == 0 {
				base = base6
			}
			s := r.IntN(60)
			e := s + r.IntN(20)
			spans = append(spans, span{start: at(base, s), end: at(base, e), id: int32(i)})
		}
		orig := append([]span(nil), spans...)
		set := mustBuildRanges(t, spans, n)
		for _, base := range []netip.Addr{base4, base6} {
			a := base.Prev()
			for k := 0; k < 85; k++ {
				got, want := set.find(a), naiveFind(orig, a)
				if got != want {
					t.Fatalf("round %d: find(%v) = %d, want %d; spans %v", round, a, got, want, orig)
				}
				// The range findRange reports covers a, lies inside the
				// entry's span, and answers the same id at both ends.
				if id, s, e := set.findRange(a); id != got {
					t.Fatalf("round %d: findRange(%v) id %d, find %d", round, a, id, got)
				} else if id >= 0 {
					sp := orig[id]
					if a.Less(s) || e.Less(a) || s.Less(sp.start) || sp.end.Less(e) || set.find(s) != id || set.find(e) != id {
						t.Fatalf("round %d: findRange(%v) = %d %v-%v, span %v-%v", round, a, id, s, e, sp.start, sp.end)
					}
				}
				a = a.Next()
			}
		}
	}
}

func TestBuildRangesNestedPrefixes(t *testing.T) {
	p16 := netip.MustParsePrefix("31.0.0.0/16")
	p24 := netip.MustParsePrefix("31.0.4.0/24")
	p32 := netip.MustParsePrefix("31.0.4.7/32")
	spans := []span{{p24.Addr(), lastAddr(p24), 1}, {p16.Addr(), lastAddr(p16), 0}, {p32.Addr(), lastAddr(p32), 2}}
	set := mustBuildRanges(t, spans, 3)
	cases := []struct {
		ip    string
		chain []int32
	}{
		{"31.0.4.7", []int32{2, 1, 0}}, {"31.0.4.8", []int32{1, 0}}, {"31.0.5.0", []int32{0}}, {"31.1.0.0", nil},
	}
	for _, c := range cases {
		id := set.find(netip.MustParseAddr(c.ip))
		var got []int32
		if id >= 0 {
			got = set.chain(id)
		}
		if len(got) != len(c.chain) {
			t.Errorf("chain(%s) = %v, want %v", c.ip, got, c.chain)
			continue
		}
		for i := range got {
			if got[i] != c.chain[i] {
				t.Errorf("chain(%s) = %v, want %v", c.ip, got, c.chain)
			}
		}
	}
}

func TestBuildRangesEdges(t *testing.T) {
	all4 := span{netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"), 0}
	top := span{netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("255.255.255.255"), 1}
	all6 := span{netip.MustParseAddr("::"), netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 2}
	set := mustBuildRanges(t, []span{all6, top, all4}, 3)
	for ip, want := range map[string]int32{"0.0.0.0": 0, "255.255.255.254": 0, "255.255.255.255": 1, "::": 2, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": 2} {
		if got := set.find(netip.MustParseAddr(ip)); got != want {
			t.Errorf("find(%s) = %d, want %d", ip, got, want)
		}
	}
}

func TestLastAddrAndCIDRs(t *testing.T) {
	for p, want := range map[string]string{"31.0.4.0/22": "31.0.7.255", "0.0.0.0/0": "255.255.255.255", "1.2.3.4/32": "1.2.3.4",
		"2a0f:1000::/32": "2a0f:1000:ffff:ffff:ffff:ffff:ffff:ffff", "::/0": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::/64": "2001:db8::ffff:ffff:ffff:ffff",
		"2001:db8::/80": "2001:db8::ffff:ffff:ffff"} {
		if got := lastAddr(netip.MustParsePrefix(p)).String(); got != want {
			t.Errorf("lastAddr(%s) = %s, want %s", p, got, want)
		}
	}
	// 768 addresses from 31.0.4.0: a /23 and a /24.
	got := rangeCIDRs(netip.MustParseAddr("31.0.4.0"), netip.MustParseAddr("31.0.6.255"))
	if len(got) != 2 || got[0] != "31.0.4.0/23" || got[1] != "31.0.6.0/24" {
		t.Errorf("rangeCIDRs(768) = %v", got)
	}
	got = rangeCIDRs(netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"))
	if len(got) != 1 || got[0] != "0.0.0.0/0" {
		t.Errorf("rangeCIDRs(all) = %v", got)
	}
}
