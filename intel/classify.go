package intel

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// Categories of Classify. Public addresses, including the globally reachable
// rows of the special-purpose registries (anycast, AS112, AMT, 6to4, Teredo,
// NAT64 well-known prefix, ORCHIDv2, DETs), are CategoryPublic.
const (
	CategoryPublic        = "public"
	CategoryThisNetwork   = "this_network"
	CategoryUnspecified   = "unspecified"
	CategoryPrivate       = "private"
	CategoryCGNAT         = "cgnat"
	CategoryLoopback      = "loopback"
	CategoryLinkLocal     = "link_local"
	CategoryReserved      = "reserved"
	CategoryDocumentation = "documentation"
	CategoryBenchmarking  = "benchmarking"
	CategoryBroadcast     = "broadcast"
	CategoryMulticast     = "multicast"
)

// embedded says where an IPv6 block carries an IPv4 address (docs/INTEL.md §4.2).
type embedded uint8

const (
	embedNone   embedded = iota
	embedNAT64           // 64:ff9b::/96, bytes 12–15
	embedTeredo          // 2001::/32, client = bytes 12–15 XOR 0xff
	emb6to4              // 2002::/16, bytes 2–5
)

// special is one row of the IANA special-purpose registries (or one of the
// few blocks the registries leave out but that must be classified).
type special struct {
	prefix    netip.Prefix
	name      string
	rfc       string
	category  string
	reachable bool // Globally Reachable = True, or N/A (6to4, Teredo)
	embed     embedded
}

func row(p, name, rfc, category string, reachable bool) special {
	return special{prefix: netip.MustParsePrefix(p), name: name, rfc: rfc, category: category, reachable: reachable}
}

