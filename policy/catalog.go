package policy

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// Listing the allowed directory. list_captures, the glob argument of the
// capture tools and completion read directories that untrusted arguments
// name, so every listing is bounded by its caller (entries per call) and
// goes through os.Root as Open does.

const (
	// readDirBatch is how many names one ReadDir system call asks for: a
	// directory of a million files is then read in steps, and a listing
	// capped far below that stops early instead of holding them all.
	readDirBatch = 256

	// peekGzipBytes bounds the compressed bytes Peek reads to learn what
	// a gzip file holds: a real capture's first four bytes come out of the
	// first deflate block, while a hostile stream of empty blocks would
	// otherwise be read to its end.
	peekGzipBytes = 64 << 10
)

// Entry is one name of a directory listed by ReadDir.
type Entry struct {
	Name string      // the name within its directory
	Type fs.FileMode // type bits only: 0 for a regular file, fs.ModeDir, fs.ModeSymlink, ...
}

// ReadDir lists at most max entries of the directory dir (relative to the
// allowed directory; "" and "." name the directory itself), in the order
// the file system gives them; more reports that it holds further entries.
// Errors wrap the sentinels of Open: a dir that is not a directory is
// not found (ErrPathNotFound), as no directory has that name.
func (s *Sandbox) ReadDir(dir string, max int) (entries []Entry, more bool, err error) {
	if dir == "" {
		dir = "."
	}
	rel, err := s.relative(dir)
	if err != nil {
		return nil, false, err
	}
	target, fi, err := s.stat(rel)
	if err != nil {
		return nil, false, s.openError(dir, err)
	}
	if !fi.IsDir() {
		return nil, false, fmt.Errorf("%w: %q is not a directory", ErrPathNotFound, dir)
	}
	f, err := s.root.Open(target)
	if err != nil {
		return nil, false, s.openError(dir, err)
	}
	defer f.Close()
	for len(entries) <= max {
		batch, err := f.ReadDir(min(readDirBatch, max+1-len(entries)))
		for _, e := range batch {
			entries = append(entries, Entry{Name: e.Name(), Type: e.Type()})
		}
		if err == io.EOF || (err == nil && len(batch) == 0) {
			break
		}
		if err != nil {
			return nil, false, fmt.Errorf("policy: cannot list %q: %w", dir, unwrapPath(err))
		}
	}
	if len(entries) > max {
		return entries[:max], true, nil
	}
	return entries, false, nil
}

// Info is what Peek learns of a file without reading it as a capture.
type Info struct {
	Name    string // path relative to the allowed directory, cleaned
	Size    int64
	ModTime time.Time
	Dev     uint64 // with Inode, the file's identity (as File's)
	Inode   uint64
	Kind    Kind // by the first bytes
	// Inner is, for a gzip file, what its decompressed first bytes are
	// (KindPCAP or KindPCAPNG); 0 when they are not a capture or could
	// not be learned within peekGzipBytes.
	Inner Kind
	// TooLarge reports a file over the sandbox's size limit: Open refuses
	// it, but a listing names it so that the caller knows why.
	TooLarge bool
}

// Format is the capture format of the file: "pcap" or "pcapng", looking
// through gzip compression; "" when it is not known to be a capture.
func (i Info) Format() string {
	switch k := i.Kind; {
	case k == KindPCAP || k == KindPCAPNG:
		return k.String()
	case k == KindGzip && (i.Inner == KindPCAP || i.Inner == KindPCAPNG):
		return i.Inner.String()
	}
	return ""
}

// Peek opens path as Open does (relative to the allowed directory, regular
// files only, links inside followed) and reads its first bytes, and for a
// gzip file the first decompressed ones, without applying the size limit
// (TooLarge says whether Open would refuse it). Errors wrap the sentinels
// of Open; a file whose first bytes are no capture's is
// ErrUnsupportedFileType.
func (s *Sandbox) Peek(path string) (Info, error) {
	rel, err := s.relative(path)
	if err != nil {
		return Info{}, err
	}
	target, fi, err := s.stat(rel)
	if err != nil {
		return Info{}, s.openError(path, err)
	}
	if !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("%w: %q", ErrNotRegularFile, path)
	}
	f, err := s.root.OpenFile(target, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return Info{}, s.openError(path, err)
	}
	defer f.Close()
	fi, err = f.Stat()
	if err != nil {
		return Info{}, fmt.Errorf("policy: cannot stat %q: %w", path, unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("%w: %q", ErrNotRegularFile, path)
	}
	var magic [MagicLen]byte
	if n, err := f.ReadAt(magic[:], 0); n < MagicLen {
		if err != nil && !errors.Is(err, io.EOF) {
			return Info{}, fmt.Errorf("policy: cannot read %q: %w", path, unwrapPath(err))
		}
		return Info{}, fmt.Errorf("%w: %q is %d bytes long", ErrUnsupportedFileType, path, n)
	}
	info := Info{Name: rel, Size: fi.Size(), ModTime: fi.ModTime(), Kind: kindOf(magic[:]), TooLarge: fi.Size() > s.maxBytes}
	if info.Kind == 0 {
		return Info{}, fmt.Errorf("%w: %q %s", ErrUnsupportedFileType, path, magicType(magic[:]))
	}
	info.Dev, info.Inode = fileID(fi)
	if info.Kind == KindGzip {
		info.Inner = gzipInner(io.NewSectionReader(f, 0, min(fi.Size(), peekGzipBytes)))
	}
	return info, nil
}

// gzipInner is the Kind of the first decompressed bytes of r, if they are
// a pcap or pcapng capture's.
func gzipInner(r io.Reader) Kind {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return 0
	}
	var magic [MagicLen]byte
	if _, err := io.ReadFull(zr, magic[:]); err != nil {
		return 0
	}
	if k := kindOf(magic[:]); k == KindPCAP || k == KindPCAPNG {
		return k
	}
	return 0
}
