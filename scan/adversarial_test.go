package scan

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"runtime"
	"strconv"
	"testing"
	"time"

	"porthunter/internal/race"
	"porthunter/pcapng"
)

// Adversarial patterns for the worst-case tests and benchmarks: each
// grows one thing a hostile capture controls (decoy sources, hosts probed
// jointly, episodes) while the rest stays small.

// addrN is the n-th address of 100.64.0.0/10 (shared address space), for
// generated sources and hosts.
func addrN(n int) netip.Addr {
	return netip.AddrFrom4([4]byte{100, 64 | byte(n>>16&0x3f), byte(n >> 8), byte(n)})
}

// decoyFlood is n sources that each send the same decoyMinShared probes
// (same destination, ports, sequence and IP ID) to one host: nmap -D
// RND:n, where only one of them is the scanner.
func decoyFlood(n int) []pcapng.Packet {
	var ps []pcapng.Packet
	dst := netip.MustParseAddr("10.0.0.9")
	frame := uint64(0)
	for k := range decoyMinShared + 1 {
		for s := range n {
			frame++
			p := pcapng.Packet{Frame: frame, Timestamp: t0 + int64(k)*sec + int64(s)*1000, Precision: 6,
				Src: addrN(s), Dst: dst, TTL: 64, WScale: 0xff, L3: pcapng.L3IPv4,
				Proto: protoTCP, L4: pcapng.L4TCP, SrcPort: 55555, DstPort: uint16(20 + k), TCPFlags: fS,
				Window: 1024, Seq: 0xdeadbeef, IPID: 4242}
			ps = append(ps, p)
		}
	}
	return ps
}

// distributedFlood is DistributedMinSources slow sources that each probe
// the same n hosts on two ports of their own, one probe a second: every
// host is jointly probed on 10 ports, so each is a distributed scan.
func distributedFlood(n int) []pcapng.Packet {
	var ps []pcapng.Packet
	frame := uint64(0)
	for h := range n {
		for s := range DistributedMinSources {
			for j := range 2 {
				frame++
				ts := t0 + int64(h*2+j)*sec + int64(s)*1000
				ps = append(ps, pcapng.Packet{Frame: frame, Timestamp: ts, Precision: 6,
					Src: netip.AddrFrom4([4]byte{203, 0, 113, byte(10 + s)}), Dst: addrN(h), TTL: 64, WScale: 0xff,
					L3: pcapng.L3IPv4, Proto: protoTCP, L4: pcapng.L4TCP, SrcPort: 45000,
					DstPort: uint16(1000 + s*2 + j), TCPFlags: fS, Window: 1024})
			}
		}
	}
	return ps
}

// episodeFlood is one source whose n probes are each an episode of
// their own: an idle gap longer than DefaultIdleGapNS before each.
func episodeFlood(n int) []pcapng.Packet {
	var ps []pcapng.Packet
	src := netip.MustParseAddr("203.0.113.5")
	for i := range n {
		ps = append(ps, pcapng.Packet{Frame: uint64(i + 1), Timestamp: t0 + int64(i)*(DefaultIdleGapNS+sec), Precision: 6,
			Src: src, Dst: addrN(i / 1000), TTL: 64, WScale: 0xff, L3: pcapng.L3IPv4, Proto: protoTCP, L4: pcapng.L4TCP,
			SrcPort: 45000, DstPort: uint16(1 + i%1000), TCPFlags: fS, Window: 1024})
	}
	return ps
}

