package mcp

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestListCaptures: the listing pages through every capture once, names
// the rotated set with the glob that reads it, says which files are
// analysed, and leaves out what is not a capture.
func TestListCaptures(t *testing.T) {
	s, dir, _ := setDir(t, nil)
	must(t, os.WriteFile(filepath.Join(dir, "notes.pcap"), []byte("not a capture at all"), 0o644))
	must(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	b, _ := os.ReadFile("../fixtures/gzip.pcapng.gz")
	must(t, os.WriteFile(filepath.Join(dir, "sub", "old.bin"), b, 0o644))
	callTool(t, s, "list_suspects", map[string]any{"path": "whole.pcap"})

	var paths []any
	sets := map[string]any{}
	cursor := ""
	for page := 0; page < 10; page++ {
		args := map[string]any{"limit": 2}
		if cursor != "" {
			args["cursor"] = cursor
		}
		m, _, isErr := callTool(t, s, "list_captures", args)
		if isErr {
			t.Fatal(m)
		}
		if m["total"] != 5.0 || m["walk"].(map[string]any)["other_files"] != 1.0 {
			t.Errorf("total %v, walk %v", m["total"], m["walk"])
		}
		for _, x := range m["captures"].([]any) {
			c := x.(map[string]any)
			paths = append(paths, c["path"])
			switch c["path"] {
			case "whole.pcap":
				if a, _ := c["analysed"].(map[string]any); a == nil || a["packets"] != 109.0 {
					t.Errorf("whole.pcap analysed: %v", c["analysed"])
				}
			case "sub/old.bin":
				if c["format"] != "pcapng" || c["compression"] != "gzip" || c["analysed"] != nil {
					t.Errorf("sub/old.bin: %v", c)
				}
			case "h.pcap1":
				if c["set"] != "h.pcap*" {
					t.Errorf("h.pcap1 set %v", c["set"])
				}
			}
		}
		for _, x := range m["sets"].([]any) {
			sets[x.(map[string]any)["glob"].(string)] = x
		}
		cursor, _ = m["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	if fmt.Sprint(paths) != "[h.pcap h.pcap1 h.pcap2 sub/old.bin whole.pcap]" {
		t.Errorf("pages: %v", paths)
	}
	set, _ := sets["h.pcap*"].(map[string]any)
	if len(sets) != 1 || set["kind"] != "tcpdump_count" || set["files"] != 3.0 || set["first"] != "h.pcap" || set["last"] != "h.pcap2" {
		t.Errorf("sets %v", sets)
	}
	sub, _, _ := callTool(t, s, "list_captures", map[string]any{"dir": "sub"})
	if sub["total"] != 1.0 || sub["dir"] != "sub" {
		t.Errorf("sub: %v", sub)
	}
}
