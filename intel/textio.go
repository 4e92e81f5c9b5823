package intel

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"
	"unicode/utf8"
)

// readAllMax reads r to its end, or to max+1 bytes: over reports that r
// held more than max (b is then cut short). It is policy.ReadAllMax,
// which intel cannot import (the leaf packages import only the standard
// library), with the refusal left to the caller: a file's names the file,
// an HTTP body's is an error code in the answer.
func readAllMax(r io.Reader, max int64) (b []byte, over bool, err error) {
	b, err = io.ReadAll(io.LimitReader(r, max+1))
	return b, int64(len(b)) > max, err
}

// capReader fails with ErrFileTooLarge once more than max bytes were read,
// so a gzip bomb or a file that grows while read stops at the limit, and
// with ctx's error once ctx ends: every loader reads through it, at most
// 64 KiB at a time, so a cancelled load stops within milliseconds. It is
// readAllMax's streaming counterpart: the loaders parse as they read and
// never hold a text file whole.
type capReader struct {
	ctx  context.Context
	r    io.Reader
	max  int64
	read int64
	what string // the limit, for the error
}

func (c *capReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.read += int64(n)
	if c.read > c.max {
		return n, fmt.Errorf("%w: more than %d bytes%s", ErrFileTooLarge, c.max, c.what)
	}
	return n, err
}

// opened is one offline file, decompressed when it is gzip (by its magic
// bytes, not its name), with the first SniffLen bytes available to identify
// the format.
type opened struct {
	name    string // path inside the intel directory
	gz      bool
	modTime time.Time
	size    int64
	r       *bufio.Reader
	head    []byte
	closer  io.Closer
}

func (o *opened) Close() error { return o.closer.Close() }

// statNoOpen stats name, following a symlink, without opening it: opening
// a FIFO blocks until a writer comes. A file system that cannot stat by
// name is not read.
func statNoOpen(fsys fs.FS, name string) (fs.FileInfo, error) {
	sfs, ok := fsys.(fs.StatFS)
	if !ok {
		return nil, fmt.Errorf("intel: the directory cannot say what %s is without opening it", name)
	}
	return sfs.Stat(name)
}

// notRegular is ErrNotRegular naming what the entry is.
func notRegular(m fs.FileMode) error {
	kind := "special file"
	switch {
	case m.IsDir():
		kind = "directory"
	case m&fs.ModeNamedPipe != 0:
		kind = "named pipe"
	case m&fs.ModeSocket != 0:
		kind = "socket"
	case m&fs.ModeDevice != 0:
		kind = "device"
	}
	return fmt.Errorf("%w (a %s)", ErrNotRegular, kind)
}

// openFile opens a regular file of fsys. Its type is checked before the
// open (a FIFO or device is never opened) and again on the open handle;
// the sandbox's directory also opens with O_NONBLOCK, so a file replaced
// by a FIFO in between cannot block either. The file may hold limit
// bytes; a gzip stream may inflate to limit, and to no more than
// MaxGzipRatio times its compressed size.
func openFile(ctx context.Context, fsys fs.FS, name string, limit int64) (*opened, error) {
	fi, err := statNoOpen(fsys, name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular(fi.Mode())
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	if fi, err = f.Stat(); err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, notRegular(fi.Mode())
	}
	o := &opened{name: name, modTime: fi.ModTime(), size: fi.Size(), closer: f}
	raw := bufio.NewReaderSize(&capReader{ctx: ctx, r: f, max: limit}, 64<<10)
	var r io.Reader = raw
	if magic, _ := raw.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(raw)
		if err != nil {
			f.Close()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &FormatError{File: name, Offset: 0, Reason: "bad gzip header", Err: ErrUnrecognised}
		}
		zr.Multistream(true)
		o.gz = true
		inflated, what := limit, ""
		if byRatio := max(MaxGzipRatio*fi.Size(), MinGzipAllowance); byRatio < limit {
			inflated, what = byRatio, fmt.Sprintf(" (%d times its %d compressed bytes)", MaxGzipRatio, fi.Size())
		}
		r = &capReader{ctx: ctx, r: zr, max: inflated, what: what}
	}
	o.r = bufio.NewReaderSize(r, MaxLineLen)
	head, err := o.r.Peek(SniffLen)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		f.Close()
		return nil, err
	}
	o.head = head
	return o, nil
}

