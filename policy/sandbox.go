package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// MagicLen is how many leading bytes decide a file's Kind.
const MagicLen = 4

// Kind is a capture's container format, decided by its first bytes; the
// file name's extension decides nothing.
type Kind int

// Kinds. The zero Kind is not a valid one.
const (
	KindPCAP   Kind = iota + 1 // libpcap, any byte order or timestamp precision
	KindPCAPNG                 // pcapng, starting with a Section Header Block
	KindGzip                   // gzip stream (RFC 1952); the content is checked later
)

// String returns "pcap", "pcapng", "gzip" or "unknown".
func (k Kind) String() string {
	switch k {
	case KindPCAP:
		return "pcap"
	case KindPCAPNG:
		return "pcapng"
	case KindGzip:
		return "gzip"
	}
	return "unknown"
}

// Leading bytes as they appear in the file.
var (
	// libpcap magics in both byte orders: microsecond (a1b2c3d4),
	// nanosecond (a1b23c4d) and the Kuznetzov patched format (a1b2cd34).
	pcapMagics = [][]byte{
		{0xa1, 0xb2, 0xc3, 0xd4}, {0xd4, 0xc3, 0xb2, 0xa1},
		{0xa1, 0xb2, 0x3c, 0x4d}, {0x4d, 0x3c, 0xb2, 0xa1},
		{0xa1, 0xb2, 0xcd, 0x34}, {0x34, 0xcd, 0xb2, 0xa1},
	}
	// pcapng Section Header Block type; palindromic, so byte order free.
	pcapngMagic = []byte{0x0a, 0x0d, 0x0d, 0x0a}
	// gzip ID1 ID2 (RFC 1952 §2.3.1).
	gzipMagic = []byte{0x1f, 0x8b}
)

// kindOf returns the Kind for a file's first MagicLen bytes, or 0.
func kindOf(magic []byte) Kind {
	for _, m := range pcapMagics {
		if bytes.Equal(magic, m) {
			return KindPCAP
		}
	}
	if bytes.Equal(magic, pcapngMagic) {
		return KindPCAPNG
	}
	if bytes.HasPrefix(magic, gzipMagic) {
		return KindGzip
	}
	return 0
}

