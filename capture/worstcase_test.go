package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"porthunter/pcapng"
	"porthunter/scan"
)

// manyInterfaces is a pcapng section declaring n Ethernet interfaces
// (at most pcapng.MaxInterfaces) and holding no packet.
func manyInterfaces(t *testing.T, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	w := pcapng.NewWriter(&b)
	if err := w.WriteSectionHeader(""); err != nil {
		t.Fatal(err)
	}
	for id := range n {
		if err := w.WriteInterface(pcapng.InterfaceInfo{ID: id, LinkType: pcapng.LinkEthernet, SnapLen: 65535}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestInterfacesCapped: the capture report, in every capture answer,
// lists at most maxReportedInterfaces interfaces and counts them all; a
// file may declare thousands.
func TestInterfacesCapped(t *testing.T) {
	for _, n := range []int{3, maxReportedInterfaces, 1000} {
		data := manyInterfaces(t, n)
		r, err := readCaptures(context.Background(), []captureInput{{r: bytes.NewReader(data), size: int64(len(data))}}, pcapng.DefaultLimits(), scan.DefaultConfig(), nil, nil)
		if err != nil {
			t.Fatalf("%d interfaces: %v", n, err)
		}
		c := r.Report
		if len(c.Interfaces) != min(n, maxReportedInterfaces) || c.InterfacesTotal != n || c.InterfacesTruncated != (n > maxReportedInterfaces) {
			t.Errorf("%d interfaces: %d listed, total %d, truncated %v", n, len(c.Interfaces), c.InterfacesTotal, c.InterfacesTruncated)
		}
		if last := c.Interfaces[len(c.Interfaces)-1]; last.ID != len(c.Interfaces)-1 {
			t.Errorf("%d interfaces: last listed has id %d", n, last.ID)
		}
		if b, _ := json.Marshal(c); len(b) > 16<<10 {
			t.Errorf("%d interfaces: capture report of %d bytes", n, len(b))
		}
	}
}