// BenchmarkAdversarial grows each pattern 1×, 2×, 4× and 8× and reports
// the whole analysis (Add and Finish) and the views that list the
// pattern, per packet: a linear cost stays flat across the sizes.
func BenchmarkAdversarial(b *testing.B) {
	patterns := []struct {
		name string
		base int
		gen  func(int) []pcapng.Packet
	}{
		{"decoy_sources", 2000, decoyFlood},
		{"distributed_hosts", 5000, distributedFlood},
		{"episodes", 5000, episodeFlood},
	}
	for _, pt := range patterns {
		for _, x := range []int{1, 2, 4, 8} {
			n := pt.base * x
			ps := pt.gen(n)
			b.Run(pt.name+"="+strconv.Itoa(n), func(b *testing.B) {
				for b.Loop() {
					an := analyzePackets(ps, DefaultConfig())
					an.Overview(DefaultThresholds(), DefaultWindowS, 20)
					an.Suspects(DefaultThresholds())
					for _, s := range an.Suspects(Thresholds{MinPorts: 3, MinHosts: 3, MinTargets: 3, MinStealthTargets: 3, MinRatePPS: 1}) {
						an.Detail(s.IP)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ps)), "ns/packet")
			})
		}
	}
}

// BenchmarkAdversarialPhases splits the analysis of each pattern into
// reading (Add: hashing packets into the tables, whose cost per packet
// grows with the tables' size once they outgrow the caches) and the
// passes over the tables that the patterns made super-linear before
// (FinishContext with its grouping and judging, and the views), each per
// packet.
func BenchmarkAdversarialPhases(b *testing.B) {
	patterns := []struct {
		name string
		base int
		gen  func(int) []pcapng.Packet
	}{
		{"decoy_sources", 2000, decoyFlood},
		{"distributed_hosts", 5000, distributedFlood},
		{"episodes", 5000, episodeFlood},
	}
	for _, pt := range patterns {
		for _, x := range []int{1, 2, 4, 8} {
			n := pt.base * x
			ps := pt.gen(n)
			b.Run(pt.name+"="+strconv.Itoa(n), func(b *testing.B) {
				var add, fin time.Duration
				for b.Loop() {
					start := time.Now()
					agg := NewAggregator(DefaultConfig())
					for i := range ps {
						agg.Add(&ps[i])
					}
					mid := time.Now()
					an, err := agg.FinishContext(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					an.Overview(DefaultThresholds(), DefaultWindowS, 20)
					for _, s := range an.Suspects(Thresholds{MinPorts: 3, MinHosts: 3, MinTargets: 3, MinStealthTargets: 3, MinRatePPS: 1}) {
						an.Detail(s.IP)
					}
					add += mid.Sub(start)
					fin += time.Since(mid)
				}
				per := float64(b.N * len(ps))
				b.ReportMetric(float64(add.Nanoseconds())/per, "add-ns/packet")
				b.ReportMetric(float64(fin.Nanoseconds())/per, "finish-ns/packet")
			})
		}
	}
}

// measure runs f and returns its wall time and the bytes it allocated.
func measure(f func()) (time.Duration, uint64) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start := time.Now()
	f()
	el := time.Since(start)
	runtime.ReadMemStats(&m1)
	return el, m1.TotalAlloc - m0.TotalAlloc
}

// linear checks that the cost of f over gen(4n) is at most 6 times its
// cost over gen(n) in allocated bytes (a quadratic cost is 16 times), and
// that f(gen(4n)) ends within limit. Time is bounded absolutely: ratios
// of short times are noise on a loaded machine, and limit is far below
// what the quadratic code took.
func linear(t *testing.T, name string, n int, limit time.Duration, gen func(int) []pcapng.Packet, f func(n int, ps []pcapng.Packet)) {
	t.Helper()
	n = max(n/race.Scale, 1)
	ps := gen(n)
	_, a1 := measure(func() { f(n, ps) })
	ps = gen(4 * n)
	el, a4 := measure(func() { f(4*n, ps) })
	t.Logf("%s: n=%d %d bytes, 4n=%d %d bytes in %v", name, n, a1, 4*n, a4, el)
	if a4 > 6*a1 {
		t.Errorf("%s: %d bytes at n=%d, %d at 4n: more than linear", name, a1, n, a4)
	}
	if el > limit {
		t.Errorf("%s: %v at n=%d, limit %v", name, el, 4*n, limit)
	}
}

