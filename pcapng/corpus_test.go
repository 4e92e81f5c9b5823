package pcapng

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// corpusDir is the shared conformance corpus (see its README.md), relative
// to this package directory.
const corpusDir = "../../shared/corpus"

// corpusExceptions lists the corpus files where this reader and tshark
// (the MANIFEST oracle) legitimately disagree, with the reason. Every
// other file must agree exactly.
var corpusExceptions = map[string]string{
	// tshark stops with "Bluetooth file has a 3-byte packet, too small to
	// have even a pseudo-header" at record 412: a check of the Bluetooth
	// H4 pseudo-header, a link layer we do not decode. The pcapng framing
	// is sound, so we read all 413 EPBs; stopping the whole capture for it
	// would hide the records that follow.
	// Records 1 and 2 are es-nmap_80_vanilla's first two TCP segments and
	// we decode them as such. Record 3's caplen is patched to 0x7ffffff0;
	// tshark's pcap-variant heuristics then take the file for another
	// pcap flavour (different record-header layout), so it decodes no TCP
	// at all. Both stop with an error after 2 records.
	"dv-huge-caplen.pcap": "tshark's variant heuristics misparse the patched file (tcp 0); we read its 2 TCP records as written",
	"mg-pcap-ng_Wi-Fi_Bluetooth_USB_Cooked_timestamps_issue_1.ntar": "tshark stops at a 3-byte Bluetooth H4 packet (pseudo-header check); the framing is valid and we read all 413 EPBs",
}

// manifestRow is one MANIFEST.tsv line, by column name.
type manifestRow map[string]string

