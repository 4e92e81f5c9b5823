package mcp

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"

	"porthunter/pcapng"
)

// ipv4TCP is a raw IPv4 packet carrying a 20-byte TCP header (checksums
// left zero: the reader does not need them).
func ipv4TCP(src, dst netip.Addr, sport, dport uint16, flags uint8) []byte {
	b := make([]byte, 40)
	b[0], b[8], b[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(b[2:], 40)
	s, d := src.As4(), dst.As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	binary.BigEndian.PutUint16(b[20:], sport)
	binary.BigEndian.PutUint16(b[22:], dport)
	b[32], b[33] = 5<<4, flags
	binary.BigEndian.PutUint16(b[34:], 1024)
	return b
}

// floodThenScanPcap writes a flood of n spoofed SYN senders on a victim,
// then three scanners probing 40 of its ports (answered by RST/ACK), as
// dir/flood.pcap.
func floodThenScanPcap(t *testing.T, dir string, n int) string {
	const syn, rstAck = 0x02, 0x14
	victim := netip.MustParseAddr("10.0.0.5")
	var recs []pcapng.Record
	ts := int64(1_700_000_000) * 1e9
	add := func(data []byte) {
		recs = append(recs, pcapng.Record{LinkType: pcapng.LinkIPv4, Timestamp: ts, Precision: 6, Data: data, OrigLen: len(data)})
		ts += 1000
	}
	for i := range n {
		add(ipv4TCP(netip.AddrFrom4([4]byte{100, 64, byte(i >> 8), byte(i)}), victim, 40000, 80, syn))
	}
	for k := range 3 {
		src := netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + k)})
		for port := range uint16(40) {
			ts += 10_000_000
			add(ipv4TCP(src, victim, 45000, 1+port, syn))
			add(ipv4TCP(victim, src, 1+port, 45000, rstAck))
		}
	}
	path := filepath.Join(dir, "flood.pcap")
	writeCapture(t, path, recs)
	return path
}

// TestHeaviestSourcesReread: a flood of 20000 spoofed senders spends the
// smallest budget (16 MiB) before three scanners start. The server reads the capture
// a second time tracking the heaviest senders and lists the scanners as
// an unlimited budget does, saying so in the capture report.
func TestHeaviestSourcesReread(t *testing.T) {
	dir := t.TempDir()
	floodThenScanPcap(t, dir, 20000)

	answers := func(env map[string]string) (suspects []byte, stats map[string]any) {
		s := startSession(t, testConfig(t, dir, env))
		defer s.close()
		sus, _ := toolCall(t, s, 1, "list_suspects", map[string]any{"auth_token": "tok", "path": "flood.pcap"})
		ov, _ := toolCall(t, s, 2, "scan_overview", map[string]any{"auth_token": "tok", "path": "flood.pcap"})
		j, _ := json.Marshal(sus["suspects"])
		return j, ov["overview"].(map[string]any)["capture"].(map[string]any)["stats"].(map[string]any)
	}
	want, full := answers(nil)
	got, small := answers(map[string]string{"PORT_HUNTER_MEMORY_MB": "16"})
	if full["limit_hit"] != false || full["heaviest_sources"] != false {
		t.Fatalf("default budget: %v", full)
	}
	if small["limit_hit"] != true || small["heaviest_sources"] != true {
		t.Errorf("16 MiB budget: stats %v; want limit_hit and heaviest_sources", small)
	}
	if d := small["dropped_sources"].(float64); d < 5000 || d > 20001 {
		t.Errorf("16 MiB budget: dropped_sources %v, want most of the 20000 flood senders", d)
	}
	if string(got) != string(want) {
		t.Errorf("16 MiB budget lists\n%s\nwant (default budget)\n%s", got, want)
	}
	var list []map[string]any
	_ = json.Unmarshal(want, &list)
	if len(list) != 3 {
		t.Fatalf("default budget: %d suspects, want the 3 scanners", len(list))
	}
	for k, s := range list {
		if ip := fmt.Sprintf("198.51.100.%d", 10+k); s["ip"] != ip {
			t.Errorf("suspect %d is %v, want %s", k, s["ip"], ip)
		}
	}
}