// lowThresholds list every source of the adversarial patterns, so that
// the views that list them are exercised.
var lowThresholds = Thresholds{MinPorts: 3, MinHosts: 3, MinTargets: 3, MinStealthTargets: 3, MinRatePPS: 0.001}

// TestDecoyFloodLinear: thousands of sources sending the same probes
// (nmap -D RND:4000, a 0.8 MB capture) took 52 s and 561 MB when every
// member kept a list of every other; a group is now stored once and the
// answers name at most MaxGroupSources of it, with the total.
func TestDecoyFloodLinear(t *testing.T) {
	linear(t, "decoys", 2000, time.Second*race.Slowdown, decoyFlood, func(n int, ps []pcapng.Packet) {
		an := analyzePackets(ps, DefaultConfig())
		sus := an.Suspects(lowThresholds)
		if len(sus) != n {
			t.Fatalf("n=%d: %d suspects", n, len(sus))
		}
		for _, s := range sus {
			if len(s.DecoyPeers) != MaxGroupSources || s.DecoyPeersTotal != n-1 || !s.DecoyPeersTruncated {
				t.Fatalf("n=%d: %s has %d decoy peers listed of %d (truncated %v)", n, s.IP, len(s.DecoyPeers), s.DecoyPeersTotal, s.DecoyPeersTruncated)
			}
		}
		ov := an.Overview(lowThresholds, DefaultWindowS, 20)
		if len(ov.Decoys) != 1 || ov.DecoysTotal != 1 {
			t.Fatalf("n=%d: decoys %d of %d, want one group", n, len(ov.Decoys), ov.DecoysTotal)
		}
		g := ov.Decoys[0]
		if g.SourcesTotal != n || len(g.Sources) != MaxGroupSources || !g.SourcesTruncated || g.TargetsTotal != 1 ||
			g.Shared != decoyMinShared+1 || g.Sources[0] != addrN(0) {
			t.Fatalf("n=%d: group %+v", n, g)
		}
	})
}

// TestDistributedFloodLinear: five slow sources jointly probing 40,000
// hosts (an 11 MB capture) took 14.6 s, as each host's search read every
// member's probes of every host; each host's probes are now gathered in
// one pass. Every host is a distributed scan: the overview lists top_k of
// them, each naming its five sources.
func TestDistributedFloodLinear(t *testing.T) {
	linear(t, "distributed", 5000, 2*time.Second*race.Slowdown, distributedFlood, func(n int, ps []pcapng.Packet) {
		an := analyzePackets(ps, DefaultConfig())
		sus := an.Suspects(DefaultThresholds())
		if len(sus) != DistributedMinSources {
			t.Fatalf("n=%d: %d suspects, want %d", n, len(sus), DistributedMinSources)
		}
		for _, s := range sus {
			if s.Kind != "distributed" || s.DistributedTarget != addrN(0).String() {
				t.Fatalf("n=%d: %s kind %s target %s", n, s.IP, s.Kind, s.DistributedTarget)
			}
		}
		ov := an.Overview(DefaultThresholds(), DefaultWindowS, 20)
		if ov.DistributedTotal != n || len(ov.Distributed) != 20 {
			t.Fatalf("n=%d: %d distributed scans listed of %d", n, len(ov.Distributed), ov.DistributedTotal)
		}
		for _, g := range ov.Distributed {
			if g.SourcesTotal != DistributedMinSources || len(g.Sources) != DistributedMinSources || g.DistinctPorts != 10 || g.Probes != 10 {
				t.Fatalf("n=%d: group %+v", n, g)
			}
		}
		// Thresholds of the caller's own are judged anew: as cheap.
		if s, total, err := an.SuspectsTop(context.Background(), Thresholds{MinPorts: 8, MinHosts: 1 << 20, MinTargets: 1 << 20, MinStealthTargets: 1 << 20, MinRatePPS: 5}, 3); err != nil || total != DistributedMinSources || len(s) != 3 {
			t.Fatalf("n=%d: SuspectsTop = %d of %d, %v", n, len(s), total, err)
		}
	})
}

