package mcp

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"porthunter/internal/testcap"
	"porthunter/pcapng"
)

// readRecords reads every record of a capture, their data copied.
func readRecords(t testing.TB, path string) []pcapng.Record {
	t.Helper()
	recs, err := testcap.ReadAll(path)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// setDir is a directory holding horizontal.pcap whole and cut into a
// tcpdump -C set (h.pcap, h.pcap1, h.pcap2), and a server over it.
func setDir(t testing.TB, env map[string]string) (*server, string, []pcapng.Record) {
	t.Helper()
	dir := t.TempDir()
	recs := readRecords(t, "../fixtures/horizontal.pcap")
	writeCapture(t, filepath.Join(dir, "whole.pcap"), recs)
	writeCapture(t, filepath.Join(dir, "h.pcap"), recs[:40])
	writeCapture(t, filepath.Join(dir, "h.pcap1"), recs[40:80])
	writeCapture(t, filepath.Join(dir, "h.pcap2"), recs[80:])
	m := map[string]string{"PORT_HUNTER_REQUIRE_TOKEN": "false"}
	for k, v := range env {
		m[k] = v
	}
	cfg := testConfig(t, dir, m)
	s, err := newServer(cfg, "test", io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	return s, dir, recs
}

// TestSetThroughTools: paths and glob read the rotated set as the whole
// capture, and say what they read.
func TestSetThroughTools(t *testing.T) {
	s, _, _ := setDir(t, nil)
	whole, _, _ := callTool(t, s, "list_suspects", map[string]any{"path": "whole.pcap"})
	if whole["read"] != nil {
		t.Errorf("one whole file has a read object: %v", whole["read"])
	}
	for _, args := range []map[string]any{
		{"paths": []string{"h.pcap2", "h.pcap", "h.pcap1"}},
		{"glob": "h.pcap*"},
	} {
		m, _, isErr := callTool(t, s, "list_suspects", args)
		if isErr {
			t.Fatalf("%v: %v", args, m)
		}
		if fmt.Sprint(m["suspects"]) != fmt.Sprint(whole["suspects"]) {
			t.Errorf("%v: suspects differ from the whole file's", args)
		}
		read := m["read"].(map[string]any)
		files := read["files"].([]any)
		if read["files_total"] != 3.0 || len(files) != 3 || files[2].(map[string]any)["first_frame"] != 81.0 || read["packets"] != 109.0 {
			t.Errorf("%v: read %v", args, read)
		}
	}
	fe, _, _ := callTool(t, s, "first_scan_event", map[string]any{"glob": "h.pcap*"})
	fw, _, _ := callTool(t, s, "first_scan_event", map[string]any{"path": "whole.pcap"})
	if fmt.Sprint(fe["first_event"]) != fmt.Sprint(fw["first_event"]) {
		t.Errorf("first events differ: %v, %v", fe["first_event"], fw["first_event"])
	}
	ov, _, _ := callTool(t, s, "scan_overview", map[string]any{"paths": []string{"h.pcap", "h.pcap1", "h.pcap2"}})
	capr := ov["overview"].(map[string]any)["capture"].(map[string]any)
	if capr["files_total"] != 3.0 || ov["overview"].(map[string]any)["file"] != "h.pcap … h.pcap2 (3 files)" {
		t.Errorf("overview of a set: %v / %v", ov["overview"].(map[string]any)["file"], capr["files_total"])
	}
	de, _, _ := callTool(t, s, "scanner_detail", map[string]any{"glob": "h.pcap*", "ip": "192.0.2.200"})
	if de["found"] != true || de["read"] == nil {
		t.Errorf("scanner_detail of a set: %v", de)
	}
	co, _, _ := callTool(t, s, "correlate", map[string]any{"ips": []string{"192.0.2.200"}, "glob": "h.pcap*"})
	if co["read"] == nil || !strings.Contains(fmt.Sprint(co["results"]), "suspect:true") {
		t.Errorf("correlate with a set: %v", co)
	}
}

// TestWindowThroughTools: since and until restrict the analysis, frames
// keep their numbers, and a cursor of the whole capture does not page
// the window.
func TestWindowThroughTools(t *testing.T) {
	s, _, recs := setDir(t, nil)
	since := time.Unix(0, recs[30].Timestamp).UTC().Format(time.RFC3339Nano)
	m, _, isErr := callTool(t, s, "first_scan_event", map[string]any{"path": "whole.pcap", "since": since})
	if isErr {
		t.Fatal(m)
	}
	read := m["read"].(map[string]any)
	w := read["window"].(map[string]any)
	if w["since"] != since || w["records_before"] == 0.0 || read["packets"].(float64)+w["records_before"].(float64) != 109 {
		t.Errorf("read %v", read)
	}
	if fe, _ := m["first_event"].(map[string]any); fe != nil && fe["frame"].(float64) <= w["records_before"].(float64) {
		t.Errorf("first event frame %v inside the records left out", fe["frame"])
	}
	for _, args := range []map[string]any{
		{"path": "whole.pcap", "since": "yesterday"},
		{"path": "whole.pcap", "until": "2026-03-14T09:26:53"},
		{"path": "whole.pcap", "since": "2026-03-14T10:00:00Z", "until": "2026-03-14T09:00:00Z"},
		{"path": "whole.pcap", "since": "1900-01-01T00:00:00Z"},
		{"path": "whole.pcap", "glob": "h.pcap*"},
		{"paths": []string{}, "since": since},
		{"paths": []string{"h.pcap", ""}},
		{"glob": "*/h.pcap"},
		{"glob": "h.pcap["},
	} {
		m, _, isErr := callTool(t, s, "list_suspects", args)
		if !isErr || m["error"] != "invalid_argument" {
			t.Errorf("%v: %v", args, m)
		}
	}
}

func TestSetErrorsThroughTools(t *testing.T) {
	s, _, _ := setDir(t, map[string]string{"PORT_HUNTER_MAX_SET_FILES": "2", "PORT_HUNTER_MAX_PACKETS": "60"})
	for _, c := range []struct {
		args map[string]any
		code string
	}{
		{map[string]any{"glob": "h.pcap*"}, "too_many_files"},
		{map[string]any{"paths": []string{"h.pcap", "h.pcap1", "h.pcap2"}}, "too_many_files"},
		{map[string]any{"paths": []string{"h.pcap", "h.pcap1"}}, "too_many_packets"},
		{map[string]any{"glob": "nothing*"}, "path_not_found"},
		{map[string]any{"glob": "../*"}, "path_outside_allowed_dir"},
		{map[string]any{"paths": []string{"h.pcap", "../x.pcap"}}, "path_outside_allowed_dir"},
	} {
		m, _, isErr := callTool(t, s, "scan_overview", c.args)
		if !isErr || m["error"] != c.code {
			t.Errorf("%v: %v, want %s", c.args, m, c.code)
		}
	}
	// The same file twice is one file, under the packet limit.
	m, _, isErr := callTool(t, s, "list_suspects", map[string]any{"paths": []string{"h.pcap", "h.pcap"}})
	if isErr || m["read"].(map[string]any)["duplicates_total"] != 1.0 || m["read"].(map[string]any)["packets"] != 40.0 {
		t.Errorf("a file named twice: %v", m)
	}
}
