package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"porthunter/pcapng"
)

// carvedRecord is what a carve must preserve of one record.
type carvedRecord struct {
	ts        int64
	precision uint8
	link      pcapng.LinkType
	origLen   int
	data      []byte
}

// readRecords reads every record of a capture file, keeping those keep
// accepts, and returns them with the reader's final Info.
func readRecords(t *testing.T, file string, keep func(*pcapng.Record) bool) ([]carvedRecord, pcapng.Info) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := pcapng.NewReader(f)
	if err != nil {
		t.Fatalf("pcapng.NewReader(%s) = %v", file, err)
	}
	defer rd.Close()
	var recs []carvedRecord
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: Next = %v", file, err)
		}
		if keep(rec) {
			recs = append(recs, carvedRecord{rec.Timestamp, rec.Precision, rec.LinkType, rec.OrigLen, bytes.Clone(rec.Data)})
		}
	}
	return recs, rd.Info()
}

// involvesRef is the reference filter, written apart from carve's: the
// outer addresses, or those of the datagram an ICMP error quotes.
func involvesRef(rec *pcapng.Record, addr netip.Addr) bool {
	var p pcapng.Packet
	pcapng.Decode(rec, &p)
	if p.L3 != pcapng.L3IPv4 && p.L3 != pcapng.L3IPv6 {
		return false
	}
	for _, a := range []netip.Addr{p.Src, p.Dst} {
		if a == addr {
			return true
		}
	}
	return p.Quoted && (p.QSrc == addr || p.QDst == addr)
}

// runCLI runs the command line args and returns the exit status and stderr.
func runCLI(args ...string) (int, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
	return code, stderr.String()
}

func TestCarveFixtures(t *testing.T) {
	cases := []struct {
		name, file, ip string
		tsharkField    string // ip.addr or ipv6.addr
		want           int    // packets kept, from tshark -Y
		wantIfaces     int    // interfaces in the output
		wantQuoted     int    // kept ICMP errors whose outer addresses are not ip
	}{
		{"demo", "fixtures/demo.pcapng", "203.0.113.66", "ip.addr", 2003, 1, 0},
		// 10.0.0.80 talks in both sections and over all three interfaces
		// (µs Ethernet; ns SLL and µs raw IP in the big-endian section).
		{"multisection", "fixtures/ng-multisection.pcapng", "10.0.0.80", "ip.addr", 20, 3, 0},
		{"ipv6", "fixtures/ipv6_scan.pcapng", "2001:db8:bad::66", "ipv6.addr", 62, 1, 0},
		{"gzip", "fixtures/gzip.pcap.gz", "10.0.0.80", "ip.addr", 10, 1, 0},
		// Closed ports answer ICMP 3/3 quoting the scanner's probe.
		{"udp_scan", "fixtures/udp_scan.pcap", "203.0.113.9", "ip.addr", 37, 1, 0},
		// The prober's SYN to 198.51.100.1, and a router's time-exceeded
		// error to the prober 10.0.0.20, whose quoted header alone names
		// the target.
		{"quoted", "fixtures/ipedge.pcapng", "198.51.100.1", "ip.addr", 2, 1, 1},
		// Binary 2^-10 resolution with if_tsoffset (written in ns), an SPB
		// without a timestamp, and blocks carve does not copy.
		{"blocks", "fixtures/ng-blocks.pcapng", "10.0.0.80", "ip.addr", 10, 2, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			addr := netip.MustParseAddr(c.ip)
			out := filepath.Join(t.TempDir(), "out.pcapng")
			code, stderr := runCLI("carve", c.file, "--ip", c.ip, "-o", out)
			if code != exitOK {
				t.Fatalf("carve exit %d, stderr %q", code, stderr)
			}
			want, inInfo := readRecords(t, c.file, func(r *pcapng.Record) bool { return involvesRef(r, addr) })
			got, outInfo := readRecords(t, out, func(*pcapng.Record) bool { return true })
			if len(want) != c.want {
				t.Fatalf("reference filter keeps %d packets, want %d", len(want), c.want)
			}
			total := 0
			for _, itf := range inInfo.Interfaces {
				total += int(itf.Packets)
			}
			if line := "carved " + strconv.Itoa(len(want)) + " of " + strconv.Itoa(total) + " packets to " + out + "\n"; stderr != line {
				t.Errorf("stderr = %q, want %q", stderr, line)
			}
			compareCarved(t, got, want)
			checkCarvedInfo(t, outInfo, c.wantIfaces)
			quoted := 0
			for _, r := range got {
				var p pcapng.Packet
				pcapng.Decode(&pcapng.Record{LinkType: r.link, Data: r.data, CapLen: len(r.data), OrigLen: r.origLen}, &p)
				if p.Src != addr && p.Dst != addr {
					quoted++
				}
			}
			if quoted != c.wantQuoted {
				t.Errorf("carved %d packets kept for a quoted header only, want %d", quoted, c.wantQuoted)
			}
			checkCarvedTshark(t, c.name, c.file, c.tsharkField+"=="+c.ip, out, len(want))
		})
	}
}

