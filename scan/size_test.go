package scan

import (
	"net/netip"
	"runtime"
	"testing"

	"porthunter/pcapng"
)

// TestRetainedBytes: RetainedBytes is within a factor of 1.5 of the heap
// an Analysis keeps alive (runtime.MemStats' HeapAlloc after collections,
// with and without it), on three shapes: one source probing many
// targets, a flood of single-probe senders, and scanners answered by
// their targets (episodes, successes, tools).
func TestRetainedBytes(t *testing.T) {
	shapes := []struct {
		name string
		add  func(agg *Aggregator)
	}{
		{"one source, 100k targets", func(agg *Aggregator) {
			p := pcapng.Packet{L3: pcapng.L3IPv4, L4: pcapng.L4TCP, Proto: protoTCP, TCPFlags: fS, Src: ip("203.0.113.1"), Timestamp: t0, Window: 1024}
			for i := range 100_000 {
				p.Dst = netip.AddrFrom4([4]byte{10, 0, byte(i / 1000 >> 8), byte(i / 1000)})
				p.DstPort, p.Frame = uint16(1+i%1000), uint64(i+1)
				p.Timestamp += 1000
				agg.Add(&p)
			}
		}},
		{"50k senders", func(agg *Aggregator) {
			p := pcapng.Packet{L3: pcapng.L3IPv4, L4: pcapng.L4TCP, Proto: protoTCP, TCPFlags: fS, Dst: ip("10.0.0.5"), DstPort: 80, Timestamp: t0}
			for i := range 50_000 {
				p.Src = netip.AddrFrom4([4]byte{100, 64, byte(i >> 8), byte(i)})
				p.Frame = uint64(i + 1)
				p.Timestamp += 1000
				agg.Add(&p)
			}
		}},
		{"answered scanners", func(agg *Aggregator) {
			b := &builder{agg: agg}
			ts := t0
			for s := range 200 {
				src := netip.AddrFrom4([4]byte{198, 51, byte(s >> 8), byte(s)}).String()
				for port := range uint16(200) {
					ts += 1e6
					dst := netip.AddrFrom4([4]byte{10, 1, 0, byte(port % 8)}).String()
					b.tcp(ts, src, 40000, dst, 1+port, fS, 0)
					if port%10 == 0 {
						b.tcp(ts+1000, dst, 1+port, src, 40000, fS|fA, 0)
					} else {
						b.tcp(ts+1000, dst, 1+port, src, 40000, fR|fA, 0)
					}
				}
				ts += 20 * 60 * sec // a new episode
			}
		}},
	}
	for _, sh := range shapes {
		var m0, m1, m2 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		agg := NewAggregator(DefaultConfig())
		sh.add(agg)
		an := agg.Finish()
		agg = nil
		runtime.GC()
		runtime.ReadMemStats(&m1)
		est := an.RetainedBytes()
		runtime.KeepAlive(an)
		an = nil
		runtime.GC()
		runtime.ReadMemStats(&m2)
		// Two figures: the growth since before (the analysis and anything
		// the run left behind) and the drop once it is gone.
		grown, freed := int64(m1.HeapAlloc)-int64(m0.HeapAlloc), int64(m1.HeapAlloc)-int64(m2.HeapAlloc)
		t.Logf("%s: estimate %d bytes, heap grown %d, freed %d", sh.name, est, grown, freed)
		for _, got := range []int64{grown, freed} {
			if float64(est) > 1.5*float64(got) || float64(got) > 1.5*float64(est) {
				t.Errorf("%s: estimate %d bytes, heap %d: not within a factor of 1.5", sh.name, est, got)
			}
		}
	}
}
