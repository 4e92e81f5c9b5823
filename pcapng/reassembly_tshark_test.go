package pcapng

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestReassemblyTshark compares, frame by frame, the TCP and UDP headers
// this package's Decode and Reassembler hand on with those tshark shows
// with IP reassembly on (a reader nobody here wrote): the frame each
// datagram is shown in, its ports and its TCP flags. The captures are the
// fragmented lab scans (fixtures/lab/frag), the corpus captures with
// fragments, and a file of hand-built sequences (in order, reverse,
// scattered, duplicated, overlapping with equal bytes, IPv6 with
// destination options, UDP, ICMP quoting TCP). Overlaps with different
// bytes are left out: there the two differ by design (the first bytes to
// arrive win here; Wireshark keeps the lower offset's, see
// TestReassemblyTsharkConflict). tshark's output is cached in
// testdata/tshark; -update runs it again.
func TestReassemblyTshark(t *testing.T) {
	files, _ := filepath.Glob("../fixtures/lab/frag/*.pcap*")
	if _, err := os.Stat(corpusDir); err == nil {
		for _, c := range []string{"zk-ipv4__fragmented-syn.pcap", "pp-ip4_fragments.pcap", "pp-ipv6_opt_fragments.pcap"} {
			files = append(files, filepath.Join(corpusDir, c))
		}
	} else {
		t.Log("corpus: ../shared/corpus absent: its fragmented captures are left out")
	}
	hand := filepath.Join(t.TempDir(), "hand-built.pcap")
	if err := os.WriteFile(hand, handBuiltFragments(), 0o644); err != nil {
		t.Fatal(err)
	}
	files = append(files, hand)
	for _, path := range files {
		if strings.HasSuffix(path, ".json") {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			want := tsharkL4(t, path)
			got, frags := ourL4(t, path)
			if frags == 0 {
				t.Fatal("no fragments in the capture")
			}
			if !slices.Equal(got, want) {
				t.Errorf("transport headers differ from tshark's\nours:\n%s\ntshark:\n%s", diffLines(got, want), diffLines(want, got))
			}
			t.Logf("%d fragments; %d TCP/UDP headers agree with tshark", frags, len(got))
		})
	}
}