// TestEpisodeFloodCapped: a source that probes once per idle gap makes
// an episode per probe; scanner_detail lists the first MaxDetailEpisodes
// with the totals, so its answer stays small however many there are.
func TestEpisodeFloodCapped(t *testing.T) {
	var sizes []int
	for _, n := range []int{MaxDetailEpisodes / 2, 5000, 20000} {
		an := analyzePackets(episodeFlood(n), DefaultConfig())
		d := mustDetail(t, an, "203.0.113.5")
		want := min(n, MaxDetailEpisodes)
		if len(d.Episodes) != want || d.EpisodesTotal != n || d.EpisodesTruncated != (n > MaxDetailEpisodes) || d.EpisodesQualifying != 0 {
			t.Fatalf("n=%d: %d episodes listed of %d (truncated %v, qualifying %d)", n, len(d.Episodes), d.EpisodesTotal, d.EpisodesTruncated, d.EpisodesQualifying)
		}
		if d.Episodes[len(d.Episodes)-1].Start.NS != t0+int64(want-1)*(DefaultIdleGapNS+sec) {
			t.Fatalf("n=%d: last listed episode starts at %v", n, d.Episodes[len(d.Episodes)-1].Start)
		}
		b, _ := json.Marshal(d.Episodes)
		sizes = append(sizes, len(b))
	}
	if sizes[2] != sizes[1] {
		t.Errorf("episodes' JSON grows past the cap: %v bytes", sizes)
	}
}

// TestEpisodesQualifyingCounted: episodes past the cap are still judged
// and counted.
func TestEpisodesQualifyingCounted(t *testing.T) {
	var ps []pcapng.Packet
	src := netip.MustParseAddr("203.0.113.5")
	frame := uint64(0)
	for e := range MaxDetailEpisodes + 5 {
		for port := range 12 {
			frame++
			ps = append(ps, pcapng.Packet{Frame: frame, Timestamp: t0 + int64(e)*(DefaultIdleGapNS+sec) + int64(port)*sec/100,
				Precision: 6, Src: src, Dst: addrN(e), TTL: 64, WScale: 0xff, L3: pcapng.L3IPv4, Proto: protoTCP,
				L4: pcapng.L4TCP, SrcPort: 45000, DstPort: uint16(1 + port), TCPFlags: fS, Window: 1024})
		}
	}
	d := mustDetail(t, analyzePackets(ps, DefaultConfig()), src.String())
	if d.EpisodesTotal != MaxDetailEpisodes+5 || d.EpisodesQualifying != MaxDetailEpisodes+5 || !d.Episodes[0].Qualifies {
		t.Fatalf("episodes %d, qualifying %d, first qualifies %v", d.EpisodesTotal, d.EpisodesQualifying, d.Episodes[0].Qualifies)
	}
}

// bigAggregator is an aggregator fed a vertical scan of n ports on each
// of many hosts, for the cancellation tests: its Finish takes long
// enough to be cancelled midway.
func bigAggregator(targets int) *Aggregator {
	agg := NewAggregator(Config{Workers: 2})
	var p pcapng.Packet
	for i := range targets {
		p = pcapng.Packet{Frame: uint64(i + 1), Timestamp: t0 + int64(i)*1000, Precision: 6,
			Src: addrN(i % 5000), Dst: addrN(200000 + i/5000), TTL: 64, WScale: 0xff, L3: pcapng.L3IPv4, Proto: protoTCP,
			L4: pcapng.L4TCP, SrcPort: 45000, DstPort: uint16(1 + i%60000), TCPFlags: fS, Window: 1024}
		agg.Add(&p)
	}
	return agg
}

