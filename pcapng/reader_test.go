package pcapng

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

const fixturesDir = "../fixtures"

// ---- capture builders (test-only writers, independent of the reader) ----
//
// The reader's tests lay their input out here, not with Writer: they need
// what Writer never writes (classic pcap, either byte order, every
// timestamp resolution, blocks broken on purpose), and bytes made apart
// from Writer, which shares this package's constants with the reader.

// pcapFile builds a classic pcap file. magic is written in order bo, so
// the six on-disk magics are all reachable.
func pcapFile(bo binary.AppendByteOrder, magic uint32, link uint32, recs ...testRec) []byte {
	b := bo.AppendUint32(nil, magic)
	b = bo.AppendUint16(b, 2)
	b = bo.AppendUint16(b, 4)
	b = bo.AppendUint32(b, 0)
	b = bo.AppendUint32(b, 0)
	b = bo.AppendUint32(b, 65535)
	b = bo.AppendUint32(b, link)
	for _, r := range recs {
		b = bo.AppendUint32(b, r.sec)
		b = bo.AppendUint32(b, r.frac)
		b = bo.AppendUint32(b, uint32(len(r.data)))
		orig := r.orig
		if orig == 0 {
			orig = len(r.data)
		}
		b = bo.AppendUint32(b, uint32(orig))
		if magic == pcapMagicModified {
			b = append(b, make([]byte, 8)...)
		}
		b = append(b, r.data...)
	}
	return b
}

type testRec struct {
	sec, frac uint32
	data      []byte
	orig      int
}

// ngBlock frames a pcapng block: body padded to 4 bytes, length before
// and after.
func ngBlock(bo binary.AppendByteOrder, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(len(body) + blockMinLen)
	b := bo.AppendUint32(nil, typ)
	b = bo.AppendUint32(b, n)
	b = append(b, body...)
	return bo.AppendUint32(b, n)
}

