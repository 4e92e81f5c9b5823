package pcapng

// Hostile-capture battery: every case builds a capture that lies (lengths,
// counts, chains, compression, a file changing under the reader), reads it
// to the end through the public API (NewReaderLimits, Next until an error,
// Decode on every record, as the product does) and checks three things:
//
//   - the outcome: the exact number of good records before the bad spot,
//     then an error wrapping the expected sentinel(s), or io.EOF when the
//     input is in fact valid; never a panic, never a silently wrong count;
//   - bounded time: each read runs in a goroutine and must finish within
//     hostileDeadline;
//   - bounded memory: bytes allocated during the read (runtime TotalAlloc)
//     stay below hostileBaseAlloc plus what the applicable limit allows,
//     never in proportion to a lying length field.

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

const (
	// hostileDeadline bounds one case's read; the slowest case takes a few
	// milliseconds, so only a hang (or a read of a lying length) gets near.
	hostileDeadline = 5 * time.Second

	// hostileBaseAlloc bounds what any read may allocate: the input buffer
	// (readerBufSize, 260 KiB), with gzip a second one plus the flate
	// state (~50 KiB), and a few error values. Cases that legitimately
	// need more (a large block within MaxBlockLen, the interface table up
	// to MaxAllInterfaces) add it in hostileCase.extraAlloc.
	hostileBaseAlloc = 1 << 20
)

// hostileRec is what the battery keeps of one record: metadata, a checksum
// of the data (so no per-record allocation during the measured read) and
// the decoded packet.
type hostileRec struct {
	Frame     uint64
	Interface int
	Link      LinkType
	Timestamp int64
	Precision uint8
	CapLen    int
	OrigLen   int
	Sum       uint32 // crc32 of Data
	Pkt       Packet
}

type hostileResult struct {
	recs    []hostileRec
	err     error // error that ended the read: from NewReaderLimits, else from Next (io.EOF when clean)
	openErr bool  // err came from NewReaderLimits
	again   error // Next after err (sticky check)
	recErr  bool  // Next returned a record together with an error
	info    Info
	bufCap  int // cap(Reader.buf) at the end
	alloc   uint64
	elapsed time.Duration
}

type hostileCase struct {
	name  string
	input []byte
	// open, when set, replaces input: it returns the source and an
	// optional hook called after every Next (err nil on success; on error
	// before the sticky re-check), e.g. to grow or shrink a file.
	open func(t *testing.T) (io.Reader, func(n int, err error))
	lim  Limits

	want    int     // exact records before the error; -1: check decides
	maxRecs int     // with want -1: most records possible (preallocated, so not measured)
	wantErr []error // errors.Is must hold for each; nil means a clean io.EOF
	wantAny []error // instead of wantErr: errors.Is must hold for one (io.EOF allowed if listed)
	atOpen  bool    // the error comes from NewReaderLimits
	off     int64   // FormatError.Offset, checked when > 0

	extraAlloc uint64 // allowed on top of hostileBaseAlloc
	check      func(t *testing.T, res *hostileResult)
}

// hostileRead is the product's loop: open, Next until an error, Decode
// each record. It measures time and allocation of exactly that.
func hostileRead(src io.Reader, lim Limits, hook func(int, error), res *hostileResult) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start := time.Now()
	rd, err := NewReaderLimits(src, lim)
	if err != nil {
		res.err, res.openErr = err, true
	} else {
		var p Packet
		for {
			rec, err := rd.Next()
			if err != nil {
				res.err, res.recErr = err, rec != nil
				if hook != nil {
					hook(len(res.recs), err)
				}
				_, res.again = rd.Next()
				break
			}
			Decode(rec, &p)
			res.recs = append(res.recs, hostileRec{
				Frame: rec.Frame, Interface: rec.Interface, Link: rec.LinkType,
				Timestamp: rec.Timestamp, Precision: rec.Precision,
				CapLen: rec.CapLen, OrigLen: rec.OrigLen,
				Sum: crc32.ChecksumIEEE(rec.Data), Pkt: p,
			})
			if hook != nil {
				hook(len(res.recs), nil)
			}
		}
	}
	res.elapsed = time.Since(start)
	runtime.ReadMemStats(&m1)
	res.alloc = m1.TotalAlloc - m0.TotalAlloc
	if rd != nil {
		res.info = rd.Info()
		res.bufCap = cap(rd.buf)
		rd.Close()
	}
}

// runHostile runs one case under the deadline and checks the common
// assertions; the case's check adds its own.
func runHostile(t *testing.T, c hostileCase) *hostileResult {
	t.Helper()
	var src io.Reader = bytes.NewReader(c.input)
	var hook func(int, error)
	if c.open != nil {
		src, hook = c.open(t)
	}
	// Preallocated outside the measurement: the harness's own slice must
	// not count against the reader.
	res := &hostileResult{recs: make([]hostileRec, 0, max(c.want, c.maxRecs, 0)+16)}
	done := make(chan string, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Sprintf("panic: %v\n%s", p, debug.Stack())
				return
			}
			done <- ""
		}()
		hostileRead(src, c.lim, hook, res)
	}()
	timer := time.NewTimer(hostileDeadline)
	defer timer.Stop()
	select {
	case msg := <-done:
		if msg != "" {
			t.Fatal(msg)
		}
	case <-timer.C:
		t.Fatalf("hang: read not finished after %v", hostileDeadline)
	}
	t.Logf("%d records, %v; %d bytes allocated, %v", len(res.recs), res.err, res.alloc, res.elapsed.Round(time.Microsecond))

	if res.openErr != c.atOpen {
		t.Errorf("error at open = %v (%v), want %v", res.openErr, res.err, c.atOpen)
	}
	if c.want >= 0 && len(res.recs) != c.want {
		t.Errorf("records = %d, want %d (error %v)", len(res.recs), c.want, res.err)
	}
	if c.wantAny != nil {
		ok := false
		for _, w := range c.wantAny {
			ok = ok || errors.Is(res.err, w)
		}
		var fe *FormatError
		if !ok || (res.err != io.EOF && !errors.As(res.err, &fe)) {
			t.Errorf("error = %v, want one of %v", res.err, c.wantAny)
		}
	} else if c.wantErr == nil {
		if res.err != io.EOF {
			t.Errorf("error = %v, want a clean io.EOF", res.err)
		}
	} else {
		for _, w := range c.wantErr {
			if !errors.Is(res.err, w) {
				t.Errorf("error = %v, want errors.Is %v", res.err, w)
			}
		}
		var fe *FormatError
		if !errors.As(res.err, &fe) {
			t.Errorf("error %v is no *FormatError", res.err)
		} else if c.off > 0 && fe.Offset != c.off {
			t.Errorf("error offset = %d, want %d (%v)", fe.Offset, c.off, res.err)
		}
	}
	if !res.openErr && res.again != res.err {
		t.Errorf("error not sticky: %v, then %v", res.err, res.again)
	}
	if res.recErr {
		t.Errorf("Next returned a record with its error")
	}
	for i, r := range res.recs {
		if r.Frame != uint64(i+1) {
			t.Errorf("record %d has Frame %d", i, r.Frame)
			break
		}
	}
	if limit := hostileBaseAlloc + c.extraAlloc; res.alloc > limit {
		t.Errorf("allocated %d bytes during the read, bound %d", res.alloc, limit)
	}
	if c.check != nil {
		c.check(t, res)
	}
	return res
}

func runHostileCases(t *testing.T, cases []hostileCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runHostile(t, c) })
	}
}

// ---- small builders on top of reader_test.go's ----

// patch32 returns a copy of b with the 32-bit value at off replaced.
func patch32(bo binary.ByteOrder, b []byte, off int, v uint32) []byte {
	b = bytes.Clone(b)
	bo.PutUint32(b[off:], v)
	return b
}

// hostileFrames are distinct, decodable frames (Ethernet/IPv4/TCP SYNs).
func hostileFrames(n int) [][]byte {
	f := make([][]byte, n)
	for i := range f {
		f[i] = benchFrame(i)
	}
	return f
}

// hostilePCAPRecs wraps frames as pcap records, one second apart.
func hostilePCAPRecs(frames [][]byte) []testRec {
	recs := make([]testRec, len(frames))
	for i, f := range frames {
		recs[i] = testRec{sec: 1_700_000_000 + uint32(i), frac: uint32(i), data: f}
	}
	return recs
}

// wantSums checks that the records read are exactly (a prefix of, when
// prefix is set) the given frames, data and decode included.
func wantSums(t *testing.T, recs []hostileRec, frames [][]byte, prefix bool) {
	t.Helper()
	if !prefix && len(recs) != len(frames) || len(recs) > len(frames) {
		t.Errorf("records = %d, frames = %d", len(recs), len(frames))
	}
	for i := range min(len(recs), len(frames)) {
		r := recs[i]
		if r.Sum != crc32.ChecksumIEEE(frames[i]) || r.CapLen != len(frames[i]) {
			t.Errorf("record %d: data differs from frame %d (caplen %d, want %d)", i, i, r.CapLen, len(frames[i]))
			return
		}
		if f := frames[i]; isBenchSYN(f) && (r.Pkt.L4 != L4TCP || r.Pkt.TCPFlags != TCPFlagSYN) {
			t.Errorf("record %d decoded as %+v, want a TCP SYN", i, r.Pkt)
		}
	}
}

