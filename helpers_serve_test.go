package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net/netip"
	"os"
	"testing"

	"porthunter/mcp"
	"porthunter/pcapng"
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

// The captures these tests make are written by the product's writer,
// pcapng.Writer: the tests need packets in a file, not a file format
// (the reader's handling of pcap and pcapng is tested on the fixtures).
// The few hand-made files left say why where they are made.

// writeCapture writes recs as one interface of the first record's link
// type, in microseconds or in nanoseconds as the first record resolves.
func writeCapture(t testing.TB, path string, recs []pcapng.Record) {
	t.Helper()
	var b bytes.Buffer
	w := pcapng.NewWriter(&b)
	itf := pcapng.InterfaceInfo{LinkType: recs[0].LinkType, SnapLen: 262144, TSResolDigits: recs[0].Precision}
	e2eMust(t, w.WriteSectionHeader(""))
	e2eMust(t, w.WriteInterface(itf))
	for _, r := range recs {
		r.Interface = 0
		e2eMust(t, w.WritePacket(itf, &r))
	}
	e2eMust(t, w.Flush())
	e2eMust(t, os.WriteFile(path, b.Bytes(), 0o644))
}

// writeBigCapture writes a capture of n raw-IPv4 SYN packets (link type
// 101; 72 bytes each).
func writeBigCapture(t testing.TB, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	e2eMust(t, err)
	w := pcapng.NewWriter(f)
	itf := pcapng.InterfaceInfo{LinkType: pcapng.LinkRaw, SnapLen: 65535, TSResolDigits: 6}
	e2eMust(t, w.WriteSectionHeader(""))
	e2eMust(t, w.WriteInterface(itf))
	p := make([]byte, 40)
	for i := 0; i < n; i++ {
		p[0], p[2], p[3], p[8], p[9] = 0x45, 0, 40, 64, 6
		copy(p[12:16], []byte{198, 51, 100, byte(i >> 16)})
		copy(p[16:20], []byte{10, 0, byte(i >> 8), byte(i)})
		binary.BigEndian.PutUint16(p[20:], 40000)
		binary.BigEndian.PutUint16(p[22:], uint16(i%1024+1))
		p[32], p[33] = 0x50, 0x02
		ts := int64(1700000000+i/100000)*1e9 + int64(i%100000)*10*1e3
		rec := pcapng.Record{LinkType: pcapng.LinkRaw, Timestamp: ts, Data: p, OrigLen: len(p)}
		e2eMust(t, w.WritePacket(itf, &rec))
	}
	e2eMust(t, w.Flush())
	e2eMust(t, f.Close())
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
