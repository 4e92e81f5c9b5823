package main

// The answer-size instrument: worst-case captures within the default
// limits, each tool called through the server's public entry (run with
// "serve") with only its required arguments, and the size of every
// default answer measured against the 25,000-character budget an MCP host
// can take as one tool result.
//
// It knows nothing of the tool layer but the wire: tools/call lines in,
// structuredContent and content[0].text out. The few fields it reads to
// check that a case produced what it claims (counts of suspects, scanners,
// episodes, timeline windows) are looked up by several names, so that a
// rewrite that renames or pages them still finds one.
//
// Everything is deterministic: seeded generators, fixed UTC timestamps,
// intel files with a fixed modification time. Run to run, the sizes change
// only when the answers change.
//
//	go test -count=1 -run TestAnswerSize -v .          # assert the budget
//	PORTHUNTER_ANSWER_SIZES=1 go test ... (as above)   # and print the table
//	make answer-sizes                                  # the same
//
// PORTHUNTER_ANSWER_SIZES=full also forces the full-size captures under
// the race detector or -short (both use smaller ones by default, still far
// above the budget on the answers that were over it).
// PORTHUNTER_ANSWER_DUMP=DIR writes each measured answer into DIR.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"porthunter/internal/race"
	"porthunter/pcapng"
)

const (
	// answerSizeBudget is the most characters of JSON one default answer
	// may hold, in structuredContent and in the text block alike.
	answerSizeBudget = 25_000
	// answerSizesEnv prints the table when set ("1"); "full" also forces
	// the full-size captures under -race or -short.
	answerSizesEnv = "PORTHUNTER_ANSWER_SIZES"
	// answerDumpEnv names a directory to write every measured answer into,
	// one file per (tool, case), to see what makes an answer large.
	answerDumpEnv = "PORTHUNTER_ANSWER_DUMP"
	asToken       = "answer-size-token"
)

// asBase is the first timestamp of every capture: fixed, UTC.
var asBase = time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC).UnixNano()

// ---------------------------------------------------------------------
// A minimal pcap writer: Ethernet II, IPv4 or IPv6, TCP (with an optional
// MSS option) or UDP, microsecond timestamps, checksums computed.

type asPkt struct {
	ts         int64      // ns since the epoch
	src, dst   netip.Addr // both IPv4 or both IPv6
	sport      uint16
	dport      uint16
	udp        bool
	flags      uint8 // TCP flags
	seq, ack   uint32
	ipid       uint16
	ttl        uint8
	win        uint16
	mss        bool   // TCP options exactly MSS 1460 (nmap's SYN)
	payloadLen uint16 // UDP payload bytes (zeros)
}

const (
	asFIN = 0x01
	asSYN = 0x02
	asRST = 0x04
	asACK = 0x10
)

func asAddr(a [4]byte) netip.Addr { return netip.AddrFrom4(a) }

// asAddr6 is the IPv6 address of eight groups.
func asAddr6(g ...int) netip.Addr {
	var b [16]byte
	for i, v := range g {
		binary.BigEndian.PutUint16(b[2*i:], uint16(v))
	}
	return netip.AddrFrom16(b)
}

// asU32 is an IPv4 address as a number (the low 32 bits of an IPv6 one).
func asU32(a netip.Addr) uint32 {
	b := a.As16()
	return binary.BigEndian.Uint32(b[12:])
}

func asCsum(sum uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	return sum
}

func asFold(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// asFrame encodes p as an Ethernet frame into buf (reused: the writer
// encodes hundreds of thousands of packets).
func asFrame(buf []byte, p *asPkt) []byte {
	l4n, proto := 20, byte(6)
	switch {
	case p.udp:
		l4n, proto = 8+int(p.payloadLen), 17
	case p.mss:
		l4n = 24
	}
	ipn := 20
	if !p.src.Is4() {
		ipn = 40
	}
	n := 14 + ipn + l4n
	if cap(buf) < n {
		buf = make([]byte, n, 128)
	}
	buf = buf[:n]
	clear(buf)
	copy(buf, []byte{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01}) // dst, src MAC
	ip, l4 := buf[14:14+ipn], buf[14+ipn:]
	binary.BigEndian.PutUint16(l4[0:], p.sport)
	binary.BigEndian.PutUint16(l4[2:], p.dport)
	if p.udp {
		binary.BigEndian.PutUint16(l4[4:], uint16(l4n))
	} else {
		binary.BigEndian.PutUint32(l4[4:], p.seq)
		binary.BigEndian.PutUint32(l4[8:], p.ack)
		l4[12] = byte(l4n/4) << 4
		l4[13] = p.flags
		binary.BigEndian.PutUint16(l4[14:], p.win)
		if p.mss {
			copy(l4[20:], []byte{2, 4, 0x05, 0xb4})
		}
	}
	var pseudo uint32
	if p.src.Is4() {
		binary.BigEndian.PutUint16(buf[12:], 0x0800)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(ipn+l4n))
		binary.BigEndian.PutUint16(ip[4:], p.ipid)
		ip[8], ip[9] = p.ttl, proto
		s, d := p.src.As4(), p.dst.As4()
		copy(ip[12:], s[:])
		copy(ip[16:], d[:])
		binary.BigEndian.PutUint16(ip[10:], asFold(asCsum(0, ip)))
		pseudo = asCsum(0, ip[12:20])
	} else {
		binary.BigEndian.PutUint16(buf[12:], 0x86dd)
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(l4n))
		ip[6], ip[7] = proto, p.ttl
		s, d := p.src.As16(), p.dst.As16()
		copy(ip[8:], s[:])
		copy(ip[24:], d[:])
		pseudo = asCsum(0, ip[8:40])
	}
	ck := asFold(asCsum(pseudo+uint32(proto)+uint32(l4n), l4))
	if p.udp {
		if ck == 0 {
			ck = 0xffff
		}
		binary.BigEndian.PutUint16(l4[6:], ck)
	} else {
		binary.BigEndian.PutUint16(l4[16:], ck)
	}
	return buf
}

