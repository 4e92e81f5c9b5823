package pcapng

import (
	"bufio"
	"errors"
	"io"
	"sync/atomic"
)

// Tap receives every byte a Reader reads from its input, in input order
// and without a copy (NewReaderTap): the bytes of an uncompressed capture
// as the parser sees them, the compressed bytes of a gzip one. b stays
// unchanged until done is called, and the Reader takes no more than
// tapChunks buffers' worth of input ahead of the calls to done, so a tap
// that works on another goroutine (a hash of the file) sees the input
// without costing the parser a copy of it. A Tap is called on the
// Reader's goroutine; it must call done exactly once for each call, and
// done may be called from any goroutine.
type Tap func(b []byte, done func())

// tapChunks is how many buffers a Reader with a Tap reads into in turn:
// one being parsed, the rest with the tap.
const tapChunks = 4

// chunkReader buffers a Reader's input as bufio.Reader does (the methods
// are the subset the Reader uses, with the same meaning), in a buffer of
// size bytes. With a tap, each read's bytes go to the tap, and the
// buffer is not written again until the tap is done with them: where
// bufio.Reader would slide the unread bytes to the front of its buffer,
// a chunkReader copies them into another buffer (a chunk), one the tap
// has released. Without a tap it slides them, as bufio does.
type chunkReader struct {
	src  io.Reader
	tap  Tap
	size int
	c    *chunk // the chunk being read
	r, w int    // c.b[r:w] is buffered
	err  error  // the input's error, returned once the buffer is empty; sticky
	free chan *chunk
	made int // chunks allocated, at most tapChunks
}

// chunk is one buffer of a chunkReader with a tap: held by the reader
// while it reads it, and by the tap for each call not yet done.
type chunk struct {
	b    []byte
	refs atomic.Int32
	free chan *chunk // where it goes when the last hold ends
	done func()      // release, as a func value made once
}

func (c *chunk) release() {
	if c.refs.Add(-1) == 0 {
		c.free <- c // its capacity is every chunk: never blocks
	}
}

func newChunkReader(src io.Reader, size int, tap Tap) *chunkReader {
	cr := &chunkReader{src: src, tap: tap, size: size}
	if tap != nil {
		cr.free = make(chan *chunk, tapChunks)
	}
	cr.c = cr.newChunk()
	return cr
}

// newChunk returns an empty chunk held by the reader: a new one while
// fewer than tapChunks exist, else the first the tap releases.
func (cr *chunkReader) newChunk() *chunk {
	var c *chunk
	select {
	case c = <-cr.free:
	default:
		if cr.made < tapChunks || cr.tap == nil {
			cr.made++
			c = &chunk{b: make([]byte, cr.size), free: cr.free}
			c.done = c.release
		} else {
			c = <-cr.free // the tap holds them all: wait for one
		}
	}
	c.refs.Store(1)
	return c
}

// maxEmptyReads is how many reads in a row may return no byte and no
// error before fill gives up with io.ErrNoProgress, as bufio.Reader does.
const maxEmptyReads = 100

// fill reads until n bytes (at most size) are buffered or the input ends.
func (cr *chunkReader) fill(n int) {
	empty := 0
	for cr.w-cr.r < n && cr.err == nil {
		if cr.r > 0 && (cr.tap == nil || len(cr.c.b)-cr.r < n || len(cr.c.b)-cr.w < cr.size/4) {
			cr.move()
		}
		m, err := cr.src.Read(cr.c.b[cr.w:])
		if m < 0 || m > len(cr.c.b)-cr.w {
			cr.err = errors.New("pcapng: the input returned an invalid count from Read")
			return
		}
		if m > 0 && cr.tap != nil {
			cr.c.refs.Add(1)
			cr.tap(cr.c.b[cr.w:cr.w+m], cr.c.done)
		}
		cr.w += m
		switch {
		case err != nil:
			cr.err = err
		case m > 0:
			empty = 0
		default:
			if empty++; empty == maxEmptyReads {
				cr.err = io.ErrNoProgress
			}
		}
	}
}

// move puts the unread bytes at the front of a buffer: the same one
// without a tap; with a tap, which may still be reading this one, another.
func (cr *chunkReader) move() {
	rest := cr.c.b[cr.r:cr.w]
	if cr.tap == nil {
		copy(cr.c.b, rest)
	} else {
		next := cr.newChunk()
		copy(next.b, rest)
		cr.c.release()
		cr.c = next
	}
	cr.w -= cr.r
	cr.r = 0
}

// Size is the most bytes Peek returns.
func (cr *chunkReader) Size() int { return cr.size }

// Buffered is how many bytes can be read without reading the input.
func (cr *chunkReader) Buffered() int { return cr.w - cr.r }

// Peek returns the next n bytes without consuming them, valid until the
// next read; fewer, with the input's error (or bufio.ErrBufferFull when n
// exceeds Size), when they cannot be had.
func (cr *chunkReader) Peek(n int) ([]byte, error) {
	if n > cr.size {
		return cr.c.b[cr.r:cr.w], bufio.ErrBufferFull
	}
	if cr.w-cr.r < n {
		cr.fill(n)
		if cr.w-cr.r < n {
			return cr.c.b[cr.r:cr.w], cr.err
		}
	}
	return cr.c.b[cr.r : cr.r+n], nil
}

// Discard skips the next n bytes.
func (cr *chunkReader) Discard(n int) (int, error) {
	d := 0
	for {
		k := min(n-d, cr.w-cr.r)
		cr.r += k
		d += k
		if d == n {
			return d, nil
		}
		cr.fill(1)
		if cr.r == cr.w {
			return d, cr.err
		}
	}
}

// Read reads up to len(p) bytes, from the buffer when it holds any.
func (cr *chunkReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		if cr.r < cr.w {
			return 0, nil
		}
		return 0, cr.err
	}
	if cr.r == cr.w {
		cr.fill(1)
		if cr.r == cr.w {
			return 0, cr.err
		}
	}
	n := copy(p, cr.c.b[cr.r:cr.w])
	cr.r += n
	return n, nil
}

// ReadByte reads one byte (the gzip decompressor reads its input so).
func (cr *chunkReader) ReadByte() (byte, error) {
	if cr.r == cr.w {
		cr.fill(1)
		if cr.r == cr.w {
			return 0, cr.err
		}
	}
	b := cr.c.b[cr.r]
	cr.r++
	return b, nil
}
