package mcp

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"testing"

	"porthunter/pcapng"
)

// hasArg reports whether the tool takes the argument.
func hasArg(td *toolDef, name string) bool {
	for _, f := range Fields(td.args) {
		if f.Name == name {
			return true
		}
	}
	return false
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// manyInterfaces is a pcapng section declaring n Ethernet interfaces
// (at most pcapng.MaxInterfaces) and no packet.
func manyInterfaces(t testing.TB, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	w := pcapng.NewWriter(&b)
	must(t, w.WriteSectionHeader(""))
	for id := range n {
		must(t, w.WriteInterface(pcapng.InterfaceInfo{ID: id, LinkType: pcapng.LinkEthernet, SnapLen: 65535}))
	}
	must(t, w.Flush())
	return b.Bytes()
}

// structured returns the structuredContent of a tools/call answer and
// checks that the text block carries the same JSON.
func structured(t *testing.T, ans map[string]any) (map[string]any, bool) {
	t.Helper()
	res, ok := ans["result"].(map[string]any)
	if !ok {
		t.Fatalf("no result in %v", ans)
	}
	sc, _ := res["structuredContent"].(map[string]any)
	content, _ := res["content"].([]any)
	if len(content) == 0 {
		t.Fatalf("no content in %v", res)
	}
	text, _ := content[0].(map[string]any)["text"].(string)
	var fromText map[string]any
	if err := json.Unmarshal([]byte(text), &fromText); err != nil {
		t.Fatalf("text block is not JSON: %q", text)
	}
	a, _ := json.Marshal(sc)
	b, _ := json.Marshal(fromText)
	if !bytes.Equal(a, b) {
		t.Fatalf("text block differs from structuredContent:\n%s\n%s", a, b)
	}
	isErr, _ := res["isError"].(bool)
	return sc, isErr
}

// The captures of these tests are written by the product's writer,
// pcapng.Writer: the tests need packets in a file, not a file format
// (the reader's handling of pcap and pcapng is tested on the fixtures).

// writeCapture writes recs as one interface of the first record's link
// type, in microseconds or in nanoseconds as the first record resolves.
func writeCapture(t testing.TB, path string, recs []pcapng.Record) {
	t.Helper()
	var b bytes.Buffer
	w := pcapng.NewWriter(&b)
	itf := pcapng.InterfaceInfo{LinkType: recs[0].LinkType, SnapLen: 262144, TSResolDigits: recs[0].Precision}
	must(t, w.WriteSectionHeader(""))
	must(t, w.WriteInterface(itf))
	for _, r := range recs {
		r.Interface = 0
		must(t, w.WritePacket(itf, &r))
	}
	must(t, w.Flush())
	must(t, os.WriteFile(path, b.Bytes(), 0o644))
}

// writeBigCapture writes a capture of n raw-IPv4 SYN packets (link type
// 101; 72 bytes each), for the slow-call tests.
func writeBigCapture(t testing.TB, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	must(t, err)
	w := pcapng.NewWriter(f)
	itf := pcapng.InterfaceInfo{LinkType: pcapng.LinkRaw, SnapLen: 65535, TSResolDigits: 6}
	must(t, w.WriteSectionHeader(""))
	must(t, w.WriteInterface(itf))
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
		must(t, w.WritePacket(itf, &rec))
	}
	must(t, w.Flush())
	must(t, f.Close())
}
