package main

import (
	"context"
	"encoding/binary"
	"io"
	"net/netip"
	"testing"

	"porthunter/internal/testcap"
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

// The captures these tests make are written by package testcap, with the
// product's writer; the few hand-made files left say why where they are
// made.

// writeCapture writes recs as one interface of the first record's link
// type (testcap.Write).
func writeCapture(t testing.TB, path string, recs []pcapng.Record) {
	t.Helper()
	e2eMust(t, testcap.Write(path, recs))
}

// writeBigCapture writes a capture of n raw-IPv4 SYN packets, 72 bytes
// each (testcap.WriteBigSYN).
func writeBigCapture(t testing.TB, path string, n int) {
	t.Helper()
	e2eMust(t, testcap.WriteBigSYN(path, n))
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