// tiny4 is a 4-byte record body for cases where the data does not matter.
var tiny4 = []byte{1, 2, 3, 4}

// isBenchSYN tells a benchFrame (Ethernet, IPv4, TCP, SYN only) from other
// test data, so wantSums checks the decode of the frames that have one.
func isBenchSYN(f []byte) bool {
	return len(f) >= 58 && f[12] == 0x08 && f[13] == 0 && f[14] == 0x45 && f[23] == 6 && f[47] == 0x02
}

// ---- pcap record headers ----

func TestHostilePCAPRecordHeader(t *testing.T) {
	frames := hostileFrames(3)
	good := pcapFile(le, pcapMagicMicro, uint32(LinkEthernet), hostilePCAPRecs(frames)...)
	goodLen := int64(len(good)) // offset of the fourth record
	// withBad appends a fourth record of n data bytes to the three good
	// ones and returns the file and the offset of its header.
	withBad := func(bo binary.AppendByteOrder, magic uint32, n int, orig int) ([]byte, int) {
		recs := append(hostilePCAPRecs(frames), testRec{sec: 1, data: make([]byte, n), orig: orig})
		f := pcapFile(bo, magic, uint32(LinkEthernet), recs...)
		hdrLen := pcapRecLen
		if magic == pcapMagicModified {
			hdrLen = pcapRecLenModified
		}
		return f, len(f) - n - hdrLen
	}
	capLenAt := func(_ []byte, hdr int) int { return hdr + pcapRecCapLen }

	// caplen > snaplen: the pcap reader does not enforce the file's
	// snaplen (pcap.go keeps what was captured, like Wireshark); only
	// MaxCapLen bounds a record.
	snapSmall := patch32(le, good, pcapSnapLen, 32)

	// caplen beyond the end of the file: a 100-byte record claims 1000,
	// 200000 (peeked in the input buffer) and MaxCapLen (the largest read).
	beyond, at := withBad(le, pcapMagicMicro, 100, 0)
	beyond1000 := patch32(le, beyond, capLenAt(beyond, at), 1000)
	beyond200k := patch32(le, beyond, capLenAt(beyond, at), 200_000)
	beyondMax := patch32(le, beyond, capLenAt(beyond, at), MaxCapLen)

	// caplen 0: valid, a record with no bytes (orig 60: snap-truncated).
	zero := pcapFile(le, pcapMagicMicro, uint32(LinkEthernet), append(hostilePCAPRecs(frames),
		testRec{sec: 5, data: []byte{}, orig: 60}, testRec{sec: 6, data: frames[0]})...)

	// caplen 0xFFFFFFFF in both byte orders and the modified format.
	huge, at := withBad(le, pcapMagicMicro, 8, 0)
	hugeLE := patch32(le, huge, capLenAt(huge, at), 0xffffffff)
	hugeBEf, atBE := withBad(be, pcapMagicNano, 8, 0)
	hugeBE := patch32(be, hugeBEf, capLenAt(hugeBEf, atBE), 0xffffffff)
	hugeModf, atMod := withBad(le, pcapMagicModified, 8, 0)
	hugeMod := patch32(le, hugeModf, capLenAt(hugeModf, atMod), 0xffffffff)
	goodModLen := int64(len(pcapFile(le, pcapMagicModified, uint32(LinkEthernet), hostilePCAPRecs(frames)...)))

	// caplen > MaxCapLen with the bytes really there, and exactly MaxCapLen.
	over, _ := withBad(le, pcapMagicMicro, MaxCapLen+1, 0)
	exact, _ := withBad(le, pcapMagicMicro, MaxCapLen, 0)
	lowered, _ := withBad(le, pcapMagicMicro, 1001, 0)

	// origlen < caplen (and origlen 0): tolerated, OrigLen kept as written.
	origSmall, at := withBad(le, pcapMagicMicro, len(frames[1]), 0)
	copy(origSmall[at+pcapRecLen:], frames[1])
	origLess := patch32(le, origSmall, at+pcapRecOrigLen, 10)
	origZero := patch32(le, origSmall, at+pcapRecOrigLen, 0)

	checkOrig := func(orig int) func(t *testing.T, res *hostileResult) {
		return func(t *testing.T, res *hostileResult) {
			wantSums(t, res.recs, append(frames, frames[1]), false)
			r := res.recs[3]
			if r.OrigLen != orig || r.CapLen != len(frames[1]) || r.Pkt.Anomalies&AnomalySnapTruncated != 0 {
				t.Errorf("record 4: caplen %d origlen %d anomalies %#x, want %d %d, no AnomalySnapTruncated", r.CapLen, r.OrigLen, r.Pkt.Anomalies, len(frames[1]), orig)
			}
		}
	}

	runHostileCases(t, []hostileCase{
		{name: "caplen>snaplen", input: snapSmall, want: 3, check: func(t *testing.T, res *hostileResult) {
			wantSums(t, res.recs, frames, false)
			if res.info.Interfaces[0].SnapLen != 32 {
				t.Errorf("SnapLen = %d, want 32", res.info.Interfaces[0].SnapLen)
			}
		}},
		{name: "caplen-beyond-eof-1000", input: beyond1000, want: 3, wantErr: []error{io.ErrUnexpectedEOF}, off: goodLen,
			check: func(t *testing.T, res *hostileResult) { wantSums(t, res.recs, frames, false) }},
		{name: "caplen-beyond-eof-200000", input: beyond200k, want: 3, wantErr: []error{io.ErrUnexpectedEOF}, off: goodLen},
		{name: "caplen-beyond-eof-MaxCapLen", input: beyondMax, want: 3, wantErr: []error{io.ErrUnexpectedEOF}, off: goodLen},
		{name: "caplen-0", input: zero, want: 5, check: func(t *testing.T, res *hostileResult) {
			wantSums(t, res.recs[:3], frames, false)
			r := res.recs[3]
			if r.CapLen != 0 || r.OrigLen != 60 || r.Sum != 0 || r.Pkt.L3 != L3None ||
				r.Pkt.Anomalies != AnomalySnapTruncated|AnomalyLinkTruncated {
				t.Errorf("empty record = %+v", r)
			}
			if res.recs[4].Sum != crc32.ChecksumIEEE(frames[0]) {
				t.Errorf("record after the empty one differs")
			}
		}},
		{name: "caplen-0xFFFFFFFF", input: hugeLE, want: 3, wantErr: []error{ErrLimit}, off: goodLen},
		{name: "caplen-0xFFFFFFFF-big-endian-nsec", input: hugeBE, want: 3, wantErr: []error{ErrLimit}, off: goodLen},
		{name: "caplen-0xFFFFFFFF-modified", input: hugeMod, want: 3, wantErr: []error{ErrLimit}, off: goodModLen},
		{name: "caplen-MaxCapLen+1", input: over, want: 3, wantErr: []error{ErrLimit}, off: goodLen},
		{name: "caplen-MaxCapLen-exact", input: exact, want: 4, check: func(t *testing.T, res *hostileResult) {
			if res.recs[3].CapLen != MaxCapLen {
				t.Errorf("CapLen = %d, want %d", res.recs[3].CapLen, MaxCapLen)
			}
		}},
		{name: "caplen-above-lowered-MaxCapLen", input: lowered, lim: Limits{MaxCapLen: 1000}, want: 3, wantErr: []error{ErrLimit}, off: goodLen},
		{name: "origlen<caplen", input: origLess, want: 4, check: checkOrig(10)},
		{name: "origlen-0", input: origZero, want: 4, check: checkOrig(0)},
	})
}

// ---- pcapng block lengths ----

// hostileNGPrefix is a section with one Ethernet interface and two good
// EPBs: the partial answer every block case expects before its bad block.
func hostileNGPrefix() (prefix []byte, frames [][]byte) {
	frames = hostileFrames(2)
	prefix = cat(ngSHB(le, 1, 0), ngIDB(le, LinkEthernet, 0),
		ngEPB(le, 0, 1_700_000_000_000_000, frames[0], 0),
		ngEPB(le, 0, 1_700_000_001_000_000, frames[1], 0))
	return prefix, frames
}

