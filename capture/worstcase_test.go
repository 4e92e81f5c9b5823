package capture

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"testing"

	"porthunter/pcapng"
	"porthunter/scan"
)

// manyInterfaces is a little-endian pcapng section declaring n Ethernet
// interfaces and holding no packet.
func manyInterfaces(n int) []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, 0x0A0D0D0A)
	b = le.AppendUint32(b, 28)
	b = le.AppendUint32(b, 0x1A2B3C4D)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint64(b, ^uint64(0))
	b = le.AppendUint32(b, 28)
	for range n {
		b = le.AppendUint32(b, 1)
		b = le.AppendUint32(b, 20)
		b = le.AppendUint16(b, 1)
		b = le.AppendUint16(b, 0)
		b = le.AppendUint32(b, 65535)
		b = le.AppendUint32(b, 20)
	}
	return b
}

// TestInterfacesCapped: the capture report, in every capture answer,
// lists at most maxReportedInterfaces interfaces and counts them all; a
// file may declare thousands.
func TestInterfacesCapped(t *testing.T) {
	for _, n := range []int{3, maxReportedInterfaces, 1000} {
		data := manyInterfaces(n)
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
