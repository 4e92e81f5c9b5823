package capture

// Test helpers. testConfig is package main's too (a few lines); the
// captures are written by package testcap, shared with main and mcp.

import (
	"testing"

	"porthunter/internal/testcap"
	"porthunter/pcapng"
	"porthunter/policy"
)

// testConfig is the configuration of a server over dir with token "tok"
// and the variables of env.
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

// writeBigCapture writes a capture of n raw-IPv4 SYN packets, 72 bytes
// each (testcap.WriteBigSYN).
func writeBigCapture(t *testing.T, path string, n int) {
	t.Helper()
	if err := testcap.WriteBigSYN(path, n); err != nil {
		t.Fatal(err)
	}
}

// writeCapture writes recs as one interface of the first record's link
// type (testcap.Write).
func writeCapture(t *testing.T, path string, recs []pcapng.Record) {
	t.Helper()
	if err := testcap.Write(path, recs); err != nil {
		t.Fatal(err)
	}
}
