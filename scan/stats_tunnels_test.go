package scan

import (
	"encoding/json"
	"net/netip"
	"testing"

	"porthunter/pcapng"
)

// TestTunnelStats counts hand-made decoded packets: layers by kind, the
// depth limit, SCTP, and the endpoint list's cap, total and bound.
func TestTunnelStats(t *testing.T) {
	b := newBuilder(DefaultConfig())
	var st CaptureStats
	tun := func(src, dst string, kinds ...pcapng.TunnelKind) *pcapng.Packet {
		p := b.tcp(t0, "10.0.0.1", 40000, "10.0.0.2", 80, fS, 0)
		p.TunnelDepth = uint8(len(kinds))
		for i, k := range kinds {
			p.TunnelKinds |= uint32(k) << (8 * i)
		}
		p.OuterSrc, p.OuterDst = netip.MustParseAddr(src), netip.MustParseAddr(dst)
		return p
	}
	st.countDecoded(b.tcp(t0, "10.0.0.1", 40000, "10.0.0.2", 80, fS, 0))
	if st.Tunnels != nil || st.SCTP != 0 {
		t.Fatalf("a plain packet counted: %+v", st)
	}
	for range 3 {
		st.countDecoded(tun("192.0.2.1", "192.0.2.2", pcapng.TunnelVXLAN))
	}
	st.countDecoded(tun("192.0.2.2", "192.0.2.1", pcapng.TunnelVXLAN))
	st.countDecoded(tun("2001:db8::1", "2001:db8::2", pcapng.TunnelGRE, pcapng.TunnelVXLAN, pcapng.TunnelGTPU))
	deep := tun("192.0.2.1", "192.0.2.2", pcapng.TunnelIPIP, pcapng.TunnelIPIP, pcapng.TunnelIPIP, pcapng.TunnelIPIP)
	deep.Anomalies |= pcapng.AnomalyTunnelDepth
	st.countDecoded(deep)
	sctp := b.base(t0, "10.0.0.1", "10.0.0.2")
	sctp.L4 = pcapng.L4SCTP
	st.countDecoded(&sctp)
	want := TunnelStats{Packets: 6, VXLAN: 5, GRE: 1, GTPU: 1, IPIP: 4, DepthExceeded: 1, EndpointsTotal: 4,
		Endpoints: []TunnelEndpoint{
			{"vxlan", netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), 3},
			{"vxlan", netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.1"), 1},
			{"gre", netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2"), 1},
			{"ipip", netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), 1},
		}}
	got := *st.Tunnels
	got.seen, got.last, got.lastIdx = nil, tunnelKey{}, 0
	if st.SCTP != 1 || !tunnelStatsEqual(got, want) {
		t.Errorf("counted\n %+v (sctp %d)\nwant\n %+v", got, st.SCTP, want)
	}

	// Past the list's cap the endpoints are counted, not listed; past the
	// count's bound their packets are counted apart.
	st = CaptureStats{}
	for i := range maxTunnelEndpointsCounted + 10 {
		src := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}).String()
		st.countDecoded(tun(src, "192.0.2.9", pcapng.TunnelGENEVE))
		st.countDecoded(tun(src, "192.0.2.9", pcapng.TunnelGENEVE))
	}
	ts := st.Tunnels
	if len(ts.Endpoints) != maxTunnelEndpointsListed || !ts.EndpointsTruncated || ts.EndpointsTotal != maxTunnelEndpointsCounted ||
		ts.EndpointsUncountedPackets != 20 || ts.Endpoints[0].Packets != 2 || ts.Packets != 2*(maxTunnelEndpointsCounted+10) {
		t.Errorf("listed %d (truncated %v), total %d, uncounted %d, first %+v", len(ts.Endpoints), ts.EndpointsTruncated,
			ts.EndpointsTotal, ts.EndpointsUncountedPackets, ts.Endpoints[0])
	}
	// Steady state: a known endpoint costs no allocation.
	p := tun("198.18.0.1", "192.0.2.9", pcapng.TunnelGENEVE)
	q := tun("198.18.0.2", "192.0.2.9", pcapng.TunnelGENEVE)
	if n := testing.AllocsPerRun(100, func() { st.countDecoded(p); st.countDecoded(q) }); n != 0 {
		t.Errorf("counting tunnelled packets allocates %v times", n)
	}
}

func tunnelStatsEqual(a, b TunnelStats) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
