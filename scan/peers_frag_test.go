//go:build harness

package scan

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"porthunter/pcapng"
)

// TestPeersFragmented runs TestPeers' models of Zeek's scan.zeek and of
// Snort's sfPortscan / port_scan (peers_test.go) over the fragmented lab
// scans (fixtures/lab/frag), read as those detectors read them: both
// reassemble IP fragments before any analyzer sees a packet (Zeek's
// FragReassembler is always on, frag_timeout 0 = keep forever, in
// src/Frag.cc and base/init-bare.zeek; Snort 3's stream_ip, on in the
// default snort.lua, session_timeout 30 s, policy linux, max_frags 8192,
// src/stream/ip/ip_module.cc @ 013e44b4, and port_scan skips only
// PKT_REBUILT_STREAM, so rebuilt datagrams reach it, port_scan.cc). So the
// models get this package's reassembled packets. The product is a table
// (t.Logf; markdown on stdout with PEERS_TABLE=1) beside PortHunter's
// verdicts, with and without reassembly (without it, a first fragment's
// flags are unknown and left out, so nmap -f makes no scan at all rather
// than the NULL scan it made before TCPFlagsUnknown).
func TestPeersFragmented(t *testing.T) {
	labels, _ := filepath.Glob(filepath.Join(fixtureDir, "lab", "frag", "*.labels.json"))
	if len(labels) == 0 {
		t.Fatal("no fragmented lab captures")
	}
	var b strings.Builder
	b.WriteString("| capture | technique | PortHunter | PortHunter without reassembly | Zeek scan.zeek | Snort low | Snort medium | Snort high |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	verdicts := map[string][6]string{}
	for _, lf := range labels {
		var l struct {
			Scanner   string `json:"scanner"`
			Technique string `json:"technique"`
		}
		peerJSON(t, lf, &l)
		path := strings.TrimSuffix(lf, ".labels.json")
		sc := netip.MustParseAddr(l.Scanner)
		whole := decodeReassembled(t, path)

		say := func(v peerVerdicts) string {
			if w, ok := v[sc]; ok {
				return "yes: " + strings.Join(w, "; ")
			}
			return "no"
		}
		ph := func(ps []pcapng.Packet) string {
			v := peerVerdicts{}
			for _, s := range analyzePackets(ps, DefaultConfig()).Suspects(DefaultThresholds()) {
				v.add(s.IP, strings.TrimSpace(s.Kind+" "+strings.Join(s.Techniques, ",")))
			}
			return say(v)
		}
		pkts := peerPackets(whole)
		z := runZeek(pkts)
		zv := peerVerdicts{}
		for a, n := range z.notices {
			for _, k := range []string{zkPortScan, zkAddrScan} {
				if live, ok := n[k]; ok {
					if !live {
						k += "*"
					}
					zv.add(a, k)
				}
			}
		}
		row := [6]string{ph(whole), ph(decodeFile(t, path)), say(zv)}
		for i, lv := range snLevels {
			sv := peerVerdicts{}
			for _, al := range runSnort(lv, pkts).alerts {
				sv.add(al.src, al.what)
			}
			row[3+i] = say(sv)
		}
		name := filepath.Base(path)
		verdicts[name] = row
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, l.Technique, strings.Join(row[:], " | "))
		t.Logf("%s: Zeek connection events %v", name, z.events)
	}
	md := b.String()
	for _, line := range strings.Split(md, "\n") {
		t.Log(line)
	}
	if os.Getenv("PEERS_TABLE") == "1" {
		fmt.Println(md)
	}
	// Facts of the rules as modelled. The IPv4 SYN scans, reassembled,
	// are nmap_syn again: every probe a failed connection to Zeek (REJ or
	// SH then the scanner's RST), 102 ≥ 15 ports; ≥ 5 RSTs and ≥ 5 port
	// changes for Snort low.
	for _, n := range []string{"nmap_frag8.pcap", "nmap_mtu16.pcap"} {
		v := verdicts[n]
		if !strings.Contains(v[0], "syn_scan") || !strings.Contains(v[2], zkPortScan) || !strings.Contains(v[3], "TCP portscan") {
			t.Errorf("%s: %v", n, v)
		}
	}
	// Without reassembly nmap -f's first fragments have no flags: no
	// probe, so no NULL scan is invented (it was, before TCPFlagsUnknown).
	if v := verdicts["nmap_frag8.pcap"]; v[1] != "no" {
		t.Errorf("nmap_frag8.pcap without reassembly: %v", v[1])
	}
	// FIN probes open no connection for either model, fragmented or not.
	if v := verdicts["nmap_frag8_fin.pcap"]; !strings.Contains(v[0], "fin_scan") || v[2] != "no" || slices.ContainsFunc(v[3:], func(s string) bool { return s != "no" }) {
		t.Errorf("nmap_frag8_fin.pcap: %v", v)
	}
}

// decodeReassembled reads a capture through Decode and a Reassembler, as
// capture.feed does.
func decodeReassembled(t *testing.T, path string) []pcapng.Packet {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := pcapng.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	r := pcapng.NewReassembler(pcapng.DefaultReassemblyLimits())
	var ps []pcapng.Packet
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return ps
		}
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, pcapng.Packet{})
		pcapng.Decode(rec, &ps[len(ps)-1])
		r.Add(rec, &ps[len(ps)-1])
	}
}

// peerPackets is peerRead over packets already decoded.
func peerPackets(ps []pcapng.Packet) []peerPkt {
	var out []peerPkt
	for _, p := range ps {
		if p.L3 != pcapng.L3IPv4 && p.L3 != pcapng.L3IPv6 {
			continue
		}
		q := peerPkt{ts: p.Timestamp, src: p.Src, dst: p.Dst, proto: p.Proto, l4: p.L4}
		switch p.L4 {
		case pcapng.L4TCP:
			q.sport, q.dport, q.flags, q.seq, q.payload = p.SrcPort, p.DstPort, p.TCPFlags, p.Seq, p.PayloadLen
		case pcapng.L4UDP:
			q.sport, q.dport, q.payload = p.SrcPort, p.DstPort, p.PayloadLen
		case pcapng.L4ICMP, pcapng.L4ICMPv6:
			q.icmpType, q.icmpCode = p.ICMPType, p.ICMPCode
			if p.Quoted {
				q.quoted, q.qproto, q.qsrc, q.qdst = true, p.QProto, p.QSrc, p.QDst
				if p.QHasPorts {
					q.qsport, q.qdport = p.QSrcPort, p.QDstPort
				}
			}
		}
		out = append(out, q)
	}
	return out
}
