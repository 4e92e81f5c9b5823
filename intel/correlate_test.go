package intel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
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
	c, err := db.Correlate(context.Background(), in, func(a netip.Addr) any {
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
	// The three shapes of CONTRACT §3.5.
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

func TestCorrelate1000Offline(t *testing.T) {
	db := openTest(t, Options{Dir: os.DirFS(intelDir(t, nil))})
	ips := make([]string, MaxCorrelateIPs)
	for i := range ips {
		ips[i] = fmt.Sprintf("31.0.%d.%d", i/250, i%250+1)
	}
	start := time.Now()
	c, err := db.Correlate(context.Background(), ips, nil)
	took := time.Since(start)
	if err != nil || c.Summary.OK != MaxCorrelateIPs {
		t.Fatalf("%v %+v", err, c.Summary)
	}
	t.Logf("correlate of %d addresses offline: %v", len(ips), took)
	if took > 5*time.Second { // generous: -race on a shared 2-core host
		t.Errorf("correlate took %v", took)
	}
}