// TestReassemblyTsharkConflict pins the one documented difference: when
// a later fragment rewrites the TCP flags of an earlier one, the first
// bytes to arrive win here, whereas Wireshark keeps the bytes of the
// fragment with the lower offset whatever the order. Both agree when the
// lower offset came first.
func TestReassemblyTsharkConflict(t *testing.T) {
	syn := synSegment(80)
	fin := synSegment(80)
	fin[13] = byte(TCPFlagFIN)
	recs := []testRec{
		{sec: 1773480413, frac: 1, data: ip4(3, 6, syn, 0, 16, true)}, // SYN at offset 0 first
		{sec: 1773480413, frac: 2, data: ip4(3, 6, fin, 8, 16, false)},
		{sec: 1773480413, frac: 3, data: ip4(4, 6, fin, 8, 16, false)}, // FIN at offset 8 first
		{sec: 1773480413, frac: 4, data: ip4(4, 6, syn, 0, 16, true)},
	}
	path := filepath.Join(t.TempDir(), "conflict.pcap")
	if err := os.WriteFile(path, pcapFile(le, pcapMagicMicro, uint32(LinkRaw), recs...), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{"2 tcp 33333 80 0x002", "4 tcp 33333 80 0x002"}
	if got := tsharkL4(t, path); !slices.Equal(got, want) {
		t.Errorf("tshark %q, want %q (lower offset wins)", got, want)
	}
	want = []string{"2 tcp 33333 80 0x002", "4 tcp 33333 80 0x001"}
	if got, _ := ourL4(t, path); !slices.Equal(got, want) {
		t.Errorf("ours %q, want %q (first arrival wins)", got, want)
	}
}

// handBuiltFragments is a raw-IP pcap of fragment sequences both readers
// must rebuild alike.
func handBuiltFragments() []byte {
	syn := synSegment(80)
	udp := udpDatagram(53, 200)
	icmp := append([]byte{3, 3, 0, 0, 0, 0, 0, 0}, whole4(0x77, 6, synSegment(443))[:28]...)
	dest := append([]byte{6, 0, 1, 4, 0, 0, 0, 0}, synSegment(22)...)
	var pkts [][]byte
	pkts = append(pkts, frags4(1, 6, syn, cut{0, 8}, cut{8, 8}, cut{16, 8})...)
	pkts = append(pkts, ip4(2, 6, syn, 16, 8, false), ip4(2, 6, syn, 8, 8, true), ip4(2, 6, syn, 0, 8, true))
	pkts = append(pkts, ip4(3, 6, syn, 8, 8, true), ip4(3, 6, syn, 16, 8, false), ip4(3, 6, syn, 0, 8, true))
	pkts = append(pkts, ip4(4, 6, syn, 0, 8, true), ip4(4, 6, syn, 0, 8, true), ip4(4, 6, syn, 8, 16, false))
	pkts = append(pkts, ip4(5, 6, syn, 0, 16, true), ip4(5, 6, syn, 8, 16, false))
	pkts = append(pkts, whole4(6, 6, synSegment(443)))
	pkts = append(pkts, frags4(7, 17, udp, cut{0, 80}, cut{80, 80}, cut{160, 48})...)
	pkts = append(pkts, frags4(8, 1, icmp, cut{0, 16}, cut{16, 20})...)
	pkts = append(pkts, ip6(9, 6, syn, 0, 8, true), ip6(9, 6, syn, 8, 8, true), ip6(9, 6, syn, 16, 8, false))
	pkts = append(pkts, ip6(10, ip6ExtDestOpts, dest, 16, 16, false), ip6(10, ip6ExtDestOpts, dest, 0, 16, true))
	var recs []testRec
	for i, d := range pkts {
		recs = append(recs, testRec{sec: 1773480413, frac: uint32(i) * 1000, data: d})
	}
	return pcapFile(le, pcapMagicMicro, uint32(LinkRaw), recs...)
}

// tsharkL4 lists, per frame, the outer TCP or UDP header tshark decodes
// with reassembly on: "frame tcp sport dport flags" or "frame udp sport
// dport". Headers quoted in ICMP errors are left out. tshark's output is
// cached in testdata/tshark/<capture>.l4 (cachedTshark).
func tsharkL4(t *testing.T, path string) []string {
	t.Helper()
	out := cachedTshark(t, filepath.Base(path)+".l4", path, "-r", "<path>", "-o", "ip.defragment:TRUE", "-o", "ipv6.defragment:TRUE",
		"-Y", "(tcp || udp) && !icmp && !icmpv6", "-T", "fields", "-E", "separator=|", "-E", "occurrence=l",
		"-e", "frame.number", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.flags",
		"-e", "udp.srcport", "-e", "udp.dstport")
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "|")
		if f[1] != "" {
			flags, err := strconv.ParseUint(strings.TrimPrefix(f[3], "0x"), 16, 16)
			if err != nil {
				t.Fatalf("tshark flags %q: %v", f[3], err)
			}
			lines = append(lines, fmt.Sprintf("%s tcp %s %s 0x%03x", f[0], f[1], f[2], flags))
		} else if f[4] != "4789" && f[5] != "4789" {
			// occurrence=l gives the innermost header; a VXLAN packet whose
			// inner packet is a fragment still held has only the tunnel's
			// own UDP header, which is not a probe's (Decode gives the
			// inner packet, without a transport header until it is whole).
			lines = append(lines, fmt.Sprintf("%s udp %s %s", f[0], f[4], f[5]))
		}
	}
	return lines
}

// ourL4 is tsharkL4 made by Decode and a Reassembler; frags counts the
// fragments read.
func ourL4(t *testing.T, path string) (lines []string, frags int) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	r := NewReassembler(DefaultReassemblyLimits())
	var p Packet
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		Decode(rec, &p)
		if p.Frag != FragNone {
			frags++
		}
		r.Add(rec, &p)
		switch p.L4 {
		case L4TCP:
			lines = append(lines, fmt.Sprintf("%d tcp %d %d 0x%03x", p.Frame, p.SrcPort, p.DstPort, uint16(p.TCPReserved)<<9|p.TCPFlags))
		case L4UDP:
			if p.SrcPort == PortVXLAN || p.DstPort == PortVXLAN {
				continue // a tunnel's own header, left out of tshark's lines too
			}
			lines = append(lines, fmt.Sprintf("%d udp %d %d", p.Frame, p.SrcPort, p.DstPort))
		}
	}
	return lines, frags
}

// diffLines lists the lines of a that b lacks, at most 20.
func diffLines(a, b []string) string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, "  "+x)
		}
		if len(out) == 20 {
			break
		}
	}
	return strings.Join(out, "\n")
}
