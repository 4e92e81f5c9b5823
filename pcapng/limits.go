package pcapng

// Limits against hostile input, in one place. Each value says why it is
// what it is. Hitting a reader limit returns an error wrapping ErrLimit that
// names the limit; hitting a decoder limit sets an Anomaly bit on the Packet,
// which the capture report counts; a reassembly limit is counted in
// ReassemblyStats.
const (
	// MaxCapLen bounds one record's captured length. 262144 is libpcap's
	// MAXIMUM_SNAPLEN and what tcpdump and Wireshark use for USB and D-Bus;
	// nothing real captures more per packet.
	MaxCapLen = 262144

	// MaxBlockLen bounds one pcapng block, read whole into the reusable
	// buffer. 16 MiB is Wireshark's limit (MAX_BLOCK_SIZE) and leaves room
	// for a MaxCapLen packet plus any sane option set.
	MaxBlockLen = 16 << 20

	// MaxInterfaces bounds the Interface Description Blocks of one section;
	// a capture from a host with more interfaces than this is not plausible.
	MaxInterfaces = 1024

	// MaxAllInterfaces bounds the IDBs of a whole file, over all its
	// sections: Info keeps a summary per interface, so without this a file
	// of many small sections would grow that table with the file size.
	// Real multi-section files have a handful (the 10-section Wireshark
	// sample has 10).
	MaxAllInterfaces = 16 * 1024

	// MaxOptions bounds the options walked in one block, so a block of
	// thousands of zero-length options costs a bounded loop.
	MaxOptions = 4096

	// MaxTSResolDecimal and MaxTSResolBinary bound if_tsresol: 10^19 and
	// 2^63 are the largest divisors that fit a uint64 (never zero).
	MaxTSResolDecimal = 19
	MaxTSResolBinary  = 63

	// MaxDecompressedBytes bounds what a gzip-compressed capture may expand
	// to, so a small zip bomb cannot make us read forever. 64 GiB is beyond
	// any capture an analyst hands us compressed; main may lower it to a
	// multiple of the configured file limit.
	MaxDecompressedBytes = 64 << 30

	// MaxLinkTags bounds stacked 802.1Q/802.1ad tags (and PPPoE/MPLS layers)
	// walked in one frame. Real QinQ uses two; eight leaves room for
	// misconfigured stacks while stopping a frame made only of tags.
	MaxLinkTags = 8

	// MaxIPv6ExtHeaders bounds the IPv6 extension-header chain walked before
	// the transport header (RFC 8200 expects few; hostile chains are long).
	MaxIPv6ExtHeaders = 8

	// MaxTCPOptions bounds the TCP options walked; the 40-byte option space
	// holds at most 40 one-byte options, so this is the header's own bound.
	MaxTCPOptions = 40

	// MaxTunnelDepth bounds the encapsulations removed from one packet
	// (tunnel.go). Real captures carry one (a VXLAN or ERSPAN mirror, a
	// GRE or IP-in-IP link) or two (a mirror of tunnelled traffic); four
	// leaves room for a mirror of a VPN inside a provider tunnel while a
	// packet of nested headers costs at most four passes. A fifth tunnel
	// header is left as the packet's payload and AnomalyTunnelDepth set.
	MaxTunnelDepth = 4

	// MaxGENEVEOptions bounds the GENEVE options walked (RFC 8926 §3.5):
	// the 6-bit option length allows 252 bytes and every option takes at
	// least 4, so this is the header's own bound.
	MaxGENEVEOptions = 63

	// MaxGTPUExtHeaders bounds the GTP-U extension headers walked before
	// the carried IP packet (3GPP TS 29.281 §5.2). Real G-PDUs carry one
	// (a 5G PDU Session Container) or two; a chain of thousands of
	// 4-byte headers costs a bounded loop and leaves the packet the UDP
	// datagram it is.
	MaxGTPUExtHeaders = 8

	// FragTimeoutNS is how long, in capture time, a datagram may take to
	// complete after its first-arriving fragment: RFC 8200 §4.5's 60
	// seconds (also Snort 2 frag3's default; Snort 3's stream_ip and
	// Linux's ipfrag_time use 30), so no datagram a common stack would
	// rebuild is given up.
	FragTimeoutNS int64 = 60 * 1_000_000_000

	// MaxReassemblies is how many datagrams may be in reassembly at once:
	// Snort 3's stream_ip max_frags default. A scanner's fragments arrive
	// back to back, so a handful are open at a time; 8192 slots cost
	// about 3 MiB.
	MaxReassemblies = 8192

	// FragKeepBytes is how many bytes of each datagram's data are kept:
	// the longest header classification reads is an ICMP error quoting an
	// IPv4 header with options and 8 bytes of its data (8 + 60 + 8), or
	// an ICMPv6 error quoting an IPv6 header and a short chain; a TCP
	// header is at most 60. The rest is only counted.
	FragKeepBytes = 128

	// maxFragRuns bounds the disjoint byte ranges one datagram may hold
	// before it is complete: fragments sent in order (or in reverse, as
	// old Linux did) make one range; a datagram scattered into more than
	// 16 pieces is dropped (fragments_dropped_limit) rather than tracked
	// with unbounded bookkeeping.
	maxFragRuns = 16

	// maxFragData is the largest datagram data a fragment may imply: an
	// IPv4 total length, or an IPv6 payload length, is 16 bits (RFC 791,
	// RFC 8200 §4.5); a fragment reaching beyond it is invalid (ping of
	// death).
	maxFragData = 65535
)