func TestHostilePCAPNGBlockLength(t *testing.T) {
	prefix, frames := hostileNGPrefix()
	at := int64(len(prefix))
	third := benchFrame(2) // 60 bytes: EPB of 12+20+60 = 92 bytes
	epb := ngEPB(le, 0, 1_700_000_002_000_000, third, 0)
	lenAt, trailAt := 4, len(epb)-4
	bad := func(b []byte) []byte { return cat(prefix, b) }
	withLen := func(v uint32) []byte { return bad(patch32(le, epb, lenAt, v)) }
	checkPrefix := func(t *testing.T, res *hostileResult) { wantSums(t, res.recs, frames, false) }

	// An EPB whose length leaves out the data padding (77 for an 80-byte
	// block, both copies): tolerated as Wireshark does (ng.go readBlock).
	odd := ngEPB(le, 0, 3, make([]byte, 45), 0) // 12+20+48 = 80
	oddOK := patch32(le, patch32(le, odd, 4, 77), len(odd)-4, 77)
	oddBadTrail := patch32(le, odd, 4, 77)

	// Unaligned IDB and unknown block: must be aligned.
	idbOdd := ngIDB(le, LinkEthernet, 0)
	idbOdd = patch32(le, patch32(le, idbOdd, 4, 21), len(idbOdd)-4, 21)
	unkOdd := ngBlock(le, 0x99, []byte{1, 2, 3, 4})
	unkOdd = patch32(le, patch32(le, unkOdd, 4, 13), len(unkOdd)-4, 13)

	// A second section whose SHB lies about its length, in both orders.
	shbHugeLE := patch32(le, ngSHB(le, 1, 0), 4, 0xffffffff)
	shbHugeBE := patch32(be, ngSHB(be, 1, 0), 4, 0xfffffffc)

	// Length beyond the file with ~600 KB really present: the buffer grows
	// with the bytes read, not with the 15 MiB promised.
	bigData := make([]byte, 600_000)
	bigEPB := ngEPB(le, 0, 0, bigData, 0)
	bigLie := patch32(le, bigEPB[:len(bigEPB)-1], 4, 15<<20)

	// Lowered MaxBlockLen: a real unknown block of exactly the limit is
	// skipped, one of limit+4 is refused before it is read.
	const lowBlock = 1 << 20
	exactBlk := ngBlock(le, 0x99, make([]byte, lowBlock-blockMinLen))
	overBlk := ngBlock(le, 0x99, make([]byte, lowBlock+4-blockMinLen))

	malformed := []error{ErrMalformed}
	limit := []error{ErrLimit}
	eof := []error{io.ErrUnexpectedEOF}
	cases := []hostileCase{
		{name: "len-0xFFFFFFFC", input: withLen(0xfffffffc), want: 2, wantErr: limit, off: at, check: checkPrefix},
		{name: "len-0xFFFFFFFF", input: withLen(0xffffffff), want: 2, wantErr: limit, off: at},
		{name: "len-0xFFFFFFFD-unaligned-epb", input: withLen(0xfffffffd), want: 2, wantErr: limit, off: at},
		{name: "len-MaxBlockLen+4", input: withLen(MaxBlockLen + 4), want: 2, wantErr: limit, off: at},
		{name: "len-MaxBlockLen-beyond-eof", input: withLen(MaxBlockLen), want: 2, wantErr: eof, off: at},
		{name: "len-15MiB-beyond-eof", input: withLen(15 << 20), want: 2, wantErr: eof, off: at,
			check: func(t *testing.T, res *hostileResult) {
				if res.bufCap > readerBufSize {
					t.Errorf("buffer grew to %d for a %d-byte input", res.bufCap, len(prefix)+len(epb))
				}
			}},
		{name: "len-200000-beyond-eof", input: withLen(200_000), want: 2, wantErr: eof, off: at},
		{name: "len-15MiB-beyond-600KB", input: bad(bigLie), want: 2, wantErr: eof, off: at,
			extraAlloc: 3 * uint64(len(bigEPB)), check: func(t *testing.T, res *hostileResult) {
				if res.bufCap > 2*len(bigLie) {
					t.Errorf("buffer grew to %d for %d bytes present", res.bufCap, len(bigLie))
				}
			}},
		{name: "len-0", input: withLen(0), want: 2, wantErr: malformed, off: at},
		{name: "len-4", input: withLen(4), want: 2, wantErr: malformed, off: at},
		{name: "len-8", input: withLen(8), want: 2, wantErr: malformed, off: at},
		{name: "len-11", input: withLen(11), want: 2, wantErr: malformed, off: at},
		{name: "len-12-below-epb-minimum", input: withLen(12), want: 2, wantErr: malformed, off: at},
		{name: "len-28-below-epb-minimum", input: withLen(28), want: 2, wantErr: malformed, off: at},
		{name: "len-unaligned-idb", input: bad(idbOdd), want: 2, wantErr: malformed, off: at},
		{name: "len-unaligned-unknown-block", input: bad(unkOdd), want: 2, wantErr: malformed, off: at},
		{name: "len-unaligned-epb-tolerated", input: bad(oddOK), want: 3, check: func(t *testing.T, res *hostileResult) {
			checkPrefix(t, &hostileResult{recs: res.recs[:2]})
			if r := res.recs[2]; r.CapLen != 45 || r.Sum != crc32.ChecksumIEEE(make([]byte, 45)) {
				t.Errorf("unpadded EPB read as %+v", r)
			}
		}},
		{name: "len-unaligned-epb-trailer-differs", input: bad(oddBadTrail), want: 2, wantErr: malformed, off: at},
		{name: "trailer-differs", input: bad(patch32(le, epb, trailAt, 96)), want: 2, wantErr: malformed, off: at},
		{name: "len-shorter-than-block", input: bad(patch32(le, epb, lenAt, uint32(len(epb)-4))), want: 2, wantErr: malformed, off: at},
		{name: "len-longer-than-block", input: cat(prefix, patch32(le, epb, lenAt, uint32(len(epb)+4)), epb), want: 2, wantErr: malformed, off: at},
		{name: "later-shb-len-0xFFFFFFFF", input: bad(shbHugeLE), want: 2, wantErr: limit, off: at},
		{name: "later-shb-big-endian-len-0xFFFFFFFC", input: bad(shbHugeBE), want: 2, wantErr: limit, off: at},
		{name: "lowered-MaxBlockLen-exact", input: cat(prefix, exactBlk, epb), lim: Limits{MaxBlockLen: lowBlock}, want: 3,
			extraAlloc: 3 * lowBlock, check: func(t *testing.T, res *hostileResult) {
				wantSums(t, res.recs, append(frames, third), false)
			}},
		{name: "lowered-MaxBlockLen+4", input: cat(prefix, overBlk, epb), lim: Limits{MaxBlockLen: lowBlock}, want: 2, wantErr: limit, off: at},
	}
	runHostileCases(t, cases)
}

// ---- endless option lists ----

func TestHostileOptions(t *testing.T) {
	prefix, frames := hostileNGPrefix()
	at := int64(len(prefix))
	third := benchFrame(2)
	zeroOpts := func(n int) []byte { return bytes.Repeat(ngOpt(le, 1, nil), n) } // opt_comment, length 0
	// IDBs are added after the prefix's, so they are interface 1.
	epb1 := ngEPB(le, 1, 1_700_000_002_000_000, third, 0)
	idbOpts := func(opts ...[]byte) []byte { return ngIDB(le, LinkEthernet, 0, opts...) }
	epbOpts := func(opts ...[]byte) []byte { return ngEPB(le, 0, 1_700_000_002_000_000, third, 0, opts...) }
	// An option whose length runs past the block: code, length, then
	// fewer bytes than promised (no opt_endofopt after it).
	runaway := func(l uint16) []byte { return le.AppendUint16(le.AppendUint16(nil, 1), l) }
	named := idbOpts(ngOpt(le, optIfName, []byte("eth-hostile")), ngOpt(le, optIfTSResol, []byte{9})) // no opt_endofopt

	all3 := func(t *testing.T, res *hostileResult) { wantSums(t, res.recs, append(frames, third), false) }
	limit, malformed := []error{ErrLimit}, []error{ErrMalformed}
	runHostileCases(t, []hostileCase{
		{name: "idb-5000-zero-length", input: cat(prefix, idbOpts(zeroOpts(5000)), epb1), want: 2, wantErr: limit, off: at},
		{name: "idb-MaxOptions+1-zero-length", input: cat(prefix, idbOpts(zeroOpts(MaxOptions+1)), epb1), want: 2, wantErr: limit, off: at},
		{name: "idb-MaxOptions-zero-length-no-endofopt", input: cat(prefix, idbOpts(zeroOpts(MaxOptions)), epb1), want: 3, check: all3},
		{name: "idb-endofopt-then-garbage", input: cat(prefix, idbOpts(ngOpt(le, optEndOfOpt, nil), runaway(0xffff)), epb1), want: 3, check: all3},
		{name: "idb-option-len-0xFFFF-past-block", input: cat(prefix, idbOpts(runaway(0xffff)), epb1), want: 2, wantErr: malformed, off: at},
		{name: "idb-option-len-past-block-after-1000", input: cat(prefix, idbOpts(zeroOpts(1000), runaway(9), []byte{1, 2, 3, 4}), epb1), want: 2, wantErr: malformed, off: at},
		{name: "idb-options-no-endofopt", input: cat(prefix, named, epb1), want: 3, check: func(t *testing.T, res *hostileResult) {
			all3(t, res)
			in := res.info.Interfaces[1]
			if in.Name != "eth-hostile" || in.TSResol != 9 || res.recs[2].Precision != 9 || res.recs[2].Timestamp != 1_700_000_002_000_000 {
				t.Errorf("interface %+v, record %+v", in, res.recs[2])
			}
		}},
		{name: "epb-5000-zero-length", input: cat(prefix, epbOpts(zeroOpts(5000))), want: 2, wantErr: limit, off: at},
		{name: "epb-MaxOptions-zero-length-no-endofopt", input: cat(prefix, epbOpts(zeroOpts(MaxOptions))), want: 3, check: all3},
		{name: "epb-option-len-0xFFFF-past-block", input: cat(prefix, epbOpts(runaway(0xffff))), want: 2, wantErr: malformed, off: at},
		{name: "epb-option-len-past-block-after-3000", input: cat(prefix, epbOpts(zeroOpts(3000), runaway(200), make([]byte, 8))), want: 2, wantErr: malformed, off: at},
		{name: "epb-lowered-MaxOptions", input: cat(prefix, epbOpts(zeroOpts(11))), lim: Limits{MaxOptions: 10}, want: 2, wantErr: limit, off: at},
		{name: "later-shb-5000-zero-length", input: cat(prefix, ngSHB(le, 1, 0, zeroOpts(5000))), want: 2, wantErr: limit, off: at},
		{name: "later-shb-option-past-block", input: cat(prefix, ngSHB(le, 1, 0, runaway(0x100))), want: 2, wantErr: malformed, off: at},
		{name: "isb-5000-zero-length", input: cat(prefix, ngBlock(le, blockTypeISB, cat(make([]byte, 12), zeroOpts(5000)))), want: 2, wantErr: limit, off: at},
	})
}

