//go:build harness

package scan

import (
	"encoding/json"
	"net/netip"
	"os"
	"testing"
)

func TestDumpJSON(t *testing.T) {
	f := os.Getenv("SCAN_DUMP")
	if f == "" {
		t.Skip()
	}
	an := analyzeFile(t, f, DefaultConfig())
	out := map[string]any{"capture": an.Capture(), "overview": an.Overview(DefaultThresholds(), 60, 5),
		"suspects": an.Suspects(DefaultThresholds()), "first": an.FirstEvent(DefaultThresholds())}
	if ip := os.Getenv("SCAN_IP"); ip != "" {
		d, _ := an.Detail(netip.MustParseAddr(ip))
		out["detail"] = d
		out["activity"] = an.Activity(netip.MustParseAddr(ip))
	}
	b, _ := json.MarshalIndent(out, "", " ")
	t.Logf("%s", b)
}