func ngOpt(bo binary.AppendByteOrder, code uint16, val []byte) []byte {
	b := bo.AppendUint16(nil, code)
	b = bo.AppendUint16(b, uint16(len(val)))
	b = append(b, val...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func ngSHB(bo binary.AppendByteOrder, major, minor uint16, opts ...[]byte) []byte {
	b := bo.AppendUint32(nil, byteOrderMagic)
	b = bo.AppendUint16(b, major)
	b = bo.AppendUint16(b, minor)
	b = bo.AppendUint64(b, math.MaxUint64) // section length -1: unknown
	for _, o := range opts {
		b = append(b, o...)
	}
	return ngBlock(bo, blockTypeSHB, b)
}

func ngIDB(bo binary.AppendByteOrder, link LinkType, snap uint32, opts ...[]byte) []byte {
	b := bo.AppendUint16(nil, uint16(link))
	b = bo.AppendUint16(b, 0)
	b = bo.AppendUint32(b, snap)
	for _, o := range opts {
		b = append(b, o...)
	}
	return ngBlock(bo, blockTypeIDB, b)
}

func ngEPB(bo binary.AppendByteOrder, id uint32, ts uint64, data []byte, orig int, opts ...[]byte) []byte {
	if orig == 0 {
		orig = len(data)
	}
	b := bo.AppendUint32(nil, id)
	b = bo.AppendUint32(b, uint32(ts>>32))
	b = bo.AppendUint32(b, uint32(ts))
	b = bo.AppendUint32(b, uint32(len(data)))
	b = bo.AppendUint32(b, uint32(orig))
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	for _, o := range opts {
		b = append(b, o...)
	}
	return ngBlock(bo, blockTypeEPB, b)
}

func ngISB(bo binary.AppendByteOrder, id uint32, drops uint64) []byte {
	b := bo.AppendUint32(nil, id)
	b = bo.AppendUint64(b, 0)
	b = append(b, ngOpt(bo, optISBIfDrop, bo.AppendUint64(nil, drops))...)
	return ngBlock(bo, blockTypeISB, b)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var le, be = binary.LittleEndian, binary.BigEndian

// readAll reads every record of a capture and returns copies of them with
// the error that ended the read (io.EOF at a clean end).
func readAll(t testing.TB, r io.Reader, lim Limits) ([]Record, Info, error) {
	t.Helper()
	rd, err := NewReaderLimits(r, lim)
	if err != nil {
		return nil, Info{}, err
	}
	var recs []Record
	last := uint64(0)
	for {
		rec, err := rd.Next()
		if err != nil {
			if rec != nil {
				t.Errorf("Next returned a record with error %v", err)
			}
			if _, again := rd.Next(); again != err {
				t.Errorf("error not sticky: %v then %v", err, again)
			}
			return recs, rd.Info(), err
		}
		if rec.Frame != last+1 {
			t.Errorf("Frame = %d after %d", rec.Frame, last)
		}
		last = rec.Frame
		if rec.CapLen != len(rec.Data) {
			t.Errorf("frame %d: CapLen %d, len(Data) %d", rec.Frame, rec.CapLen, len(rec.Data))
		}
		c := *rec
		c.Data = bytes.Clone(rec.Data)
		recs = append(recs, c)
	}
}

// ---- fixtures ----

type truthIface struct {
	Section   int     `json:"section"`
	ID        int     `json:"id"`
	LinkType  int     `json:"link_type"`
	Name      string  `json:"name"`
	SnapLen   uint32  `json:"snaplen"`
	TSResol   uint8   `json:"if_tsresol"`
	TSOffset  int64   `json:"if_tsoffset"`
	Packets   uint64  `json:"packets"`
	ISBIfDrop *uint64 `json:"isb_ifdrop"`
}

type truthFrame struct {
	N       uint64 `json:"n"`
	Section int    `json:"section"`
	Iface   int    `json:"iface"`
	Block   string `json:"block"`
	TS      string `json:"ts"`
	CapLen  int    `json:"caplen"`
	Len     int    `json:"len"`
}

type truth struct {
	Format       string       `json:"format"`
	Variant      string       `json:"variant"`
	Compression  string       `json:"compression"`
	TSPrecision  string       `json:"ts_precision"`
	Packets      int          `json:"packets"`
	FirstTS      string       `json:"first_ts"`
	LastTS       string       `json:"last_ts"`
	Sections     int          `json:"sections"`
	CustomBlocks int          `json:"custom_blocks"`
	Interfaces   []truthIface `json:"interfaces"`
	Frames       []truthFrame `json:"frames"`
}

// rfc3339 formats a timestamp the way the truth files do.
func rfc3339(ns int64, digits int) string {
	layout := "2006-01-02T15:04:05"
	if digits > 0 {
		layout += "." + strings.Repeat("0", digits)
	}
	return time.Unix(0, ns).UTC().Format(layout + "Z07:00")
}

func fixtureFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"*.pcap", "*.pcapng", "*.gz"} {
		m, err := filepath.Glob(filepath.Join(fixturesDir, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatalf("no fixtures under %s", fixturesDir)
	}
	return files
}

func TestFixtures(t *testing.T) {
	for _, path := range fixtureFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			var tr truth
			raw, err := os.ReadFile(path + ".truth.json")
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &tr); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			checkFixture(t, data, tr)
		})
	}
}