// ---- thousands of interface blocks ----

func TestHostileInterfaces(t *testing.T) {
	tiny := []byte{0xde, 0xad, 0xbe, 0xef}
	// One section: an IDB then an EPB on it, MaxInterfaces+1 times. The
	// (MaxInterfaces+1)th IDB is refused after MaxInterfaces records.
	oneSection := func(n int) ([]byte, int64) {
		var b bytes.Buffer
		b.Write(ngSHB(le, 1, 0))
		var at int64
		for i := range n {
			at = int64(b.Len())
			b.Write(ngIDB(le, LinkEthernet, 0))
			b.Write(ngEPB(le, uint32(i), uint64(i), tiny, 0))
		}
		return b.Bytes(), at
	}
	perSection, perSectionAt := oneSection(MaxInterfaces + 1)

	// Many sections of 1000 IDBs (under MaxInterfaces each): the
	// (MaxAllInterfaces+1)th IDB of the file, in section 16, is refused.
	const idbsPerSection = 1000
	sections := MaxAllInterfaces/idbsPerSection + 1 // 17
	var all bytes.Buffer
	var allAt int64
	for s := range sections {
		all.Write(ngSHB(le, 1, 0))
		for i := range idbsPerSection {
			if s*idbsPerSection+i == MaxAllInterfaces {
				allAt = int64(all.Len())
			}
			all.Write(ngIDB(le, LinkEthernet, 0))
			all.Write(ngEPB(le, uint32(i), uint64(i), tiny, 0))
		}
	}

	// 200 sections of one IDB and one EPB under a lowered total.
	var few bytes.Buffer
	var fewAt int64
	for s := range 200 {
		few.Write(ngSHB(le, 1, 0))
		if s == 100 {
			fewAt = int64(few.Len())
		}
		few.Write(ngIDB(le, LinkEthernet, 0))
		few.Write(ngEPB(le, 0, 0, tiny, 0))
	}

	// The interface table legitimately grows to the limit: Info keeps one
	// InterfaceInfo per IDB, and the section table one ngIface per IDB of
	// the section. append grows large slices by 1.25x, so the copies left
	// behind sum to about 5x the final table; 6x leaves room for size
	// classes. Proportional to the limit, not to the input.
	ifaceAlloc := func(total, perSection int) uint64 {
		return uint64(6*total*int(reflect.TypeFor[InterfaceInfo]().Size()) + 6*perSection*int(reflect.TypeFor[ngIface]().Size()))
	}
	ids := func(perSection int) func(t *testing.T, res *hostileResult) {
		return func(t *testing.T, res *hostileResult) {
			for i, r := range res.recs {
				if r.Interface != i%perSection || r.Sum != crc32.ChecksumIEEE(tiny) {
					t.Fatalf("record %d: interface %d, want %d", i, r.Interface, i%perSection)
				}
			}
		}
	}
	limit := []error{ErrLimit}
	runHostileCases(t, []hostileCase{
		{name: "MaxInterfaces+1-in-one-section", input: perSection, want: MaxInterfaces, wantErr: limit, off: perSectionAt,
			extraAlloc: ifaceAlloc(MaxInterfaces, MaxInterfaces), check: ids(MaxInterfaces + 1)},
		{name: "MaxAllInterfaces+1-over-17-sections", input: all.Bytes(), want: MaxAllInterfaces, wantErr: limit, off: allAt,
			extraAlloc: ifaceAlloc(MaxAllInterfaces, idbsPerSection), check: func(t *testing.T, res *hostileResult) {
				ids(idbsPerSection)(t, res)
				if res.info.Sections != sections || len(res.info.Interfaces) != MaxAllInterfaces {
					t.Errorf("Info: %d sections, %d interfaces", res.info.Sections, len(res.info.Interfaces))
				}
			}},
		{name: "lowered-MaxAllInterfaces-200-sections", input: few.Bytes(), lim: Limits{MaxAllInterfaces: 100}, want: 100, wantErr: limit, off: fewAt,
			check: ids(1)},
	})
}

// ---- EPB interface id out of range ----

func TestHostileInterfaceID(t *testing.T) {
	shb, idb := ngSHB(le, 1, 0), ngIDB(le, LinkEthernet, 0)
	f := benchFrame(0)
	epb := func(id uint32) []byte { return ngEPB(le, id, 0, f, 0) }
	spb := ngBlock(le, blockTypeSPB, append(le.AppendUint32(nil, uint32(len(f))), f...))
	pb := ngBlock(le, blockTypePB, cat(le.AppendUint16(nil, 2), make([]byte, 10), le.AppendUint32(nil, 4), le.AppendUint32(nil, 4), tiny4))
	off := func(parts ...[]byte) int64 { return int64(len(cat(parts...))) }
	malformed := []error{ErrMalformed}
	runHostileCases(t, []hostileCase{
		{name: "epb-no-idb", input: cat(shb, epb(0)), want: 0, wantErr: malformed, off: off(shb)},
		{name: "spb-no-idb", input: cat(shb, spb), want: 0, wantErr: malformed, off: off(shb)},
		{name: "epb-id-equals-idb-count", input: cat(shb, idb, idb, epb(0), epb(1), epb(2)), want: 2, wantErr: malformed,
			off: off(shb, idb, idb, epb(0), epb(1))},
		{name: "epb-id-0xFFFFFFFF", input: cat(shb, idb, epb(0), epb(0xffffffff)), want: 1, wantErr: malformed, off: off(shb, idb, epb(0))},
		{name: "pb-id-equals-idb-count", input: cat(shb, idb, idb, pb), want: 0, wantErr: malformed, off: off(shb, idb, idb)},
		{name: "epb-id-of-previous-section", input: cat(shb, idb, epb(0), shb, epb(0)), want: 1, wantErr: malformed, off: off(shb, idb, epb(0), shb)},
		{name: "isb-id-out-of-range-ignored", input: cat(shb, idb, ngISB(le, 7, 1), epb(0)), want: 1},
	})
}

// ---- if_tsresol ----