// asWritePcap sorts pkts by time (stable: generation order breaks ties)
// and writes them as a classic little-endian microsecond pcap; it returns
// the file size. It lays the file out itself rather than through
// pcapng.Writer (which writes pcapng): the worst cases stand for the
// tcpdump captures a sensor keeps, and README's table of answer sizes
// (file sizes and characters, with "format":"pcap" in every capture
// report) was measured on these bytes.
func asWritePcap(t testing.TB, path string, pkts []asPkt) int64 {
	t.Helper()
	slices.SortStableFunc(pkts, func(a, b asPkt) int {
		switch {
		case a.ts < b.ts:
			return -1
		case a.ts > b.ts:
			return 1
		}
		return 0
	})
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 262144)
	binary.LittleEndian.PutUint32(hdr[20:], 1) // Ethernet
	w.Write(hdr)
	var rec [16]byte
	var frame []byte
	for i := range pkts {
		frame = asFrame(frame, &pkts[i])
		ts := pkts[i].ts
		binary.LittleEndian.PutUint32(rec[0:], uint32(ts/1e9))
		binary.LittleEndian.PutUint32(rec[4:], uint32(ts%1e9/1e3))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(frame)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(frame)))
		w.Write(rec[:])
		w.Write(frame)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// asProbe is a scanner's SYN (or UDP datagram) in one of three tool
// styles, so that the answers carry fingerprints and their evidence.
func asProbe(ts int64, src, dst netip.Addr, dport uint16, style int, udp bool, seqBase uint32) asPkt {
	p := asPkt{ts: ts, src: src, dst: dst, dport: dport, udp: udp, flags: asSYN}
	switch style % 3 {
	case 0: // masscan: IPID == (dst ^ dport ^ seq) & 0xffff, TTL 255, window 1024
		p.sport, p.ttl, p.win = 61000, 255, 1024
		p.seq = seqBase ^ asU32(dst)*2654435761 ^ uint32(dport)
		p.ipid = uint16((asU32(dst) ^ uint32(dport) ^ p.seq) & 0xffff)
	case 1: // zmap ≤ 4.0: IPID 54321, TTL 255, window 65535
		p.sport, p.ttl, p.win, p.ipid = 40000+uint16(seqBase%20000), 255, 65535, 54321
		p.seq = seqBase*7 + uint32(dport)
	case 2: // nmap -sS: window 1024, MSS 1460 only, fixed source port and seq
		p.sport, p.ttl, p.win, p.mss, p.seq = 50000+uint16(seqBase%10000), 48, 1024, true, seqBase
		p.ipid = uint16(seqBase >> 3)
	}
	if udp {
		p.flags, p.payloadLen = 0, 8
	}
	return p
}

// asAnswer is the target's reply to probe p: SYN/ACK (open) or RST/ACK
// (closed), 2 ms later.
func asAnswer(p asPkt, open bool) asPkt {
	a := asPkt{ts: p.ts + 2e6, src: p.dst, dst: p.src, sport: p.dport, dport: p.sport, ack: p.seq + 1, ttl: 64, win: 29200, ipid: uint16(p.seq)}
	if open {
		a.flags, a.seq = asSYN|asACK, p.seq*31+7
	} else {
		a.flags, a.win = asRST|asACK, 0
	}
	return a
}

// ---------------------------------------------------------------------
// The cases.