// lineReader yields the lines of a text file with end-of-line bytes and
// surrounding white space removed. A line longer than MaxLineLen is skipped
// to its newline and counted in long; the scan goes on.
type lineReader struct {
	r    *bufio.Reader
	line int // 1-based number of the line last returned
	long int
	err  error // first read error other than io.EOF
}

// next returns the next line, valid until the following call, or false at
// the end of input or on a read error (then l.err is set).
func (l *lineReader) next() ([]byte, bool) {
	for {
		b, err := l.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			l.line++
			l.long++
			if !l.skipRest() {
				return nil, false
			}
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			l.err = err
			return nil, false
		}
		if len(b) == 0 && err != nil {
			return nil, false
		}
		l.line++
		if l.line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
		}
		return bytes.TrimSpace(b), true
	}
}

// nextRow returns the next data line of a row-per-line file, skipping
// blank lines and comments; it stops (marking st truncated) once the file
// has given MaxRowsPerFile entries.
func (l *lineReader) nextRow(st *loadStats) ([]byte, bool) {
	for {
		line, ok := l.next()
		if !ok {
			return nil, false
		}
		if len(line) == 0 || isComment(line) {
			continue
		}
		if st.entries >= MaxRowsPerFile {
			st.truncated = true
			return nil, false
		}
		return line, true
	}
}

func (l *lineReader) skipRest() bool {
	for {
		_, err := l.r.ReadSlice('\n')
		if err == nil {
			return true
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if !errors.Is(err, io.EOF) {
			l.err = err
		}
		return false
	}
}

// isComment: every format here accepts '#' comments, and the blocklists
// also ';' (Spamhaus) and '//'.
func isComment(b []byte) bool {
	return len(b) > 0 && (b[0] == '#' || b[0] == ';' || bytes.HasPrefix(b, []byte("//")))
}

// splitCSV splits one CSV line (RFC 4180 quoting, "" inside quotes) into
// dst, reusing its storage. It returns false for an unterminated quote or
// text after a closing quote; embedded newlines are not supported (no feed
// here has them).
func splitCSV(line []byte, dst []string) ([]string, bool) {
	dst = dst[:0]
	for i := 0; ; {
		if i < len(line) && line[i] == '"' {
			var sb strings.Builder
			i++
			for {
				j := bytes.IndexByte(line[i:], '"')
				if j < 0 {
					return dst, false
				}
				sb.Write(line[i : i+j])
				i += j + 1
				if i < len(line) && line[i] == '"' { // escaped quote
					sb.WriteByte('"')
					i++
					continue
				}
				break
			}
			dst = append(dst, sb.String())
			if i == len(line) {
				return dst, true
			}
			if line[i] != ',' {
				return dst, false
			}
			i++
			continue
		}
		j := bytes.IndexByte(line[i:], ',')
		if j < 0 {
			dst = append(dst, string(line[i:]))
			return dst, true
		}
		dst = append(dst, string(line[i:i+j]))
		i += j + 1
	}
}

// cleanText makes a stored name safe and bounded: valid UTF-8, no control
// characters, at most MaxTextField bytes (cut at a rune boundary).
func cleanText(s string) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > MaxTextField {
		cut := MaxTextField
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// countryCode returns an upper-case two-letter code, or "" for anything
// else (iptoasn's "None" and "Unknown", RIR "ZZ", empty).
func countryCode(s string) string {
	if len(s) != 2 {
		return ""
	}
	b := []byte{s[0] &^ 0x20, s[1] &^ 0x20}
	if b[0] < 'A' || b[0] > 'Z' || b[1] < 'A' || b[1] > 'Z' {
		return ""
	}
	if b[0] == 'Z' && b[1] == 'Z' {
		return ""
	}
	return string(b)
}
