package capture

// Test helpers copied from package main's tests, which use them too: the
// captures they write are the same in both packages.

import (
	"bufio"
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

// writeBigCapture writes a classic pcap of n raw-IPv4 SYN packets (linktype
// 101) for the slow-call tests.
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

// writePcap writes recs as a classic little-endian pcap with the first
// record's link type, in microseconds or nanoseconds as it resolves.
func writePcap(t *testing.T, path string, recs []pcapng.Record) {
	t.Helper()
	var b bytes.Buffer
	magic, unit := uint32(0xa1b2c3d4), int64(1000)
	if recs[0].Precision > 6 {
		magic, unit = 0xa1b23c4d, 1
	}
	le := binary.LittleEndian
	hdr := make([]byte, 24)
	le.PutUint32(hdr[0:], magic)
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 262144)
	le.PutUint32(hdr[20:], uint32(recs[0].LinkType))
	b.Write(hdr)
	for _, r := range recs {
		rh := make([]byte, 16)
		le.PutUint32(rh[0:], uint32(r.Timestamp/1e9))
		le.PutUint32(rh[4:], uint32(r.Timestamp%1e9/unit))
		le.PutUint32(rh[8:], uint32(len(r.Data)))
		le.PutUint32(rh[12:], uint32(r.OrigLen))
		b.Write(rh)
		b.Write(r.Data)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
