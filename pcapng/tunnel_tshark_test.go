package pcapng

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// tsharkFields are what TestTunnelsTshark asks tshark for, every
// occurrence of each, outermost first.
var tsharkFields = []string{"frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
	"tcp.srcport", "tcp.dstport", "tcp.flags", "udp.srcport", "udp.dstport",
	"sctp.srcport", "sctp.dstport", "sctp.verification_tag", "sctp.chunk_type", "sctp.chunk_flags", "erspan.version",
	"gre.flags_and_version", "gre.proto"}

// TestTunnelsTshark has tshark, a decoder nobody here wrote, decode the
// tunnel cases: the tunnels it names (from its protocol stack), the
// outermost and the carried addresses, and the carried ports, TCP flags
// and SCTP fields must be Decode's. Cases where Wireshark decodes
// differently on purpose say why (tunnelCase.differs) and are skipped.
// tshark's answer is cached (cachedTshark: testdata/tshark/
// tunnels.pcap.fields, made under -update).
func TestTunnelsTshark(t *testing.T) {
	cases := tunnelCases()
	recs := make([]testRec, len(cases))
	for i, c := range cases {
		recs[i] = testRec{sec: uint32(1 + i), data: h(t, c.data)}
	}
	path := filepath.Join(t.TempDir(), "tunnels.pcap")
	if err := os.WriteFile(path, pcapFile(le, pcapMagicMicro, uint32(LinkEthernet), recs...), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-n", "-r", "<path>", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"}
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	out := cachedTshark(t, "tunnels.pcap.fields", path, args...)
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("tshark printed %d lines for %d packets", len(lines), len(cases))
	}
	checked := 0
	for i, c := range cases {
		if c.differs != "" {
			continue
		}
		checked++
		t.Run(c.name, func(t *testing.T) {
			cols := strings.Split(lines[i], "\t")
			field := map[string][]string{}
			for j, f := range tsharkFields {
				if j < len(cols) && cols[j] != "" {
					field[f] = strings.Split(cols[j], ",")
				}
			}
			rec := record(LinkEthernet, recs[i].data, 0)
			var p Packet
			Decode(&rec, &p)
			compareTshark(t, &p, field)
		})
	}
	t.Logf("%d of %d tunnel cases agree with tshark", checked, len(cases))
}

// tsharkNet is one network layer of tshark's protocol stack: its version
// and which occurrence of ip.* or ipv6.* fields it holds.
type tsharkNet struct {
	v6 bool
	n  int
}

// compareTshark compares p with tshark's fields of the same packet.
func compareTshark(t *testing.T, p *Packet, field map[string][]string) {
	t.Helper()
	protos := field["frame.protocols"]
	if len(protos) != 1 {
		t.Fatalf("frame.protocols %v", protos)
	}
	stack := strings.Split(protos[0], ":")
	nets, kinds := tsharkLayers(t, stack, field)
	if p.Anomalies&AnomalyTunnelDepth != 0 {
		// tshark has no depth limit: it names more tunnels than Decode
		// enters; the ones Decode entered must be its first ones.
		if len(kinds) <= MaxTunnelDepth {
			t.Fatalf("tshark names %d tunnels, Decode stopped at %d", len(kinds), p.TunnelDepth)
		}
		kinds, nets = kinds[:MaxTunnelDepth], nets[:MaxTunnelDepth+1]
	}
	var got []TunnelKind
	for i := range int(p.TunnelDepth) {
		got = append(got, p.TunnelLayer(i))
	}
	if !slices.Equal(got, kinds) {
		t.Fatalf("Decode entered %v, tshark %v (%s)", got, kinds, protos[0])
	}
	addr := func(n tsharkNet, which string) netip.Addr {
		name := "ip." + which
		if n.v6 {
			name = "ipv6." + which
		}
		vals := field[name]
		if n.n >= len(vals) {
			t.Fatalf("tshark has no %s #%d", name, n.n)
		}
		return netip.MustParseAddr(vals[n.n])
	}
	if len(nets) == 0 {
		t.Fatalf("tshark found no network layer in %s", protos[0])
	}
	inner := nets[len(nets)-1]
	if src, dst := addr(inner, "src"), addr(inner, "dst"); p.Src != src || p.Dst != dst {
		t.Errorf("Decode %v > %v, tshark %v > %v", p.Src, p.Dst, src, dst)
	}
	if p.TunnelDepth > 0 {
		if src, dst := addr(nets[0], "src"), addr(nets[0], "dst"); p.OuterSrc != src || p.OuterDst != dst {
			t.Errorf("Decode outer %v > %v, tshark %v > %v", p.OuterSrc, p.OuterDst, src, dst)
		}
	}
	last := func(name string) uint64 {
		vals := field[name]
		if len(vals) == 0 {
			t.Fatalf("tshark has no %s", name)
		}
		v, err := strconv.ParseUint(vals[len(vals)-1], 0, 64)
		if err != nil {
			t.Fatalf("%s = %q", name, vals[len(vals)-1])
		}
		return v
	}
	switch p.L4 {
	case L4TCP:
		if p.SrcPort != uint16(last("tcp.srcport")) || p.DstPort != uint16(last("tcp.dstport")) ||
			p.TCPFlags != uint16(last("tcp.flags")) {
			t.Errorf("Decode TCP %d > %d %#x, tshark %v > %v %v", p.SrcPort, p.DstPort, p.TCPFlags,
				field["tcp.srcport"], field["tcp.dstport"], field["tcp.flags"])
		}
	case L4UDP:
		if p.SrcPort != uint16(last("udp.srcport")) || p.DstPort != uint16(last("udp.dstport")) {
			t.Errorf("Decode UDP %d > %d, tshark %v > %v", p.SrcPort, p.DstPort, field["udp.srcport"], field["udp.dstport"])
		}
	case L4SCTP:
		if p.SrcPort != uint16(last("sctp.srcport")) || p.DstPort != uint16(last("sctp.dstport")) ||
			p.SCTPVTag != uint32(last("sctp.verification_tag")) {
			t.Errorf("Decode SCTP %d > %d tag %#x, tshark %v", p.SrcPort, p.DstPort, p.SCTPVTag, field)
		}
		if len(field["sctp.chunk_type"]) > 0 && (p.SCTPChunk != uint8(last("sctp.chunk_type")) ||
			p.SCTPChunkFlags != uint8(last("sctp.chunk_flags"))) {
			t.Errorf("Decode SCTP chunk %d flags %#x, tshark %v %v", p.SCTPChunk, p.SCTPChunkFlags,
				field["sctp.chunk_type"], field["sctp.chunk_flags"])
		}
	}
}

