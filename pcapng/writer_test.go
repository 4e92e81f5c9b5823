package pcapng

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writtenRec is a record to write with the interface it came from.
type writtenRec struct {
	in  InterfaceInfo
	rec Record
}

// writeAll writes recs as the carve command does, an interface's IDB
// before its first packet, and returns the file.
func writeAll(t testing.TB, recs []writtenRec) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.WriteSectionHeader("porthunter test"); err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		in, rec := recs[i].in, &recs[i].rec
		if !w.HasInterface(in) {
			if err := w.WriteInterface(in); err != nil {
				t.Fatalf("WriteInterface(%+v) = %v", in, err)
			}
		}
		if err := w.WritePacket(in, rec); err != nil {
			t.Fatalf("WritePacket(record %d) = %v", i, err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// wantPrecision is the precision a record of in reads back with: the
// Writer writes µs for 6 digits or fewer, ns otherwise.
func wantPrecision(in InterfaceInfo) uint8 {
	if in.TSResolDigits <= 6 {
		return 6
	}
	return 9
}

// checkReadBack reads file with the package's Reader and checks it holds
// exactly recs, in one section whose interfaces are those of recs in the
// order of their first packet.
func checkReadBack(t testing.TB, file []byte, recs []writtenRec) {
	t.Helper()
	got, info, err := readAll(t, bytes.NewReader(file), Limits{})
	if err != io.EOF {
		t.Fatalf("reading the written file: %v after %d records", err, len(got))
	}
	if info.Format != FormatPCAPNG || info.Version != "1.0" || info.Sections != 1 || info.Compressed {
		t.Errorf("written file is %s %s, %d sections, compressed %v; want pcapng 1.0, 1 section", info.Format, info.Version, info.Sections, info.Compressed)
	}
	if len(got) != len(recs) {
		t.Fatalf("read back %d records, wrote %d", len(got), len(recs))
	}
	ids := make(map[ifaceKey]int)
	var ifaces []InterfaceInfo
	var packets []uint64
	for i, wr := range recs {
		key := ifaceKey{wr.in.Section, wr.in.ID}
		id, ok := ids[key]
		if !ok {
			id = len(ifaces)
			ids[key] = id
			ifaces = append(ifaces, wr.in)
			packets = append(packets, 0)
		}
		packets[id]++
		g, w := got[i], wr.rec
		switch {
		case g.Timestamp != w.Timestamp:
			t.Errorf("record %d: timestamp %d, wrote %d", i, g.Timestamp, w.Timestamp)
		case g.Precision != wantPrecision(wr.in):
			t.Errorf("record %d: precision %d, want %d (interface digits %d)", i, g.Precision, wantPrecision(wr.in), wr.in.TSResolDigits)
		case g.LinkType != w.LinkType:
			t.Errorf("record %d: link type %d, wrote %d", i, g.LinkType, w.LinkType)
		case g.Interface != id:
			t.Errorf("record %d: interface %d, want %d", i, g.Interface, id)
		case g.OrigLen != w.OrigLen:
			t.Errorf("record %d: original length %d, wrote %d", i, g.OrigLen, w.OrigLen)
		case g.CapLen != len(w.Data) || !bytes.Equal(g.Data, w.Data):
			t.Errorf("record %d: %d captured bytes differ from the %d written", i, g.CapLen, len(w.Data))
		}
	}
	if len(info.Interfaces) != len(ifaces) {
		t.Fatalf("read back %d interfaces, wrote %d", len(info.Interfaces), len(ifaces))
	}
	for i, g := range info.Interfaces {
		w := ifaces[i]
		resol := wantPrecision(w)
		if g.Section != 0 || g.ID != i || g.LinkType != w.LinkType || g.SnapLen != w.SnapLen || g.Name != w.Name ||
			g.TSResol != resol || g.TSResolDigits != resol || g.TSOffset != 0 || g.Packets != packets[i] {
			t.Errorf("interface %d read back as %+v; wrote %+v (%d packets, resolution %d)", i, g, w, packets[i], resol)
		}
	}
}

// writerSample is a capture exercising what the Writer must keep: two
// input sections whose interfaces share IDs, µs and ns resolutions, link
// types up to 65535, snaplens 0 and 2^32-1, names empty and of the
// largest option, every padding, empty and MaxCapLen data, original
// lengths above and below the captured one, and timestamps from 0 to the
// largest writable.
func writerSample() []writtenRec {
	ifaces := []InterfaceInfo{
		{Section: 0, ID: 0, LinkType: LinkEthernet, SnapLen: 262144, TSResol: 6, TSResolDigits: 6, Name: "eth0"},
		{Section: 0, ID: 1, LinkType: LinkSLL, SnapLen: 0, TSResol: 9, TSResolDigits: 9, Name: "any"},
		{Section: 1, ID: 0, LinkType: LinkRaw, SnapLen: math.MaxUint32, TSResol: 0x80 | 10, TSResolDigits: 9},
		{Section: 1, ID: 1, LinkType: 65535, SnapLen: 1, TSResol: 3, TSResolDigits: 3, TSOffset: 7, Name: strings.Repeat("n", math.MaxUint16)},
	}
	timestamps := []int64{0, 1_000, 1773480413_589793_000, 1 << 62 / 1000 * 1000, math.MaxInt64 / 1000 * 1000}
	nsTimestamps := []int64{1, 1773480413_589793_123, math.MaxInt64 - 1}
	var recs []writtenRec
	add := func(in InterfaceInfo, ts int64, data []byte, orig int) {
		recs = append(recs, writtenRec{in, Record{Interface: in.ID, LinkType: in.LinkType, Timestamp: ts, Data: data, CapLen: len(data), OrigLen: orig}})
	}
	for n := range 9 {
		in := ifaces[n%len(ifaces)]
		ts := timestamps[n%len(timestamps)]
		if in.TSResolDigits > 6 {
			ts = nsTimestamps[n%len(nsTimestamps)]
		}
		data := benchFrame(n)[:n]
		add(in, ts, data, n+1500)
	}
	add(ifaces[0], 1773480413_000000_000, bytes.Repeat([]byte{0xa5}, MaxCapLen), MaxCapLen)
	add(ifaces[1], 5, benchFrame(1), 0)              // captured more than the wire had: kept as written
	add(ifaces[2], 6, benchFrame(2), math.MaxUint32) // the largest original length
	add(ifaces[3], 7_000, nil, 0)
	add(ifaces[0], 0, benchFrame(3), 60) // back to the first interface, out of time order
	return recs
}

func TestWriterRoundTrip(t *testing.T) {
	recs := writerSample()
	checkReadBack(t, writeAll(t, recs), recs)
}

// TestWriterBytes pins the bytes written against the test builders of
// reader_test.go, written apart from the Writer: the carve command's
// output depends on them.
func TestWriterBytes(t *testing.T) {
	eth := InterfaceInfo{LinkType: LinkEthernet, SnapLen: 262144, Name: "eth0", TSResolDigits: 6}
	raw := InterfaceInfo{ID: 1, LinkType: LinkRaw, SnapLen: 65535, TSResolDigits: 9}
	frame, short := benchFrame(0), []byte{0x45, 1, 2, 3, 4}
	file := writeAll(t, []writtenRec{
		{eth, Record{LinkType: LinkEthernet, Timestamp: 1773480413_589793_000, Data: frame, OrigLen: len(frame)}},
		{raw, Record{Interface: 1, LinkType: LinkRaw, Timestamp: 1700000000_123456789, Data: short, OrigLen: 1500}},
		{eth, Record{LinkType: LinkEthernet, Timestamp: 1773480414_000001_000, Data: frame[:59], OrigLen: 1514}},
	})
	end := ngOpt(le, optEndOfOpt, nil)
	want := cat(
		ngSHB(le, 1, 0, ngOpt(le, optSHBUserAppl, []byte("porthunter test")), end),
		ngIDB(le, LinkEthernet, 262144, ngOpt(le, optIfName, []byte("eth0")), ngOpt(le, optIfTSResol, []byte{6}), end),
		ngEPB(le, 0, 1773480413_589793, frame, len(frame)),
		ngIDB(le, LinkRaw, 65535, ngOpt(le, optIfTSResol, []byte{9}), end),
		ngEPB(le, 1, 1700000000_123456789, short, 1500),
		ngEPB(le, 0, 1773480414_000001, frame[:59], 1514),
	)
	if !bytes.Equal(file, want) {
		t.Errorf("written file differs from the reference:\n got % x\nwant % x", file, want)
	}
}

// TestWriterSections: a second section header starts a new interface
// table, as in the Reader.
func TestWriterSections(t *testing.T) {
	in := InterfaceInfo{LinkType: LinkRaw, TSResolDigits: 9}
	rec := Record{LinkType: LinkRaw, Timestamp: 42, Data: []byte{0x45}, OrigLen: 1}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for s := range 2 {
		if err := w.WriteSectionHeader(""); err != nil {
			t.Fatal(err)
		}
		if err := w.WritePacket(in, &rec); !errors.Is(err, ErrUnknownInterface) {
			t.Fatalf("section %d: WritePacket before its interface = %v, want ErrUnknownInterface", s, err)
		}
		if err := w.WriteInterface(in); err != nil {
			t.Fatal(err)
		}
		if err := w.WritePacket(in, &rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, info, err := readAll(t, bytes.NewReader(buf.Bytes()), Limits{})
	if err != io.EOF || len(got) != 2 || info.Sections != 2 || len(info.Interfaces) != 2 {
		t.Fatalf("read %d records, %d sections, %d interfaces, %v; want 2, 2, 2, EOF", len(got), info.Sections, len(info.Interfaces), err)
	}
	for _, g := range got {
		if g.Timestamp != 42 || g.Interface != 0 || !bytes.Equal(g.Data, rec.Data) {
			t.Errorf("record %d read back as %+v", g.Frame, g)
		}
	}
}

// TestWriterRefuses: what the Writer cannot write exactly is an error
// wrapping the sentinel that says why, never a panic, and writes nothing:
// the file stays whole and the Writer usable.
func TestWriterRefuses(t *testing.T) {
	us := InterfaceInfo{LinkType: LinkEthernet, SnapLen: 65535, TSResolDigits: 6, Name: "eth0"}
	ns := InterfaceInfo{ID: 1, LinkType: LinkRaw, TSResolDigits: 9}
	ok := Record{LinkType: LinkEthernet, Timestamp: 1e9, Data: benchFrame(0), OrigLen: 60}
	okNS := Record{Interface: 1, LinkType: LinkRaw, Timestamp: 1, Data: []byte{0x45}, OrigLen: 1}
	with := func(r Record, f func(*Record)) *Record { f(&r); return &r }
	withIface := func(in InterfaceInfo, f func(*InterfaceInfo)) InterfaceInfo { f(&in); return in }

	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.WriteInterface(us); !errors.Is(err, ErrUnwritable) {
		t.Errorf("WriteInterface before the section header = %v, want ErrUnwritable", err)
	}
	if err := w.WritePacket(us, &ok); !errors.Is(err, ErrUnknownInterface) {
		t.Errorf("WritePacket before the section header = %v, want ErrUnknownInterface", err)
	}
	if err := w.WriteSectionHeader(strings.Repeat("x", math.MaxUint16+1)); !errors.Is(err, ErrLimit) {
		t.Errorf("WriteSectionHeader(65536 bytes) = %v, want ErrLimit", err)
	}
	for _, err := range []error{w.WriteSectionHeader(""), w.WriteInterface(us), w.WriteInterface(ns)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteInterface(us); !errors.Is(err, ErrUnwritable) {
		t.Errorf("WriteInterface twice = %v, want ErrUnwritable", err)
	}
	if err := w.WriteInterface(withIface(us, func(in *InterfaceInfo) { in.ID, in.Name = 2, strings.Repeat("n", math.MaxUint16+1) })); !errors.Is(err, ErrLimit) {
		t.Errorf("WriteInterface(name of 65536 bytes) = %v, want ErrLimit", err)
	}

	cases := []struct {
		name string
		in   InterfaceInfo
		rec  *Record
		want error
	}{
		{"interface not given", withIface(us, func(in *InterfaceInfo) { in.ID = 2 }), with(ok, func(r *Record) { r.Interface = 2 }), ErrUnknownInterface},
		{"interface of another section", withIface(us, func(in *InterfaceInfo) { in.Section = 1 }), &ok, ErrUnknownInterface},
		{"other link type than written", withIface(us, func(in *InterfaceInfo) { in.LinkType = LinkRaw }), with(ok, func(r *Record) { r.LinkType = LinkRaw }), ErrUnknownInterface},
		{"other snaplen than written", withIface(us, func(in *InterfaceInfo) { in.SnapLen = 0 }), &ok, ErrUnknownInterface},
		{"other name than written", withIface(us, func(in *InterfaceInfo) { in.Name = "eth1" }), &ok, ErrUnknownInterface},
		{"other resolution than written", withIface(us, func(in *InterfaceInfo) { in.TSResolDigits = 9 }), &ok, ErrUnknownInterface},
		{"record of another interface", us, &okNS, ErrUnknownInterface},
		{"record of another link type", us, with(ok, func(r *Record) { r.LinkType = LinkRaw }), ErrUnknownInterface},
		{"captured length above MaxCapLen", us, with(ok, func(r *Record) { r.Data = make([]byte, MaxCapLen+1) }), ErrLimit},
		{"negative original length", us, with(ok, func(r *Record) { r.OrigLen = -1 }), ErrUnwritable},
		{"original length beyond 32 bits", us, with(ok, func(r *Record) { r.OrigLen = math.MaxUint32 + 1 }), ErrUnwritable},
		{"timestamp before 1970", us, with(ok, func(r *Record) { r.Timestamp = -1000 }), ErrUnwritable},
		{"timestamp before 1970, ns", ns, with(okNS, func(r *Record) { r.Timestamp = math.MinInt64 }), ErrUnwritable},
		{"timestamp finer than µs", us, with(ok, func(r *Record) { r.Timestamp = 1e9 + 1 }), ErrUnwritable},
		{"saturated timestamp", us, with(ok, func(r *Record) { r.Timestamp = math.MaxInt64 }), ErrUnwritable},
		{"saturated timestamp, ns", ns, with(okNS, func(r *Record) { r.Timestamp = math.MaxInt64 }), ErrUnwritable},
	}
	for _, c := range cases {
		err := w.WritePacket(c.in, c.rec)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: WritePacket = %v, want %v", c.name, err, c.want)
		}
	}
	// The largest packet is written, between the refusals.
	largest := with(ok, func(r *Record) { r.Data = make([]byte, MaxCapLen) })
	for _, rec := range []*Record{&ok, largest, &okNS} {
		in := us
		if rec.Interface == 1 {
			in = ns
		}
		if err := w.WritePacket(in, rec); err != nil {
			t.Fatalf("WritePacket after refusals = %v", err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, info, err := readAll(t, bytes.NewReader(buf.Bytes()), Limits{})
	if err != io.EOF || len(got) != 3 || len(info.Interfaces) != 2 || info.Sections != 1 {
		t.Fatalf("after refusals: %d records, %d interfaces, %d sections, %v; want 3, 2, 1, EOF", len(got), len(info.Interfaces), info.Sections, err)
	}
	if len(got[1].Data) != MaxCapLen {
		t.Errorf("largest packet read back with %d bytes, want %d", len(got[1].Data), MaxCapLen)
	}
}

// TestWriterMaxInterfaces: the Writer writes as many interfaces in one
// section as the Reader reads, and refuses one more.
func TestWriterMaxInterfaces(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.WriteSectionHeader(""); err != nil {
		t.Fatal(err)
	}
	for id := range MaxInterfaces {
		if err := w.WriteInterface(InterfaceInfo{ID: id, LinkType: LinkRaw}); err != nil {
			t.Fatalf("interface %d: %v", id, err)
		}
	}
	if err := w.WriteInterface(InterfaceInfo{ID: MaxInterfaces, LinkType: LinkRaw}); !errors.Is(err, ErrLimit) {
		t.Fatalf("interface %d: %v, want ErrLimit", MaxInterfaces, err)
	}
	last := InterfaceInfo{ID: MaxInterfaces - 1, LinkType: LinkRaw}
	if err := w.WritePacket(last, &Record{Interface: last.ID, LinkType: LinkRaw, Data: []byte{0x45}, OrigLen: 1}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, info, err := readAll(t, bytes.NewReader(buf.Bytes()), Limits{})
	if err != io.EOF || len(got) != 1 || got[0].Interface != MaxInterfaces-1 || len(info.Interfaces) != MaxInterfaces {
		t.Fatalf("read %d records (interface %v), %d interfaces, %v", len(got), got, len(info.Interfaces), err)
	}
}

// failWriter accepts n bytes, then fails.
type failWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		n := f.n
		f.n = 0
		return n, errDiskFull
	}
	f.n -= len(p)
	return len(p), nil
}

// TestWriterWriteError: an error of the underlying writer is returned
// and stays.
func TestWriterWriteError(t *testing.T) {
	w := NewWriter(&failWriter{n: 100})
	in := InterfaceInfo{LinkType: LinkRaw}
	if err := w.WriteSectionHeader("x"); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteInterface(in); err != nil {
		t.Fatal(err)
	}
	big := &Record{LinkType: LinkRaw, Data: make([]byte, 8192), OrigLen: 8192} // beyond the buffer: written through
	if err := w.WritePacket(in, big); !errors.Is(err, errDiskFull) {
		t.Fatalf("WritePacket = %v, want the writer's error", err)
	}
	if err := w.WritePacket(in, &Record{LinkType: LinkRaw, Data: []byte{1}, OrigLen: 1}); !errors.Is(err, errDiskFull) {
		t.Errorf("WritePacket after the error = %v, want it again", err)
	}
	if err := w.Flush(); !errors.Is(err, errDiskFull) {
		t.Errorf("Flush after the error = %v, want it again", err)
	}
}

// TestWriterNoAlloc: writing a packet allocates nothing once the block
// buffer has grown.
func TestWriterNoAlloc(t *testing.T) {
	w := NewWriter(io.Discard)
	in := InterfaceInfo{LinkType: LinkEthernet, Name: "eth0", TSResolDigits: 6}
	if err := w.WriteSectionHeader("x"); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteInterface(in); err != nil {
		t.Fatal(err)
	}
	rec := &Record{LinkType: LinkEthernet, Timestamp: 1e9, Data: benchFrame(0), OrigLen: 60}
	if n := testing.AllocsPerRun(100, func() {
		if err := w.WritePacket(in, rec); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("WritePacket allocates %.1f times per packet", n)
	}
}

// TestWriterFixtures: every fixture and corpus capture, whole, read,
// written and read again gives the same packets (writerRoundTrip).
func TestWriterFixtures(t *testing.T) {
	n := 0
	for _, dir := range []string{fixturesDir, corpusDir} {
		entries, _ := os.ReadDir(dir) // the corpus may be absent
		for _, e := range entries {
			name := e.Name()
			if strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".md") || strings.HasSuffix(name, ".tsv") || e.IsDir() {
				continue
			}
			data := mustRead(t, filepath.Join(dir, name))
			t.Run(name, func(t *testing.T) { n += writerRoundTrip(t, data, Limits{}) })
		}
	}
	if n < 2643 { // demo.pcapng alone has 2643
		t.Errorf("%d packets written and read back, want the fixtures' at least", n)
	}
}

// FuzzWriterRoundTrip: whatever the Reader reads of an input, the Writer
// writes, and the Reader reads the same packets back (writerRoundTrip).
func FuzzWriterRoundTrip(f *testing.F) {
	frame := benchFrame(0)
	seedFuzz(f, []string{".pcap", ".pcapng", ".ntar", ".pcap.gz", ".pcapng.gz"},
		// Two sections whose interfaces share ID 0, µs then 2^-10 with an offset.
		cat(ngSHB(le, 1, 0), ngIDB(le, LinkEthernet, 0, ngOpt(le, optIfName, []byte("eth0"))), ngEPB(le, 0, 1773480413_589793, frame, 0),
			ngSHB(be, 1, 0), ngIDB(be, LinkRaw, 65535, ngOpt(be, optIfTSResol, []byte{0x8a}), ngOpt(be, optIfTSOffset, be.AppendUint64(nil, 3))),
			ngEPB(be, 0, 1025, frame[14:], 1500)),
		// Times after 2262 (saturated, µs and ns) and one before 1970
		// (negative offset): not writable.
		cat(ngSHB(le, 1, 0), ngIDB(le, LinkRaw, 0), ngEPB(le, 0, math.MaxUint64, frame[14:], 0),
			ngIDB(le, LinkRaw, 0, ngOpt(le, optIfTSOffset, le.AppendUint64(nil, uint64(1<<64-5)))), ngEPB(le, 1, 1, frame[14:], 0), ngEPB(le, 0, 2, frame[14:], 0),
			ngIDB(le, LinkRaw, 0, ngOpt(le, optIfTSResol, []byte{9})), ngEPB(le, 2, 3, frame[14:], 0), ngEPB(le, 2, math.MaxUint64, frame[14:], 0)),
		// A Simple Packet Block cut to the snaplen, and an obsolete Packet Block.
		cat(ngSHB(le, 1, 0), ngIDB(le, LinkEthernet, 20), ngBlock(le, blockTypeSPB, append(le.AppendUint32(nil, 60), frame...)),
			ngBlock(le, blockTypePB, append(le.AppendUint32(le.AppendUint32(le.AppendUint32(le.AppendUint32(le.AppendUint32(nil, 0), 0), 7), 4), 4), 1, 2, 3, 4))),
		pcapFile(le, pcapMagicNano, uint32(LinkRaw), testRec{sec: 1, frac: 999_999_999, data: frame[14:]}),
	)
	f.Fuzz(func(t *testing.T, data []byte) { writerRoundTrip(t, data, fuzzLimits) })
}

// writerRoundTrip reads data with lim and writes every record read (up
// to the end of input or the first reader error) as the carve command
// does, then checks: the Writer refuses a packet exactly when its
// timestamp cannot be written (before 1970, or saturated after 2262;
// every other timestamp of a µs interface is whole µs), the written file
// reads back with the same packets (checkReadBack), and writing what was
// read back gives the same bytes again. It returns how many packets it
// wrote.
func writerRoundTrip(t *testing.T, data []byte, lim Limits) int {
	rd, err := NewReaderLimits(bytes.NewReader(data), lim)
	if err != nil {
		return 0
	}
	defer rd.Close()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.WriteSectionHeader("porthunter test"); err != nil {
		t.Fatal(err)
	}
	var kept []writtenRec
	for {
		rec, err := rd.Next()
		if err != nil {
			break
		}
		in := readerInterface(t, rd, rec)
		ts := rec.Timestamp
		if ts < 0 || ts == math.MaxInt64 {
			// Refused for its interface first if that is not written yet.
			want := ErrUnwritable
			if !w.HasInterface(in) {
				want = ErrUnknownInterface
			}
			if err := w.WritePacket(in, rec); !errors.Is(err, want) {
				t.Fatalf("frame %d: WritePacket(timestamp %d) = %v, want %v", rec.Frame, ts, err, want)
			}
			continue
		}
		if in.TSResolDigits <= 6 && ts%1000 != 0 {
			t.Fatalf("frame %d: timestamp %d of a %d-digit interface is not whole µs", rec.Frame, ts, in.TSResolDigits)
		}
		if !w.HasInterface(in) {
			if err := w.WriteInterface(in); err != nil {
				t.Fatalf("WriteInterface(%+v) = %v", in, err)
			}
		}
		if err := w.WritePacket(in, rec); err != nil {
			t.Fatalf("frame %d: WritePacket = %v", rec.Frame, err)
		}
		c := *rec
		c.Data = bytes.Clone(rec.Data)
		kept = append(kept, writtenRec{in, c})
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	checkReadBack(t, file, kept)

	// Written again from what was read back, the file is the same.
	again, err := NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var reread []writtenRec
	for {
		rec, err := again.Next()
		if err != nil {
			break
		}
		c := *rec
		c.Data = bytes.Clone(rec.Data)
		reread = append(reread, writtenRec{readerInterface(t, again, rec), c})
	}
	if second := writeAll(t, reread); !bytes.Equal(second, file) {
		t.Fatalf("writing the file read back gives other bytes (%d, first %d)", len(second), len(file))
	}
	return len(kept)
}

// readerInterface finds the interface of rec, the record rd.Next just
// returned: interface rec.Interface of the section being read.
func readerInterface(t *testing.T, rd *Reader, rec *Record) InterfaceInfo {
	info := rd.Info()
	for _, in := range info.Interfaces {
		if in.Section == info.Sections-1 && in.ID == rec.Interface {
			return in
		}
	}
	t.Fatalf("frame %d: interface %d of section %d not in Info", rec.Frame, rec.Interface, info.Sections-1)
	return InterfaceInfo{}
}

func ExampleWriter() {
	in := InterfaceInfo{LinkType: LinkRaw, SnapLen: 65535, Name: "tun0", TSResolDigits: 9}
	ip := []byte{0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x04, 0, 0, 0, 0, 0}
	var file bytes.Buffer
	w := NewWriter(&file)
	err := w.WriteSectionHeader("example")
	if err == nil {
		err = w.WriteInterface(in)
	}
	if err == nil {
		err = w.WritePacket(in, &Record{LinkType: LinkRaw, Timestamp: 1773480413_589793123, Data: ip, OrigLen: len(ip)})
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		fmt.Println(err)
		return
	}

	rd, err := NewReader(&file)
	if err != nil {
		fmt.Println(err)
		return
	}
	rec, err := rd.Next()
	if err != nil {
		fmt.Println(err)
		return
	}
	info := rd.Info()
	fmt.Println(rec.Frame, time.Unix(0, rec.Timestamp).UTC().Format(time.RFC3339Nano), rec.LinkType, rec.CapLen, rec.OrigLen)
	fmt.Println(info.Format, info.Version, info.Interfaces[0].Name, info.Interfaces[0].SnapLen)
	// Output:
	// 1 2026-03-14T09:26:53.589793123Z 101 40 40
	// pcapng 1.0 tun0 65535
}