func checkFixture(t *testing.T, data []byte, tr truth) {
	rd, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("NewReader = %v", err)
	}
	digits := 6
	if tr.TSPrecision == "ns" {
		digits = 9
	}
	var first, last string
	n := 0
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next after %d records = %v", n, err)
		}
		n++
		ts := ""
		if !(rd.ng && rec.Timestamp == 0) { // an SPB has no timestamp
			ts = rfc3339(rec.Timestamp, digits)
			if first == "" {
				first = ts
			}
			last = ts
		}
		if n <= len(tr.Frames) {
			f := tr.Frames[n-1]
			got := truthFrame{N: rec.Frame, Section: rd.section, Iface: rec.Interface, Block: f.Block, TS: ts, CapLen: rec.CapLen, Len: rec.OrigLen}
			if got != f {
				t.Errorf("frame %d = %+v, want %+v", n, got, f)
			}
		}
	}
	if rd.Offset() != int64(len(data)) && tr.Compression == "none" {
		t.Errorf("Offset() at EOF = %d, want %d", rd.Offset(), len(data))
	}
	if n != tr.Packets {
		t.Errorf("records = %d, want %d", n, tr.Packets)
	}
	if first != tr.FirstTS || last != tr.LastTS {
		t.Errorf("first/last = %s %s, want %s %s", first, last, tr.FirstTS, tr.LastTS)
	}
	info := rd.Info()
	wantFormat := tr.Format
	if tr.Variant == "modified" {
		wantFormat = FormatPCAPModified
	}
	if info.Format != wantFormat || info.Compressed != (tr.Compression == "gzip") || info.CustomBlocks != tr.CustomBlocks {
		t.Errorf("Info = %s compressed %v custom %d, want %s %v %d", info.Format, info.Compressed, info.CustomBlocks, wantFormat, tr.Compression == "gzip", tr.CustomBlocks)
	}
	if tr.Format != FormatPCAPNG {
		if info.Version != "2.4" || info.Sections != 1 || len(info.Interfaces) != 1 || info.Interfaces[0].Packets != uint64(n) {
			t.Errorf("pcap Info = %+v", info)
		}
		return
	}
	if info.Version != "1.0" || info.Sections != tr.Sections {
		t.Errorf("Info version %s sections %d, want 1.0 %d", info.Version, info.Sections, tr.Sections)
	}
	if len(info.Interfaces) != len(tr.Interfaces) {
		t.Fatalf("interfaces = %d, want %d", len(info.Interfaces), len(tr.Interfaces))
	}
	for i, w := range tr.Interfaces {
		g := info.Interfaces[i]
		got := truthIface{Section: g.Section, ID: g.ID, LinkType: int(g.LinkType), Name: g.Name, SnapLen: g.SnapLen,
			TSResol: g.TSResol, TSOffset: g.TSOffset, Packets: g.Packets}
		if g.HasDrops {
			got.ISBIfDrop = &g.Drops
		}
		if fmt.Sprint(got.ISBIfDrop != nil) != fmt.Sprint(w.ISBIfDrop != nil) || (w.ISBIfDrop != nil && *w.ISBIfDrop != g.Drops) {
			t.Errorf("interface %d drops = %v %d, want %v", i, g.HasDrops, g.Drops, w.ISBIfDrop)
		}
		got.ISBIfDrop, w.ISBIfDrop = nil, nil
		if got != w {
			t.Errorf("interface %d = %+v, want %+v", i, got, w)
		}
	}
}

// ---- formats and timestamps ----

func TestPCAPVariants(t *testing.T) {
	data := []byte{1, 2, 3, 4, 5}
	recs := []testRec{{sec: 1700000000, frac: 123456, data: data}, {sec: 1700000001, frac: 999999, data: data, orig: 1500}}
	for _, c := range []struct {
		name   string
		bo     binary.AppendByteOrder
		magic  uint32
		format string
		ns     int64 // nanoseconds of frac 123456
		digits uint8
	}{
		{"le-usec", le, pcapMagicMicro, FormatPCAP, 123456000, 6},
		{"be-usec", be, pcapMagicMicro, FormatPCAP, 123456000, 6},
		{"le-nsec", le, pcapMagicNano, FormatPCAP, 123456, 9},
		{"be-nsec", be, pcapMagicNano, FormatPCAP, 123456, 9},
		{"le-modified", le, pcapMagicModified, FormatPCAPModified, 123456000, 6},
		{"be-modified", be, pcapMagicModified, FormatPCAPModified, 123456000, 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			// 0x30000001: FCS bits set in the link-type field, stripped.
			got, info, err := readAll(t, bytes.NewReader(pcapFile(c.bo, c.magic, 0x30000001, recs...)), Limits{})
			if err != io.EOF || len(got) != 2 {
				t.Fatalf("readAll = %d records, %v; want 2, EOF", len(got), err)
			}
			if want := int64(1700000000)*1e9 + c.ns; got[0].Timestamp != want {
				t.Errorf("Timestamp = %d, want %d", got[0].Timestamp, want)
			}
			if got[0].LinkType != LinkEthernet || got[0].Precision != c.digits || got[1].OrigLen != 1500 || !bytes.Equal(got[0].Data, data) {
				t.Errorf("record = %+v", got[0])
			}
			if info.Format != c.format || info.Version != "2.4" || info.Interfaces[0].LinkType != LinkEthernet {
				t.Errorf("Info = %+v", info)
			}
		})
	}
}

