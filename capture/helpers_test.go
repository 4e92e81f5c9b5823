package capture

// Test helpers copied from package main's tests, which use them too: the
// captures they write are the same in both packages.

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"

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

// The captures of these tests are written by the product's writer,
// pcapng.Writer: the tests need packets in a file, not a file format
// (the reader's handling of pcap and pcapng is tested on the fixtures).

// writeBigCapture writes a capture of n raw-IPv4 SYN packets (link type
// 101; 72 bytes each), for the slow-call tests.
func writeBigCapture(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapng.NewWriter(f)
	itf := pcapng.InterfaceInfo{LinkType: pcapng.LinkRaw, SnapLen: 65535, TSResolDigits: 6}
	if err := w.WriteSectionHeader(""); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteInterface(itf); err != nil {
		t.Fatal(err)
	}
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
		if err := w.WritePacket(itf, &rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeCapture writes recs as one interface of the first record's link
// type, in microseconds or in nanoseconds as the first record resolves.
func writeCapture(t *testing.T, path string, recs []pcapng.Record) {
	t.Helper()
	var b bytes.Buffer
	w := pcapng.NewWriter(&b)
	itf := pcapng.InterfaceInfo{LinkType: recs[0].LinkType, SnapLen: 262144, TSResolDigits: recs[0].Precision}
	if err := w.WriteSectionHeader(""); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteInterface(itf); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		r.Interface = 0
		if err := w.WritePacket(itf, &r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