func TestHostileTSResol(t *testing.T) {
	shb := ngSHB(le, 1, 0)
	good := cat(shb, ngIDB(le, LinkEthernet, 0), ngEPB(le, 0, 1_700_000_000_000_000, tiny4, 0)) // µs
	withResol := func(resol []byte, ts uint64) []byte {
		return cat(good, ngIDB(le, LinkRaw, 0, ngOpt(le, optIfTSResol, resol)), ngEPB(le, 1, ts, tiny4, 0))
	}
	at := int64(len(good))
	ts := func(ns int64, digits uint8) func(t *testing.T, res *hostileResult) {
		return func(t *testing.T, res *hostileResult) {
			if r := res.recs[0]; r.Timestamp != 1_700_000_000_000_000_000 || r.Precision != 6 {
				t.Errorf("first record: ts %d precision %d", r.Timestamp, r.Precision)
			}
			if r := res.recs[1]; r.Timestamp != ns || r.Precision != digits || r.Pkt.Timestamp != ns {
				t.Errorf("timestamp %d precision %d, want %d %d", r.Timestamp, r.Precision, ns, digits)
			}
		}
	}
	limit := []error{ErrLimit}
	runHostileCases(t, []hostileCase{
		// 10^0: seconds.
		{name: "0-seconds", input: withResol([]byte{0}, 1_700_000_000), want: 2, check: ts(1_700_000_000_000_000_000, 0)},
		// 10^-19: the finest decimal; a uint64 of 10^-19 s spans 1.8 s.
		{name: "19-decimal", input: withResol([]byte{19}, 12_345_678_901_234_567_891), want: 2, check: ts(1_234_567_890, 9)},
		// 2^-63: 3·2^62 units are 1.5 s.
		{name: "0x80|63-binary", input: withResol([]byte{0x80 | 63}, 3<<62), want: 2, check: ts(1_500_000_000, 9)},
		// 2^-0 is seconds too.
		{name: "0x80|0-binary", input: withResol([]byte{0x80}, 1_700_000_000), want: 2, check: ts(1_700_000_000_000_000_000, 0)},
		// An empty if_tsresol is ignored: the default µs applies.
		{name: "empty-option-default-usec", input: withResol(nil, 1_700_000_000_000_001), want: 2, check: ts(1_700_000_000_000_001_000, 6)},
		// Illegal: the divisor would not fit a uint64; the IDB is refused
		// with ErrLimit (ng.go readIDB), after the good record.
		{name: "20-decimal", input: withResol([]byte{20}, 1), want: 1, wantErr: limit, off: at},
		{name: "127-decimal", input: withResol([]byte{0x7f}, 1), want: 1, wantErr: limit, off: at},
		{name: "0x80|64-binary", input: withResol([]byte{0x80 | 64}, 1), want: 1, wantErr: limit, off: at},
		{name: "255-binary-2^-127", input: withResol([]byte{0xff}, 1), want: 1, wantErr: limit, off: at},
	})
}

// ---- nested tags and extension chains (decoder caps) ----

// decodeWant is the part of a Packet a decoder-cap case pins exactly.
type decodeWant struct {
	Anomalies uint32
	L3        L3
	L4        L4
	VLANTags  uint8
	Proto     uint8
	DstPort   uint16
	DataOff   uint8
	MSS       uint16
	OptCount  uint8
	OptKinds  uint64
	Depth     uint8 // TunnelDepth
}

func decodeGot(p Packet) decodeWant {
	return decodeWant{p.Anomalies, p.L3, p.L4, p.VLANTags, p.Proto, p.DstPort, p.DataOffset, p.MSS, p.OptCount, p.OptKinds, p.TunnelDepth}
}

func withTags(w decodeWant, n uint8) decodeWant {
	w.VLANTags = n
	return w
}

func TestHostileDecodeChains(t *testing.T) {
	rep := func(s string, n int) string { return strings.Repeat(s, n) }
	// Ethernet + n 802.1Q tags (TCI 1), the last one naming inner.
	tags := func(n int, inner string) string {
		return hEthSrcDst + "8100 " + rep("0001 8100 ", n-1) + "0001 " + inner + " "
	}
	v4syn := hIP4TCP + hTCPSyn
	// IPv6 with n destination-options headers (8 bytes: PadN of 4) before
	// a TCP SYN; the payload length covers all of it.
	v6ext := func(first string, n int) string {
		plen := n*8 + 24
		return hEthV6 + fmt.Sprintf("60000000 %04x %s 40 ", plen, first) + hSrc6 + hDst6 +
			rep("3c 00 0104 00000000 ", n-1) + "06 00 0104 00000000 " + hTCPSyn
	}
	// IPv4 + TCP with a 20-byte fixed header of data offset doffWords
	// and the given option bytes; total length covers header + options.
	tcpOpts := func(doffWords int, opts string, totalLen int) string {
		return hEthV4 + fmt.Sprintf("45 00 %04x abcd 0000 3b 06 0000 c0a8010a c0a80114 ", totalLen) +
			fmt.Sprintf("8235 0050 11223344 00000000 %02x 02 0400 0000 0000 ", doffWords<<4) + opts
	}
	nops := func(n int) string { return rep("01", n) }
	const allNOPs = 0x0101010101010101

	syn := decodeWant{L3: L3IPv4, L4: L4TCP, Proto: 6, DstPort: 80, DataOff: 24, MSS: 1460, OptCount: 1, OptKinds: 2}
	with8 := syn
	with8.VLANTags = 8
	tagLimit := decodeWant{Anomalies: AnomalyTagLimit, VLANTags: 8}
	syn6 := syn
	syn6.L3 = L3IPv6

	cases := []struct {
		name string
		hex  string
		cut  int // captured bytes, when the record is cut (OrigLen stays the full length)
		want decodeWant
	}{
		// 802.1Q/802.1ad: the walk stops at MaxLinkTags.
		{"vlan-only-3000-tags", tags(3000, "8100"), 0, tagLimit},
		{"vlan-MaxLinkTags-then-ipv4", tags(MaxLinkTags, "0800") + v4syn, 0, with8},
		{"vlan-MaxLinkTags+1-then-ipv4", tags(MaxLinkTags+1, "0800") + v4syn, 0, tagLimit},
		{"qinq-mixed-20-tags", hEthSrcDst + "88a8 " + rep("0001 9100 0001 8100 0001 88a8 ", 6) + "0001 0800 " + v4syn, 0, tagLimit},
		{"vlan-tags-to-the-end", tags(3, "8100") + "00", 0, decodeWant{Anomalies: AnomalyLinkTruncated, VLANTags: 3}},
		{"mpls-100-labels-no-bottom", hEthSrcDst + "8847 " + rep("00001040 ", 100) + v4syn, 0, decodeWant{Anomalies: AnomalyTagLimit}},
		// Tags and labels share one budget: 5 tags + 3 labels fit, 5 + 4 do not.
		{"vlan5+mpls3", tags(5, "8847") + "00001040 00001040 00001140 " + v4syn, 0, withTags(syn, 5)},
		{"vlan5+mpls4", tags(5, "8847") + "00001040 00001040 00001040 00001140 " + v4syn, 0, decodeWant{Anomalies: AnomalyTagLimit, VLANTags: 5}},
		{"vlan-MaxLinkTags-then-pppoe", tags(MaxLinkTags, "8864") + "1100 0001 0016 0021 " + v4syn, 0, tagLimit},

		// IPv6 extension chains: at most MaxIPv6ExtHeaders are walked.
		{"ipv6-MaxIPv6ExtHeaders-then-tcp", v6ext("3c", MaxIPv6ExtHeaders), 0, syn6},
		{"ipv6-MaxIPv6ExtHeaders+1", v6ext("3c", MaxIPv6ExtHeaders+1), 0, decodeWant{Anomalies: AnomalyExtLimit, L3: L3IPv6, Proto: 60}},
		{"ipv6-hop-by-hop-then-200-destopts", v6ext("00", 201), 0, decodeWant{Anomalies: AnomalyExtLimit, L3: L3IPv6, Proto: 60}},
		{"ipv6-9-fragment-headers", hEthV6 + "60000000 0060 2c 40 " + hSrc6 + hDst6 + rep("2c 00 0000 00000001 ", 12), 0,
			decodeWant{Anomalies: AnomalyExtLimit, L3: L3IPv6, Proto: 44}},
		// An extension header claiming 2048 bytes: cut by the snaplen when
		// the payload length promises them, malformed when it does not.
		{"ipv6-ext-len-255-snap-cut", hEthV6 + "60000000 0818 3c 40 " + hSrc6 + hDst6 + "06 ff 0104 00000000 " + hTCPSyn, 0,
			decodeWant{Anomalies: AnomalyIPTruncated, L3: L3IPv6, Proto: 60}},
		{"ipv6-ext-len-255-past-payload", hEthV6 + "60000000 0020 3c 40 " + hSrc6 + hDst6 + "06 ff 0104 00000000 " + hTCPSyn, 0,
			decodeWant{Anomalies: AnomalyBadIPHeader, L3: L3IPv6, Proto: 60}},

		// TCP options: 40 NOPs fill the 40-byte option space exactly.
		{"tcp-40-nops", tcpOpts(15, nops(40), 80), 0,
			decodeWant{L3: L3IPv4, L4: L4TCP, Proto: 6, DstPort: 80, DataOff: 60, OptCount: 40, OptKinds: allNOPs}},
		{"tcp-39-nops-then-kind-without-length", tcpOpts(15, nops(39)+"02", 80), 0,
			decodeWant{Anomalies: AnomalyBadL4Header, L3: L3IPv4, L4: L4TCP, Proto: 6, DstPort: 80, DataOff: 60, OptCount: 40, OptKinds: allNOPs}},
		{"tcp-mss-length-0", tcpOpts(6, "02 00 05b4", 44), 0,
			decodeWant{Anomalies: AnomalyBadL4Header, L3: L3IPv4, L4: L4TCP, Proto: 6, DstPort: 80, DataOff: 24, OptCount: 1, OptKinds: 2}},
		{"tcp-mss-length-1", tcpOpts(6, "02 01 05b4", 44), 0,
			decodeWant{Anomalies: AnomalyBadL4Header, L3: L3IPv4, L4: L4TCP, Proto: 6, DstPort: 80, DataOff: 24, OptCount: 1, OptKinds: 2}},
		{"tcp-option-length-255", tcpOpts(6, "03 ff 0000", 44), 0,
			decodeWant{Anomalies: AnomalyBadL4Header, L3: L3IPv4, L4: L4TCP, Proto: 6, DstPort: 80, DataOff: 24, OptCount: 1, OptKinds: 3}},
		// Cut by the snaplen inside the option list: a truncation, not a
		// malformed header (8 NOPs and an MSS whose value is not captured).
		{"tcp-options-snap-cut", tcpOpts(15, nops(8)+"0204 05b4"+nops(28), 80), 14 + 20 + 20 + 10,
			decodeWant{Anomalies: AnomalySnapTruncated | AnomalyL4Truncated, L3: L3IPv4, L4: L4TCP, Proto: 6, DstPort: 80, DataOff: 60, OptCount: 9, OptKinds: allNOPs}},
		{"tcp-data-offset-beyond-segment", tcpOpts(15, "", 40), 0,
			decodeWant{Anomalies: AnomalyBadL4Header, L3: L3IPv4, L4: L4TCP, Proto: 6, DstPort: 80, DataOff: 60}},
		{"tcp-data-offset-below-5", tcpOpts(4, "", 40), 0,
			decodeWant{Anomalies: AnomalyBadL4Header, L3: L3IPv4, L4: L4TCP, Proto: 6, DstPort: 80, DataOff: 16}},
	}
	frames := hostileFrames(2)
	var hc []hostileCase
	for _, c := range cases {
		frame := h(t, c.hex)
		rec := testRec{sec: 1, data: frame}
		if c.cut > 0 {
			rec = testRec{sec: 1, data: frame[:c.cut], orig: len(frame)}
		}
		// A good SYN on either side: the hostile frame must not disturb
		// the records around it.
		f := pcapFile(le, pcapMagicMicro, uint32(LinkEthernet), testRec{data: frames[0]}, rec, testRec{data: frames[1]})
		want := c.want
		hc = append(hc, hostileCase{name: c.name, input: f, want: 3, check: func(t *testing.T, res *hostileResult) {
			if got := decodeGot(res.recs[1].Pkt); got != want {
				t.Errorf("decoded\n got %+v\nwant %+v", got, want)
			}
			wantSums(t, []hostileRec{res.recs[0]}, frames[:1], false)
			wantSums(t, []hostileRec{res.recs[2]}, frames[1:], false)
			// Every cut of the frame decodes without reading out of
			// bounds (a panic here fails the test) and within the caps.
			var p Packet
			for n := range len(frame) + 1 {
				r := Record{LinkType: LinkEthernet, CapLen: n, OrigLen: len(frame), Data: frame[:n]}
				Decode(&r, &p)
				if p.VLANTags > MaxLinkTags || p.OptCount > MaxTCPOptions {
					t.Fatalf("cut %d: %d tags, %d TCP options", n, p.VLANTags, p.OptCount)
				}
			}
		}})
	}
	runHostileCases(t, hc)
}

