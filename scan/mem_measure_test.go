//go:build harness

package scan

import (
	"net/netip"
	"os"
	"runtime"
	"testing"

	"porthunter/pcapng"
)

// TestMeasureTargetBytes measures the heap per tracked target, the basis
// of bytesPerTarget. It takes seconds, so it runs only with SCAN_MEASURE=1.
func TestMeasureTargetBytes(t *testing.T) {
	if os.Getenv("SCAN_MEASURE") == "" {
		t.Skip()
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	agg := NewAggregator(DefaultConfig())
	const n = 1 << 20
	p := pcapng.Packet{L3: pcapng.L3IPv4, L4: pcapng.L4TCP, Proto: 6, TCPFlags: fS, Src: ip("203.0.113.1"), Timestamp: t0}
	for i := range n {
		d := [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
		p.Dst = netipFrom4(d)
		p.DstPort = uint16(i % 1000)
		p.Frame = uint64(i)
		agg.Add(&p)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	t.Logf("bytes per target (with one address each): %d", (m1.HeapAlloc-m0.HeapAlloc)/n)
	an := agg.Finish()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	t.Logf("bytes per probe after Finish: %d", (int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/n)
	runtime.KeepAlive(an)
}

func netipFrom4(b [4]byte) netip.Addr { return netip.AddrFrom4(b) }
