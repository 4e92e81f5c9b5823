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
	const n = 70_000 // over 65,536: the source address's last byte changes
	if err := WriteBigSYN(big, n); err != nil {
		t.Fatal(err)
	}
	recs := readAll(t, big)
	if len(recs) != n {
		t.Fatalf("%d records read back, want %d", len(recs), n)
	}
	for i, r := range recs {
		if ts := int64(1700000000)*1e9 + int64(i)*10*1e3; r.Timestamp != ts || r.Precision != 6 || r.LinkType != pcapng.LinkRaw ||
			r.OrigLen != 40 || string(r.Data) != string(BigSYN(i)) {
			t.Fatalf("packet %d read back as %+v, want time %d and data % x", i, r, ts, BigSYN(i))
		}
	}
	last := n - 1 // hand-computed: 198.51.100.1 to 10.0.17.111 port 368
	if d := recs[last].Data; d[15] != 1 || d[18] != byte(last>>8) || d[19] != byte(last) || int(d[22])<<8|int(d[23]) != 368 ||
		d[33] != 0x02 {
		t.Fatalf("last packet % x", d)
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
	if st, err := os.Stat(big); err != nil || st.Size() < n*72 {
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