// asCase is one worst-case capture.
type asCase struct {
	name    string
	file    string // inside the allowed directory
	bytes   int64
	biggest netip.Addr // the source scanner_detail and enrich_ip are asked about
	// min* are what the capture was built to hold; the answers must show
	// at least this much, or the case measured nothing.
	minSuspects int // listed sources (totals of list_suspects)
	minPorts    int // distinct ports of the biggest source
	minHosts    int // distinct hosts of the biggest source
	minEpisodes int // episodes of the biggest source
	minWindows  int // timeline windows at the default 60 s
	scanners    []netip.Addr
}

// asScale is the size of the captures: 1 for the full worst cases, less
// under the race detector or -short.
func asScale() float64 {
	if os.Getenv(answerSizesEnv) == "full" {
		return 1
	}
	if race.Enabled || testing.Short() {
		return 0.25
	}
	return 1
}

func asScaled(n int, scale float64, floor int) int {
	v := int(float64(n) * scale)
	if v < floor {
		return floor
	}
	return v
}

// asSlowScanners: thousands of small scans (case a). Each source SYN-probes
// 30 hosts on one port (or 30 ports of one host, or UDP ports) at about
// 10 probes/s, in one of three tool styles; two of its probes are answered
// open and one closed. The sources start 1.2 s apart, over an hour. A
// third of them (the nmap-style ones) scan over IPv6 from addresses of
// eight full groups, the longest an address prints, and probe 32 targets
// rather than 30, so that they come first wherever the most active
// sources are listed.
func asSlowScanners(t testing.TB, dir string, scale float64) *asCase {
	n := asScaled(3000, scale, 2500) // the budget question is about thousands: never fewer than 2,500
	rng := rand.New(rand.NewPCG(1, 0xa))
	c := &asCase{name: fmt.Sprintf("a-slow-%d", n), file: "a_slow.pcap", minSuspects: n * 95 / 100, minHosts: 32, minPorts: 1}
	ports := []uint16{22, 23, 80, 443, 445, 1433, 3306, 3389, 5900, 6379, 8080, 8443, 9200, 27017}
	var pkts []asPkt
	for i := 0; i < n; i++ {
		v6 := i%3 == 2
		src := asAddr([4]byte{byte(32 + i%60), byte(i / 60), byte(rng.IntN(256)), byte(1 + rng.IntN(254))})
		if v6 {
			src = asAddr6(0x2a0f, 0x1000, 0x1000+i, 0x1000+rng.IntN(0xefff), 0x1000+rng.IntN(0xefff),
				0x1000+rng.IntN(0xefff), 0x1000+rng.IntN(0xefff), 0x1000+rng.IntN(0xefff))
		}
		c.scanners = append(c.scanners, src)
		start := asBase + int64(i)*1_200_000_000
		vertical := i%4 == 1
		udp := i%10 == 9
		port := ports[i%len(ports)]
		seqBase := rng.Uint32()
		probes := 30
		if v6 {
			probes = 32
		}
		for k := 0; k < probes; k++ {
			dst := asAddr([4]byte{10, 20, byte(i % 200), byte(1 + k)})
			if v6 {
				dst = asAddr6(0xfd12, 0x3456, 0x789a, 0xbcde, 0x1000+i%200, 0x1000, 0x1000, 0x1000+k)
			}
			dport := port
			if vertical || udp {
				dst = asAddr([4]byte{10, 30, byte(i / 250), byte(1 + i%250)})
				if v6 {
					dst = asAddr6(0xfd12, 0x3456, 0x789a, 0xbcde, 0x2000+i/250, 0x1000, 0x1000, 0x1000+i%250)
				}
				dport = uint16(1000 + k*37 + i%7)
			}
			p := asProbe(start+int64(k)*100_000_000, src, dst, dport, i, udp, seqBase)
			pkts = append(pkts, p)
			if !udp && (k == 3 || k == 17) {
				pkts = append(pkts, asAnswer(p, true))
			} else if !udp && k == 9 {
				pkts = append(pkts, asAnswer(p, false))
			}
		}
	}
	c.biggest = c.scanners[2] // the first IPv6 one: 32 hosts on one port
	c.bytes = asWritePcap(t, filepath.Join(dir, c.file), pkts)
	return c
}

