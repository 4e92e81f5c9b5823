package mcp

import (
	"bytes"
	"encoding/json"
	"testing"

	"porthunter/internal/testcap"
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

// writeCapture writes recs as one interface of the first record's link
// type (testcap.Write).
func writeCapture(t testing.TB, path string, recs []pcapng.Record) {
	t.Helper()
	must(t, testcap.Write(path, recs))
}

// writeBigCapture writes a capture of n raw-IPv4 SYN packets, 72 bytes
// each (testcap.WriteBigSYN).
func writeBigCapture(t testing.TB, path string, n int) {
	t.Helper()
	must(t, testcap.WriteBigSYN(path, n))
}
