package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"porthunter/pcapng"
)

// Hostile strings: OSC title change ending in BEL, clear screen, an
// 8-bit CSI (C1, as a rune and as a bare byte), DEL, and the bidi
// override and isolates that reorder what the analyst reads.
const (
	evilFileName  = "scan\x1b]0;owned\x07\x1b[2J\u202egpj.\u2066x\u2069\u009b31m\x7f\x9b.pcapng"
	evilIfaceName = "eth0\x1b[31m\r\u202e\u0085\x00"
)

// terminalUnsafe returns the first character of s a terminal would act
// on: a C0 control other than newline and tab (the printers' own layout),
// DEL, C1, a bidi control or a byte that is not UTF-8; "" if none.
func terminalUnsafe(s string) string {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1,
			r < 0x20 && r != '\n' && r != '\t',
			r >= 0x7f && r <= 0x9f,
			isBidiControl(r):
			return s[i : i+n]
		}
		i += n
	}
	return ""
}

// writeEvilCapture writes dir/evilFileName: a pcapng whose interface is
// named evilIfaceName, with one source probing 30 ports.
func writeEvilCapture(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, evilFileName)
	var b bytes.Buffer
	w := pcapng.NewWriter(&b)
	if err := w.WriteSectionHeader("porthunter"); err != nil {
		t.Fatal(err)
	}
	itf := pcapng.InterfaceInfo{LinkType: pcapng.LinkIPv4, SnapLen: 65535, Name: evilIfaceName}
	src, dst := netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("10.0.0.5")
	ts := int64(1_700_000_000) * 1e9
	for port := range uint16(30) {
		data := ipv4TCP(src, dst, 40000, 1+port, 0x02)
		rec := pcapng.Record{LinkType: pcapng.LinkIPv4, Timestamp: ts, Precision: 6, Data: data, OrigLen: len(data)}
		if !w.HasInterface(itf) {
			if err := w.WriteInterface(itf); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.WritePacket(itf, &rec); err != nil {
			t.Fatal(err)
		}
		ts += 1e6
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTerminalEscapes: a file name and an interface name full of terminal
// controls reach the analyst as visible escapes in every command's
// output, on stdout and stderr; --json stays valid JSON with the exact
// values.
func TestTerminalEscapes(t *testing.T) {
	dir := t.TempDir()
	path := writeEvilCapture(t, dir)
	getenv := func(string) string { return "" }
	check := func(name string, args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		run(context.Background(), args, strings.NewReader(""), &out, &errb, getenv)
		for stream, s := range map[string]string{"stdout": out.String(), "stderr": errb.String()} {
			if bad := terminalUnsafe(s); bad != "" {
				t.Errorf("%s: %s carries %q unescaped:\n%s", name, stream, bad, s)
			}
		}
		return out.String(), errb.String()
	}

	check("analyze", "analyze", path) // at 80 columns the long name is cut, after escaping
	out, _ := check("analyze --wide", "analyze", "--wide", path)
	if !strings.Contains(out, `scan\x1b]0;owned\x07\x1b[2J\u202egpj.`) {
		t.Errorf("analyze: file name not shown escaped:\n%s", out)
	}
	for _, format := range []string{"ndjson", "csv", "eve", "ecs", "zeek"} {
		check("analyze --format "+format, "analyze", "--format", format, path)
	}
	check("analyze set", "analyze", path, path)
	out, _ = check("analyze --json", "analyze", "--json", path)
	var ans struct {
		Overview struct {
			File    string
			Capture struct {
				Interfaces []struct{ Name string }
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &ans); err != nil {
		t.Fatalf("analyze --json: %v\n%s", err, out)
	}
	if ifs := ans.Overview.Capture.Interfaces; len(ifs) != 1 || ifs[0].Name != evilIfaceName {
		t.Errorf("analyze --json: interfaces %+v, want the name %q exactly", ifs, evilIfaceName)
	}
	if want := strings.ToValidUTF8(path, "\uFFFD"); ans.Overview.File != want {
		t.Errorf("analyze --json: file %q, want %q", ans.Overview.File, want)
	}
	out, _ = check("bench", "bench", path)
	if !strings.Contains(out, `\x9b.pcapng`) {
		t.Errorf("bench: file name not shown escaped:\n%s", out)
	}
	carved := filepath.Join(dir, "out\x1b[2J.pcapng")
	_, errs := check("carve", "carve", path, "--ip", "198.51.100.7", "-o", carved)
	if !strings.Contains(errs, `out\x1b[2J.pcapng`) {
		t.Errorf("carve: output name not shown escaped: %q", errs)
	}
	check("carve existing", "carve", path, "--ip", "198.51.100.7", "-o", carved)
	check("missing file", "analyze", filepath.Join(dir, "nope\x1b[2J\u202e.pcap"))
	check("missing in set", "analyze", path, filepath.Join(dir, "nope\x1b[2J\u202e.pcap"))
	check("flag", "analyze", "-\x1b[2J\u202e", path)
	check("bad ip", "carve", path, "--ip", "\x1b[2J", "-o", carved+"2")
}

// TestTermEscapeCost: a clean string is returned without a copy, a
// hostile one in one allocation of at most 6 bytes per input byte.
func TestTermEscapeCost(t *testing.T) {
	clean := strings.Repeat("10.0.0.1 demo.pcapng ", 3000)
	if a := testing.AllocsPerRun(20, func() { termEscape(clean, false) }); a != 0 {
		t.Errorf("clean string: %v allocations, want 0", a)
	}
	hostile := strings.Repeat("\x1b\u202e\x9b", 20000)
	var got string
	if a := testing.AllocsPerRun(20, func() { got = termEscape(hostile, false) }); a > 1 {
		t.Errorf("hostile string: %v allocations, want at most 1", a)
	}
	if len(got) > 6*len(hostile) || terminalUnsafe(got) != "" {
		t.Errorf("hostile string: %d bytes from %d, unsafe %q", len(got), len(hostile), terminalUnsafe(got))
	}
}
