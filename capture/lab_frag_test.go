package capture

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"porthunter/pcapng"
	"porthunter/scan"
)

// fragLabels is what fixtures/lab/record_frag.sh writes beside each
// capture: what was run, and tshark's count of fragments and reassembled
// datagrams and its first probe, reassembly on.
type fragLabels struct {
	File         string   `json:"file"`
	Scanner      string   `json:"scanner"`
	Technique    string   `json:"technique"`
	Kind         string   `json:"kind"`
	Targets      []string `json:"targets"`
	PortsScanned int      `json:"ports_scanned"`
	AnsweredOpen []int    `json:"answered_open"`
	Benign       []string `json:"benign"`
	Packets      uint64   `json:"packets"`
	Fragments    uint64   `json:"fragments"`
	Reassembled  uint64   `json:"reassembled"`
	FirstProbe   struct {
		Frame uint64 `json:"frame"`
		TS    string `json:"ts"`
		Dst   string `json:"dst"`
		Port  uint16 `json:"port"`
		Flags string `json:"flags"`
	} `json:"first_probe"`
}

// TestLabFragmented reads the fragmented scans recorded in network
// namespaces (nmap -f, nmap --mtu 16, nmap -f -sF, an IPv6 SYN scan in
// 8-byte fragments) through the product's reading path and checks them
// against their labels: the scanner is listed with the technique it ran
// (a SYN scan is not a NULL scan because its flags travel in the second
// fragment), the labelled ports and targets, the open ports that
// answered, every probe reported as fragmented and tiny on the source,
// the first event at the frame and time tshark shows the first probe
// reassembled, and the fragment counts tshark makes.
func TestLabFragmented(t *testing.T) {
	labels, _ := filepath.Glob("../fixtures/lab/frag/*.labels.json")
	if len(labels) < 4 {
		t.Fatalf("%d fragmented lab captures, want 4 (fixtures/lab/record_frag.sh)", len(labels))
	}
	var table []string
	for _, lf := range labels {
		b, err := os.ReadFile(lf)
		if err != nil {
			t.Fatal(err)
		}
		var l fragLabels
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatalf("%s: %v", lf, err)
		}
		t.Run(l.File, func(t *testing.T) {
			res := readLab(t, filepath.Join("../fixtures/lab/frag", l.File))
			an, st := res.Analysis, res.Report.Stats
			sus := an.Suspects(scan.DefaultThresholds())
			if len(sus) != 1 || sus[0].IP != netip.MustParseAddr(l.Scanner) {
				t.Fatalf("suspects %v, want only %s", sus, l.Scanner)
			}
			s := sus[0]
			row := fmt.Sprintf("%-22s %-8s techniques=%v kind=%s ports=%d hosts=%d open=%v fragmented=%d evasion=%d tool=%v",
				l.File, l.Technique, s.Techniques, s.Kind, s.DistinctPorts, s.DistinctHosts, s.OpenPorts,
				s.FragmentedProbes, s.FragmentEvasion, s.Tool != nil && s.Tool.Name == "nmap")
			table = append(table, row)
			if !slices.Contains(s.Techniques, l.Technique) || slices.Contains(s.Techniques, "null_scan") {
				t.Errorf("techniques %v, label %s (and never null_scan)", s.Techniques, l.Technique)
			}
			if s.Kind != l.Kind || s.DistinctPorts != l.PortsScanned || s.DistinctHosts != len(l.Targets) {
				t.Errorf("kind %s ports %d hosts %d, label %s %d %d", s.Kind, s.DistinctPorts, s.DistinctHosts, l.Kind, l.PortsScanned, len(l.Targets))
			}
			if !slices.Equal(s.OpenPorts, l.AnsweredOpen) && !(len(s.OpenPorts) == 0 && len(l.AnsweredOpen) == 0) {
				t.Errorf("open ports %v, label %v", s.OpenPorts, l.AnsweredOpen)
			}
			// Every probe went in fragments whose first was too short for
			// the TCP header.
			if s.FragmentedProbes != s.Probes || s.FragmentEvasion != s.Probes {
				t.Errorf("fragmented_probes %d fragment_evasion %d, want %d each", s.FragmentedProbes, s.FragmentEvasion, s.Probes)
			}
			for _, target := range l.Targets {
				d, ok := an.Detail(netip.MustParseAddr(target))
				if ok && d.Suspect {
					t.Errorf("target %s listed", target)
				}
			}
			fe := an.FirstEvent(scan.DefaultThresholds())
			if fe == nil {
				t.Fatal("no first event")
			}
			ts, _ := json.Marshal(fe.TS)
			if fe.Frame != l.FirstProbe.Frame || string(ts) != `"`+l.FirstProbe.TS+`"` || fe.Dst.String() != l.FirstProbe.Dst ||
				fe.Port != l.FirstProbe.Port || fe.Flags == nil || *fe.Flags != l.FirstProbe.Flags {
				t.Errorf("first event frame %d %s %s:%d flags %v, tshark (reassembled) frame %d %s %s:%d %s",
					fe.Frame, ts, fe.Dst, fe.Port, fe.Flags, l.FirstProbe.Frame, l.FirstProbe.TS, l.FirstProbe.Dst, l.FirstProbe.Port, l.FirstProbe.Flags)
			}
			if st.TotalPackets != l.Packets || st.Fragments != l.Fragments || st.DatagramsReassembled != l.Reassembled ||
				st.ReassemblyStats.Reassembled != l.Fragments {
				t.Errorf("stats: %d packets, %d fragments, %d of them in %d datagrams; tshark: %d, %d, all in %d",
					st.TotalPackets, st.Fragments, st.ReassemblyStats.Reassembled, st.DatagramsReassembled, l.Packets, l.Fragments, l.Reassembled)
			}
			if st.Tiny != l.Reassembled || st.TimedOut+st.Incomplete+st.DroppedLimit+st.Invalid+st.Overlapping != 0 || st.TCPFlagsUnknown != 0 {
				t.Errorf("stats %+v: want every first fragment tiny, nothing lost, no flags unknown", st.ReassemblyStats)
			}
		})
	}
	t.Logf("fragmented lab captures:\n%s", strings.Join(table, "\n"))
}

