package mcp

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"porthunter/pcapng"
	"testing"
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

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// manyInterfaces is a pcapng section declaring n interfaces and no
// packet.
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

// writePcap writes recs as a classic little-endian pcap with the first
// record's link type, in microseconds or nanoseconds as it resolves.
func writePcap(t testing.TB, path string, recs []pcapng.Record) {
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
