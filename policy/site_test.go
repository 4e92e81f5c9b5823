package policy

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParsePrefix(t *testing.T) {
	for _, c := range []struct {
		in, want string // want "" for an error
	}{
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"10.1.2.3/8", "10.0.0.0/8"}, // masked to its network
		{"192.0.2.7", "192.0.2.7/32"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"::ffff:192.0.2.0/120", "192.0.2.0/24"}, // IPv4-mapped becomes IPv4, as the engine keys sources
		{"::ffff:192.0.2.7", "192.0.2.7/32"},
		{"fe80::1%eth0", ""},
		{"10.0.0.0/33", ""},
		{"nonsense", ""},
		{"", ""},
	} {
		t.Run(c.in, func(t *testing.T) {
			p, err := ParsePrefix(c.in)
			if c.want == "" {
				if err == nil {
					t.Errorf("ParsePrefix(%q) = %v, want an error", c.in, p)
				}
				return
			}
			if err != nil || p.String() != c.want {
				t.Errorf("ParsePrefix(%q) = %v, %v, want %s", c.in, p, err, c.want)
			}
		})
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes(" 10.0.0.0/8,192.168.0.0/16\t2001:db8::/32\n")
	if err != nil || len(got) != 3 || got[2] != netip.MustParsePrefix("2001:db8::/32") {
		t.Errorf("ParsePrefixes = %v, %v", got, err)
	}
	if got, err := ParsePrefixes(""); err != nil || got != nil {
		t.Errorf("ParsePrefixes(\"\") = %v, %v, want nil, nil", got, err)
	}
	many := strings.Repeat("10.0.0.1,", MaxSiteNets+1)
	if _, err := ParsePrefixes(many); err == nil || !strings.Contains(err.Error(), "more than 1024 networks") {
		t.Errorf("ParsePrefixes(%d networks) = %v, want the limit", MaxSiteNets+1, err)
	}
}

func TestParseKnownScanners(t *testing.T) {
	ks, err := ParseKnownScanners([]byte("# ours\n\n10.20.0.5   Qualys appliance\n198.51.100.0/24\tCensys research \r\n"))
	if err != nil || len(ks) != 2 || ks[0].Label != "Qualys appliance" || ks[0].Prefix.String() != "10.20.0.5/32" ||
		ks[1].Label != "Censys research" || ks[1].Prefix.String() != "198.51.100.0/24" {
		t.Fatalf("ParseKnownScanners = %+v, %v", ks, err)
	}
	for _, c := range []struct{ in, want string }{
		{"10.0.0.1\n", "line 1: 10.0.0.1 has no label"},
		{"# x\n10.0.0.300 label\n", `line 2: "10.0.0.300" is not a CIDR`},
		{"10.0.0.1 a\x1bb\n", "line 1: label has control characters"},
		{"10.0.0.1 " + strings.Repeat("x", MaxLabelLen+1) + "\n", "line 1: label longer than 128 bytes"},
		{strings.Repeat("10.0.0.1 x\n", MaxSiteNets+1), "line 1025: more than 1024 entries"},
	} {
		if _, err := ParseKnownScanners([]byte(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseKnownScanners(%.40q) = %v, want %q", c.in, err, c.want)
		}
	}
}

// FuzzParseKnownScanners: any file parses without a panic, and every
// entry it returns is a valid masked network with a short label.
func FuzzParseKnownScanners(f *testing.F) {
	f.Add([]byte("10.20.0.5 Qualys appliance\n# c\n2001:db8::/32\tlab\n"))
	f.Add([]byte("::ffff:1.2.3.4/120 x\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ks, err := ParseKnownScanners(b)
		if err != nil && ks != nil {
			t.Fatalf("entries with an error: %v", ks)
		}
		for _, k := range ks {
			if !k.Prefix.IsValid() || k.Prefix != k.Prefix.Masked() || k.Label == "" || len(k.Label) > MaxLabelLen {
				t.Fatalf("bad entry %+v", k)
			}
		}
	})
}