// specialTable builds the table sorted most specific first, so the first
// containing row is the answer. It is built by a function, not at package
// init, so nothing runs before main.
func specialTable() []special {
	pub := CategoryPublic
	t := []special{
		// IPv4 Special-Purpose Address Registry.
		row("0.0.0.0/8", `"This network"`, "RFC 791, Section 3.2", CategoryThisNetwork, false),
		row("0.0.0.0/32", `"This host on this network"`, "RFC 1122, Section 3.2.1.3", CategoryUnspecified, false),
		row("10.0.0.0/8", "Private-Use", "RFC 1918", CategoryPrivate, false),
		row("100.64.0.0/10", "Shared Address Space", "RFC 6598", CategoryCGNAT, false),
		row("127.0.0.0/8", "Loopback", "RFC 1122, Section 3.2.1.3", CategoryLoopback, false),
		row("169.254.0.0/16", "Link Local", "RFC 3927", CategoryLinkLocal, false),
		row("172.16.0.0/12", "Private-Use", "RFC 1918", CategoryPrivate, false),
		row("192.0.0.0/24", "IETF Protocol Assignments", "RFC 6890, Section 2.1", CategoryReserved, false),
		row("192.0.0.0/29", "IPv4 Service Continuity Prefix", "RFC 7335", CategoryReserved, false),
		row("192.0.0.8/32", "IPv4 dummy address", "RFC 7600", CategoryReserved, false),
		row("192.0.0.9/32", "Port Control Protocol Anycast", "RFC 7723", pub, true),
		row("192.0.0.10/32", "Traversal Using Relays around NAT Anycast", "RFC 8155", pub, true),
		row("192.0.0.170/32", "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050, Section 2.2", CategoryReserved, false),
		row("192.0.0.171/32", "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050, Section 2.2", CategoryReserved, false),
		row("192.0.2.0/24", "Documentation (TEST-NET-1)", "RFC 5737", CategoryDocumentation, false),
		row("192.31.196.0/24", "AS112-v4", "RFC 7535", pub, true),
		row("192.52.193.0/24", "AMT", "RFC 7450", pub, true),
		// Terminated 2015-03 and left without flags: treated as reserved.
		row("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", "RFC 7526", CategoryReserved, false),
		row("192.88.99.2/32", "6a44-relay anycast address", "RFC 6751", CategoryReserved, false),
		row("192.168.0.0/16", "Private-Use", "RFC 1918", CategoryPrivate, false),
		row("192.175.48.0/24", "Direct Delegation AS112 Service", "RFC 7534", pub, true),
		row("198.18.0.0/15", "Benchmarking", "RFC 2544", CategoryBenchmarking, false),
		row("198.51.100.0/24", "Documentation (TEST-NET-2)", "RFC 5737", CategoryDocumentation, false),
		row("203.0.113.0/24", "Documentation (TEST-NET-3)", "RFC 5737", CategoryDocumentation, false),
		row("240.0.0.0/4", "Reserved", "RFC 1112, Section 4", CategoryReserved, false),
		row("255.255.255.255/32", "Limited Broadcast", "RFC 8190, RFC 919, Section 7", CategoryBroadcast, false),
		// Not in the registry: the multicast space (IANA multicast registry).
		row("224.0.0.0/4", "Multicast", "RFC 5771", CategoryMulticast, false),

		// IPv6 Special-Purpose Address Registry.
		row("::1/128", "Loopback Address", "RFC 4291", CategoryLoopback, false),
		row("::/128", "Unspecified Address", "RFC 4291", CategoryUnspecified, false),
		// Reached only by an address that was not unmapped; ParseIP and
		// Classify unmap first, so in practice the IPv4 rows answer.
		row("::ffff:0:0/96", "IPv4-mapped Address", "RFC 4291", CategoryReserved, false),
		{prefix: netip.MustParsePrefix("64:ff9b::/96"), name: "IPv4-IPv6 Translat.", rfc: "RFC 6052", category: pub, reachable: true, embed: embedNAT64},
		row("64:ff9b:1::/48", "IPv4-IPv6 Translat.", "RFC 8215", CategoryReserved, false),
		row("100::/64", "Discard-Only Address Block", "RFC 6666", CategoryReserved, false),
		row("100:0:0:1::/64", "Dummy IPv6 Prefix", "RFC 9780", CategoryReserved, false),
		row("2001::/23", "IETF Protocol Assignments", "RFC 2928", CategoryReserved, false),
		// Globally Reachable N/A (RFC 4380 §5): treated as public.
		{prefix: netip.MustParsePrefix("2001::/32"), name: "TEREDO", rfc: "RFC 4380, RFC 8190", category: pub, reachable: true, embed: embedTeredo},
		row("2001:1::1/128", "Port Control Protocol Anycast", "RFC 7723", pub, true),
		row("2001:1::2/128", "Traversal Using Relays around NAT Anycast", "RFC 8155", pub, true),
		row("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", "RFC 9665", pub, true),
		row("2001:2::/48", "Benchmarking", "RFC 5180", CategoryBenchmarking, false),
		row("2001:3::/32", "AMT", "RFC 7450", pub, true),
		row("2001:4:112::/48", "AS112-v6", "RFC 7535", pub, true),
		// Terminated 2014-03: treated as reserved.
		row("2001:10::/28", "Deprecated (previously ORCHID)", "RFC 4843", CategoryReserved, false),
		row("2001:20::/28", "ORCHIDv2", "RFC 7343", pub, true),
		row("2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374", pub, true),
		row("2001:db8::/32", "Documentation", "RFC 3849", CategoryDocumentation, false),
		// Globally Reachable N/A (RFC 3056): treated as public.
		{prefix: netip.MustParsePrefix("2002::/16"), name: "6to4", rfc: "RFC 3056", category: pub, reachable: true, embed: emb6to4},
		row("2620:4f:8000::/48", "Direct Delegation AS112 Service", "RFC 7534", pub, true),
		row("3fff::/20", "Documentation", "RFC 9637", CategoryDocumentation, false),
		row("5f00::/16", "Segment Routing (SRv6) SIDs", "RFC 9602", CategoryReserved, false),
		row("fc00::/7", "Unique-Local", "RFC 4193, RFC 8190", CategoryPrivate, false),
		row("fe80::/10", "Link-Local Unicast", "RFC 4291", CategoryLinkLocal, false),
		// Not in the registry but not public either.
		row("ff00::/8", "Multicast", "RFC 4291", CategoryMulticast, false),
		row("::/96", "IPv4-compatible Address (deprecated)", "RFC 4291", CategoryReserved, false),
		row("fec0::/10", "Site-Local (deprecated)", "RFC 3879", CategoryReserved, false),
		// Everything outside 2000::/3 is reserved by the IETF (RFC 4291
		// §2.4); these three blocks are that complement. Any registry row
		// inside them is more specific and wins.
		row("::/3", "Reserved by IETF", "RFC 4291", CategoryReserved, false),
		row("4000::/2", "Reserved by IETF", "RFC 4291", CategoryReserved, false),
		row("8000::/1", "Reserved by IETF", "RFC 4291", CategoryReserved, false),
	}
	// Most specific first; equal lengths cannot overlap, order them by
	// address so the table is deterministic.
	slices.SortStableFunc(t, func(a, b special) int {
		if a.prefix.Bits() != b.prefix.Bits() {
			return b.prefix.Bits() - a.prefix.Bits()
		}
		return a.prefix.Addr().Compare(b.prefix.Addr())
	})
	return t
}

// classifier holds the table; package-level state is avoided so nothing is
// built before it is needed.
type classifier struct{ table []special }

