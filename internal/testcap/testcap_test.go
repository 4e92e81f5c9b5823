package testcap

import (
	"os"
	"path/filepath"
	"testing"

	"porthunter/pcapng"
)

// TestWriteReadBack: what Write and WriteBigSYN write reads back, through
// the product's reader, as the packets given.
func TestWriteReadBack(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.pcapng")
	if err := WriteBigSYN(big, 1000); err != nil {
		t.Fatal(err)
	}
	recs := readAll(t, big)
	if len(recs) != 1000 || recs[999].Timestamp != 1700000000*1e9+999*10*1e3 || len(recs[0].Data) != 40 {
		t.Fatalf("%d records read back", len(recs))
	}
	small := filepath.Join(dir, "small.pcapng")
	want := []pcapng.Record{{LinkType: pcapng.LinkRaw, Precision: 9, Timestamp: 5, Data: recs[0].Data, OrigLen: 40}}
	if err := Write(small, want); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, small)
	if len(got) != 1 || got[0].Timestamp != 5 || string(got[0].Data) != string(want[0].Data) {
		t.Fatalf("read back %+v", got)
	}
	if st, err := os.Stat(big); err != nil || st.Size() < 1000*72 {
		t.Fatalf("%v: %d bytes, want 72 a packet at least", err, st.Size())
	}
}

func readAll(t *testing.T, path string) []pcapng.Record {
	t.Helper()
	recs, err := ReadAll(path)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
