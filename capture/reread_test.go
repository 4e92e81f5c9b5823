package capture

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"porthunter/pcapng"
	"porthunter/scan"
)

// ipv4TCP is a raw IPv4 packet carrying a 20-byte TCP header (checksums
// left zero: the reader does not need them). A copy of package main's,
// whose end-to-end tests use it too.
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

// floodThenScanPcap writes a flood of n spoofed SYN senders on a victim,
// then three scanners probing 40 of its ports (answered by RST/ACK), then
// a flood of after senders more, as dir/flood.pcap. A copy of package
// main's, whose TestHeaviestSourcesReread asks the server about the same
// capture (with no flood after).
func floodThenScanPcap(t *testing.T, dir string, n, after int) string {
	const syn, rstAck = 0x02, 0x14
	victim := netip.MustParseAddr("10.0.0.5")
	var recs []pcapng.Record
	ts := int64(1_700_000_000) * 1e9
	add := func(data []byte) {
		recs = append(recs, pcapng.Record{LinkType: pcapng.LinkIPv4, Timestamp: ts, Precision: 6, Data: data, OrigLen: len(data)})
		ts += 1000
	}
	flood := func(from, to int) {
		for i := from; i < to; i++ {
			add(ipv4TCP(netip.AddrFrom4([4]byte{100, 64 + byte(i>>16), byte(i >> 8), byte(i)}), victim, 40000, 80, syn))
		}
	}
	flood(0, n)
	for k := range 3 {
		src := netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + k)})
		for port := range uint16(40) {
			ts += 10_000_000
			add(ipv4TCP(src, victim, 45000, 1+port, syn))
			add(ipv4TCP(victim, src, 1+port, 45000, rstAck))
		}
	}
	flood(n, n+after)
	path := filepath.Join(dir, "flood.pcap")
	writeCapture(t, path, recs)
	return path
}

// TestHeaviestSourcesChanged: a file that no longer holds its records
// when read the second time fails the call (the two readings would
// describe different captures) instead of answering from either.
func TestHeaviestSourcesChanged(t *testing.T) {
	data, err := os.ReadFile(floodThenScanPcap(t, t.TempDir(), 2000, 0))
	if err != nil {
		t.Fatal(err)
	}
	sc := scan.Config{MemoryBudgetBytes: 256_000} // 100 sources
	in := []captureInput{{r: bytes.NewReader(data), size: int64(len(data)),
		reopen: func() io.Reader { return bytes.NewReader(data[:len(data)/2]) }}}
	_, err = readCaptures(context.Background(), in, pcapng.DefaultLimits(), sc, nil, nil)
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("err = %v, want ErrChanged", err)
	}
	in[0].r, in[0].reopen = bytes.NewReader(data), func() io.Reader { return bytes.NewReader(data) }
	res, err := readCaptures(context.Background(), in, pcapng.DefaultLimits(), sc, nil, nil)
	if err != nil || !res.Report.Stats.HeaviestSources || len(res.Analysis.Suspects(scan.DefaultThresholds())) != 3 {
		t.Fatalf("unchanged file: err %v, stats %+v", err, res.Report.Stats)
	}
}

// TestHeaviestSourcesCancel: a call cancelled during the second reading
// ends with the context's error, and the progress it reported never went
// back.
func TestHeaviestSourcesCancel(t *testing.T) {
	data, err := os.ReadFile(floodThenScanPcap(t, t.TempDir(), 20000, 0))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var last, second int64
	progress := func(done, total int64) {
		if done < last {
			t.Errorf("progress went back: %d after %d", done, last)
		}
		last = done
		if done > int64(len(data)) { // the second reading
			second++
			cancel()
		}
	}
	in := []captureInput{{r: bytes.NewReader(data), size: int64(len(data)),
		reopen: func() io.Reader { return bytes.NewReader(data) }}}
	_, err = readCaptures(ctx, in, pcapng.DefaultLimits(), scan.Config{MemoryBudgetBytes: 256_000}, nil, progress)
	if !errors.Is(err, context.Canceled) || second != 1 {
		t.Fatalf("err = %v after %d progress calls of the second reading; want context.Canceled after 1", err, second)
	}
}

// TestCountingFallback: a refused sender outweighs a tracked one early,
// so the first reading stops collecting targets for a second reading of
// the heaviest senders; by the end the tracked ones sent more, so there
// are none to read again for. The capture is read again as the first
// reading would have gone on: the answer is that of a capture that could
// be read once only.
func TestCountingFallback(t *testing.T) {
	const syn = 0x02
	victim := netip.MustParseAddr("10.0.0.5")
	var recs []pcapng.Record
	ts := int64(1_700_000_000) * 1e9
	add := func(src netip.Addr, port uint16) {
		data := ipv4TCP(src, victim, 40000, port, syn)
		recs = append(recs, pcapng.Record{LinkType: pcapng.LinkIPv4, Timestamp: ts, Precision: 6, Data: data, OrigLen: len(data)})
		ts += 1000
	}
	sender := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{100, 64, 0, byte(i)}) }
	for i := range 100 { // the sources the budget tracks (98), and two it refuses
		add(sender(i), 1)
	}
	for port := range uint16(15) { // refused, and heavier than each of them so far
		add(netip.MustParseAddr("198.51.100.10"), 1+port)
	}
	for port := range uint16(20) { // ... but not by the end
		for i := range 100 {
			add(sender(i), 2+port)
		}
	}
	path := filepath.Join(t.TempDir(), "fallback.pcap")
	writeCapture(t, path, recs)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc := scan.Config{MemoryBudgetBytes: 256_000} // 98 sources, with the reassembly's share taken
	reread := 0
	in := []captureInput{{r: bytes.NewReader(data), size: int64(len(data)),
		reopen: func() io.Reader { reread++; return bytes.NewReader(data) }}}
	got, err := readCaptures(context.Background(), in, pcapng.DefaultLimits(), sc, nil, nil)
	if err != nil || reread != 1 {
		t.Fatalf("err %v, read again %d times; want once", err, reread)
	}
	once := []captureInput{{r: bytes.NewReader(data), size: int64(len(data))}} // cannot be reopened
	want, err := readCaptures(context.Background(), once, pcapng.DefaultLimits(), sc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		what      string
		got, want any
	}{
		{"stats", got.Report.Stats, want.Report.Stats},
		{"suspects", got.Analysis.Suspects(scan.DefaultThresholds()), want.Analysis.Suspects(scan.DefaultThresholds())},
	} {
		gj, _ := json.Marshal(v.got)
		wj, _ := json.Marshal(v.want)
		if string(gj) != string(wj) {
			t.Errorf("%s:\n%s\nwant (one reading)\n%s", v.what, gj, wj)
		}
	}
	if st := got.Report.Stats; !st.LimitHit || st.HeaviestSources || len(got.Analysis.Suspects(scan.DefaultThresholds())) != 98 {
		t.Errorf("stats %+v, %d suspects; want limit_hit, no heaviest sources, the 98 tracked", st, len(got.Analysis.Suspects(scan.DefaultThresholds())))
	}
}