// compareCarved checks got and want hold the same packets in order.
func compareCarved(t *testing.T, got, want []carvedRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("carved file has %d packets, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		// Resolutions of 10^-6 and coarser are written in µs, finer ones in ns.
		wantPrec := uint8(9)
		if w.precision <= 6 {
			wantPrec = 6
		}
		switch {
		case g.ts != w.ts:
			t.Errorf("packet %d: timestamp %d, want %d", i+1, g.ts, w.ts)
		case g.precision != wantPrec:
			t.Errorf("packet %d: precision %d, want %d (input %d)", i+1, g.precision, wantPrec, w.precision)
		case g.link != w.link:
			t.Errorf("packet %d: link type %d, want %d", i+1, g.link, w.link)
		case g.origLen != w.origLen:
			t.Errorf("packet %d: original length %d, want %d", i+1, g.origLen, w.origLen)
		case !bytes.Equal(g.data, w.data):
			t.Errorf("packet %d: data differs (%d bytes, want %d)", i+1, len(g.data), len(w.data))
		}
	}
}

// checkCarvedInfo checks the output is one pcapng 1.0 section holding only
// the interfaces used.
func checkCarvedInfo(t *testing.T, in pcapng.Info, wantIfaces int) {
	t.Helper()
	if in.Format != pcapng.FormatPCAPNG || in.Version != "1.0" || in.Sections != 1 || in.Compressed {
		t.Errorf("carved file is %s %s, %d sections, compressed %v; want pcapng 1.0, 1 section", in.Format, in.Version, in.Sections, in.Compressed)
	}
	if len(in.Interfaces) != wantIfaces {
		t.Errorf("carved file has %d interfaces, want %d", len(in.Interfaces), wantIfaces)
	}
	for _, itf := range in.Interfaces {
		if itf.Packets == 0 {
			t.Errorf("carved interface %d (%q) has no packets", itf.ID, itf.Name)
		}
	}
}

// checkCarvedTshark has tshark, a reader nobody here wrote, count the
// packets filter keeps in the original and read the carved file: same
// count, same times and lengths, no complaint (its output is cached in
// testdata/tshark: cachedTshark).
func checkCarvedTshark(t *testing.T, name, orig, filter, out string, want int) {
	t.Helper()
	fields := []string{"-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.protocols"}
	origOut := cachedTshark(t, "carve-"+name+".orig", orig, append([]string{"-n", "-r", "<path>", "-Y", filter}, fields...)...)
	// The carved file's cache is keyed by its SHA-256: carving writes the
	// same bytes every time, so a change of the output fails here until
	// tshark has read the new bytes (-update).
	carvedOut := cachedTshark(t, "carve-"+name+".carved", out, append([]string{"-n", "-r", "<path>"}, fields...)...)
	if n := strings.Count(string(carvedOut), "\n"); n != want {
		t.Errorf("tshark reads %d packets from the carved file, want %d", n, want)
	}
	// A Simple Packet Block has no timestamp; the carved EPB says 0 (the
	// epoch), as Record.Timestamp does.
	origOut = strings.ReplaceAll(origOut, "\n\t", "\n0.000000000\t")
	if carvedOut != origOut {
		t.Errorf("tshark: carved packets differ from the original's %q\ncarved:\n%s\noriginal:\n%s", filter, carvedOut, origOut)
	}
}

func TestCarveRefusals(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.pcapng")
	if err := os.WriteFile(existing, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A capture cut mid-record: carve fails after creating OUT.
	demo, err := os.ReadFile("fixtures/demo.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcapng")
	if err := os.WriteFile(cut, demo[:len(demo)/2+1], 0o644); err != nil {
		t.Fatal(err)
	}
	notCapture := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notCapture, []byte("not a capture"), 0o644); err != nil {
		t.Fatal(err)
	}
	const demoFile, ip = "fixtures/demo.pcapng", "203.0.113.66"
	cases := []struct {
		name string
		args []string
		out  string // must not exist afterwards ("" for none)
		want int
	}{
		{"existing out", []string{"carve", demoFile, "--ip", ip, "-o", existing}, "", exitFatal},
		{"missing -o", []string{"carve", demoFile, "--ip", ip}, "", exitUsage},
		{"empty -o", []string{"carve", demoFile, "--ip", ip, "-o", ""}, "", exitUsage},
		{"bad ip", []string{"carve", demoFile, "--ip", "203.0.113.300", "-o", filepath.Join(dir, "a.pcapng")}, filepath.Join(dir, "a.pcapng"), exitUsage},
		{"missing ip", []string{"carve", demoFile, "-o", filepath.Join(dir, "b.pcapng")}, filepath.Join(dir, "b.pcapng"), exitUsage},
		{"no file", []string{"carve", "--ip", ip, "-o", filepath.Join(dir, "c.pcapng")}, filepath.Join(dir, "c.pcapng"), exitUsage},
		{"two files", []string{"carve", demoFile, demoFile, "--ip", ip, "-o", filepath.Join(dir, "d.pcapng")}, filepath.Join(dir, "d.pcapng"), exitUsage},
		{"unknown flag", []string{"carve", demoFile, "--ip", ip, "-o", filepath.Join(dir, "e.pcapng"), "--gzip"}, filepath.Join(dir, "e.pcapng"), exitUsage},
		{"not a capture", []string{"carve", notCapture, "--ip", ip, "-o", filepath.Join(dir, "f.pcapng")}, filepath.Join(dir, "f.pcapng"), exitFatal},
		{"missing input", []string{"carve", filepath.Join(dir, "nope.pcap"), "--ip", ip, "-o", filepath.Join(dir, "g.pcapng")}, filepath.Join(dir, "g.pcapng"), exitFatal},
		{"cut capture", []string{"carve", cut, "--ip", ip, "-o", filepath.Join(dir, "h.pcapng")}, filepath.Join(dir, "h.pcapng"), exitFatal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stderr := runCLI(c.args...)
			if code != c.want {
				t.Errorf("run(%q) = %d, want %d; stderr %q", c.args, code, c.want, stderr)
			}
			if c.out != "" {
				if _, err := os.Stat(c.out); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s left behind (stat: %v)", c.out, err)
				}
			}
		})
	}
	if b, err := os.ReadFile(existing); err != nil || string(b) != "keep me" {
		t.Errorf("existing output changed: %q, %v", b, err)
	}
}

