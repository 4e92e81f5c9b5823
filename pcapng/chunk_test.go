package pcapng

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"testing/iotest"
	"time"

	"porthunter/internal/race"
)

// holdingTap is a Tap that keeps what it is given on another goroutine
// for a while before it is done with it, as a hash of the file does, and
// checks that no byte it holds changes before then: the reader must not
// reuse a buffer the tap still reads.
type holdingTap struct {
	got     []byte
	ch      chan held
	stopped chan struct{}
	changed int // buffers whose bytes changed while held
	pause   func()
}

type held struct {
	b    []byte
	sum  uint32
	done func()
}

func newHoldingTap(pause func()) *holdingTap {
	h := &holdingTap{ch: make(chan held, 2*tapChunks), stopped: make(chan struct{}), pause: pause}
	go func() {
		defer close(h.stopped)
		for x := range h.ch {
			h.pause()
			if crc32.ChecksumIEEE(x.b) != x.sum {
				h.changed++
			}
			x.done()
		}
	}()
	return h
}

func (h *holdingTap) tap(b []byte, done func()) {
	h.got = append(h.got, b...)
	h.ch <- held{b, crc32.ChecksumIEEE(b), done}
}

// stop waits for the holder and returns the bytes tapped and how many
// buffers changed while held.
func (h *holdingTap) stop() ([]byte, int) {
	close(h.ch)
	<-h.stopped
	return h.got, h.changed
}

// tapRead reads r to its end through a Reader with a holdingTap and
// returns copies of the records' data, the bytes tapped, how many held
// buffers changed and the reader's last error.
func tapRead(t testing.TB, r io.Reader, lim Limits, bufSize int, pause func()) (recs [][]byte, tapped []byte, changed int, err error) {
	h := newHoldingTap(pause)
	defer func() { tapped, changed = h.stop() }()
	rd, err := newReader(r, lim, h.tap, bufSize)
	if err != nil {
		return nil, nil, 0, err
	}
	for {
		rec, err := rd.Next()
		if err != nil {
			return recs, nil, 0, err
		}
		recs = append(recs, bytes.Clone(rec.Data))
	}
}

// randomReads returns at most a random number of bytes per Read, up to
// max, so reads end anywhere in a record and some fill a buffer at once.
type randomReads struct {
	r   io.Reader
	rng *rand.Rand
	max int
}

func (x *randomReads) Read(p []byte) (int, error) {
	n := 1 + x.rng.IntN(x.max)
	return x.r.Read(p[:min(len(p), n)])
}

