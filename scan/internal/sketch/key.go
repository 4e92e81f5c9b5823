// Package sketch holds the fixed-size summaries the scan aggregator keeps
// of what it cannot track exactly: the heaviest of the senders its budget
// refuses (Summary, Space-Saving), how many distinct senders it refused
// (HLL, HyperLogLog), and which keys of a stream occur more than once
// (Sieve). Each takes a bounded amount of memory whatever its input, which
// an attacker controls.
package sketch

// Key is an address without the pointer a netip.Addr carries: IPv4 in the
// low 32 bits of Lo, IPv6 as two big-endian halves.
type Key struct {
	Hi, Lo uint64
	V6     bool
}

// boolBit is the top bit for an IPv6 key, so that no IPv6 key hashes as
// the IPv4 key of the same words.
func boolBit(b bool) uint64 {
	if b {
		return 1 << 63
	}
	return 0
}
