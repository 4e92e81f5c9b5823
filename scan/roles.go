package scan

// What a source's targets are besides first contacts, decided per source
// at Finish before its probes are counted (srcBuilder.build).

// discoveryPort reports whether t is one of the TCP probes of nmap's
// default host discovery as root: SYN to 443, ACK to 80, beside ICMP echo
// and timestamp requests (DETECTION.md §1, "Ping sweep -sn").
func discoveryPort(t *target) bool {
	return t.class == clsSYN && t.port == 443 || t.class == clsACK && t.port == 80
}

// markDiscovery marks the TCP probes of host discovery: nmap's SYN 443
// and ACK 80 to a host the source also sent an ICMP request. With the
// ICMP requests they make one sweep of hosts, not a sweep and two small
// scans (DETECTION.md §6.10). A port the source came back to with a new
// SYN was scanned after the discovery (nmap -p 80,443 without -Pn) and
// keeps its own technique. b.stamp must be fresh for this source.
func (b *srcBuilder) markDiscovery(seg []target) {
	pinged := false
	for i := range seg {
		if t := &seg[i]; t.class == clsICMP {
			b.icmpMark[t.dst] = b.stamp
			pinged = true
		}
	}
	if !pinged {
		return
	}
	for i := range seg {
		if t := &seg[i]; discoveryPort(t) && t.state&stReconnect == 0 && b.icmpMark[t.dst] == b.stamp {
			t.marks |= tmDiscovery
		}
	}
}
