package scan

// fragProbes counts r's probes whose first packet was a datagram
// reassembled from IP fragments (nmap -f and the like), and those among
// them whose fragments overlapped earlier ones or began with a fragment
// too short for the transport header (RFC 1858): shapes no ordinary stack
// sends, used to slip probes past filters and detectors, and so reported
// on the source whatever the scan's technique.
func fragProbes(r *srcResult) (fragmented, evasion int) {
	for i := range r.probes {
		m := r.probes[i].marks
		if m&tmFrag != 0 {
			fragmented++
		}
		if m&tmFragEvasion != 0 {
			evasion++
		}
	}
	return fragmented, evasion
}