// asDenseScans: block scans (case b). Each of the scanners SYN-probes
// 1,100 five-digit ports (the first one 1,200) on each of 20 hosts at
// 2,000 probes/s; a tenth of the ports answer open, a tenth closed.
func asDenseScans(t testing.TB, dir string, scale float64) *asCase {
	nScan := asScaled(20, scale, 4)
	const nTargets = 20
	rng := rand.New(rand.NewPCG(2, 0xb))
	c := &asCase{name: fmt.Sprintf("b-dense-%dx%dx1100", nScan, nTargets), file: "b_dense.pcap",
		minSuspects: nScan, minPorts: 1200, minHosts: nTargets}
	var pkts []asPkt
	for s := 0; s < nScan; s++ {
		src := asAddr([4]byte{120, byte(s), byte(rng.IntN(256)), byte(1 + rng.IntN(254))})
		c.scanners = append(c.scanners, src)
		nPorts := 1100
		if s == 0 {
			nPorts = 1200
		}
		start := asBase + int64(s)*15e9
		seqBase := rng.Uint32()
		k := int64(0)
		for j := 0; j < nPorts; j++ {
			port := uint16(10000 + s*37 + j*3)
			for tg := 0; tg < nTargets; tg++ {
				dst := asAddr([4]byte{10, 50, 0, byte(1 + tg)})
				p := asProbe(start+k*500_000, src, dst, port, s, false, seqBase)
				k++
				pkts = append(pkts, p)
				switch (j + tg) % 10 {
				case 3:
					pkts = append(pkts, asAnswer(p, true))
				case 6:
					pkts = append(pkts, asAnswer(p, false))
				}
			}
		}
	}
	c.biggest = c.scanners[0]
	c.bytes = asWritePcap(t, filepath.Join(dir, c.file), pkts)
	return c
}

// asLongCapture: a day and a half of scanning (case c). One source scans
// in bursts 16 minutes apart (past the 15-minute idle gap, so each burst
// is an episode of its own): 40 ports of a new host per burst, three open.
// Beside it, one small sweep starts every minute (25 hosts on port 23 in
// 3 s), so there are probes in thousands of 60 s and 1 s windows.
//
// The 60 s windows and the episodes are the lists that grow with time; a
// 6-hour capture has at most 360 of the first and 22 of the second, under
// the caps of today's answers, so the capture is as long as it takes to
// pass them.
func asLongCapture(t testing.TB, dir string, scale float64) *asCase {
	bursts := asScaled(120, scale, 110)
	rng := rand.New(rand.NewPCG(3, 0xc))
	episodic := asAddr([4]byte{61, 7, byte(rng.IntN(256)), byte(1 + rng.IntN(254))})
	c := &asCase{file: "c_long.pcap", biggest: episodic, minPorts: 40, minHosts: bursts, minEpisodes: bursts}
	var pkts []asPkt
	seqBase := rng.Uint32()
	for b := 0; b < bursts; b++ {
		start := asBase + int64(b)*16*60e9
		dst := asAddr([4]byte{10, 60, byte(b / 250), byte(1 + b%250)})
		for k := 0; k < 40; k++ {
			p := asProbe(start+int64(k)*100_000_000, episodic, dst, uint16(20+b*11+k*97), 2, false, seqBase)
			pkts = append(pkts, p)
			if k%13 == 5 {
				pkts = append(pkts, asAnswer(p, true))
			}
		}
	}
	minutes := bursts * 16
	for m := 0; m < minutes; m++ {
		src := asAddr([4]byte{byte(150 + m/4096), byte(m / 16 % 256), byte(m%16*16 + rng.IntN(16)), byte(1 + rng.IntN(254))})
		c.scanners = append(c.scanners, src)
		start := asBase + int64(m)*60e9 + 20e9
		sb := rng.Uint32()
		for k := 0; k < 25; k++ {
			p := asProbe(start+int64(k)*125_000_000, src, asAddr([4]byte{10, 70, byte(m % 256), byte(1 + k)}), 23, m, false, sb)
			pkts = append(pkts, p)
		}
	}
	c.minSuspects = minutes
	c.minWindows = minutes
	c.name = fmt.Sprintf("c-long-%dh-%dep", minutes/60, bursts)
	c.bytes = asWritePcap(t, filepath.Join(dir, c.file), pkts)
	return c
}

// asCorrelateIPs: 100 addresses for correlate (case d): 60 scanners of
// case a, 20 private or special-purpose ones, 20 public ones (IPv4 and
// IPv6) that scanned nothing.
func asCorrelateIPs(a *asCase) []string {
	var ips []string
	for i := 0; i < 60; i++ {
		ips = append(ips, a.scanners[i*len(a.scanners)/60].String())
	}
	for i := 0; i < 20; i++ {
		switch i % 5 {
		case 0:
			ips = append(ips, fmt.Sprintf("10.20.%d.%d", i, i+1))
		case 1:
			ips = append(ips, fmt.Sprintf("192.168.%d.%d", i, i+10))
		case 2:
			ips = append(ips, fmt.Sprintf("172.16.%d.%d", i, i+20))
		case 3:
			ips = append(ips, fmt.Sprintf("100.64.%d.%d", i, i+30))
		case 4:
			ips = append(ips, fmt.Sprintf("fd00:%x::%x", i, i+40))
		}
	}
	for i := 0; i < 20; i++ {
		if i%4 == 3 {
			ips = append(ips, fmt.Sprintf("2a0f:1000::%x", i+1))
			continue
		}
		ips = append(ips, fmt.Sprintf("%d.%d.%d.%d", 33+i, 200+i, i*7, 5+i))
	}
	return ips
}

