package policy

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"strings"
)

// Site context (issue 19): the home networks, the known scanners and the
// darknets an analyst configures, read once at start and checked there.

// Environment variables of the site context.
const (
	EnvHomeNets      = "PORT_HUNTER_HOME_NETS"      // CIDRs or addresses of the home networks
	EnvKnownScanners = "PORT_HUNTER_KNOWN_SCANNERS" // allow-list file in the allowed directory
	EnvDarknets      = "PORT_HUNTER_DARKNETS"       // CIDRs where no host lives
)

// Limits of the site context.
const (
	// MaxSiteNets caps the networks of each site list (home networks,
	// known scanners, a call's ignore): matching is a linear scan per
	// listed source, and a site with more ranges than this summarises
	// them.
	MaxSiteNets = 1024
	// MaxKnownFileBytes bounds the known-scanners file: 1024 lines of a
	// network and a label fit in far less.
	MaxKnownFileBytes = 256 << 10
	// MaxLabelLen bounds a known scanner's label, in bytes.
	MaxLabelLen = 128
)

// KnownScanner is one line of the known-scanners file.
type KnownScanner struct {
	Prefix netip.Prefix
	Label  string
}

// ParsePrefixes reads a list of CIDRs or addresses separated by commas
// or white space; an address is its own /32 or /128. At most MaxSiteNets.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
		if len(out) == MaxSiteNets {
			return nil, fmt.Errorf("more than %d networks", MaxSiteNets)
		}
		p, err := ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// ParsePrefix reads one CIDR ("10.0.0.0/8") or address ("192.0.2.7"),
// masked to its network. An IPv4-mapped IPv6 network becomes IPv4, since
// the engine keys IPv4 sources that way; a zone is refused.
func ParsePrefix(s string) (netip.Prefix, error) {
	bad := fmt.Errorf("%q is not a CIDR (10.0.0.0/8, 2001:db8::/32) or an address", s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil || p.Addr().Zone() != "" {
			return netip.Prefix{}, bad
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, bad
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParseKnownScanners reads a known-scanners file: one network (CIDR or
// address) per line, then white space and its label ("192.0.2.10
// Qualys appliance"). Blank lines and lines starting with # are skipped.
// A line without a label, a label longer than MaxLabelLen or with
// control characters, and more than MaxSiteNets entries are errors
// naming the line.
func ParseKnownScanners(b []byte) ([]KnownScanner, error) {
	var out []KnownScanner
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), MaxKnownFileBytes)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		net, label, _ := strings.Cut(line, " ")
		if i := strings.IndexByte(net, '\t'); i >= 0 {
			net, label = line[:i], line[i+1:]
		}
		label = strings.TrimSpace(label)
		p, err := ParsePrefix(net)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		switch {
		case label == "":
			return nil, fmt.Errorf("line %d: %s has no label (write it after the network: \"192.0.2.10 Qualys appliance\")", n, net)
		case len(label) > MaxLabelLen:
			return nil, fmt.Errorf("line %d: label longer than %d bytes", n, MaxLabelLen)
		case strings.IndexFunc(label, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0:
			return nil, fmt.Errorf("line %d: label has control characters", n)
		case len(out) == MaxSiteNets:
			return nil, fmt.Errorf("line %d: more than %d entries", n, MaxSiteNets)
		}
		out = append(out, KnownScanner{Prefix: p, Label: label})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
