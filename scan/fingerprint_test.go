package scan

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"

	"porthunter/pcapng"
)

// TestToolFingerprints builds SYN probes with each tool's field
// relationships (DETECTION.md §5) and checks the guess.
func TestToolFingerprints(t *testing.T) {
	type probe func(i int, p *pcapng.Packet)
	dst32 := func(p *pcapng.Packet) uint32 { a := p.Dst.As4(); return binary.BigEndian.Uint32(a[:]) }
	tests := []struct {
		name  string
		flags uint16
		set   probe
		want  string
	}{
		{"masscan", fS, func(i int, p *pcapng.Packet) {
			p.TTL, p.Window, p.Seq = 255, 1024, uint32(i*7919+12345)
			p.IPID = (dst32(p) ^ uint32(p.DstPort) ^ p.Seq) & 0xffff
		}, "masscan"},
		{"mirai", fS, func(i int, p *pcapng.Packet) {
			p.TTL, p.Window, p.SrcPort, p.IPID = 64, 5432, 40001, uint32(i*31)
			p.Seq = dst32(p)
		}, "mirai"},
		{"zmap", fS, func(i int, p *pcapng.Packet) {
			p.TTL, p.Window, p.IPID, p.Seq = 255, 65535, 54321, uint32(i*104729)
		}, "zmap"},
		{"nmap", fS, func(i int, p *pcapng.Packet) {
			p.TTL, p.Window, p.Seq, p.SrcPort, p.IPID = uint8(40+i%15), 1024, 0xdeadbeef, 51234, uint32(i*17)
			p.OptCount, p.OptKinds, p.MSS = 1, 2, 1460
		}, "nmap"},
		{"unicornscan", fS, func(i int, p *pcapng.Packet) {
			p.TTL, p.Window, p.SrcPort, p.IPID = 255, 4128, 33000, uint32(i*13)
			p.Seq = 0x5a5a5a5a ^ dst32(p) ^ (uint32(p.DstPort)<<16 + uint32(p.SrcPort))
		}, "unicornscan"},
		{"hping3", 0, func(i int, p *pcapng.Packet) {
			p.TTL, p.Window, p.SrcPort, p.Ack, p.Seq, p.IPID = 64, 512, uint16(2000+i), uint32(i*7777+1), uint32(i*3331), uint32(i*3)
		}, "hping3"},
		{"linux stack", fS, func(i int, p *pcapng.Packet) {
			p.TTL, p.Window, p.SrcPort, p.Seq, p.IPID, p.DF = 64, 64240, uint16(40000+2*i), uint32(i*7654321), uint32(i*99), true
			p.OptCount, p.OptKinds, p.MSS = 5, 0x03_01_08_04_02, 1460
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(DefaultConfig())
			for i := range 20 {
				p := b.base(t0+int64(i)*sec/100, scanner, fmt.Sprintf("10.3.%d.%d", i/7, 1+i*11%250))
				p.Proto, p.L4 = protoTCP, pcapng.L4TCP
				p.SrcPort, p.DstPort, p.TCPFlags = 45000, uint16(23+i%3), tc.flags
				tc.set(i, &p)
				b.agg.Add(&p)
			}
			d := mustDetail(t, b.agg.Finish(), scanner)
			got := ""
			if d.Tool != nil {
				got = d.Tool.Name
			}
			if got != tc.want {
				t.Errorf("tool = %+v, want %q", d.Tool, tc.want)
			}
		})
	}
}

// TestFixtureTools checks the tools fixtures/README.md says each capture
// imitates.
func TestFixtureTools(t *testing.T) {
	tests := []struct{ file, ip, want string }{
		{"demo.pcapng", "203.0.113.66", "nmap"},
		{"horizontal.pcap", "192.0.2.200", "masscan"},
		{"stealth.pcap", "198.51.100.7", "nmap"},
		{"ipv6_scan.pcapng", "2001:db8:bad::66", "nmap"},
		{"connect_scan.pcap", "203.0.113.77", ""}, // the OS's own SYNs
	}
	for _, tc := range tests {
		an := analyzeFile(t, filepath.Join(fixtureDir, tc.file), DefaultConfig())
		d, ok := an.Detail(netip.MustParseAddr(tc.ip))
		if !ok {
			t.Fatalf("%s: no detail for %s", tc.file, tc.ip)
		}
		got := ""
		if d.Tool != nil {
			got = d.Tool.Name
		}
		if got != tc.want {
			t.Errorf("%s: tool = %+v, want %q", tc.file, d.Tool, tc.want)
		}
	}
}