func TestTimestampResolution(t *testing.T) {
	for _, c := range []struct {
		resol  uint8
		ts     uint64
		offset int64
		want   int64
		digits uint8
	}{
		{6, 1_000_001, 0, 1_000_001_000, 6},
		{9, 123, 0, 123, 9},
		{0, 5, 0, 5e9, 0},
		{3, 1, 10, 10_001_000_000, 3},
		{19, 1e19 - 1, 0, 999_999_999, 9},      // 10^-19: truncated to ns
		{0x80 | 10, 1025, 0, 1_000_976_562, 9}, // 2^-10: floor(1025e9/1024)
		{0x80 | 8, 1519128000<<8 | 50, 0, 1519128000_195312500, 8},
		{0x80 | 63, math.MaxUint64, 0, 1_999_999_999, 9},
		{0x80 | 0, 3, -1, 2e9, 0},
		{6, math.MaxUint64, 0, math.MaxInt64, 6}, // beyond 2262: saturates
		{0x80 | 0, math.MaxUint64, 0, math.MaxInt64, 0},
		{0, 1 << 40, 0, math.MaxInt64, 0},
		{9, 1, math.MinInt64 / 2, math.MinInt64 + 1, 9}, // offset saturates, then 1 ns
	} {
		t.Run(fmt.Sprintf("%#x/%d", c.resol, c.ts), func(t *testing.T) {
			f := cat(ngSHB(le, 1, 0),
				ngIDB(le, LinkRaw, 0, ngOpt(le, optIfTSResol, []byte{c.resol}), ngOpt(le, optIfTSOffset, le.AppendUint64(nil, uint64(c.offset)))),
				ngEPB(le, 0, c.ts, []byte{0x45}, 0))
			got, info, err := readAll(t, bytes.NewReader(f), Limits{})
			if err != io.EOF || len(got) != 1 {
				t.Fatalf("readAll = %d records, %v", len(got), err)
			}
			if got[0].Timestamp != c.want || got[0].Precision != c.digits || info.Interfaces[0].TSResolDigits != c.digits {
				t.Errorf("Timestamp, Precision = %d, %d; want %d, %d", got[0].Timestamp, got[0].Precision, c.want, c.digits)
			}
		})
	}
}

func TestPCAPNGBlocks(t *testing.T) {
	pkt := []byte("0123456789")
	spb := func(bo binary.AppendByteOrder, orig uint32, data []byte) []byte {
		return ngBlock(bo, blockTypeSPB, append(bo.AppendUint32(nil, orig), data...))
	}
	pb := func(bo binary.AppendByteOrder, id uint16, data []byte) []byte {
		b := bo.AppendUint16(nil, id)
		b = bo.AppendUint16(b, 0)
		b = bo.AppendUint64(b, 0)
		b = bo.AppendUint32(b, uint32(len(data)))
		b = bo.AppendUint32(b, uint32(len(data)))
		return ngBlock(bo, blockTypePB, append(b, data...))
	}
	f := cat(
		ngSHB(le, 1, 0, ngOpt(le, 1, []byte("comment"))),
		ngBlock(le, blockTypeCB, []byte{0, 0, 0x7e, 0xd9, 1, 2}),
		ngIDB(le, LinkEthernet, 4, ngOpt(le, optIfName, []byte("eth0"))),
		ngBlock(le, blockTypeNRB, []byte{0, 0, 0, 0}),
		spb(le, 10, pkt), // snaplen 4 cuts it
		ngISB(le, 0, 5),  // drops for interface 0
		ngISB(le, 9, 1),  // unknown interface: ignored
		ngBlock(le, 0x80005eed, []byte{1}),
		ngSHB(be, 1, 2), // second section, big-endian, version 1.2
		ngIDB(be, LinkNull, 0),
		ngIDB(be, LinkRaw, 0),
		ngEPB(be, 1, 7, pkt, 100, ngOpt(be, 1, []byte("c")), ngOpt(be, 2, be.AppendUint32(nil, 1))),
		pb(be, 0, pkt[:3]),
		spb(be, 20, pkt), // snaplen 0: cut to the block
		ngBlock(be, blockTypeDCB, nil),
		ngISB(be, 1, 9),
		ngISB(be, 1, 11), // the last ISB wins
	)
	got, info, err := readAll(t, bytes.NewReader(f), Limits{})
	if err != io.EOF {
		t.Fatalf("readAll error %v", err)
	}
	want := []struct {
		iface     int
		link      LinkType
		cap, orig int
	}{{0, LinkEthernet, 4, 10}, {1, LinkRaw, 10, 100}, {0, LinkNull, 3, 3}, {0, LinkNull, 12, 20}}
	if len(got) != len(want) {
		t.Fatalf("records = %d, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Interface != w.iface || g.LinkType != w.link || g.CapLen != w.cap || g.OrigLen != w.orig {
			t.Errorf("record %d = if %d link %d cap %d orig %d, want %+v", i, g.Interface, g.LinkType, g.CapLen, g.OrigLen, w)
		}
	}
	if got[0].Timestamp != 0 || got[1].Timestamp != 7000 {
		t.Errorf("timestamps = %d %d, want 0 7000", got[0].Timestamp, got[1].Timestamp)
	}
	if info.Sections != 2 || info.CustomBlocks != 2 || len(info.Interfaces) != 3 || info.Version != "1.0" {
		t.Fatalf("Info = %+v", info)
	}
	ifs := info.Interfaces
	if ifs[0].Name != "eth0" || !ifs[0].HasDrops || ifs[0].Drops != 5 || ifs[0].Packets != 1 ||
		ifs[1].Section != 1 || ifs[1].ID != 0 || ifs[1].HasDrops || ifs[1].Packets != 2 ||
		ifs[2].Section != 1 || ifs[2].ID != 1 || ifs[2].Drops != 11 || ifs[2].Packets != 1 {
		t.Errorf("Interfaces = %+v", ifs)
	}
}