// deepIPIP is n IPv4 headers of protocol 4 (10.0.0.1 > 10.0.0.2, the
// same at every level: a packet that looks like itself all the way down)
// around inner, each total length covering what follows.
func deepIPIP(n int, inner []byte) []byte {
	b := make([]byte, 0, n*IPv4MinLen+len(inner))
	for i := range n {
		l := (n-i)*IPv4MinLen + len(inner)
		b = append(b, 0x45, 0, byte(l>>8), byte(l), 1, 1, 0, 0, 64, ipProtoIPIP, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2)
	}
	return append(b, inner...)
}

// deepVXLAN is n VXLAN layers (Ethernet, IPv4, UDP to 4789, VXLAN) around
// the Ethernet frame inner, lengths covering what follows.
func deepVXLAN(n int, inner []byte) []byte {
	const layer = EthernetLen + IPv4MinLen + UDPLen + VXLANLen
	b := make([]byte, 0, n*layer+len(inner))
	for i := range n {
		l := (n-i)*layer + len(inner) - EthernetLen
		b = append(b, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x00)
		b = append(b, 0x45, 0, byte(l>>8), byte(l), 1, 1, 0, 0, 64, ipProtoUDP, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2)
		l -= IPv4MinLen
		b = append(b, 0xd4, 0x31, PortVXLAN>>8, PortVXLAN&0xff, byte(l>>8), byte(l), 0, 0)
		b = append(b, 0x08, 0, 0, 0, 0, 0, 42, 0)
	}
	return append(b, inner...)
}