// TestFinishCancelled: Finish stops with the context's error soon after
// the context ends, whichever stage it is in.
func TestFinishCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if an, err := bigAggregator(200_000 / race.Scale).FinishContext(ctx); an != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("FinishContext on an ended context = %v, %v", an, err)
	}
	t.Logf("ended before Finish: returned in %v", time.Since(start))

	// Cancelled at points spread over a full Finish: each call returns
	// the error (or the analysis, if it ended first) within 100 ms.
	n := 400_000 / race.Scale
	agg := bigAggregator(n)
	el, _ := measure(func() { agg.Finish() })
	t.Logf("a whole Finish of %d targets takes %v", n, el)
	for _, frac := range []float64{0.2, 0.5, 0.8} {
		agg := bigAggregator(n)
		ctx, cancel := context.WithCancel(context.Background())
		var cancelled time.Time
		timer := time.AfterFunc(time.Duration(float64(el)*frac), func() { cancelled = time.Now(); cancel() })
		an, err := agg.FinishContext(ctx)
		end := time.Now()
		timer.Stop()
		cancel()
		if err == nil {
			if an == nil {
				t.Fatalf("at %.0f%%: nil analysis without error", frac*100)
			}
			continue // finished before the cancellation
		}
		if !errors.Is(err, context.Canceled) || an != nil {
			t.Fatalf("at %.0f%%: %v, %v", frac*100, an, err)
		}
		if lag := end.Sub(cancelled); lag > 100*time.Millisecond*race.Slowdown {
			t.Errorf("at %.0f%%: returned %v after the cancellation, want under %v", frac*100, lag, 100*time.Millisecond*race.Slowdown)
		}
	}
}

// TestJudgeCancelled: thresholds of the caller's own are judged anew,
// under the caller's context.
func TestJudgeCancelled(t *testing.T) {
	an := analyzePackets(distributedFlood(2000), DefaultConfig())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := an.SuspectsTop(ctx, lowThresholds, 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("SuspectsTop on an ended context: %v", err)
	}
	// The default thresholds were judged by Finish: no work, no error.
	if s, total, err := an.SuspectsTop(ctx, DefaultThresholds(), 10); err != nil || total != DistributedMinSources || len(s) != DistributedMinSources {
		t.Fatalf("default thresholds on an ended context: %d of %d, %v", len(s), total, err)
	}
}

// TestDetailPortListsCapped: a host that answers every port open, each
// then used, and a scan left mostly unanswered: scanner_detail's port
// lists stop at MaxDetailList and say so.
func TestDetailPortListsCapped(t *testing.T) {
	b := newBuilder(DefaultConfig())
	const n = MaxDetailList + 200
	for i := range n {
		ts := t0 + int64(i)*sec/100
		port := uint16(1 + i)
		b.tcp(ts, scanner, 45000, victim, port, fS, 0)
		b.tcp(ts+100, victim, port, scanner, 45000, fS|fA, 0)
		b.tcp(ts+200, scanner, 45000, victim, port, fR, 0)
		b.tcp(ts, scanner, 45000, "10.0.0.6", port, fS, 0) // unanswered
	}
	for i := range n {
		ts := t0 + 100*sec + int64(i)*sec/100
		port := uint16(1 + i)
		b.tcp(ts, scanner, 50000, victim, port, fS, 0)
		b.tcp(ts+100, victim, port, scanner, 50000, fS|fA, 0)
		b.tcp(ts+200, scanner, 50000, victim, port, fA, 0)
		b.tcp(ts+300, scanner, 50000, victim, port, fA|fP, 40)
	}
	d := mustDetail(t, b.agg.Finish(), scanner)
	if len(d.UsedPorts) != MaxDetailList || !d.UsedPortsTruncated || len(d.UnansweredPorts) != MaxDetailList || !d.UnansweredPortsTruncated ||
		len(d.OpenPorts) != MaxDetailList || !d.OpenPortsTruncated || d.Outcomes.Open != n || d.Outcomes.Unanswered != n {
		t.Errorf("used %d (%v), unanswered %d (%v), open %d (%v) of %d/%d",
			len(d.UsedPorts), d.UsedPortsTruncated, len(d.UnansweredPorts), d.UnansweredPortsTruncated,
			len(d.OpenPorts), d.OpenPortsTruncated, d.Outcomes.Open, d.Outcomes.Unanswered)
	}
}