func newClassifier() *classifier { return &classifier{table: specialTable()} }

// defaultClassifier is built on first use by the package-level functions.
var defaultClassifier = sync.OnceValue(newClassifier)

func (c *classifier) match(a netip.Addr) (special, bool) {
	a = a.WithZone("").Unmap()
	for _, s := range c.table {
		if s.prefix.Contains(a) {
			return s, true
		}
	}
	return special{}, false
}

// Classification is the "classification" object of an enrichment.
type Classification struct {
	Scope             string  `json:"scope"` // "public" or "private" (not globally reachable)
	Category          string  `json:"category"`
	Block             *string `json:"block"`
	Name              *string `json:"name"`
	RFC               *string `json:"rfc"`
	GloballyReachable bool    `json:"globally_reachable"`
	// EmbeddedIPv4 is the IPv4 address carried by a 6to4, Teredo (the
	// client) or NAT64 well-known-prefix address. It is shown, never
	// enriched automatically.
	EmbeddedIPv4 *string `json:"embedded_ipv4"`
}

// Public reports whether the address is globally reachable.
func (c Classification) Public() bool { return c.GloballyReachable }

// Classify returns the category of a (see the Category constants) and
// whether it is special, meaning: inside a special-purpose block that is not
// globally reachable, so it is answered as private_ip and never sent online.
// Zones are ignored and IPv4-mapped IPv6 addresses are unmapped first; the
// most specific registry row wins. An invalid Addr is ("reserved", true).
func Classify(a netip.Addr) (category string, special bool) {
	c := Describe(a)
	return c.Category, !c.GloballyReachable
}

// Describe returns the full classification of a, as shown in enrichments.
func Describe(a netip.Addr) Classification {
	if !a.IsValid() {
		return Classification{Scope: "private", Category: CategoryReserved}
	}
	a = a.WithZone("").Unmap()
	s, ok := defaultClassifier().match(a)
	if !ok {
		return Classification{Scope: "public", Category: CategoryPublic, GloballyReachable: true}
	}
	block, name, rfc := s.prefix.String(), s.name, s.rfc
	c := Classification{Scope: "private", Category: s.category, Block: &block, Name: &name, RFC: &rfc, GloballyReachable: s.reachable}
	if s.reachable {
		c.Scope = "public"
	}
	if e, ok := embeddedIPv4(a, s.embed); ok {
		str := e.String()
		c.EmbeddedIPv4 = &str
	}
	return c
}

func embeddedIPv4(a netip.Addr, e embedded) (netip.Addr, bool) {
	b := a.As16()
	switch e {
	case embedNAT64:
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case emb6to4:
		return netip.AddrFrom4([4]byte(b[2:6])), true
	case embedTeredo:
		return netip.AddrFrom4([4]byte{b[12] ^ 0xff, b[13] ^ 0xff, b[14] ^ 0xff, b[15] ^ 0xff}), true
	}
	return netip.Addr{}, false
}

// ParseIP parses one IPv4 or IPv6 address as typed by a person or a script.
// Surrounding white space is trimmed (docs/INTEL.md §4.2 rule 1: a pasted address
// often carries a newline); anything else that netip.ParseAddr rejects is
// ErrInvalidIP: leading zeros in IPv4, short forms like 1.2.3, hex octets, a
// CIDR, inner spaces, text longer than MaxInputLen. An IPv6 zone is dropped
// (prefixes never contain a zoned address) and an IPv4-mapped IPv6 address
// is returned as the IPv4 address.
func ParseIP(s string) (netip.Addr, error) {
	a, _, err := parseInput(s)
	return a, err
}

// Normalisations reported in "normalized_from".
const (
	normMapped = "ipv4_mapped"
	normZone   = "zone"
)

// parseInput is ParseIP that also says what was normalised away.
func parseInput(s string) (netip.Addr, string, error) {
	if len(s) > MaxInputLen {
		return netip.Addr{}, "", fmt.Errorf("%w: longer than %d bytes", ErrInvalidIP, MaxInputLen)
	}
	t := strings.TrimSpace(s)
	if t == "" || strings.Contains(t, "/") {
		return netip.Addr{}, "", fmt.Errorf("%w: %q", ErrInvalidIP, s)
	}
	a, err := netip.ParseAddr(t)
	if err != nil {
		return netip.Addr{}, "", fmt.Errorf("%w: %q", ErrInvalidIP, s)
	}
	var from []string
	if a.Zone() != "" {
		from = append(from, normZone)
		a = a.WithZone("")
	}
	if a.Is4In6() {
		from = append(from, normMapped)
		a = a.Unmap()
	}
	return a, strings.Join(from, ","), nil
}