// TestHostileTunnels feeds the battery tunnels that lie: nested past
// MaxTunnelDepth (thousands deep), GRE with flags RFC 2784 says to discard
// on, GENEVE and GTP-U lengths past the packet, a GTP-U extension chain
// past MaxGTPUExtHeaders, Teredo indications past the datagram, ERSPAN of
// the wrong version. Each decodes in bounded time without allocating,
// either into the carried packet or as the outer packet it is.
func TestHostileTunnels(t *testing.T) {
	syn := decodeWant{L3: L3IPv4, L4: L4TCP, Proto: 6, DstPort: 80, DataOff: 24, MSS: 1460, OptCount: 1, OptKinds: 2}
	in4 := h(t, hIn4)
	eth4 := h(t, hEthV4+hIn4)
	ip := func(proto int, payload string) []byte { return h(t, hEthV4+tIP4(proto, payload)) }
	udp := func(sp, dp int, payload string) []byte { return ip(17, tUDP(sp, dp, payload)) }
	ethernet := func(b []byte) []byte { return append(h(t, hEthV4), b...) }
	atDepth := func(w decodeWant, d uint8) decodeWant { w.Depth = d; return w }
	outerUDP := func(port uint16) decodeWant { return decodeWant{L3: L3IPv4, L4: L4UDP, Proto: 17, DstPort: port} }
	outerGRE := decodeWant{L3: L3IPv4, L4: L4Other, Proto: 47}
	gtpChain := func(n int) string {
		return strings.Repeat("01 0000 85 ", n-1) + "01 0000 00 " // n 4-byte extension headers, the last ending the chain
	}
	deepest := decodeWant{Anomalies: AnomalyTunnelDepth, L3: L3IPv4, L4: L4Other, Proto: 4, Depth: MaxTunnelDepth}
	deepestVXLAN := decodeWant{Anomalies: AnomalyTunnelDepth, L3: L3IPv4, L4: L4UDP, Proto: 17, DstPort: PortVXLAN, Depth: MaxTunnelDepth}

	cases := []struct {
		name  string
		frame []byte
		cut   int
		want  decodeWant
	}{
		// Nesting: MaxTunnelDepth layers are entered, the next is left
		// as the payload of the deepest packet and counted.
		{"ipip-MaxTunnelDepth", ethernet(deepIPIP(MaxTunnelDepth, in4)), 0, atDepth(syn, MaxTunnelDepth)},
		{"ipip-MaxTunnelDepth+1", ethernet(deepIPIP(MaxTunnelDepth+1, in4)), 0, deepest},
		{"ipip-3000-deep-self-similar", ethernet(deepIPIP(3000, in4)), 0, deepest},
		{"vxlan-in-vxlan-MaxTunnelDepth", deepVXLAN(MaxTunnelDepth, eth4), 0, atDepth(syn, MaxTunnelDepth)},
		{"vxlan-in-vxlan-MaxTunnelDepth+1", deepVXLAN(MaxTunnelDepth+1, eth4), 0, deepestVXLAN},
		{"vxlan-in-vxlan-1000-deep", deepVXLAN(1000, eth4), 0, deepestVXLAN},
		// Cut inside the 5th VXLAN header: the 4th carried packet is a UDP
		// datagram whose tunnel header was not captured, not a limit hit.
		{"vxlan-5-deep-cut-in-the-5th-header", deepVXLAN(MaxTunnelDepth+1, eth4), 5*50 - 8, atDepth(outerUDP(PortVXLAN), MaxTunnelDepth)},

		// GRE flags and versions RFC 2784 §2.3 says to discard on.
		{"gre-routing-present", ip(47, "4000 0800 "+hIn4), 0, outerGRE},
		{"gre-strict-source-route", ip(47, "0800 0800 "+hIn4), 0, outerGRE},
		{"gre-recursion-7", ip(47, "0700 0800 "+hIn4), 0, outerGRE},
		{"gre-version-7", ip(47, "0007 0800 "+hIn4), 0, outerGRE},
		{"gre-all-flags", ip(47, "ffff 0800 "+hIn4), 0, outerGRE},
		{"gre-key-announced-not-there", ip(47, "2000 6558"), 0, outerGRE},
		{"gre-checksum-key-seq-cut", ip(47, "b000 0800 0000 0000 0000"), 0, outerGRE},
		{"gre-ignored-bits-6-12", ip(47, "03f8 0800 "+hIn4), 0, atDepth(syn, 1)},
		{"gre-unknown-protocol", ip(47, "0000 1234 "+hIn4), 0, outerGRE},
		{"erspan-ii-version-2", ip(47, "1000 88be 00000001 2064 0001 00000000 "+hEthV4+hIn4), 0, outerGRE},
		{"erspan-ii-header-cut", ip(47, "1000 88be 00000001 1064"), 0, outerGRE},
		{"erspan-iii-subheader-announced-cut", ip(47, "1000 22eb 00000001 2064 0001 00000000 0000 0001 1c00"), 0, outerGRE},
		{"erspan-iii-frame-type-31", ip(47, "1000 22eb 00000001 2064 0001 00000000 0000 7c00 "+hEthV4+hIn4), 0, outerGRE},

		// GENEVE: an option length, or the options' length, past the
		// packet leaves it a UDP datagram; 63 empty options is the most
		// the header allows and is entered.
		{"geneve-optlen-past-packet", udp(1, PortGENEVE, "3f 00 6558 00002a 00 0101 80 01 00000000 "+hEthV4+hIn4), 0, outerUDP(PortGENEVE)},
		{"geneve-option-length-past-options", udp(1, PortGENEVE, "01 00 6558 00002a 00 0101 80 1f "+hEthV4+hIn4), 0, outerUDP(PortGENEVE)},
		{"geneve-63-empty-options", udp(1, PortGENEVE, "3f 00 6558 00002a 00 "+strings.Repeat("0101 80 00 ", 63)+hEthV4+hIn4), 0, atDepth(syn, 1)},
		{"geneve-protocol-unknown", udp(1, PortGENEVE, "00 00 1234 00002a 00 "+hIn4), 0, outerUDP(PortGENEVE)},

		// GTP-U: the extension chain is bounded and must end in the
		// message; the length must fit in the datagram.
		{"gtpu-MaxGTPUExtHeaders", udp(1, PortGTPU, tGTPU(0x34, "0000 00 85 "+gtpChain(MaxGTPUExtHeaders), hIn4)), 0, atDepth(syn, 1)},
		{"gtpu-ext-chain-past-limit", udp(1, PortGTPU, tGTPU(0x34, "0000 00 85 "+gtpChain(200), hIn4)), 0,
			decodeWant{Anomalies: AnomalyExtLimit, L3: L3IPv4, L4: L4UDP, Proto: 17, DstPort: PortGTPU}},
		{"gtpu-ext-length-0", udp(1, PortGTPU, tGTPU(0x34, "0000 00 85 00 0000 00 ", hIn4)), 0, outerUDP(PortGTPU)},
		{"gtpu-ext-chain-past-message", udp(1, PortGTPU, "34 ff 0008 00000001 0000 00 85 ff 0000 00 "+hIn4), 0, outerUDP(PortGTPU)},
		{"gtpu-length-past-datagram", udp(1, PortGTPU, "30 ff ffff 00000001 "+hIn4), 0, outerUDP(PortGTPU)},
		{"gtpu-carried-length-past-message", udp(1, PortGTPU, "30 ff 0014 00000001 "+hIn4), 0, outerUDP(PortGTPU)},

		// Teredo: indications whose lengths run past the datagram.
		{"teredo-auth-lengths-255", udp(40000, PortTeredo, "0001 ff ff 0102030405060708 00 "+hIn6), 0, outerUDP(PortTeredo)},
		{"teredo-origin-cut", udp(40000, PortTeredo, "0000 f227 3f"), 0, outerUDP(PortTeredo)},

		// A tunnel cut by the snaplen: inside the carried IP header it
		// stays the outer datagram; inside the carried TCP header it is
		// entered and the cut is the carried packet's.
		{"vxlan-cut-in-carried-ip", udp(1, PortVXLAN, hVXLAN+hEthV4+hIn4), 14 + 20 + 8 + 8 + 14 + 10, outerUDP(PortVXLAN)},
		{"vxlan-cut-in-carried-tcp", udp(1, PortVXLAN, hVXLAN+hEthV4+hIn4), 14 + 20 + 8 + 8 + 14 + 20 + 6,
			decodeWant{Anomalies: AnomalySnapTruncated | AnomalyL4Truncated, L3: L3IPv4, L4: L4TCP, Proto: 6, DstPort: 80, Depth: 1}},
	}
	frames := hostileFrames(2)
	var hc []hostileCase
	for _, c := range cases {
		rec := testRec{sec: 1, data: c.frame}
		if c.cut > 0 {
			rec = testRec{sec: 1, data: c.frame[:c.cut], orig: len(c.frame)}
		}
		want := c.want
		if c.cut > 0 {
			want.Anomalies |= AnomalySnapTruncated
		}
		f := pcapFile(le, pcapMagicMicro, uint32(LinkEthernet), testRec{data: frames[0]}, rec, testRec{data: frames[1]})
		frame := c.frame
		hc = append(hc, hostileCase{name: c.name, input: f, want: 3, check: func(t *testing.T, res *hostileResult) {
			if got := decodeGot(res.recs[1].Pkt); got != want {
				t.Errorf("decoded\n got %+v\nwant %+v", got, want)
			}
			wantSums(t, []hostileRec{res.recs[0]}, frames[:1], false)
			wantSums(t, []hostileRec{res.recs[2]}, frames[1:], false)
			var p Packet
			for n := range len(frame) + 1 {
				r := Record{LinkType: LinkEthernet, CapLen: n, OrigLen: len(frame), Data: frame[:n]}
				Decode(&r, &p)
				checkTunnelFields(t, &p)
			}
		}})
	}
	runHostileCases(t, hc)
}

// ---- gzip ----

// countReader counts the compressed bytes the reader pulls.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// gzipFlushed compresses a pcap of the given records, flushing after each
// one, and returns the stream and the compressed offset after each flush:
// a prefix ending there decompresses to exactly the records before it.
func gzipFlushed(t *testing.T, recs []testRec) ([]byte, []int) {
	t.Helper()
	f := pcapFile(le, pcapMagicMicro, uint32(LinkEthernet), recs...)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	var offs []int
	pos := pcapHeaderLen
	for i, r := range recs {
		end := pos + pcapRecLen + len(r.data)
		if i == 0 {
			pos = 0
		}
		if _, err := zw.Write(f[pos:end]); err != nil {
			t.Fatal(err)
		}
		if err := zw.Flush(); err != nil {
			t.Fatal(err)
		}
		offs = append(offs, buf.Len())
		pos = end
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), offs
}