// tsharkLayers reads tshark's protocol stack: its network layers in
// order, and the tunnels it decoded that carry a network layer (a tunnel
// that tshark decodes to ARP or raw data carries nothing Decode enters).
// An ERSPAN layer is typed by its version field (none: type I) and
// replaces the GRE layer before it; tshark 4.0 has no NVGRE dissector, so
// GRE carrying Ethernet (0x6558) with only the K flag is NVGRE, the
// layout RFC 7637 §3.2 defines; IP directly inside IP is IP-in-IP of the
// pair's versions.
func tsharkLayers(t *testing.T, stack []string, field map[string][]string) ([]tsharkNet, []TunnelKind) {
	t.Helper()
	var (
		nets   []tsharkNet
		kinds  []TunnelKind
		counts [2]int
		ev, gi int
	)
	erspanVersions := field["erspan.version"]
	nth := func(name string, i int) uint64 {
		vals := field[name]
		if i >= len(vals) {
			t.Fatalf("tshark has no %s #%d", name, i)
		}
		v, err := strconv.ParseUint(vals[i], 0, 64)
		if err != nil {
			t.Fatalf("%s = %q", name, vals[i])
		}
		return v
	}
	pending := TunnelNone
	for i, proto := range stack {
		prev := ""
		if i > 0 {
			prev = stack[i-1]
		}
		switch proto {
		case "ip", "ipv6":
			v6 := proto == "ipv6"
			nets = append(nets, tsharkNet{v6, counts[b2i(v6)]})
			counts[b2i(v6)]++
			if prev == "ip" || prev == "ipv6" {
				pending = map[[2]bool]TunnelKind{{false, false}: TunnelIPIP, {false, true}: Tunnel6in4,
					{true, false}: Tunnel4in6, {true, true}: Tunnel6in6}[[2]bool{prev == "ipv6", v6}]
			}
			if pending != TunnelNone {
				kinds = append(kinds, pending)
				pending = TunnelNone
			}
		case "vxlan":
			pending = TunnelVXLAN
		case "geneve":
			pending = TunnelGENEVE
		case "teredo":
			pending = TunnelTeredo
		case "gtp":
			pending = TunnelGTPU
		case "gre":
			pending = TunnelGRE
			if flags, proto := nth("gre.flags_and_version", gi), nth("gre.proto", gi); proto == uint64(EtherTypeTEB) && flags&0xb000 == 0x2000 {
				pending = TunnelNVGRE // RFC 7637 §3.2: K set, C and S clear
			}
			gi++
		case "erspan":
			switch {
			case ev < len(erspanVersions) && erspanVersions[ev] == "1":
				pending = TunnelERSPAN2
			case ev < len(erspanVersions) && erspanVersions[ev] == "2":
				pending = TunnelERSPAN3
			default:
				pending = TunnelERSPAN1
			}
			if ev < len(erspanVersions) {
				ev++
			}
		case "icmp", "icmpv6":
			// What follows is the quoted datagram, not a carried one.
			return nets, kinds
		}
	}
	return nets, kinds
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
