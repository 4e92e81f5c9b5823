package pcapng

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// fuzzLimits keep every iteration's memory small: a hostile length can
// make the reader allocate at most about MaxBlockLen.
var fuzzLimits = Limits{
	MaxCapLen:        4096,
	MaxBlockLen:      8192,
	MaxInterfaces:    8,
	MaxOptions:       64,
	MaxDecompressed:  1 << 20,
	MaxAllInterfaces: 32,
}

// seedFuzz adds the fixtures and corpus files whose names end in one of
// exts (up to 64 KiB, so that minimising a new input stays quick), plus
// hand-made seeds.
func seedFuzz(f *testing.F, exts []string, extra ...[]byte) {
	for _, dir := range []string{fixturesDir, corpusDir} {
		entries, _ := os.ReadDir(dir) // the corpus may be absent
		for _, e := range entries {
			name := e.Name()
			for _, ext := range exts {
				if strings.HasSuffix(name, ext) && !strings.HasSuffix(name, ".json") {
					if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil && len(b) <= 64<<10 {
						f.Add(b)
					}
				}
			}
		}
	}
	for _, b := range extra {
		f.Add(b)
	}
}

func FuzzPCAP(f *testing.F) {
	seedFuzz(f, []string{".pcap", ".pcap.gz", ".snoop", ".bin", ".txt"},
		pcapFile(le, pcapMagicModified, 1, testRec{data: []byte{1, 2}}),
		pcapFile(be, pcapMagicNano, 0x30000001, testRec{data: benchFrame(0)}),
		gzipped(pcapFile(le, pcapMagicMicro, 1, testRec{data: benchFrame(1)})))
	f.Fuzz(fuzzReader)
}

func FuzzPCAPNG(f *testing.F) {
	seedFuzz(f, []string{".pcapng", ".ntar", ".pcapng.gz"},
		cat(ngSHB(le, 1, 0), ngIDB(le, 1, 0, ngOpt(le, optIfTSResol, []byte{0x8a})), ngEPB(le, 0, 1<<40, benchFrame(2), 0), ngISB(le, 0, 3)),
		cat(ngSHB(be, 1, 0), ngIDB(be, 1, 4), ngBlock(be, blockTypeSPB, []byte{0, 0, 0, 9, 1, 2, 3, 4, 5})))
	f.Fuzz(fuzzReader)
}

// fuzzReader reads data to the end and checks the reader's invariants: no
// panic, records numbered 1, 2, ..., CapLen == len(Data) within the
// limits, interfaces within the section table, errors sticky and wrapping
// a known sentinel, bounded buffers, and the same result when the input
// arrives one byte at a time or goes through a Tap.
func fuzzReader(t *testing.T, data []byte) {
	recs, info, err := fuzzRead(t, bytes.NewReader(data))
	if err == nil {
		return // NewReader refused it; checked in fuzzRead
	}
	slow, _, slowErr := fuzzRead(t, iotest.OneByteReader(bytes.NewReader(data)))
	if len(slow) != len(recs) || (slowErr == io.EOF) != (err == io.EOF) {
		t.Fatalf("one byte at a time: %d records, %v; all at once: %d, %v", len(slow), slowErr, len(recs), err)
	}
	for i := range recs {
		if !bytes.Equal(slow[i], recs[i]) {
			t.Fatalf("record %d differs when read one byte at a time", i+1)
		}
	}
	// Through a tap that holds what it is given on another goroutine: the
	// same records, the input's bytes in order (all of them at a clean
	// end), none changed while held.
	tr, tapped, changed, tapErr := tapRead(t, bytes.NewReader(data), fuzzLimits, 512, runtime.Gosched)
	if len(tr) != len(recs) || (tapErr == io.EOF) != (err == io.EOF) || changed != 0 {
		t.Fatalf("with a tap: %d records, %v, %d held buffers changed; without: %d, %v", len(tr), tapErr, changed, len(recs), err)
	}
	for i := range recs {
		if !bytes.Equal(tr[i], recs[i]) {
			t.Fatalf("record %d differs when read with a tap", i+1)
		}
	}
	if !bytes.HasPrefix(data, tapped) || (err == io.EOF && len(tapped) != len(data)) {
		t.Fatalf("the tap saw %d bytes that are not the input's first (of %d), read ending in %v", len(tapped), len(data), err)
	}
	var sum uint64
	for _, in := range info.Interfaces {
		sum += in.Packets
	}
	if sum != uint64(len(recs)) {
		t.Fatalf("interface packet counts sum to %d, %d records read", sum, len(recs))
	}
}

// fuzzRead returns copies of the records' data and the error that ended
// the read; a nil error means NewReader failed (and was checked).
func fuzzRead(t *testing.T, r io.Reader) ([][]byte, Info, error) {
	rd, err := NewReaderLimits(r, fuzzLimits)
	if err != nil {
		if rd != nil {
			t.Fatalf("NewReader returned a reader and %v", err)
		}
		checkReaderErr(t, err)
		return nil, Info{}, nil
	}
	var out [][]byte
	var p Packet
	for {
		rec, err := rd.Next()
		if err != nil {
			if rec != nil {
				t.Fatalf("record with error %v", err)
			}
			if err != io.EOF {
				checkReaderErr(t, err)
			}
			if _, again := rd.Next(); again != err {
				t.Fatalf("error not sticky: %v then %v", err, again)
			}
			if c := cap(rd.buf); c > fuzzLimits.MaxBlockLen+4 && c > fuzzLimits.MaxCapLen {
				t.Fatalf("buffer grew to %d bytes", c)
			}
			return out, rd.Info(), err
		}
		if rec.Frame != uint64(len(out))+1 {
			t.Fatalf("Frame %d after %d records", rec.Frame, len(out))
		}
		if rec.CapLen != len(rec.Data) || rec.CapLen > fuzzLimits.MaxCapLen || rec.CapLen < 0 {
			t.Fatalf("CapLen %d, len(Data) %d, limit %d", rec.CapLen, len(rec.Data), fuzzLimits.MaxCapLen)
		}
		if rd.ng && rec.Interface >= len(rd.ifaces) {
			t.Fatalf("Interface %d of %d", rec.Interface, len(rd.ifaces))
		}
		Decode(rec, &p)
		out = append(out, bytes.Clone(rec.Data))
	}
}

// checkReaderErr: every reader error names a sentinel (or the input's
// end) and an offset.
func checkReaderErr(t *testing.T, err error) {
	for _, s := range []error{ErrNotCapture, ErrMalformed, ErrLimit, ErrUnsupportedVersion, io.ErrUnexpectedEOF} {
		if errors.Is(err, s) {
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Offset < 0 {
				t.Fatalf("error %v is no *FormatError with an offset", err)
			}
			return
		}
	}
	t.Fatalf("error %v wraps no reader sentinel", err)
}