// TestPacketBlockUnpadded mirrors mg-icmp2.ntar: a packet block whose
// length leaves out the data padding is read the way Wireshark does.
func TestPacketBlockUnpadded(t *testing.T) {
	epb := ngEPB(le, 0, 1, []byte{1, 2, 3, 4, 5, 6}, 0)
	le.PutUint32(epb[4:], uint32(len(epb)-2))
	le.PutUint32(epb[len(epb)-4:], uint32(len(epb)-2))
	f := cat(ngSHB(le, 1, 0), ngIDB(le, LinkEthernet, 0), epb, epb)
	got, _, err := readAll(t, bytes.NewReader(f), Limits{})
	if err != io.EOF || len(got) != 2 {
		t.Fatalf("readAll = %d records, %v; want 2, EOF", len(got), err)
	}
	idb := ngIDB(le, LinkEthernet, 0)
	le.PutUint32(idb[4:], uint32(len(idb)-2))
	if _, _, err := readAll(t, bytes.NewReader(cat(ngSHB(le, 1, 0), idb)), Limits{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("unaligned IDB: error %v, want ErrMalformed", err)
	}
}

// ---- errors ----

func TestReaderErrors(t *testing.T) {
	shb, idb := ngSHB(le, 1, 0), ngIDB(le, LinkEthernet, 0)
	epb := ngEPB(le, 0, 0, []byte{1, 2, 3, 4}, 0)
	patch := func(b []byte, off int, v uint32) []byte {
		b = bytes.Clone(b)
		le.PutUint32(b[off:], v)
		return b
	}
	manyIDB := cat(shb)
	for range 3 {
		manyIDB = cat(manyIDB, idb)
	}
	manyOpts := ngEPB(le, 0, 0, nil, 0, bytes.Repeat(ngOpt(le, 1, nil), 5))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(pcapFile(le, pcapMagicMicro, 1, testRec{data: make([]byte, 4000)}))
	zw.Close()
	small := Limits{MaxInterfaces: 2, MaxOptions: 4, MaxDecompressed: 1000}
	for _, c := range []struct {
		name    string
		data    []byte
		lim     Limits
		records int
		want    error
		offset  int64 // -1: do not check
	}{
		{"empty", nil, Limits{}, 0, ErrNotCapture, 0},
		{"text", []byte("hello world, not a capture"), Limits{}, 0, ErrNotCapture, 0},
		{"short magic", []byte{0xd4, 0xc3}, Limits{}, 0, ErrNotCapture, 0},
		{"pcap header cut", pcapFile(le, pcapMagicMicro, 1)[:20], Limits{}, 0, ErrMalformed, 0},
		{"pcap header cut eof", pcapFile(le, pcapMagicMicro, 1)[:20], Limits{}, 0, io.ErrUnexpectedEOF, 0},
		{"pcap version 1", patch(pcapFile(le, pcapMagicMicro, 1), 4, 0x00040001), Limits{}, 0, ErrUnsupportedVersion, 0},
		{"pcap reserved link bits", pcapFile(le, pcapMagicMicro, 0x00300000), Limits{}, 0, ErrMalformed, 0},
		{"pcap record header cut", pcapFile(le, pcapMagicMicro, 1, testRec{data: []byte{1}})[:30], Limits{}, 0, io.ErrUnexpectedEOF, 24},
		{"pcap data cut", pcapFile(le, pcapMagicMicro, 1, testRec{data: []byte{1, 2, 3}})[:42], Limits{}, 0, io.ErrUnexpectedEOF, 24},
		{"pcap huge caplen", patch(pcapFile(le, pcapMagicMicro, 1, testRec{data: []byte{1}}), 32, 0x7ffffff0), Limits{}, 0, ErrLimit, 24},
		{"pcap caplen above lowered limit", pcapFile(le, pcapMagicMicro, 1, testRec{data: make([]byte, 100)}), Limits{MaxCapLen: 99}, 0, ErrLimit, 24},
		{"gzip bomb", gz.Bytes(), small, 0, ErrLimit, -1},
		{"gzip cut", gz.Bytes()[:gz.Len()-10], Limits{}, 1, io.ErrUnexpectedEOF, -1},
		{"gzip of text", gzipped([]byte("plain text")), Limits{}, 0, ErrNotCapture, 0},
		{"gzip header bad", []byte{0x1f, 0x8b, 0, 0}, Limits{}, 0, ErrMalformed, 0},
		{"shb bad bom", patch(shb, 8, 0x11223344), Limits{}, 0, ErrMalformed, 0},
		{"shb v2", ngSHB(le, 2, 0), Limits{}, 0, ErrUnsupportedVersion, 0},
		{"shb v1.1", ngSHB(le, 1, 1), Limits{}, 0, ErrUnsupportedVersion, 0},
		{"shb cut", shb[:20], Limits{}, 0, io.ErrUnexpectedEOF, 0},
		{"shb too short", patch(shb, 4, 24), Limits{}, 0, ErrMalformed, 0},
		{"shb option too long", cat(ngSHB(le, 1, 0, []byte{1, 0, 0x30, 0x30})), Limits{}, 0, ErrMalformed, 0},
		{"later shb v2", cat(shb, idb, epb, ngSHB(le, 2, 0), idb, epb), Limits{}, 1, ErrUnsupportedVersion, int64(len(shb) + len(idb) + len(epb))},
		{"block len below 12", cat(shb, idb, patch(epb, 4, 8)), Limits{}, 0, ErrMalformed, int64(len(shb) + len(idb))},
		{"epb below minimum", cat(shb, idb, ngBlock(le, blockTypeEPB, make([]byte, 8))), Limits{}, 0, ErrMalformed, -1},
		{"block len huge", cat(shb, idb, patch(epb, 4, 0xfffffff0)), Limits{}, 0, ErrLimit, int64(len(shb) + len(idb))},
		{"block len over lowered limit", cat(shb, idb, epb), Limits{MaxBlockLen: len(epb) - 4}, 0, ErrLimit, -1},
		{"trailer mismatch", cat(shb, idb, patch(epb, len(epb)-4, 99)), Limits{}, 0, ErrMalformed, -1},
		{"bad interface", cat(shb, idb, epb, patch(epb, 8, 7)), Limits{}, 1, ErrMalformed, int64(len(shb) + len(idb) + len(epb))},
		{"no interface", cat(shb, epb), Limits{}, 0, ErrMalformed, -1},
		{"spb before idb", cat(shb, ngBlock(le, blockTypeSPB, []byte{1, 0, 0, 0, 9})), Limits{}, 0, ErrMalformed, -1},
		{"caplen beyond block", cat(shb, idb, patch(epb, 20, 65536)), Limits{}, 0, ErrMalformed, -1},
		{"caplen above limit", cat(shb, idb, patch(epb, 20, 0x7fffffff)), Limits{}, 0, ErrLimit, -1},
		{"epb option too long", cat(shb, idb, ngEPB(le, 0, 0, nil, 0, []byte{1, 0, 9, 0})), Limits{}, 0, ErrMalformed, -1},
		{"too many options", cat(shb, idb, manyOpts), small, 0, ErrLimit, -1},
		{"too many interfaces", manyIDB, small, 0, ErrLimit, int64(len(shb) + 2*len(idb))},
		{"tsresol decimal", cat(shb, ngIDB(le, 1, 0, ngOpt(le, optIfTSResol, []byte{20}))), Limits{}, 0, ErrLimit, -1},
		{"tsresol binary", cat(shb, ngIDB(le, 1, 0, ngOpt(le, optIfTSResol, []byte{0x80 | 64}))), Limits{}, 0, ErrLimit, -1},
		{"block cut", cat(shb, idb, epb[:20]), Limits{}, 0, io.ErrUnexpectedEOF, -1},
		{"block header cut", cat(shb, idb, epb[:5]), Limits{}, 0, io.ErrUnexpectedEOF, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			recs, _, err := readAll(t, bytes.NewReader(c.data), c.lim)
			if len(recs) != c.records || !errors.Is(err, c.want) {
				t.Fatalf("readAll = %d records, %v; want %d, %v", len(recs), err, c.records, c.want)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is no *FormatError", err)
			}
			if c.offset >= 0 && fe.Offset != c.offset {
				t.Errorf("Offset = %d, want %d (%v)", fe.Offset, c.offset, err)
			}
			if !strings.HasPrefix(err.Error(), "pcapng: ") || !strings.Contains(err.Error(), "offset") {
				t.Errorf("message %q lacks prefix or offset", err)
			}
		})
	}
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// TestGzipMultistream: concatenated gzip members read as one stream, and a
// stream of exactly MaxDecompressed bytes is not a limit hit.
func TestGzipMultistream(t *testing.T) {
	f := pcapFile(le, pcapMagicMicro, 1, testRec{data: []byte{1, 2, 3}}, testRec{data: []byte{4}})
	z := cat(gzipped(f[:30]), gzipped(f[30:]))
	got, info, err := readAll(t, bytes.NewReader(z), Limits{MaxDecompressed: int64(len(f))})
	if err != io.EOF || len(got) != 2 || !info.Compressed {
		t.Fatalf("readAll = %d records, %v, compressed %v", len(got), err, info.Compressed)
	}
	if _, _, err := readAll(t, bytes.NewReader(z), Limits{MaxDecompressed: int64(len(f) - 1)}); !errors.Is(err, ErrLimit) {
		t.Errorf("one byte over MaxDecompressed: %v, want ErrLimit", err)
	}
}

// TestHugeLengthNoHugeAlloc: a block length within MaxBlockLen but far
// beyond the input grows the buffer only with the bytes actually read.
func TestHugeLengthNoHugeAlloc(t *testing.T) {
	epb := ngEPB(le, 0, 0, make([]byte, 600_000), 0)
	f := cat(ngSHB(le, 1, 0), ngIDB(le, LinkEthernet, 0), epb[:len(epb)-1])
	le.PutUint32(f[len(f)-len(epb)+5:], 15<<20) // length 15 MiB + 600000
	rd, err := NewReader(bytes.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Next = %v, want io.ErrUnexpectedEOF", err)
	}
	if c := cap(rd.buf); c > 2*len(f) {
		t.Errorf("buffer grew to %d bytes for a %d-byte input", c, len(f))
	}
	// And a record bigger than the bufio buffer reads correctly.
	big := make([]byte, MaxCapLen)
	for i := range big {
		big[i] = byte(i)
	}
	got, _, err := readAll(t, bytes.NewReader(cat(ngSHB(le, 1, 0), ngIDB(le, LinkEthernet, 0), ngEPB(le, 0, 0, big, 0, ngOpt(le, 1, make([]byte, 8000))))), Limits{})
	if err != io.EOF || len(got) != 1 || !bytes.Equal(got[0].Data, big) {
		t.Fatalf("large block: %d records, %v", len(got), err)
	}
}

// ---- streams ----

func TestIOTestReaders(t *testing.T) {
	for _, path := range fixtureFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want, _, werr := readAll(t, bytes.NewReader(data), Limits{})
		if werr != io.EOF {
			t.Fatalf("%s: %v", path, werr)
		}
		for _, c := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{
			{"OneByteReader", iotest.OneByteReader},
			{"HalfReader", iotest.HalfReader},
			{"DataErrReader", iotest.DataErrReader},
		} {
			t.Run(filepath.Base(path)+"/"+c.name, func(t *testing.T) {
				got, _, err := readAll(t, c.wrap(bytes.NewReader(data)), Limits{})
				if err != io.EOF {
					t.Fatalf("error %v", err)
				}
				if len(got) != len(want) {
					t.Fatalf("records = %d, want %d", len(got), len(want))
				}
				for i := range want {
					if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) {
						t.Fatalf("record %d = %v, want %v", i, got[i], want[i])
					}
				}
			})
		}
		t.Run(filepath.Base(path)+"/TimeoutReader", func(t *testing.T) {
			recs, _, err := readAll(t, iotest.TimeoutReader(bytes.NewReader(data)), Limits{})
			if err == nil || err == io.EOF {
				t.Fatalf("%d records, error %v; want a timeout", len(recs), err)
			}
			if !errors.Is(err, iotest.ErrTimeout) {
				t.Errorf("error %v does not wrap iotest.ErrTimeout", err)
			}
		})
	}
	boom := errors.New("boom")
	if _, err := NewReader(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("NewReader(ErrReader) = %v, want boom", err)
	}
}

