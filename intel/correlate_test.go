package intel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

type fakeActivity struct {
	Suspect bool `json:"suspect"`
}

func (a fakeActivity) IsSuspect() bool { return a.Suspect }

func TestCorrelate(t *testing.T) {
	db := openTest(t, Options{Dir: os.DirFS(intelDir(t, nil))})
	in := []string{"abc", "192.168.0.10", "31.0.4.7", "::ffff:31.0.4.7", "31.0.4.9", "31.0.9.9", "2a0f:1000::1", "31.0.4.7", " 31.0.1.1 "}
	calls := 0
	c, err := db.Correlate(context.Background(), in, func(a netip.Addr) Activity {
		calls++
		return fakeActivity{Suspect: a == netip.MustParseAddr("31.0.9.9")}
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 6 {
		t.Errorf("activity called %d times, want once per distinct valid address (6)", calls)
	}
	if len(c.Results) != len(in) {
		t.Fatalf("%d results for %d inputs", len(c.Results), len(in))
	}
	wantIP := []string{"abc", "192.168.0.10", "31.0.4.7", "31.0.4.7", "31.0.4.9", "31.0.9.9", "2a0f:1000::1", "31.0.4.7", "31.0.1.1"}
	for i, r := range c.Results {
		if r.IP != wantIP[i] {
			t.Errorf("result %d ip %q, want %q", i, r.IP, wantIP[i])
		}
	}
	// The three shapes of docs/CONTRACT.md §3.5.
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	if got := js(c.Results[0]); got != `{"ip":"abc","ok":false,"error":"invalid_ip"}` {
		t.Errorf("invalid result %s", got)
	}
	if got := js(c.Results[1]); got != `{"ip":"192.168.0.10","skipped":true,"reason":"private_ip","category":"private","activity":{"suspect":false}}` {
		t.Errorf("skipped result %s", got)
	}
	r := c.Results[3]
	if r.OK == nil || !*r.OK || r.Kind != "public" || r.Input != "::ffff:31.0.4.7" || r.Enrichment == nil ||
		r.Enrichment.Input != "::ffff:31.0.4.7" || deref(r.Enrichment.NormalizedFrom) != "ipv4_mapped" || deref(r.Enrichment.ASN) != "AS64500" {
		t.Errorf("mapped duplicate result %+v", r)
	}
	if c.Results[2].Enrichment.Input != "31.0.4.7" || c.Results[2].Enrichment.NormalizedFrom != nil {
		t.Errorf("first 31.0.4.7 enrichment input %q", c.Results[2].Enrichment.Input)
	}
	s := c.Summary
	if s.Total != 9 || s.Unique != 6 || s.OK != 7 || s.Skipped != 1 || s.Invalid != 1 || s.Listed != 3 ||
		s.ByASN["AS64500"] != 2 || s.ByASN["AS65536"] != 1 || s.ByASN["AS64496"] != 1 || len(s.ByASN) != 3 ||
		s.ByCountry["FR"] != 2 || s.ByCountry["JP"] != 1 || s.ByCountry["DE"] != 1 || len(s.ByCountry) != 3 {
		t.Errorf("summary %+v", s)
	}
	var groups []string
	for _, g := range c.Groups {
		groups = append(groups, g.Kind+":"+g.Key+"="+strings.Join(g.IPs, ","))
	}
	wantGroups := []string{
		"asn:AS64500=31.0.4.7,31.0.4.9",
		"prefix:31.0.4.0/24=31.0.4.7,31.0.4.9",
		"country:FR=31.0.4.7,31.0.4.9",
		"blocklist:firehol_level1=31.0.4.7,31.0.4.9,31.0.9.9",
		"blocklist:spamhaus_drop=31.0.4.7,31.0.4.9",
		"pulse:000000000000000000000001=31.0.4.7,31.0.4.9,31.0.9.9",
	}
	if strings.Join(groups, "\n") != strings.Join(wantGroups, "\n") {
		t.Errorf("groups:\n%s\nwant:\n%s", strings.Join(groups, "\n"), strings.Join(wantGroups, "\n"))
	}
	if g := c.Groups[0]; deref(g.Name) != "EXAMPLE-AS-2 Example Two Ltd" {
		t.Errorf("asn group name %s", deref(g.Name))
	}
	// Scores, by hand from the weights.
	scores := map[string]string{
		// firehol 40 + spamhaus 10 + 1 pulse 10 + shared /24 10 + listed neighbour in AS64500 10
		"31.0.4.7": "80 blocklisted:40 blocklisted_more:10 otx_pulses:10 shared_prefix:10 asn_with_listed:10",
		// feodo 40 + firehol 10 + 2 pulses 20 + GreyNoise malicious 30 + scanned 20 = 120, capped
		"31.0.9.9":     "100 blocklisted:40 blocklisted_more:10 otx_pulses:20 greynoise_malicious:30 scanned_capture:20",
		"2a0f:1000::1": "0",
		"31.0.1.1":     "0",
	}
	for i, r := range c.Results {
		want, ok := scores[r.IP]
		if !ok || r.Score == nil {
			continue
		}
		got := fmt.Sprint(r.Score.Value)
		for _, rs := range r.Score.Reasons {
			got += fmt.Sprintf(" %s:%d", rs.Code, rs.Points)
		}
		if got != want {
			t.Errorf("result %d (%s) score %q, want %q", i, r.IP, got, want)
		}
	}
	if c.Partial {
		t.Error("partial offline")
	}
}

func TestCorrelateLimits(t *testing.T) {
	db := openTest(t, Options{})
	ips := make([]string, MaxCorrelateIPs+1)
	for i := range ips {
		ips[i] = "31.0.4.7"
	}
	if _, err := db.Correlate(context.Background(), ips, nil); !errors.Is(err, ErrTooManyIPs) {
		t.Errorf("1001 addresses: %v, want ErrTooManyIPs", err)
	}
	c, err := db.Correlate(context.Background(), ips[:MaxCorrelateIPs], nil)
	if err != nil || len(c.Results) != MaxCorrelateIPs || c.Summary.Unique != 1 {
		t.Errorf("1000 addresses: %v %d results", err, len(c.Results))
	}
	c, err = db.Correlate(context.Background(), nil, nil)
	if err != nil || len(c.Results) != 0 || c.Groups == nil {
		t.Errorf("no addresses: %v %+v", err, c)
	}
	long := strings.Repeat("x", 5000)
	c, _ = db.Correlate(context.Background(), []string{long}, nil)
	if len(c.Results[0].IP) > MaxEchoLen+len("…") {
		t.Errorf("echoed %d bytes of an invalid input", len(c.Results[0].IP))
	}
}

// correlateFixture writes a synthetic offline dataset into a temporary
// directory: an iptoasn file of 50 600 ranges (39 600 IPv4 /22s from
// 1.0.0.0, 11 000 IPv6 /32s from 2a00::) and a FireHOL-style blocklist of
// 2 000 entries (1 000 /24s and 1 000 single addresses). It returns the DB
// and 1000 distinct public addresses inside those ranges, 80% IPv4, every
// tenth of them on the blocklist.
func correlateFixture(tb testing.TB) (*DB, []string) {
	tb.Helper()
	dir := tb.TempDir()
	var list strings.Builder
	list.WriteString("# SYNTHETIC TEST DATA\n")
	base := key4(netip.MustParseAddr("1.0.0.0"))
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&list, "%s/24\n", addr4(base+uint32(i)*40*1024))
		fmt.Fprintf(&list, "%s\n", addr4(base+uint32(i)*40*1024+2048+uint32(i%200)))
	}
	files := map[string][]byte{
		"ip2asn-combined.tsv": synthIP2ASN(55_000),
		"synthetic.netset":    []byte(list.String()),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	db, err := Open(context.Background(), Options{Dir: os.DirFS(dir), Now: func() time.Time { return testNow }})
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range db.Sources() {
		if s.Format != "online" && (s.Status != "loaded" || s.Entries == 0) {
			tb.Fatalf("source %+v", s)
		}
	}
	ips := make([]string, 0, MaxCorrelateIPs)
	for i := 0; len(ips) < MaxCorrelateIPs*8/10; i++ {
		// /22 number i*37 (a prime step over the 44 000 IPv4 rows), host
		// i%250+1; every tenth address is one of the listed /24s.
		row := uint32(i*37) % 44_000
		if i%10 == 0 {
			row = uint32(i%1000) * 40
		}
		ips = append(ips, addr4(base+row*1024+uint32(i%250+1)).String())
	}
	for i := 0; len(ips) < MaxCorrelateIPs; i++ {
		ips = append(ips, fmt.Sprintf("2a00:%x:%x::%x", i*53%11_000, i, i+1))
	}
	return db, ips
}

// TestCorrelate1000Synthetic: correlate of 1000 distinct addresses over a
// 50 000-range dataset and a blocklist answers well under a second. One
// second is a floor, not the target; the measured times are logged (go
// test -v). A run is repeated up to three times and the best counts, so a
// scheduler stall on a shared host under -race does not fail the test;
// every run answers the full 1000 addresses (offline answers are not
// cached).
func TestCorrelate1000Synthetic(t *testing.T) {
	db, ips := correlateFixture(t)
	var times []time.Duration
	for len(times) < 3 {
		start := time.Now()
		c, err := db.Correlate(context.Background(), ips, nil)
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, took)
		s := c.Summary
		if s.Total != MaxCorrelateIPs || s.Unique != MaxCorrelateIPs || s.OK != MaxCorrelateIPs || s.Skipped != 0 || s.Invalid != 0 {
			t.Fatalf("summary %+v", s)
		}
		// Every tenth IPv4 address is in a listed /24; the IPv6 ones are
		// not listed.
		if s.Listed < 80 || s.Listed > 800 || len(s.ByASN) < 100 || s.ByCountry["DE"] == 0 || s.ByCountry["JP"] != 200 {
			t.Fatalf("listed %d, %d ASNs, countries %v", s.Listed, len(s.ByASN), s.ByCountry)
		}
		if c.Partial {
			t.Fatal("partial offline")
		}
		if took < time.Second {
			break
		}
	}
	t.Logf("correlate of %d addresses over 50 600 ranges and a 2 000-entry blocklist: %v", len(ips), times)
	if best := slices.Min(times); best >= time.Second {
		t.Errorf("correlate of %d addresses took %v, want under 1 s", len(ips), times)
	}
}

// BenchmarkCorrelate1000: one correlate of 1000 distinct addresses per op
// over the TestCorrelate1000Synthetic dataset.
func BenchmarkCorrelate1000(b *testing.B) {
	db, ips := correlateFixture(b)
	for b.Loop() {
		c, err := db.Correlate(b.Context(), ips, nil)
		if err != nil || c.Summary.OK != MaxCorrelateIPs {
			b.Fatal(err, c.Summary)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/correlate")
}