func TestHostileGzip(t *testing.T) {
	// The bomb: 16 records of 65000 zero bytes per gzip member (~1 KiB
	// compressed for 1 MiB), 4096 members: 4 GiB decompressed from ~4 MiB.
	// With MaxDecompressed 1 MiB the reader must stop after
	// 24 + 16*65016 = 1040280 bytes: 16 records, the 17th would end at
	// 1105296 > 1048576, so it gets ErrLimit at offset 1040280.
	const bombRec, bombLimit = 65000, 1 << 20
	recs := make([]testRec, 16)
	for i := range recs {
		recs[i] = testRec{sec: uint32(i), data: make([]byte, bombRec)}
	}
	first := pcapFile(le, pcapMagicMicro, uint32(LinkEthernet), recs...)
	bomb := cat(gzipped(first), bytes.Repeat(gzipped(first[pcapHeaderLen:]), 4095))
	var bombSrc *countReader

	// Garbage: random bytes (not a capture magic) compressed; a gzip
	// header followed by a reserved deflate block type (BFINAL 1, BTYPE 3).
	rng := rand.New(rand.NewSource(1))
	garbage := make([]byte, 64<<10)
	rng.Read(garbage)
	garbage[0] = 0
	badDeflate := append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0x07}, garbage[:100]...)

	// Five records of incompressible data, flushed one by one.
	frames := make([][]byte, 5)
	flushedRecs := make([]testRec, 5)
	for i := range frames {
		frames[i] = make([]byte, 1000)
		rng.Read(frames[i])
		flushedRecs[i] = testRec{sec: uint32(i), data: frames[i]}
	}
	z, offs := gzipFlushed(t, flushedRecs)
	recEnd := func(n int) int64 { return int64(pcapHeaderLen + n*(pcapRecLen+1000)) }
	badCRC := bytes.Clone(z)
	badCRC[len(badCRC)-8] ^= 0xff
	// After a sync flush the stream is byte-aligned: 0x07 opens a block of
	// the reserved type.
	corruptAfter3 := cat(z[:offs[2]], []byte{0x07}, garbage[:64])
	ngSmall := gzipped(cat(ngSHB(le, 1, 0), ngIDB(le, LinkEthernet, 0)))
	exact := pcapFile(le, pcapMagicMicro, uint32(LinkEthernet), flushedRecs[:3]...)

	prefix := func(n int) func(t *testing.T, res *hostileResult) {
		return func(t *testing.T, res *hostileResult) {
			wantSums(t, res.recs, frames[:n], false)
			if !res.openErr && !res.info.Compressed {
				t.Errorf("Info.Compressed false")
			}
		}
	}
	gzAlloc := uint64(readerBufSize) // the second input buffer, after gunzip
	runHostileCases(t, []hostileCase{
		{name: "bomb-4GiB-MaxDecompressed-1MiB", lim: Limits{MaxDecompressed: bombLimit},
			open: func(t *testing.T) (io.Reader, func(int, error)) {
				bombSrc = &countReader{r: bytes.NewReader(bomb)}
				return bombSrc, nil
			},
			want: 16, wantErr: []error{ErrLimit}, off: 1_040_280, extraAlloc: gzAlloc,
			check: func(t *testing.T, res *hostileResult) {
				// Stopping at the limit means not even reading the bomb:
				// one bufio fill of compressed input at most, not 4 MiB.
				if bombSrc.n > int64(2*readerBufSize) || bombSrc.n >= int64(len(bomb)) {
					t.Errorf("read %d of %d compressed bytes", bombSrc.n, len(bomb))
				}
				t.Logf("bomb: %d compressed bytes, %d read", len(bomb), bombSrc.n)
			}},
		{name: "limit-inside-pcapng-header", input: ngSmall, lim: Limits{MaxDecompressed: 10}, want: 0, atOpen: true, wantErr: []error{ErrLimit}, extraAlloc: gzAlloc},
		// 30 bytes hold the 28-byte SHB: open succeeds, the IDB after it does not.
		{name: "limit-inside-first-block", input: ngSmall, lim: Limits{MaxDecompressed: 30}, want: 0, wantErr: []error{ErrLimit}, off: 28, extraAlloc: gzAlloc},
		{name: "exactly-MaxDecompressed", input: gzipped(exact), lim: Limits{MaxDecompressed: int64(len(exact))}, want: 3, extraAlloc: gzAlloc, check: prefix(3)},
		{name: "gzip-of-random-garbage", input: gzipped(garbage), want: 0, atOpen: true, wantErr: []error{ErrNotCapture}, extraAlloc: gzAlloc},
		{name: "gzip-header-then-corrupt-deflate", input: badDeflate, want: 0, atOpen: true, wantErr: []error{ErrMalformed}, extraAlloc: gzAlloc},
		{name: "corrupt-deflate-after-3-records", input: corruptAfter3, want: 3, wantErr: []error{ErrMalformed}, off: recEnd(3), extraAlloc: gzAlloc, check: prefix(3)},
		{name: "crc-mismatch", input: badCRC, want: 5, wantErr: []error{ErrMalformed, gzip.ErrChecksum}, off: recEnd(5), extraAlloc: gzAlloc, check: prefix(5)},
		{name: "truncated-at-record-3-flush", input: z[:offs[2]], want: 3, wantErr: []error{io.ErrUnexpectedEOF}, off: recEnd(3), extraAlloc: gzAlloc, check: prefix(3)},
		{name: "truncated-inside-record-4", input: z[:offs[2]+500], want: 3, wantErr: []error{io.ErrUnexpectedEOF}, off: recEnd(3), extraAlloc: gzAlloc, check: prefix(3)},
		{name: "truncated-trailer", input: z[:len(z)-8], want: 5, wantErr: []error{io.ErrUnexpectedEOF}, off: recEnd(5), extraAlloc: gzAlloc, check: prefix(5)},
		{name: "truncated-gzip-header", input: z[:5], want: 0, atOpen: true, wantErr: []error{ErrMalformed, io.ErrUnexpectedEOF}},
		{name: "intact", input: z, want: 5, extraAlloc: gzAlloc, check: prefix(5)},
	})
}

// ---- a file that changes while it is read ----

// hostileFile is a capture split into its header (file header, or SHB and
// IDB) and its records, encoded, with the frames they carry.
type hostileFile struct {
	name   string
	header []byte
	recs   [][]byte
	frames [][]byte
}

// hostileFiles builds the same n frames as pcap and as pcapng.
func hostileFiles(frames [][]byte) []hostileFile {
	pc := hostileFile{name: "pcap", header: pcapFile(le, pcapMagicMicro, uint32(LinkEthernet)), frames: frames}
	ng := hostileFile{name: "pcapng", header: cat(ngSHB(le, 1, 0), ngIDB(le, LinkEthernet, 0)), frames: frames}
	for i, f := range frames {
		pc.recs = append(pc.recs, pcapFile(le, pcapMagicMicro, uint32(LinkEthernet), testRec{sec: uint32(i), data: f})[pcapHeaderLen:])
		ng.recs = append(ng.recs, ngEPB(le, 0, uint64(i), f, 0))
	}
	return []hostileFile{pc, ng}
}

// openFile writes data to a new file and opens it for reading.
func openFile(t *testing.T, data []byte) (string, *os.File) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "capture")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return path, f
}

func TestHostileGrowingFile(t *testing.T) {
	// Three records on disk; one more is appended after each of the
	// first five records read, and one after the read has ended.
	//
	// What the code guarantees: the reader pulls the file through a bufio
	// buffer, so appended records are seen if they are written before it
	// has returned io.EOF (here they are: a regular file's read at its end
	// returns what has been appended since), but Next's errors, io.EOF
	// included, are sticky: the record appended after io.EOF is never
	// returned. So: a clean io.EOF, at least the 3 original records, at
	// most 3+5, and always an exact prefix of the records in file order.
	for _, hf := range hostileFiles(hostileFrames(9)) {
		var appended int
		var errSeen error
		c := hostileCase{name: hf.name, want: -1, maxRecs: 9,
			open: func(t *testing.T) (io.Reader, func(int, error)) {
				path, f := openFile(t, cat(append([][]byte{hf.header}, hf.recs[:3]...)...))
				w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { w.Close() })
				return f, func(n int, err error) {
					if err == nil && appended == 5 || err != nil && errSeen != nil {
						return
					}
					if _, werr := w.Write(hf.recs[3+appended]); werr != nil {
						panic(werr)
					}
					appended++
					if err != nil {
						errSeen = err
					}
				}
			},
			check: func(t *testing.T, res *hostileResult) {
				if len(res.recs) < 3 || len(res.recs) > 8 {
					t.Errorf("records = %d, want 3 to 8", len(res.recs))
				}
				wantSums(t, res.recs, hf.frames[:8], true)
				if appended != 6 || errSeen != io.EOF {
					t.Errorf("appended %d records, end %v", appended, errSeen)
				}
			}}
		t.Run(hf.name, func(t *testing.T) { runHostile(t, c) })
	}
}

func TestHostileShrinkingFile(t *testing.T) {
	// 1000 records of 1000 bytes (about 1 MB), each distinct.
	frames := make([][]byte, 1000)
	for i := range frames {
		frames[i] = bytes.Repeat([]byte{byte(i), byte(i >> 8), 0x5a, byte(i * 7)}, 250)
	}
	for _, hf := range hostileFiles(frames) {
		recLen := len(hf.recs[0]) // 1016 (pcap) or 1032 (pcapng)
		whole := cat(append([][]byte{hf.header}, hf.recs...)...)
		truncateAt := func(size int64) func(t *testing.T) (io.Reader, func(int, error)) {
			return func(t *testing.T) (io.Reader, func(int, error)) {
				path, f := openFile(t, whole)
				return f, func(n int, err error) {
					if n == 10 && err == nil {
						if terr := os.Truncate(path, size); terr != nil {
							panic(terr)
						}
					}
				}
			}
		}
		// Cut in the middle of record 701, after 10 records were read.
		// At that point the reader has pulled at most one input buffer
		// (readerBufSize, 260 KiB, ~262 records) from the file, far
		// below the cut, so every later read sees the shorter file: the
		// answer is exact, 700 records, then io.ErrUnexpectedEOF at the
		// offset of record 701.
		mid := int64(len(hf.header) + 700*recLen + 500)
		midOff := int64(len(hf.header) + 700*recLen)
		// Cut below what was already read (100 bytes): the records still
		// in the bufio buffer are returned (they are the file's true
		// records, read before the cut), then the file ends. Whether that
		// end falls on a record boundary depends on how much one read()
		// returned, so io.EOF and io.ErrUnexpectedEOF are both right; the
		// records must be an exact prefix, at least the 10 read before.
		c := []hostileCase{
			{name: hf.name + "/cut-ahead-of-reader", open: truncateAt(mid), want: 700, wantErr: []error{io.ErrUnexpectedEOF}, off: midOff,
				check: func(t *testing.T, res *hostileResult) { wantSums(t, res.recs, frames[:700], false) }},
			{name: hf.name + "/cut-behind-reader", open: truncateAt(100), want: -1, maxRecs: len(frames), wantAny: []error{io.EOF, io.ErrUnexpectedEOF},
				check: func(t *testing.T, res *hostileResult) {
					if len(res.recs) < 10 || len(res.recs) >= len(frames) {
						t.Errorf("records = %d, want 10 to %d", len(res.recs), len(frames)-1)
					}
					wantSums(t, res.recs, frames, true)
				}},
		}
		runHostileCases(t, c)
	}
}