// TestEveryPrefix cuts fixtures at every length: the reader returns the
// whole records before the cut and then an error (or io.EOF when the cut
// falls between records), never a panic or an extra record.
func TestEveryPrefix(t *testing.T) {
	for _, name := range []string{"pcap-le-usec.pcap", "pcap-modified.pcap", "ng-blocks.pcapng", "ng-multisection.pcapng", "gzip.pcapng.gz"} {
		data, err := os.ReadFile(filepath.Join(fixturesDir, name))
		if err != nil {
			t.Fatal(err)
		}
		full, _, _ := readAll(t, bytes.NewReader(data), Limits{})
		t.Run(name, func(t *testing.T) {
			for n := range len(data) {
				got, _, err := readAll(t, bytes.NewReader(data[:n]), Limits{})
				if len(got) > len(full) {
					t.Fatalf("prefix %d: %d records, more than %d", n, len(got), len(full))
				}
				for i := range got {
					if !bytes.Equal(got[i].Data, full[i].Data) {
						t.Fatalf("prefix %d: record %d differs", n, i)
					}
				}
				if err == io.EOF {
					continue
				}
				if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrNotCapture) {
					t.Fatalf("prefix %d: error %v, want io.ErrUnexpectedEOF or ErrNotCapture", n, err)
				}
			}
		})
	}
}

