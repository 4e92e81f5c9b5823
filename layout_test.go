package main

import (
	"strings"
	"testing"
)

func TestCuts(t *testing.T) {
	for _, c := range []struct {
		name string
		cut  func(string, int) string
		in   string
		w    int
		want string
	}{
		{"right fits", cutRight, "vertical", 8, "vertical"},
		{"right", cutRight, "FIN,NULL,XMAS,MAIMON", 10, "FIN,NULL,…"},
		{"right one", cutRight, "abc", 1, "…"},
		{"right zero", cutRight, "abc", 0, ""},
		{"left path", cutLeft, "/var/captures/2026/current.pcap", 16, "…26/current.pcap"},
		{"middle v6", cutMiddle, "2001:db8:bad:1:2:3:4:66", 15, "2001:db…:3:4:66"},
		{"list at a comma", cutList, "22,443,8080,8443", 10, "22,443,…"},
		{"list no comma fits", cutList, "1-1000,2000", 4, "1-1…"},
		{"list whole", cutList, "22,80", 5, "22,80"},
		{"runes", cutRight, "ünïcödé", 4, "ünï…"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.cut(c.in, c.w)
			if got != c.want || textWidth(got) > max(c.w, 0) {
				t.Errorf("cut(%q, %d) = %q, want %q", c.in, c.w, got, c.want)
			}
		})
	}
}

func TestFold(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		w    int
		want []string
	}{
		{"fits", "open 0  closed 35", 40, []string{"open 0  closed 35"}},
		{"spaces", "nmap (0.90): window 1024 on 40/40 probes", 20, []string{"nmap (0.90): window", "1024 on 40/40 probes"}},
		{"commas", "53,67-69,111,123,135,137-139", 13, []string{"53,67-69,111,", "123,135,", "137-139"}},
		{"long word cut", "/a/very/long/path/to/a/capture.pcap", 10, []string{"/a/very/l…"}},
		{"empty", "", 10, []string{""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := fold(c.in, c.w, cutRight)
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("fold(%q, %d) = %q, want %q", c.in, c.w, got, c.want)
			}
		})
	}
}

// TestTableFits: a table wider than the report gives up width in its
// columns' shrink order, down to their minimums, and is printed whole
// with wide.
func TestTableFits(t *testing.T) {
	newT := func() *table {
		tb := &table{indent: "  ", cols: []column{
			{head: "WHEN"},
			{head: "SOURCE", shrink: 1, min: 8, cut: cutMiddle},
			{head: "N", right: true},
			{head: "FLAGS", shrink: 2, min: 5, cut: cutList},
		}}
		tb.add("09:26:53", "2001:db8:bad:1:2:3:4:66", "40", "FIN,NULL,XMAS,MAIMON")
		tb.add("09:27:10", "198.51.100.8", "1000", "ACK")
		return tb
	}
	render := func(width int, wide bool) string {
		var b strings.Builder
		newT().write(&b, width, wide, style{})
		return b.String()
	}
	for _, c := range []struct {
		width int
		wide  bool
		want  string
	}{
		{80, false, "" +
			"  WHEN      SOURCE                      N  FLAGS\n" +
			"  09:26:53  2001:db8:bad:1:2:3:4:66    40  FIN,NULL,XMAS,MAIMON\n" +
			"  09:27:10  198.51.100.8             1000  ACK\n"},
		{50, false, "" + // FLAGS shrinks first, then SOURCE
			"  WHEN      SOURCE                      N  FLAGS\n" +
			"  09:26:53  2001:db8:bad:1:2:3:4:66    40  FIN,…\n" +
			"  09:27:10  198.51.100.8             1000  ACK\n"},
		{40, false, "" +
			"  WHEN      SOURCE              N  FLAGS\n" +
			"  09:26:53  2001:db…:3:4:66    40  FIN,…\n" +
			"  09:27:10  198.51.100.8     1000  ACK\n"},
		{20, false, "" + // cannot shrink further: wider than asked
			"  WHEN      SOURCE       N  FLAGS\n" +
			"  09:26:53  200…4:66    40  FIN,…\n" +
			"  09:27:10  198…00.8  1000  ACK\n"},
		{20, true, "" +
			"  WHEN      SOURCE                      N  FLAGS\n" +
			"  09:26:53  2001:db8:bad:1:2:3:4:66    40  FIN,NULL,XMAS,MAIMON\n" +
			"  09:27:10  198.51.100.8             1000  ACK\n"},
	} {
		if got := render(c.width, c.wide); got != c.want {
			t.Errorf("width %d wide %v:\n%s\nwant:\n%s", c.width, c.wide, got, c.want)
		}
		if c.width >= 40 && !c.wide {
			for _, l := range strings.Split(render(c.width, false), "\n") {
				if textWidth(l) > c.width {
					t.Errorf("width %d: line %q is %d columns", c.width, l, textWidth(l))
				}
			}
		}
	}
}

func TestFieldsLine(t *testing.T) {
	var b strings.Builder
	f := fields{w: &b, indent: "  ", labelW: 8, width: 30}
	f.line("tool", "nmap (0.90): window 1024 on 40/40 probes", nil)
	f.line("", "FIRST EVENT line that is longer than thirty", nil)
	f.wide = true
	f.line("wide", "nmap (0.90): window 1024 on 40/40 probes", nil)
	want := "" +
		"  tool    nmap (0.90): window\n" +
		"          1024 on 40/40 probes\n" +
		"  FIRST EVENT line that is\n" +
		"  longer than thirty\n" +
		"  wide    nmap (0.90): window 1024 on 40/40 probes\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