// otherMagics are leading bytes of common files that are not captures,
// by the name the refusal gives them.
var otherMagics = []struct {
	name  string
	magic []byte
}{
	{"an ELF executable", []byte{0x7f, 'E', 'L', 'F'}},
	{"a zip archive", []byte{'P', 'K', 0x03, 0x04}},
	{"a PDF document", []byte("%PDF")},
	{"a bzip2 stream", []byte("BZh")},
	{"an xz stream", []byte{0xfd, '7', 'z', 'X'}},
	{"a zstd stream", []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{"a 7-zip archive", []byte{'7', 'z', 0xbc, 0xaf}},
	{"a PNG image", []byte{0x89, 'P', 'N', 'G'}},
	{"a JPEG image", []byte{0xff, 0xd8, 0xff}},
	{"an SQLite database", []byte("SQLi")},
	{"a snoop capture (convert it with editcap)", []byte("snoo")},
	{"a Windows executable", []byte("MZ")},
}

// magicType names what a file that is not a capture starts like, for the
// refusal. The bytes themselves are never echoed: the allowed directory
// may hold files the client cannot read otherwise (with it set to "/",
// /proc/self/environ), and each refusal would reveal some of them.
func magicType(magic []byte) string {
	for _, m := range otherMagics {
		if bytes.HasPrefix(magic, m.magic) {
			return "starts like " + m.name
		}
	}
	for _, c := range magic {
		if (c < 0x20 || c > 0x7e) && c != '\t' && c != '\n' && c != '\r' {
			return "has an unknown magic"
		}
	}
	return "starts like a text file"
}

// Sandbox opens captures found beneath one allowed directory and nowhere
// else. Paths come from untrusted tool arguments. Every open goes through
// os.Root, which refuses ".." and symbolic links that leave the directory
// at each path step, so a directory renamed or a link swapped mid-open
// cannot redirect it. os.Root also refuses every absolute symlink target;
// a path it refuses is resolved once more by resolveLinks, which accepts
// absolute targets inside the directory, and the symlink-free path it
// gives is opened through os.Root again.
//
// A Sandbox is safe for concurrent use.
type Sandbox struct {
	root     *os.Root
	maxBytes int64
	// dirs are the allowed directory's absolute path, and that path with
	// symlinks resolved, so an absolute argument in either spelling is
	// accepted.
	dirs []string
	// escapeErr is the error os.Root wraps when a path leaves the root.
	// package os does not export it, so NewSandbox captures it by asking
	// for ".."; errors.Is against the captured value keeps working if the
	// wording ever changes, where a string match would silently fail open.
	escapeErr error
}

// NewSandbox opens dir as the root for all later Opens. Files larger than
// maxBytes are refused.
func NewSandbox(dir string, maxBytes int64) (*Sandbox, error) {
	// The upper bound leaves room for the one byte Reader reads past the
	// limit to notice growth.
	if maxBytes <= 0 || maxBytes == math.MaxInt64 {
		return nil, fmt.Errorf("policy: file size limit %d out of range", maxBytes)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("policy: allowed directory: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("policy: allowed directory: %w", err)
	}
	s := &Sandbox{root: root, maxBytes: maxBytes, dirs: []string{abs}}
	if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
		s.dirs = append(s.dirs, real)
	}
	var pe *fs.PathError
	if _, err := root.Stat(".."); errors.As(err, &pe) {
		s.escapeErr = pe.Err
	} else {
		root.Close()
		return nil, fmt.Errorf("policy: os.Root did not refuse \"..\" (got %v)", err)
	}
	return s, nil
}

// Close releases the allowed directory's descriptor.
func (s *Sandbox) Close() error {
	return s.root.Close()
}

// File is an open capture accepted by the sandbox.
type File struct {
	Name    string // path relative to the allowed directory, cleaned
	Size    int64  // bytes, from the open descriptor
	ModTime time.Time
	Dev     uint64 // device and inode identify the file (cache keys)
	Inode   uint64
	Kind    Kind

	f        *os.File
	maxBytes int64
}

// Open opens path for reading. A relative path is taken relative to the
// allowed directory; an absolute one must lie inside it. The returned error
// wraps one of ErrPathNotFound, ErrPathOutsideAllowedDir, ErrNotRegularFile,
// ErrFileTooLarge or ErrUnsupportedFileType; its text names path as given
// and never the allowed directory. Any other failure (for example a
// permission error) wraps the system error.
func (s *Sandbox) Open(path string) (*File, error) {
	rel, err := s.relative(path)
	if err != nil {
		return nil, err
	}
	// Stat first so a FIFO or device is refused without being opened at
	// all (opening some devices has side effects). The fstat after the
	// open below is the authoritative check; this one only avoids the open.
	target, fi, err := s.stat(rel)
	if err != nil {
		return nil, s.openError(path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %q", ErrNotRegularFile, path)
	}
	// O_NONBLOCK: if the file was replaced by a FIFO after the Stat, the
	// open returns at once instead of waiting for a writer.
	f, err := s.root.OpenFile(target, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, s.openError(path, err)
	}
	file, err := s.check(f, rel, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return file, nil
}

// stat is root.Stat of rel, or, when os.Root refuses rel as leaving the
// directory, of the path resolveLinks rewrites it to; target is the path
// that was found (rel or its rewrite), to be opened.
func (s *Sandbox) stat(rel string) (target string, fi fs.FileInfo, err error) {
	fi, err = s.root.Stat(rel)
	if err == nil || !escapes(err, s.escapeErr) {
		return rel, fi, err
	}
	target, err = resolveLinks(s.root, s.dirs, rel)
	if err != nil {
		return "", nil, err
	}
	fi, err = s.root.Stat(target)
	return target, fi, err
}

// relative turns path into a cleaned path relative to the root, refusing
// lexical escapes before anything touches the file system.
func (s *Sandbox) relative(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("%w: empty path", ErrPathNotFound)
	}
	if strings.IndexByte(path, 0) >= 0 {
		return "", fmt.Errorf("%w: path contains a NUL byte", ErrPathNotFound)
	}
	rel := filepath.Clean(path)
	if filepath.IsAbs(rel) {
		r, ok := insideOf(s.dirs, rel)
		if !ok {
			return "", fmt.Errorf("%w: %q", ErrPathOutsideAllowedDir, path)
		}
		rel = r
	}
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("%w: %q", ErrPathOutsideAllowedDir, path)
	}
	return rel, nil
}

// openError maps an os.Root error to a sentinel. Only the underlying
// system error is kept: os.Root's own PathError text is not reused.
func (s *Sandbox) openError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, s.escapeErr), errors.Is(err, errEscapes):
		return fmt.Errorf("%w: %q", ErrPathOutsideAllowedDir, path)
	case errors.Is(err, errTooManyLinks):
		return fmt.Errorf("%w: %q: %v", ErrPathNotFound, path, err)
	case errors.Is(err, fs.ErrNotExist),
		errors.Is(err, syscall.ENOTDIR), // a path component is a file
		errors.Is(err, syscall.ELOOP),   // too many symlinks
		errors.Is(err, syscall.ENAMETOOLONG):
		return fmt.Errorf("%w: %q", ErrPathNotFound, path)
	case errors.Is(err, syscall.ENXIO), // a unix socket, or a device without a driver
		errors.Is(err, syscall.ENODEV):
		return fmt.Errorf("%w: %q", ErrNotRegularFile, path)
	}
	return fmt.Errorf("policy: cannot open %q: %w", path, err)
}