// TestCarveFlagsAfterFile checks flags may precede the file name too, and
// that an IPv4-mapped IPv6 ADDR selects the IPv4 address's packets.
func TestCarveFlagsAfterFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.pcapng")
	code, stderr := runCLI("carve", "-o", out, "--ip", "::ffff:203.0.113.9", "fixtures/udp_scan.pcap")
	if code != exitOK {
		t.Fatalf("carve exit %d, stderr %q", code, stderr)
	}
	if want := "carved 37 of 37 packets to " + out + "\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}

// TestCarveCommandMatchesTool: the carve command and the carve tool are
// one carve (capture.CarveFiles). For the same capture and address they
// write the same bytes but for the section header's shb_userappl, where
// the command names its version and the tool does not.
func TestCarveCommandMatchesTool(t *testing.T) {
	cases := []struct{ file, ip string }{
		{"demo.pcapng", "203.0.113.66"},
		{"ng-multisection.pcapng", "10.0.0.80"}, // three interfaces over two sections
		{"udp_scan.pcap", "203.0.113.9"},        // ICMP errors quoting the probes
		{"gzip.pcap.gz", "10.0.0.80"},
	}
	shb := func(userAppl string) []byte {
		var b bytes.Buffer
		w := pcapng.NewWriter(&b)
		if err := w.WriteSectionHeader(userAppl); err != nil || w.Flush() != nil {
			t.Fatalf("WriteSectionHeader(%q) = %v", userAppl, err)
		}
		return b.Bytes()
	}
	toolSHB, cmdSHB := shb("porthunter"), shb("porthunter "+version)
	base := t.TempDir()
	allowed, ev := filepath.Join(base, "captures"), filepath.Join(base, "evidence")
	for _, d := range []string{allowed, ev} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var in strings.Builder
	for i, c := range cases {
		b, err := os.ReadFile(filepath.Join("fixtures", c.file))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(allowed, c.file), b, 0o644); err != nil {
			t.Fatal(err)
		}
		in.WriteString(e2eToolCall(i+1, "carve", map[string]any{"auth_token": "tok", "path": c.file, "ip": c.ip}) + "\n")
	}
	var out bytes.Buffer
	cfg := testConfig(t, allowed, map[string]string{"PORT_HUNTER_EVIDENCE_DIR": ev})
	if err := serve(context.Background(), cfg, strings.NewReader(e2eInitLine+"\n"+in.String()), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	written := map[float64]string{} // request id → the tool's file in ev
	for line := range strings.Lines(out.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("answer %q: %v", line, err)
		}
		id, _ := m["id"].(float64)
		if id == 0 {
			continue
		}
		sc, isErr := e2eStructured(t, m)
		name, _ := sc["written_to"].(string)
		if isErr || name == "" {
			t.Fatalf("carve %v: %v", id, m)
		}
		written[id] = filepath.Join(ev, name)
	}
	for i, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			tool, err := os.ReadFile(written[float64(i+1)])
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(base, "cmd-"+c.file+".pcapng")
			if code, stderr := runCLI("carve", filepath.Join("fixtures", c.file), "--ip", c.ip, "-o", dst); code != exitOK {
				t.Fatalf("carve exit %d, stderr %q", code, stderr)
			}
			cmd, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(tool, toolSHB) {
				t.Fatalf("the tool's carve does not start with the section header %x", toolSHB)
			}
			want := append(bytes.Clone(cmdSHB), tool[len(toolSHB):]...)
			if !bytes.Equal(cmd, want) {
				t.Errorf("the command's carve (%d bytes) differs from the tool's with the command's section header (%d bytes)", len(cmd), len(want))
			}
		})
	}
}
