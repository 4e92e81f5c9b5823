package mcp

import (
	"context"
	"encoding/json"
	"io"
	"testing"
)

// FuzzToolArguments feeds arbitrary `arguments` to every tool over the
// fixtures directory: each call must end in an answer or a contract error,
// never a panic (runTool turns one into internal_error, which fails here)
// and never a non-object structuredContent.
func FuzzToolArguments(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"path":"demo.pcapng"}`, `{"path":"stealth.pcap","top_k":3,"time_window_s":0.5}`,
		`{"path":"udp_scan.pcap","ip":"203.0.113.9"}`, `{"ip":"::ffff:10.0.0.1%eth0"}`,
		`{"ips":["8.8.8.8","abc",""],"path":"demo.pcapng"}`, `{"path":"../x","min_ports":1e308}`,
		`{"path":"demo.pcapng","min_rate_pps":-0}`, `[1]`, `"x"`, `null`, `{"path":{"a":1}}`,
	} {
		f.Add([]byte(s))
	}
	cfg := testConfig(f, "../fixtures", map[string]string{"PORT_HUNTER_REQUIRE_TOKEN": "false"})
	s, err := newServer(cfg, "test", io.Discard, io.Discard)
	if err != nil {
		f.Fatal(err)
	}
	defer s.close()
	f.Fuzz(func(t *testing.T, args []byte) {
		for _, tl := range s.tools {
			res := s.runTool(context.Background(), tl, &call{}, json.RawMessage(args))
			sc, _ := res["structuredContent"].(json.RawMessage)
			var m map[string]any
			if err := json.Unmarshal(sc, &m); err != nil {
				t.Fatalf("%s(%q): structuredContent not an object: %q", tl.name, args, sc)
			}
			if m["error"] == "internal_error" {
				t.Fatalf("%s(%q): %v", tl.name, args, m)
			}
			if _, ok := m["ok"].(bool); !ok {
				t.Fatalf("%s(%q): no ok: %v", tl.name, args, m)
			}
		}
	})
}
