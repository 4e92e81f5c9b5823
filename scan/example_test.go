package scan_test

import (
	"fmt"
	"net/netip"

	"porthunter/pcapng"
	"porthunter/scan"
)

// Example feeds a hand-made SYN scan of twelve ports, each answered by a
// RST, and prints what the views say.
func Example() {
	agg := scan.NewAggregator(scan.DefaultConfig())
	src, dst := netip.MustParseAddr("203.0.113.66"), netip.MustParseAddr("10.0.0.5")
	t0 := int64(1773480415) * 1e9
	var p pcapng.Packet // one Packet reused for every record, as the reader loop does
	frame := uint64(0)
	add := func(ts int64, from, to netip.Addr, sport, dport uint16, flags uint16) {
		frame++
		p = pcapng.Packet{Frame: frame, Timestamp: ts, Precision: 6, L3: pcapng.L3IPv4, Src: from, Dst: to,
			Proto: 6, L4: pcapng.L4TCP, SrcPort: sport, DstPort: dport, TCPFlags: flags, Window: 1024}
		agg.Add(&p)
	}
	for i := range 12 {
		ts := t0 + int64(i)*1e7 // 100 probes per second
		port := uint16(20 + i)
		add(ts, src, dst, 45000, port, pcapng.TCPFlagSYN)
		add(ts+50_000, dst, src, port, 45000, pcapng.TCPFlagRST|pcapng.TCPFlagACK)
	}
	an := agg.Finish()
	for _, s := range an.Suspects(scan.DefaultThresholds()) {
		fmt.Println(s.IP, s.Kind, s.DistinctPorts, *s.RatePPS, s.Techniques, s.Reasons)
	}
	fe := an.FirstEvent(scan.DefaultThresholds())
	fmt.Println(fe.TS, fe.Src, fe.Dst, fe.Port, *fe.Flags, fe.Frame, fe.DetectedAt)
	// Output:
	// 203.0.113.66 vertical 12 109.1 [syn_scan] [ports_on_host rate trw]
	// 2026-03-14T09:26:55.000000Z 203.0.113.66 10.0.0.5 20 S 1 2026-03-14T09:26:55.090000Z
}
