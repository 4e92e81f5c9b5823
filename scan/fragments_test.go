package scan

import (
	"testing"

	"porthunter/pcapng"
)

// TestFlagsUnknownNotClassified: a TCP segment whose ports were captured
// but whose flags were not (a first fragment of 8 bytes that was never
// reassembled, a snaplen cut) reads as flags 0. It is no NULL probe, no
// answer and no backscatter: the engine leaves it out.
func TestFlagsUnknownNotClassified(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for port := uint16(1); port <= 20; port++ {
		p := b.base(t0+int64(port)*1000, "198.51.100.10", "10.0.0.5")
		p.Proto, p.L4 = protoTCP, pcapng.L4TCP
		p.SrcPort, p.DstPort, p.TCPFlagsUnknown = 40000, port, true
		b.agg.Add(&p)
	}
	// A RST whose flags were cut would be an answer; it is none either.
	p := b.base(t0+30_000, "10.0.0.5", "198.51.100.10")
	p.Proto, p.L4 = protoTCP, pcapng.L4TCP
	p.SrcPort, p.DstPort, p.TCPFlagsUnknown = 1, 40000, true
	b.agg.Add(&p)
	an := b.agg.Finish()
	if sus := an.Suspects(DefaultThresholds()); len(sus) != 0 {
		t.Fatalf("suspects %+v from segments whose flags were not captured", sus)
	}
	d := mustDetail(t, an, "198.51.100.10")
	if d.Probes != 0 || len(d.FlagStats) != 0 || d.Pkts != 20 {
		t.Errorf("detail: %d probes, flag stats %v, %d packets; want 0, none, 20", d.Probes, d.FlagStats, d.Pkts)
	}
	if st := an.Capture(); st.TCP != 21 {
		t.Errorf("capture counts %d TCP segments, want 21 (counted, not classified)", st.TCP)
	}
}

// TestFragmentedProbesReported: probes rebuilt from fragments are counted
// on their source, and those whose fragments overlapped or began tiny as
// evasion, in the suspect list and the detail.
func TestFragmentedProbesReported(t *testing.T) {
	b := newBuilder(DefaultConfig())
	for port := uint16(1); port <= 12; port++ {
		b.tcp(t0+int64(port)*1000, "198.51.100.10", 40000, "10.0.0.5", port, fS, 0)
	}
	for port := uint16(100); port <= 111; port++ {
		p := b.base(t0+int64(port)*1000, "198.51.100.10", "10.0.0.5")
		p.Proto, p.L4, p.SrcPort, p.DstPort, p.TCPFlags, p.Window = protoTCP, pcapng.L4TCP, 40000, port, fS, 1024
		p.Frag, p.Reassembled = pcapng.FragLater, true
		if port < 104 {
			p.FragEvasion = pcapng.FragTiny
		}
		b.agg.Add(&p)
	}
	an := b.agg.Finish()
	s, ok := listed(an)["198.51.100.10"]
	if !ok {
		t.Fatal("scanner not listed")
	}
	if s.FragmentedProbes != 12 || s.FragmentEvasion != 4 || s.Probes != 24 {
		t.Errorf("suspect: %d probes, %d fragmented, %d evasion; want 24, 12, 4", s.Probes, s.FragmentedProbes, s.FragmentEvasion)
	}
	d := mustDetail(t, an, "198.51.100.10")
	if d.FragmentedProbes != 12 || d.FragmentEvasion != 4 {
		t.Errorf("detail: %d fragmented, %d evasion; want 12, 4", d.FragmentedProbes, d.FragmentEvasion)
	}
	if st := an.Capture(); st.Fragments != 12 {
		t.Errorf("%d fragments counted, want 12", st.Fragments)
	}
}