// TestTapSeesInput: through a Tap that holds each buffer on another
// goroutine, the reader gives the records it gives without one, the tap
// sees every byte of the input in order (the compressed bytes of a gzip
// capture), and no byte changes while the tap holds it, however the input
// arrives (whole buffers, half reads, random sizes) and however slowly the
// tap lets go. Buffers of 4 KiB make captures of a few hundred KiB cross
// a hundred buffers' ends (and some blocks are larger than a buffer); one
// capture of 2 MB is read with the real buffers too.
func TestTapSeesInput(t *testing.T) {
	pcapOf := func(n int, bo binary.AppendByteOrder, magic uint32) []byte {
		var recs []testRec
		for i := range n {
			recs = append(recs, testRec{sec: uint32(i), data: benchFrame(i)})
		}
		return pcapFile(bo, magic, 1, recs...)
	}
	ngOf := func(n, big int) []byte {
		ng := [][]byte{ngSHB(le, 1, 0), ngIDB(le, 1, 0)}
		for i := range n {
			ng = append(ng, ngEPB(le, 0, uint64(i)<<20, benchFrame(i), 0))
			if i%(n/3) == 5 {
				ng = append(ng, ngBlock(le, 0x0badbeef, make([]byte, big+i)))
			}
		}
		return cat(ng...)
	}
	const small = 4096
	type input struct {
		data    []byte
		bufSize int
	}
	inputs := map[string]input{
		"pcap":        {pcapOf(4000, le, pcapMagicMicro), small},
		"pcapng":      {ngOf(3000, small+100), small},
		"pcap.gz":     {gzipped(pcapOf(4000, be, pcapMagicNano)), small},
		"pcapng.gz":   {gzipped(ngOf(3000, small+100)), small},
		"truncated":   {pcapOf(4000, le, pcapMagicMicro)[:123_457], small},
		"one record":  {pcapOf(1, le, pcapMagicMicro), small},
		"2 MB pcapng": {ngOf(24_000, readerBufSize+1000), readerBufSize},
	}
	lim := DefaultLimits()
	lim.MaxBlockLen = 2 * readerBufSize
	rng := rand.New(rand.NewPCG(7, 8))
	prng := rand.New(rand.NewPCG(9, 10)) // the holder's own: it runs beside the reads
	pauses := map[string]func(){
		"at once": func() {},
		"yields":  runtime.Gosched,
		"slow":    func() { time.Sleep(time.Duration(prng.IntN(100)) * time.Microsecond) },
	}
	for in, x := range inputs {
		want, _, wantErr := readAll(t, bytes.NewReader(x.data), lim)
		if len(want) == 0 {
			t.Fatalf("%s: no records read without a tap (%v)", in, wantErr)
		}
		sources := map[string]func() io.Reader{
			"whole":  func() io.Reader { return bytes.NewReader(x.data) },
			"half":   func() io.Reader { return iotest.HalfReader(bytes.NewReader(x.data)) },
			"random": func() io.Reader { return &randomReads{bytes.NewReader(x.data), rng, x.bufSize * 3 / 2} },
		}
		for src, mk := range sources {
			for pn, pause := range pauses {
				if pn == "slow" && src != "random" {
					continue // the slow tap once is enough
				}
				if race.Enabled && x.bufSize != small && (src != "random" || pn != "yields") {
					continue // the real buffers once: under -race, 2 MB a read is slow
				}
				recs, tapped, changed, err := tapRead(t, mk(), lim, x.bufSize, pause)
				if (err == io.EOF) != (wantErr == io.EOF) || len(recs) != len(want) {
					t.Errorf("%s, %s reads, tap %s: %d records, %v; without a tap %d, %v", in, src, pn, len(recs), err, len(want), wantErr)
					continue
				}
				for i := range recs {
					if !bytes.Equal(recs[i], want[i].Data) {
						t.Errorf("%s, %s reads, tap %s: record %d differs", in, src, pn, i+1)
						break
					}
				}
				if !bytes.Equal(tapped, x.data) {
					t.Errorf("%s, %s reads, tap %s: the tap saw %d bytes, not the input's %d", in, src, pn, len(tapped), len(x.data))
				}
				if changed != 0 {
					t.Errorf("%s, %s reads, tap %s: %d buffers changed while the tap held them", in, src, pn, changed)
				}
			}
		}
	}
}

// TestTapBuffers: a reader with a tap reads into at most tapChunks buffers
// however long the input, and one without a tap into one.
func TestTapBuffers(t *testing.T) {
	var recs []testRec
	for i := range 2000 {
		recs = append(recs, testRec{data: benchFrame(i)})
	}
	data := pcapFile(le, pcapMagicMicro, 1, recs...)
	for _, tap := range []bool{false, true} {
		var h *holdingTap
		var tp Tap
		if tap {
			h = newHoldingTap(runtime.Gosched)
			tp = h.tap
		}
		rd, err := newReader(bytes.NewReader(data), DefaultLimits(), tp, 4096)
		if err != nil {
			t.Fatal(err)
		}
		for err == nil {
			_, err = rd.Next()
		}
		want := 1
		if tap {
			h.stop()
			want = tapChunks
		}
		if err != io.EOF || rd.br.made > want || (tap && rd.br.made < 2) {
			t.Errorf("tap %v: %v after %d buffers made, want EOF and at most %d", tap, err, rd.br.made, want)
		}
	}
}