func readManifest(t *testing.T) []manifestRow {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(corpusDir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatalf("reading MANIFEST.tsv: %v", err)
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	header := strings.Split(lines[0], "\t")
	var rows []manifestRow
	for i, line := range lines[1:] {
		cols := strings.Split(line, "\t")
		if len(cols) != len(header) {
			t.Fatalf("MANIFEST.tsv line %d: %d columns, want %d", i+2, len(cols), len(header))
		}
		row := manifestRow{}
		for j, h := range header {
			row[h] = cols[j]
		}
		rows = append(rows, row)
	}
	return rows
}

// corpusResult is what the reader and decoder make of one file.
type corpusResult struct {
	openErr  error
	err      error // the error that ended Next: io.EOF at a clean end
	records  int
	tcp      int
	synOnly  int
	panicked any
}

// readCorpusFile reads a whole file, counting records, outer TCP segments
// and SYN-only segments the way the MANIFEST defines them: the first IP
// header directly followed by TCP (ICMP-quoted TCP excluded), and all 12
// flag bits, reserved ones included, equal to 0x002.
func readCorpusFile(path string) (res corpusResult) {
	defer func() {
		// Recovered only to name the file in the failure; the reader
		// itself never relies on recover.
		res.panicked = recover()
	}()
	f, err := os.Open(path)
	if err != nil {
		res.openErr = err
		return res
	}
	defer f.Close()
	rd, err := NewReader(f)
	if err != nil {
		res.openErr = err
		return res
	}
	var p Packet
	for {
		rec, err := rd.Next()
		if err != nil {
			res.err = err
			return res
		}
		res.records++
		Decode(rec, &p)
		if p.L4 == L4TCP {
			res.tcp++
			if p.TCPFlags == TCPFlagSYN && p.TCPReserved == 0 {
				res.synOnly++
			}
		}
	}
}

// decodedEncaps are the encapsulation tokens of the MANIFEST's encaps
// column that Decode walks through to the IP header.
var decodedEncaps = map[string]bool{
	"eth": true, "vlan": true, "ieee8021ad": true, "sll": true, "null": true,
	"raw": true, "(none)": true, "ppp": true, "pppoes": true, "mpls": true, "llc": true,
}

func encapsDecoded(encaps string) bool {
	if encaps == "-" {
		return true // no IP in any frame: the TCP counts are 0
	}
	for _, stack := range strings.Split(encaps, ",") {
		for _, tok := range strings.Split(strings.TrimSpace(stack), ":") {
			if !decodedEncaps[tok] {
				return false
			}
		}
	}
	return true
}

// checkCorpusRow compares one file's result with its MANIFEST row and
// returns the differences (none when they agree).
func checkCorpusRow(row manifestRow, res corpusResult) []string {
	var diffs []string
	if res.panicked != nil {
		return []string{fmt.Sprintf("panic: %v", res.panicked)}
	}
	packets := row["packets"]
	switch {
	case row["format"] == "not-pcap":
		if !errors.Is(res.openErr, ErrNotCapture) {
			diffs = append(diffs, fmt.Sprintf("NewReader error = %v, want ErrNotCapture (not a pcap/pcapng file)", res.openErr))
		}
		return diffs
	case strings.HasPrefix(packets, "error:"):
		if res.openErr == nil && (res.records != 0 || res.err == io.EOF) {
			diffs = append(diffs, fmt.Sprintf("read %d records and %v, want an error before any record (%s)", res.records, res.err, packets))
		}
		return diffs
	}
	want, err := strconv.Atoi(packets)
	if err != nil {
		return []string{fmt.Sprintf("bad packets column %q", packets)}
	}
	if res.openErr != nil {
		return []string{fmt.Sprintf("NewReader error %v, want %d packets", res.openErr, want)}
	}
	if res.records != want {
		diffs = append(diffs, fmt.Sprintf("records = %d, want %d", res.records, want))
	}
	if row["tshark_error"] != "" && res.err == io.EOF {
		diffs = append(diffs, fmt.Sprintf("clean end, want an error like tshark's %q", row["tshark_error"]))
	}
	if row["tshark_error"] == "" && res.err != io.EOF {
		diffs = append(diffs, fmt.Sprintf("ended with %v, want a clean end", res.err))
	}
	if encapsDecoded(row["encaps"]) {
		if w, _ := strconv.Atoi(row["tcp_packets"]); res.tcp != w {
			diffs = append(diffs, fmt.Sprintf("tcp = %d, want %d", res.tcp, w))
		}
		if w, _ := strconv.Atoi(row["tcp_syn_only"]); res.synOnly != w {
			diffs = append(diffs, fmt.Sprintf("syn-only = %d, want %d", res.synOnly, w))
		}
	}
	return diffs
}

// TestCorpus reads every file of the shared corpus and compares packet,
// TCP and SYN-only counts with the tshark-made MANIFEST.
func TestCorpus(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skip("corpus: ../shared/corpus absent")
	}
	agree, differ := 0, 0
	for _, row := range readManifest(t) {
		name := row["file"]
		res := readCorpusFile(filepath.Join(corpusDir, name))
		diffs := checkCorpusRow(row, res)
		if res.panicked != nil {
			t.Errorf("%s: %s", name, diffs[0])
		}
		if len(diffs) == 0 {
			agree++
			if _, ok := corpusExceptions[name]; ok {
				t.Errorf("%s agrees with tshark now: drop its exception", name)
			}
			continue
		}
		differ++
		if reason, ok := corpusExceptions[name]; ok {
			t.Logf("%s: differs as expected (%s): %s", name, reason, strings.Join(diffs, "; "))
			continue
		}
		end := res.err
		if res.openErr != nil {
			end = res.openErr
		}
		t.Errorf("%s: %s (reader: %d records, end %v)", name, strings.Join(diffs, "; "), res.records, end)
	}
	line := fmt.Sprintf("corpus: %d agree, %d differ", agree, differ)
	t.Log(line)
	fmt.Println(line)
}

// TestCorpusTimestamps pins timestamps other readers publish for corpus
// files: gopacket's expected time for the 2^-8 s resolution of
// gp-le-test902, and a pcapng time past 2^32 s.
func TestCorpusTimestamps(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skip("corpus: ../shared/corpus absent")
	}
	for _, c := range []struct {
		file   string
		want   int64
		digits uint8
	}{
		{"gp-le-test902.pcapng", 1519128000_195312500, 8}, // gopacket: 1519128000.1953125 s
		{"td-time_2107.pcapng", 4323283200_000000000, 6},  // 2107-01-01, beyond 32-bit seconds
	} {
		t.Run(c.file, func(t *testing.T) {
			recs, _, err := readAll(t, bytes.NewReader(mustRead(t, filepath.Join(corpusDir, c.file))), Limits{})
			if err != io.EOF || len(recs) == 0 {
				t.Fatalf("readAll = %d records, %v", len(recs), err)
			}
			if recs[0].Timestamp != c.want || recs[0].Precision != c.digits {
				t.Errorf("Timestamp, Precision = %d, %d; want %d, %d", recs[0].Timestamp, recs[0].Precision, c.want, c.digits)
			}
		})
	}
}
