package capture

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportTunnels reads a recorded mirror of a scan (AWS-style VXLAN,
// fixtures/lab/record_tunnels.sh) the way the server does and checks the
// capture report's tunnel object as JSON, against the capture's labels
// (tshark's count of IP packets inside the tunnel, the endpoint the
// mirror sent from and to); and that a capture without tunnels has no
// tunnel object, so other answers keep their shape.
func TestReportTunnels(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"tun_vxlan_mirror_syn.pcap", "tun_vxlan_mirror_syn_inner.pcap"} {
		b, err := os.ReadFile(filepath.Join("../fixtures/lab", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var label struct {
		Tunnel struct {
			Endpoints []struct{ Src, Dst string }
			IPPackets uint64 `json:"ip_packets_inside"`
		}
	}
	lb, err := os.ReadFile("../fixtures/lab/tun_vxlan_mirror_syn.pcap.labels.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(lb, &label); err != nil || len(label.Tunnel.Endpoints) != 1 {
		t.Fatalf("labels: %v %+v", err, label)
	}
	z := testAnalyzer(t, dir)
	r, err := z.Analyze(context.Background(), "tun_vxlan_mirror_syn.pcap", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(r.Report.Stats.Tunnels)
	if err != nil {
		t.Fatal(err)
	}
	ep := label.Tunnel.Endpoints[0]
	want, _ := json.Marshal(map[string]any{"packets": label.Tunnel.IPPackets, "vxlan": label.Tunnel.IPPackets,
		"depth_exceeded": 0, "endpoints_total": 1,
		"endpoints": []map[string]any{{"kind": "vxlan", "src": ep.Src, "dst": ep.Dst, "packets": label.Tunnel.IPPackets}}})
	if !jsonEqual(t, got, want) {
		t.Errorf("capture.stats.tunnels = %s\nwant %s", got, want)
	}

	r, err = z.Analyze(context.Background(), "tun_vxlan_mirror_syn_inner.pcap", nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := json.Marshal(r.Report)
	if strings.Contains(string(rep), `"tunnels"`) || strings.Contains(string(rep), `"sctp"`) {
		t.Errorf("a capture without tunnels or SCTP reports them: %s", rep)
	}
}

// jsonEqual compares two JSON documents by value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return string(xs) == string(ys)
}