// check validates the open descriptor (inspect), with the sandbox's
// messages: they name path as the tool call gave it.
func (s *Sandbox) check(f *os.File, rel, path string) (*File, error) {
	file, fe := inspect(f, s.maxBytes)
	if fe != nil {
		return nil, fe.sandboxError(path)
	}
	file.Name = rel
	return file, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Reader returns a reader over the whole file from its first byte. Each call
// returns an independent reader (reads use ReadAt), so the magic check in
// Open consumed nothing. If the file grew past the size limit after Open,
// the reader fails with ErrFileTooLarge once the limit is crossed instead of
// reading on.
func (f *File) Reader() io.Reader {
	// One byte past the limit is read so that growth is detected, as
	// io.LimitReader(f, max+1) would.
	return &limitReader{r: io.NewSectionReader(f.f, 0, f.maxBytes+1), max: f.maxBytes}
}

// Close closes the file.
func (f *File) Close() error {
	return f.f.Close()
}

// limitReader passes reads through until more than max bytes were read,
// then fails with ErrFileTooLarge (sticky). It is ReadAllMax's streaming
// counterpart: a capture is parsed as it is read, never held whole.
type limitReader struct {
	r    io.Reader
	max  int64
	read int64
	err  error
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	if l.read > l.max {
		over := l.read - l.max
		n -= int(over)
		l.err = fmt.Errorf("%w: grew past %d bytes while being read", ErrFileTooLarge, l.max)
		return n, l.err
	}
	if err != nil {
		l.err = err
	}
	return n, err
}

// DirFS returns the directory at path (relative to the allowed directory,
// or absolute inside it) as a file system confined to it, for the offline
// intel files. Its errors wrap the same sentinels as Open's.
func (s *Sandbox) DirFS(path string) (fs.FS, error) {
	rel, err := s.relative(path)
	if err != nil {
		return nil, err
	}
	target, fi, err := s.stat(rel)
	if err != nil {
		return nil, s.openError(path, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %q is not a directory", ErrNotRegularFile, path)
	}
	sub, err := s.root.OpenRoot(target)
	if err != nil {
		return nil, s.openError(path, err)
	}
	dirs := make([]string, len(s.dirs))
	for i, d := range s.dirs {
		dirs[i] = filepath.Join(d, target)
	}
	return &linkFS{fsys: nonblockFS{root: sub, fsys: sub.FS()}, root: sub, dirs: dirs, escapeErr: s.escapeErr}, nil
}

// nonblockFS is an os.Root's file system whose Open passes O_NONBLOCK, as
// Open does: the intel loader checks a file's type before opening it, and
// if the file is replaced by a FIFO in between, the open returns at once
// instead of waiting for a writer. Reading a regular file is unaffected.
type nonblockFS struct {
	root *os.Root
	fsys fs.FS // root.FS(): Stat and ReadDir
}

func (n nonblockFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) || (runtime.GOOS == "windows" && strings.ContainsRune(name, '\\')) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := n.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (n nonblockFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(n.fsys, name) }

func (n nonblockFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(n.fsys, name) }
