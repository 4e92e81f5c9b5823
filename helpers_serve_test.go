package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net/netip"
	"os"
	"testing"

	"porthunter/mcp"
	"porthunter/policy"
)

// serve runs the MCP server of package mcp as the serve command does.
func serve(ctx context.Context, cfg policy.Config, stdin io.Reader, stdout, stderr io.Writer) error {
	return mcp.Serve(ctx, cfg, version, stdin, stdout, stderr)
}

// testConfig is the server configuration of the tests: allowed directory
// dir, token "tok", env over them.
func testConfig(t testing.TB, dir string, env map[string]string) policy.Config {
	t.Helper()
	m := map[string]string{"PORT_HUNTER_ALLOWED_DIR": dir, "PORT_HUNTER_TOKEN": "tok"}
	for k, v := range env {
		m[k] = v
	}
	cfg, err := policy.LoadConfig(func(k string) string { return m[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// writeBigCapture writes a classic pcap of n raw-IPv4 SYN packets.
func writeBigCapture(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 101)
	w.Write(hdr)
	rec := make([]byte, 16+40)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint32(rec[0:], uint32(1700000000+i/100000))
		binary.LittleEndian.PutUint32(rec[4:], uint32(i%100000)*10)
		binary.LittleEndian.PutUint32(rec[8:], 40)
		binary.LittleEndian.PutUint32(rec[12:], 40)
		p := rec[16:]
		p[0], p[2], p[3], p[8], p[9] = 0x45, 0, 40, 64, 6
		copy(p[12:16], []byte{198, 51, 100, byte(i >> 16)})
		copy(p[16:20], []byte{10, 0, byte(i >> 8), byte(i)})
		binary.BigEndian.PutUint16(p[20:], 40000)
		binary.BigEndian.PutUint16(p[22:], uint16(i%1024+1))
		p[32], p[33] = 0x50, 0x02
		w.Write(rec)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// errCode is the code of a JSON-RPC error answer, 0 for a result.
func errCode(m map[string]any) int {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(float64)
	return int(c)
}

// ipv4TCP is a raw IPv4 packet carrying a 20-byte TCP header (checksums
// left zero: the reader does not need them).
func ipv4TCP(src, dst netip.Addr, sport, dport uint16, flags uint8) []byte {
	b := make([]byte, 40)
	b[0], b[8], b[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(b[2:], 40)
	s, d := src.As4(), dst.As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	binary.BigEndian.PutUint16(b[20:], sport)
	binary.BigEndian.PutUint16(b[22:], dport)
	b[32], b[33] = 5<<4, flags
	binary.BigEndian.PutUint16(b[34:], 1024)
	return b
}