// asManyCaptures writes a directory of thousands of captures (case e):
// 40 sensors, each with a tcpdump -C set of 40 files and a dumpcap ring of
// 35, named with a long prefix, all empty pcap or pcapng files (a listing
// reads their first bytes only). It returns how many it wrote.
func asManyCaptures(t testing.TB, dir string) int {
	t.Helper()
	// A tcpdump -C set is classic pcap, which pcapng.Writer does not
	// write: its 24-byte header (µs, Ethernet, snaplen 262144) is laid
	// out here.
	pcapHdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0}
	var ng bytes.Buffer
	w := pcapng.NewWriter(&ng)
	if err := w.WriteSectionHeader(""); err != nil || w.Flush() != nil {
		t.Fatalf("pcapng section header: %v", err)
	}
	ngHdr := ng.Bytes()
	n := 0
	for sensor := 0; sensor < 40; sensor++ {
		sub := filepath.Join(dir, "many", fmt.Sprintf("datacenter-frankfurt-rack-%02d-span-port-mirror-sensor-%02d", sensor%7, sensor))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 40; i++ {
			name := "perimeter-edge-firewall-outside-interface.pcap"
			if i > 0 {
				name += fmt.Sprint(i)
			}
			if err := os.WriteFile(filepath.Join(sub, name), pcapHdr, 0o644); err != nil {
				t.Fatal(err)
			}
			n++
		}
		for i := 1; i <= 35; i++ {
			name := fmt.Sprintf("ring-buffer-dmz-uplink_%05d_202603%02d%02d0000.pcapng", i, 1+i/24, i%24)
			if err := os.WriteFile(filepath.Join(sub, name), ngHdr, 0o644); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	return n
}

// asIntel writes synthetic offline intel (documentation ASNs, invented
// names, INTEL.md §7) that knows every scanner range, lists a third of
// case a's scanners and puts all of them in a dozen OTX pulses, so the
// enrichments are as full as an offline SOC's would be.
func asIntel(t testing.TB, dir string, a *asCase) {
	t.Helper()
	idir := filepath.Join(dir, "intel")
	if err := os.MkdirAll(idir, 0o755); err != nil {
		t.Fatal(err)
	}
	countries := []string{"DE", "FR", "NL", "US", "BR", "CN", "RU", "IN", "JP", "KR", "GB", "PL", "VN", "ID", "TR", "AR"}
	var asn strings.Builder
	asn.WriteString("# SYNTHETIC TEST DATA: documentation ASNs (RFC 5398), invented names\n")
	firsts := []int{}
	for o := 32; o <= 95; o++ {
		firsts = append(firsts, o)
	}
	firsts = append(firsts, 120, 150, 151)
	for _, o := range firsts {
		for half := 0; half < 2; half++ {
			n := 64496 + (o*2+half)%16
			fmt.Fprintf(&asn, "%d.%d.0.0\t%d.%d.255.255\t%d\t%s\tEXAMPLE-AS-%d Example Hosting %d Ltd\n",
				o, half*128, o, half*128+127, n, countries[(o+half)%len(countries)], n-64495, n)
		}
	}
	asn.WriteString("2a0f:1000::\t2a0f:1000:ffff:ffff:ffff:ffff:ffff:ffff\t65536\tJP\tEXAMPLE-AS-V6 Example Six KK\n")
	var netset, grey strings.Builder
	netset.WriteString("# SYNTHETIC TEST DATA\n#\n# This File Date       : Thu Jan  1 00:00:00 UTC 2026\n")
	grey.WriteString("# SYNTHETIC TEST DATA\n")
	for i, ip := range a.scanners {
		if i%3 == 0 {
			fmt.Fprintln(&netset, ip)
		}
		if i%5 == 0 {
			fmt.Fprintf(&grey, `{"ip":"%s","noise":true,"riot":false,"classification":"malicious","name":"unknown","link":"https://viz.greynoise.io/ip/%s","last_seen":"2026-01-01"}`+"\n", ip, ip)
		}
	}
	type ind struct {
		ID        int    `json:"id"`
		Indicator string `json:"indicator"`
		Type      string `json:"type"`
		IsActive  int    `json:"is_active"`
	}
	type pulse struct {
		ID              string   `json:"id"`
		Name            string   `json:"name"`
		Tags            []string `json:"tags"`
		TLP             string   `json:"TLP"`
		Modified        string   `json:"modified"`
		Author          string   `json:"author_name"`
		Adversary       string   `json:"adversary"`
		MalwareFamilies []string `json:"malware_families"`
		Indicators      []ind    `json:"indicators"`
	}
	var pulses []pulse
	for p := 0; p < 12; p++ {
		pl := pulse{ID: fmt.Sprintf("%024x", p+1), Name: fmt.Sprintf("Example scanning campaign %d", p+1),
			Tags: []string{"scanner", "example", fmt.Sprintf("wave-%d", p)}, TLP: "white",
			Modified: fmt.Sprintf("2026-01-%02dT12:00:00.000000", p+1), Author: "example-author",
			Adversary: fmt.Sprintf("Example Adversary %d", p%3), MalwareFamilies: []string{fmt.Sprintf("ExampleBot%d", p%4)}}
		for i, o := range firsts {
			pl.Indicators = append(pl.Indicators, ind{ID: p*1000 + i, Indicator: fmt.Sprintf("%d.0.0.0/8", o), Type: "CIDR", IsActive: 1})
		}
		pl.Indicators = append(pl.Indicators, ind{ID: p*1000 + 999, Indicator: "2a0f:1000::/32", Type: "CIDR", IsActive: 1})
		pulses = append(pulses, pl)
	}
	otx, err := json.MarshalIndent(map[string]any{"count": len(pulses), "next": nil, "comment": "SYNTHETIC TEST DATA", "results": pulses}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	// A dataset's as_of is its file's modification time, and its stale flag
	// compares that with the clock: a fixed, long-past time keeps both, and
	// so the answers' sizes, the same from run to run.
	mtime := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, body := range map[string][]byte{
		"ip2asn-combined.tsv":       []byte(asn.String()),
		"firehol_level1.netset":     []byte(netset.String()),
		"greynoise-community.jsonl": []byte(grey.String()),
		"otx-pulses.json":           otx,
	} {
		f := filepath.Join(idir, name)
		if err := os.WriteFile(f, body, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

// ---------------------------------------------------------------------
// The session: run("serve") on pipes, one request at a time (so each
// capture is read once and the later calls find it cached).

type asSession struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	nextID int
}

// asStart starts the built binary's server (buildE2EBinary) with only
// PATH and env in its environment: the product as a host runs it, and
// without the race detector, which would make the analyses of these
// captures most of make test's time.
func asStart(t *testing.T, env map[string]string) *asSession {
	t.Helper()
	cmd := exec.Command(buildE2EBinary(t), "serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	in, err := cmd.StdinPipe()
	e2eMust(t, err)
	out, err := cmd.StdoutPipe()
	e2eMust(t, err)
	e2eMust(t, cmd.Start())
	t.Cleanup(func() { in.Close(); cmd.Process.Kill() })
	s := &asSession{t: t, cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20), nextID: 1}
	s.request("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "answer-size", "version": "1"}})
	s.write(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return s
}

func (s *asSession) write(line string) {
	s.t.Helper()
	if _, err := io.WriteString(s.in, line+"\n"); err != nil {
		s.t.Fatalf("writing to the server: %v", err)
	}
}

// request sends one request and returns its result, skipping any
// notification in between.
func (s *asSession) request(method string, params any) json.RawMessage {
	s.t.Helper()
	id := s.nextID
	s.nextID++
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		s.t.Fatal(err)
	}
	s.write(string(b))
	for {
		line, err := s.out.ReadBytes('\n')
		if err != nil {
			s.t.Fatalf("%s: no answer: %v", method, err)
		}
		var m struct {
			ID     *int            `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(line, &m); err != nil {
			s.t.Fatalf("%s: stdout line is not JSON: %.200q", method, line)
		}
		if m.ID == nil {
			continue // a notification
		}
		if *m.ID != id {
			s.t.Fatalf("%s: answer for id %d, want %d", method, *m.ID, id)
		}
		if len(m.Error) > 0 && string(m.Error) != "null" {
			s.t.Fatalf("%s: JSON-RPC error %s", method, m.Error)
		}
		return m.Result
	}
}

func (s *asSession) close() {
	s.t.Helper()
	s.in.Close()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }() // every read is done: the answers have all come
	select {
	case err := <-done:
		if err != nil {
			s.t.Errorf("serve: %v", err)
		}
	case <-time.After(60 * time.Second):
		s.t.Error("serve did not return after stdin closed")
	}
}

// asMeasured is one measured tools/call.
type asMeasured struct {
	tool, caseName string
	captureBytes   int64
	structChars    int
	textChars      int
	asserted       bool // a default answer, held to the budget
	sc             map[string]any
}

// call measures one tools/call: the characters of structuredContent as
// the server wrote it, and of content[0].text.
func (s *asSession) call(tool, caseName string, captureBytes int64, args map[string]any) asMeasured {
	s.t.Helper()
	a := map[string]any{"auth_token": asToken}
	for k, v := range args {
		a[k] = v
	}
	res := s.request("tools/call", map[string]any{"name": tool, "arguments": a})
	var r struct {
		StructuredContent json.RawMessage `json:"structuredContent"`
		Content           []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		IsError bool `json:"isError"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		s.t.Fatalf("%s %s: result: %v", tool, caseName, err)
	}
	m := asMeasured{tool: tool, caseName: caseName, captureBytes: captureBytes, asserted: true}
	var compact bytes.Buffer
	if len(r.StructuredContent) > 0 {
		if err := json.Compact(&compact, r.StructuredContent); err != nil {
			s.t.Fatalf("%s %s: structuredContent: %v", tool, caseName, err)
		}
		m.structChars = utf8.RuneCount(compact.Bytes())
		if err := json.Unmarshal(r.StructuredContent, &m.sc); err != nil {
			s.t.Fatalf("%s %s: structuredContent is not an object: %v", tool, caseName, err)
		}
	}
	if d := os.Getenv(answerDumpEnv); d != "" {
		name := strings.NewReplacer(" ", "_", "/", "_", "(", "_", ")", "_").Replace(tool + "_" + caseName + ".json")
		if err := os.WriteFile(filepath.Join(d, name), compact.Bytes(), 0o644); err != nil {
			s.t.Errorf("%s: %v", answerDumpEnv, err)
		}
	}
	if len(r.Content) > 0 {
		m.textChars = utf8.RuneCountInString(r.Content[0].Text)
	}
	if r.IsError || m.sc == nil || m.sc["ok"] != true {
		s.t.Errorf("%s on %s: not ok: isError=%v %.300s", tool, caseName, r.IsError, compact.String())
	}
	return m
}

// ---------------------------------------------------------------------
// Reading counts out of answers whose shape may change: the first of
// several candidate paths that holds a number or a list wins.

// asCount returns the number at the first path that has one (a list
// counts its elements), and whether any did.
func asCount(m map[string]any, paths ...string) (int, bool) {
	for _, p := range paths {
		var v any = m
		for _, k := range strings.Split(p, ".") {
			o, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = o[k]
		}
		switch x := v.(type) {
		case float64:
			return int(x), true
		case []any:
			return len(x), true
		}
	}
	return 0, false
}

func asAtLeast(t *testing.T, m asMeasured, what string, min int, paths ...string) {
	t.Helper()
	if m.sc == nil {
		return
	}
	n, ok := asCount(m.sc, paths...)
	switch {
	case !ok:
		t.Errorf("%s on %s: no %s in the answer (looked for %s)", m.tool, m.caseName, what, strings.Join(paths, ", "))
	case n < min:
		t.Errorf("%s on %s: %s = %d, want ≥ %d: the case did not produce what it was built for", m.tool, m.caseName, what, n, min)
	}
}

// ---------------------------------------------------------------------

// TestAnswerSize measures every tool's default answer over worst-case
// captures and fails when one is over answerSizeBudget characters.
func TestAnswerSize(t *testing.T) {
	t.Parallel() // runs the binary or reads captures only; no timing assertion
	began := time.Now()
	dir := t.TempDir()
	scale := asScale()
	a := asSlowScanners(t, dir, scale)
	b := asDenseScans(t, dir, scale)
	c := asLongCapture(t, dir, scale)
	asIntel(t, dir, a)
	manyFiles := asManyCaptures(t, dir)
	generated := time.Since(began)

	s := asStart(t, map[string]string{
		"PORT_HUNTER_ALLOWED_DIR": dir,
		"PORT_HUNTER_TOKEN":       asToken,
		"PORT_HUNTER_INTEL_DIR":   "intel",
	})
	var rows []asMeasured
	for _, k := range []*asCase{a, b, c} {
		ov := s.call("scan_overview", k.name, k.bytes, map[string]any{"path": k.file})
		asAtLeast(t, ov, "scanners", k.minSuspects, "overview.scanners_total")
		if k.minWindows > 0 {
			asAtLeast(t, ov, "timeline windows", k.minWindows, "overview.timeline_windows")
		}
		su := s.call("list_suspects", k.name, k.bytes, map[string]any{"path": k.file})
		asAtLeast(t, su, "suspects", k.minSuspects, "total")
		fe := s.call("first_scan_event", k.name, k.bytes, map[string]any{"path": k.file})
		if fe.sc != nil && fe.sc["first_event"] == nil {
			t.Errorf("first_scan_event on %s: no first event", k.name)
		}
		de := s.call("scanner_detail", k.name, k.bytes, map[string]any{"path": k.file, "ip": k.biggest.String()})
		asAtLeast(t, de, "ports", k.minPorts, "scanner.ports_total")
		asAtLeast(t, de, "hosts", k.minHosts, "scanner.targets_total")
		if k.minEpisodes > 0 {
			asAtLeast(t, de, "episodes", k.minEpisodes, "scanner.episodes_total")
		}
		en := s.call("enrich_ip", k.name, k.bytes, map[string]any{"ip": k.biggest.String()})
		rp := s.call("report", k.name, k.bytes, map[string]any{"path": k.file})
		asAtLeast(t, rp, "scanners described", min(10, k.minSuspects), "scanners_described")
		cv := s.call("carve", k.name, k.bytes, map[string]any{"path": k.file, "ip": k.biggest.String()})
		asAtLeast(t, cv, "packets carved", k.minPorts, "packets")
		rows = append(rows, ov, su, fe, de, en, rp, cv)
	}
	ips := make([]any, 0, 100)
	for _, ip := range asCorrelateIPs(a) {
		ips = append(ips, ip)
	}
	co := s.call("correlate", "d-100-ips", 0, map[string]any{"ips": ips})
	asAtLeast(t, co, "results", len(ips), "total")
	cp := s.call("correlate", "d-100-ips+path(a)", a.bytes, map[string]any{"ips": ips, "path": a.file})
	asAtLeast(t, cp, "results", len(ips), "total")
	rows = append(rows, co, cp)
	// list_captures over a directory of thousands of captures with long
	// names, most in rotated sets, and over the whole allowed directory.
	lc := s.call("list_captures", fmt.Sprintf("e-%d-files", manyFiles), 0, map[string]any{"dir": "many"})
	asAtLeast(t, lc, "captures", manyFiles, "total")
	asAtLeast(t, lc, "sets", 80, "sets_total")
	la := s.call("list_captures", "e-whole-dir", 0, map[string]any{})
	asAtLeast(t, la, "captures", manyFiles+3, "total")
	rows = append(rows, lc, la)
	// Not a default answer, so not held to the budget: the overview of the
	// long capture with 1 s windows, the timeline's worst case.
	ov1 := s.call("scan_overview", c.name+" time_window_s=1", c.bytes, map[string]any{"path": c.file, "time_window_s": 1})
	ov1.asserted = false
	rows = append(rows, ov1)
	s.close()

	for _, m := range rows {
		if !m.asserted {
			continue
		}
		if m.structChars > answerSizeBudget {
			t.Errorf("%s on %s: structuredContent is %d characters, over the %d budget", m.tool, m.caseName, m.structChars, answerSizeBudget)
		}
		if m.textChars > answerSizeBudget {
			t.Errorf("%s on %s: text block is %d characters, over the %d budget", m.tool, m.caseName, m.textChars, answerSizeBudget)
		}
	}
	if os.Getenv(answerSizesEnv) != "" {
		t.Logf("captures generated in %v, scale %.2f, whole test %v", generated.Round(time.Millisecond), scale, time.Since(began).Round(time.Millisecond))
		fmt.Print(asTable(rows))
	}
}

// asTable is the Markdown table of the measurements, then the largest
// default answer of each tool.
func asTable(rows []asMeasured) string {
	var b strings.Builder
	mb := func(n int64) string {
		if n == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", float64(n)/(1<<20))
	}
	mark := func(m asMeasured) string {
		switch {
		case !m.asserted:
			return " (not a default answer)"
		case m.structChars > answerSizeBudget || m.textChars > answerSizeBudget:
			return " OVER"
		}
		return ""
	}
	fmt.Fprintf(&b, "\n| tool | case | capture MB | answer chars (structuredContent) | text chars |\n| --- | --- | ---: | ---: | ---: |\n")
	for _, m := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %d%s | %d |\n", m.tool, m.caseName, mb(m.captureBytes), m.structChars, mark(m), m.textChars)
	}
	largest := map[string]asMeasured{}
	var order []string
	for _, m := range rows {
		if !m.asserted {
			continue
		}
		cur, seen := largest[m.tool]
		if !seen {
			order = append(order, m.tool)
		}
		if !seen || max(m.structChars, m.textChars) > max(cur.structChars, cur.textChars) {
			largest[m.tool] = m
		}
	}
	fmt.Fprintf(&b, "\nLargest default answer per tool (budget %d):\n\n| tool | case | capture MB | answer chars (structuredContent) | text chars |\n| --- | --- | ---: | ---: | ---: |\n", answerSizeBudget)
	for _, tool := range order {
		m := largest[tool]
		fmt.Fprintf(&b, "| %s | %s | %s | %d%s | %d |\n", tool, m.caseName, mb(m.captureBytes), m.structChars, mark(m), m.textChars)
	}
	return b.String()
}