func readLab(t *testing.T, path string) *Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	res, err := readCaptures(context.Background(), []captureInput{{r: f, size: fi.Size()}}, pcapng.DefaultLimits(), scan.DefaultConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestFragmentFloodReport reads a capture of a 12-port SYN scan in 8-byte
// fragments hidden in a flood of 50,000 first fragments that never
// complete, through the product's reading path with a 4 MiB budget: the
// scan is found, the report counts every fragment once, under the JSON
// names of the contract, and the budget reported is the one configured
// (reassembly's tables came out of it).
func TestFragmentFloodReport(t *testing.T) {
	var frames [][]byte
	syn := func(port int) []byte {
		return []byte{0x82, 0x35, 0, byte(port), 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0, 0x60, 0x02, 0x04, 0x00, 0, 0, 0, 0, 2, 4, 0x05, 0xb4}
	}
	frag := func(id uint16, proto uint8, data []byte, off int, more bool) []byte {
		fo := uint16(off / 8)
		if more {
			fo |= 0x2000
		}
		b := []byte{0x45, 0, 0, byte(20 + len(data)), byte(id >> 8), byte(id), byte(fo >> 8), byte(fo), 50, proto, 0, 0,
			198, 51, 100, 10, 10, 0, 0, 5}
		return append(b, data...)
	}
	for i := range 50_000 {
		frames = append(frames, frag(uint16(i), 17, make([]byte, 8), 8, true))
		if i%400 == 399 && i < 12*400 { // 40 ms apart, 25 probes a second
			s := syn(i / 400)
			for off := 0; off < 24; off += 8 {
				frames = append(frames, frag(uint16(i), 6, s[off:off+8], off, off+8 < 24))
			}
		}
	}
	path := filepath.Join(t.TempDir(), "flood.pcap")
	writeRawIPv4(t, path, frames)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	sc := scan.DefaultConfig()
	sc.MemoryBudgetBytes = 4 << 20
	res, err := readCaptures(context.Background(), []captureInput{{r: f, size: fi.Size()}}, pcapng.DefaultLimits(), sc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := res.Report.Stats
	rl := pcapng.ReassemblyLimitsFor(4 << 20)
	if st.MemoryBudgetBytes != 4<<20 || st.TotalPackets != uint64(len(frames)) || st.Fragments != uint64(len(frames)) {
		t.Errorf("budget %d, %d packets, %d fragments", st.MemoryBudgetBytes, st.TotalPackets, st.Fragments)
	}
	if st.DatagramsReassembled != 12 || st.ReassemblyStats.Reassembled != 36 || st.Incomplete != uint64(rl.MaxDatagrams) ||
		st.DroppedLimit != 50_000-uint64(rl.MaxDatagrams) || st.Tiny != 12 {
		t.Errorf("stats %+v (table of %d)", st.ReassemblyStats, rl.MaxDatagrams)
	}
	sus := res.Analysis.Suspects(scan.DefaultThresholds())
	if len(sus) != 1 || !slices.Contains(sus[0].Techniques, "syn_scan") || sus[0].DistinctPorts != 12 || sus[0].FragmentEvasion != 12 {
		t.Errorf("suspects %+v", sus)
	}
	js, err := json.Marshal(res.Report)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{`"fragments":50036`, `"datagrams_reassembled":12`, `"fragments_reassembled":36`,
		`"fragments_incomplete":`, `"fragments_dropped_limit":`, `"fragments_tiny":12`} {
		if !strings.Contains(string(js), name) {
			t.Errorf("report lacks %s: %s", name, js)
		}
	}
	for _, name := range []string{"fragments_timed_out", "fragments_invalid", "fragments_overlapping", "tcp_flags_unknown"} {
		if strings.Contains(string(js), name) {
			t.Errorf("report has %s, zero here", name)
		}
	}
}

// writeRawIPv4 writes a capture (link type 101, raw IP) of frames,
// 100 µs apart.
func writeRawIPv4(t *testing.T, path string, frames [][]byte) {
	t.Helper()
	recs := make([]pcapng.Record, len(frames))
	for i, f := range frames {
		ts := int64(1773480413)*1e9 + int64(i)*100_000
		recs[i] = pcapng.Record{LinkType: pcapng.LinkRaw, Timestamp: ts, Precision: 6, Data: f, OrigLen: len(f)}
	}
	writeCapture(t, path, recs)
}