// ---- allocation ----

// TestReaderNoAlloc: the steady path (Next and Decode) allocates nothing.
func TestReaderNoAlloc(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"pcap", benchPCAP(4000)},
		{"pcapng", benchPCAPNG(4000)},
		{"demo.pcapng", mustRead(t, filepath.Join(fixturesDir, "demo.pcapng"))},
	} {
		t.Run(c.name, func(t *testing.T) {
			br := bytes.NewReader(c.data)
			rd, err := NewReader(br)
			if err != nil {
				t.Fatal(err)
			}
			var p Packet
			n := 0
			allocs := testing.AllocsPerRun(2000, func() {
				rec, err := rd.Next()
				if err != nil {
					t.Fatalf("Next after %d = %v", n, err)
				}
				n++
				Decode(rec, &p)
			})
			if allocs != 0 {
				t.Errorf("AllocsPerRun(Next+Decode) = %v, want 0", allocs)
			}
		})
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ExampleReader() {
	capture := pcapFile(le, pcapMagicMicro, uint32(LinkRaw), testRec{sec: 1773480413, frac: 589793,
		data: []byte{0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
			0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x04, 0, 0, 0, 0, 0}})
	rd, err := NewReader(bytes.NewReader(capture))
	if err != nil {
		fmt.Println(err)
		return
	}
	var p Packet
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		Decode(rec, &p)
		fmt.Println(rec.Frame, time.Unix(0, rec.Timestamp).UTC().Format(time.RFC3339Nano), p.Src, p.Dst, p.DstPort, FlagString(p.TCPFlags))
	}
	info := rd.Info()
	fmt.Println(info.Format, info.Version, info.Interfaces[0].Packets)
	// Output:
	// 1 2026-03-14T09:26:53.589793Z 10.0.0.1 10.0.0.2 80 S
	// pcap 2.4 1
}
