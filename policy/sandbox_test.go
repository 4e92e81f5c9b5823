package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

// Leading bytes of real files: a libpcap global header (little-endian,
// microseconds, Ethernet) and a pcapng Section Header Block start.
var (
	pcapHeader = []byte{
		0xd4, 0xc3, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0xff, 0xff, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	}
	pcapngHeader = []byte{0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0x00, 0x00, 0x00, 0x4d, 0x3c, 0x2b, 0x1a}
	gzipHeader   = []byte{0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff}
)

// tree is a temporary layout:
//
//	base/allowed/          the sandbox root
//	base/allowed-evil/     a sibling sharing the root's name as a prefix
//	base/outside/          anything else
//	base/alias -> allowed  the root reached through a symlink
type tree struct {
	base, allowed, evil, outside string
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t testing.TB, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func newTree(t testing.TB, base string) tree {
	t.Helper()
	tr := tree{
		base:    base,
		allowed: filepath.Join(base, "allowed"),
		evil:    filepath.Join(base, "allowed-evil"),
		outside: filepath.Join(base, "outside"),
	}
	writeFile(t, filepath.Join(tr.allowed, "cap.pcap"), pcapHeader)
	writeFile(t, filepath.Join(tr.allowed, "cap.bin"), pcapHeader)
	writeFile(t, filepath.Join(tr.allowed, "ng.pcapng"), pcapngHeader)
	writeFile(t, filepath.Join(tr.allowed, "comp.gz"), gzipHeader)
	writeFile(t, filepath.Join(tr.allowed, "text.pcap"), []byte("hello, not a capture\n"))
	writeFile(t, filepath.Join(tr.allowed, "empty.pcap"), nil)
	writeFile(t, filepath.Join(tr.allowed, "short.pcap"), pcapHeader[:3])
	writeFile(t, filepath.Join(tr.allowed, "sub", "inner.pcap"), pcapHeader)
	writeFile(t, filepath.Join(tr.evil, "x.pcap"), pcapHeader)
	writeFile(t, filepath.Join(tr.outside, "secret.pcap"), pcapHeader)
	symlink(t, "sub/inner.pcap", filepath.Join(tr.allowed, "link-in"))
	symlink(t, "sub", filepath.Join(tr.allowed, "link-dir-in"))
	symlink(t, "../outside/secret.pcap", filepath.Join(tr.allowed, "link-out"))
	symlink(t, filepath.Join(tr.outside, "secret.pcap"), filepath.Join(tr.allowed, "link-abs-out"))
	symlink(t, "../outside", filepath.Join(tr.allowed, "link-dir-out"))
	symlink(t, "/dev/null", filepath.Join(tr.allowed, "link-null"))
	symlink(t, "missing.pcap", filepath.Join(tr.allowed, "link-dangling"))
	symlink(t, "allowed", filepath.Join(base, "alias"))
	return tr
}

func newSandbox(t testing.TB, dir string, max int64) *Sandbox {
	t.Helper()
	s, err := NewSandbox(dir, max)
	if err != nil {
		t.Fatalf("NewSandbox(%q, %d) = %v", dir, max, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSandboxOpen(t *testing.T) {
	tr := newTree(t, t.TempDir())
	s := newSandbox(t, tr.allowed, 1<<20)
	tests := []struct {
		name     string
		path     string
		wantErr  error
		wantKind Kind
		wantName string
	}{
		{"relative pcap", "cap.pcap", nil, KindPCAP, "cap.pcap"},
		{"pcap named .bin", "cap.bin", nil, KindPCAP, "cap.bin"},
		{"pcapng", "ng.pcapng", nil, KindPCAPNG, "ng.pcapng"},
		{"gzip", "comp.gz", nil, KindGzip, "comp.gz"},
		{"dot slash", "./cap.pcap", nil, KindPCAP, "cap.pcap"},
		{"subdirectory", "sub/inner.pcap", nil, KindPCAP, "sub/inner.pcap"},
		{"dotdot staying inside", "sub/../cap.pcap", nil, KindPCAP, "cap.pcap"},
		{"absolute inside", filepath.Join(tr.allowed, "cap.pcap"), nil, KindPCAP, "cap.pcap"},
		{"absolute inside via alias", filepath.Join(tr.base, "alias", "sub", "inner.pcap"), ErrPathOutsideAllowedDir, 0, ""},
		{"symlink inside", "link-in", nil, KindPCAP, "link-in"},
		{"through dir symlink inside", "link-dir-in/inner.pcap", nil, KindPCAP, "link-dir-in/inner.pcap"},
		{"text named .pcap", "text.pcap", ErrUnsupportedFileType, 0, ""},
		{"empty file", "empty.pcap", ErrUnsupportedFileType, 0, ""},
		{"three bytes", "short.pcap", ErrUnsupportedFileType, 0, ""},
		{"empty path", "", ErrPathNotFound, 0, ""},
		{"missing", "nope.pcap", ErrPathNotFound, 0, ""},
		{"missing in missing dir", "nodir/nope.pcap", ErrPathNotFound, 0, ""},
		{"file as directory", "cap.pcap/x", ErrPathNotFound, 0, ""},
		{"dangling symlink", "link-dangling", ErrPathNotFound, 0, ""},
		{"NUL byte", "cap.pcap\x00x", ErrPathNotFound, 0, ""},
		{"dotdot", "..", ErrPathOutsideAllowedDir, 0, ""},
		{"dotdot to outside file", "../outside/secret.pcap", ErrPathOutsideAllowedDir, 0, ""},
		{"dotdot deep", "sub/../../outside/secret.pcap", ErrPathOutsideAllowedDir, 0, ""},
		{"dotdot back in", "../allowed/cap.pcap", ErrPathOutsideAllowedDir, 0, ""},
		{"sibling prefix relative", "../allowed-evil/x.pcap", ErrPathOutsideAllowedDir, 0, ""},
		{"sibling prefix absolute", filepath.Join(tr.evil, "x.pcap"), ErrPathOutsideAllowedDir, 0, ""},
		{"absolute outside", filepath.Join(tr.outside, "secret.pcap"), ErrPathOutsideAllowedDir, 0, ""},
		{"absolute root", "/", ErrPathOutsideAllowedDir, 0, ""},
		{"absolute etc", "/etc/passwd", ErrPathOutsideAllowedDir, 0, ""},
		{"absolute dotdot out", tr.allowed + "/../outside/secret.pcap", ErrPathOutsideAllowedDir, 0, ""},
		{"symlink out relative", "link-out", ErrPathOutsideAllowedDir, 0, ""},
		{"symlink out absolute", "link-abs-out", ErrPathOutsideAllowedDir, 0, ""},
		{"through dir symlink out", "link-dir-out/secret.pcap", ErrPathOutsideAllowedDir, 0, ""},
		{"symlink to /dev/null", "link-null", ErrPathOutsideAllowedDir, 0, ""},
		{"directory", "sub", ErrNotRegularFile, 0, ""},
		{"root itself", ".", ErrNotRegularFile, 0, ""},
		{"absolute root itself", tr.allowed, ErrNotRegularFile, 0, ""},
		{"directory symlink", "link-dir-in", ErrNotRegularFile, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := s.Open(tc.path)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Open(%q) = %v, want %v", tc.path, err, tc.wantErr)
				}
				if f != nil {
					t.Fatalf("Open(%q) returned a file with error %v", tc.path, err)
				}
				if bytes.Contains([]byte(err.Error()), []byte(tr.allowed)) && !bytes.Contains([]byte(tc.path), []byte(tr.allowed)) {
					t.Errorf("Open(%q) error %q names the allowed directory", tc.path, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q) = %v, want success", tc.path, err)
			}
			defer f.Close()
			if f.Kind != tc.wantKind || f.Name != tc.wantName {
				t.Errorf("Open(%q) = Kind %v Name %q, want %v %q", tc.path, f.Kind, f.Name, tc.wantKind, tc.wantName)
			}
		})
	}
}

// The sandbox rooted at a symlink accepts absolute paths spelled through
// the link or through the real directory.
func TestSandboxAliasRoot(t *testing.T) {
	tr := newTree(t, t.TempDir())
	s := newSandbox(t, filepath.Join(tr.base, "alias"), 1<<20)
	for _, p := range []string{
		filepath.Join(tr.base, "alias", "cap.pcap"),
		filepath.Join(tr.allowed, "cap.pcap"),
		"cap.pcap",
	} {
		f, err := s.Open(p)
		if err != nil {
			t.Errorf("Open(%q) = %v, want success", p, err)
			continue
		}
		f.Close()
	}
	if _, err := s.Open(filepath.Join(tr.evil, "x.pcap")); !errors.Is(err, ErrPathOutsideAllowedDir) {
		t.Errorf("Open(sibling) = %v, want %v", err, ErrPathOutsideAllowedDir)
	}
}

func TestSandboxFileMetadata(t *testing.T) {
	tr := newTree(t, t.TempDir())
	s := newSandbox(t, tr.allowed, 1<<20)
	f, err := s.Open("link-in")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := os.Stat(filepath.Join(tr.allowed, "sub", "inner.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if f.Inode != st.Ino || f.Dev != uint64(st.Dev) {
		t.Errorf("Open(link-in) dev/inode = %d/%d, want %d/%d", f.Dev, f.Inode, st.Dev, st.Ino)
	}
	if f.Size != int64(len(pcapHeader)) || !f.ModTime.Equal(fi.ModTime()) {
		t.Errorf("Open(link-in) size %d mtime %v, want %d %v", f.Size, f.ModTime, len(pcapHeader), fi.ModTime())
	}
}

// openWithin fails the test if Open takes longer than a second: a FIFO
// must never block.
func openWithin(t *testing.T, s *Sandbox, path string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		f, err := s.Open(path)
		if f != nil {
			f.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("Open(%q) still blocked after 5s", path)
		return nil
	}
}

func TestSandboxSpecialFiles(t *testing.T) {
	tr := newTree(t, t.TempDir())
	s := newSandbox(t, tr.allowed, 1<<20)

	t.Run("fifo", func(t *testing.T) {
		if err := syscall.Mkfifo(filepath.Join(tr.allowed, "fifo"), 0o644); err != nil {
			t.Skipf("mkfifo not permitted here: %v", err)
		}
		if err := openWithin(t, s, "fifo"); !errors.Is(err, ErrNotRegularFile) {
			t.Errorf("Open(fifo) = %v, want %v", err, ErrNotRegularFile)
		}
		symlink(t, "fifo", filepath.Join(tr.allowed, "link-fifo"))
		if err := openWithin(t, s, "link-fifo"); !errors.Is(err, ErrNotRegularFile) {
			t.Errorf("Open(link-fifo) = %v, want %v", err, ErrNotRegularFile)
		}
	})
	t.Run("socket", func(t *testing.T) {
		p := filepath.Join(tr.allowed, "sock")
		l, err := net.Listen("unix", p)
		if err != nil {
			t.Skipf("cannot create a unix socket at %d-byte path: %v", len(p), err)
		}
		defer l.Close()
		if err := openWithin(t, s, "sock"); !errors.Is(err, ErrNotRegularFile) {
			t.Errorf("Open(sock) = %v, want %v", err, ErrNotRegularFile)
		}
	})
	t.Run("device", func(t *testing.T) {
		// Character device 1:3 is /dev/null on Linux.
		p := filepath.Join(tr.allowed, "null")
		if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
			t.Skipf("mknod not permitted (needs CAP_MKNOD): %v", err)
		}
		if err := openWithin(t, s, "null"); !errors.Is(err, ErrNotRegularFile) {
			t.Errorf("Open(null) = %v, want %v", err, ErrNotRegularFile)
		}
	})
}

// TestSandboxCheckDescriptor: check is the authoritative test on the open
// descriptor (the Stat before the open only saves opening special files).
// Feed it descriptors directly, as a file swapped between the two would.
func TestSandboxCheckDescriptor(t *testing.T) {
	tr := newTree(t, t.TempDir())
	s := newSandbox(t, tr.allowed, 1<<20)
	for _, tc := range []struct {
		path string
		want error
	}{
		{filepath.Join(tr.allowed, "sub"), ErrNotRegularFile},
		{"/dev/null", ErrNotRegularFile},
		{filepath.Join(tr.allowed, "text.pcap"), ErrUnsupportedFileType},
	} {
		f, err := os.Open(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.check(f, "x", "x")
		f.Close()
		if !errors.Is(err, tc.want) {
			t.Errorf("check(%s) = %v, want %v", tc.path, err, tc.want)
		}
	}
}

func TestSandboxSizeLimit(t *testing.T) {
	dir := t.TempDir()
	ten := append(append([]byte{}, pcapHeader[:4]...), 1, 2, 3, 4, 5, 6)
	writeFile(t, filepath.Join(dir, "ten.pcap"), ten)
	writeFile(t, filepath.Join(dir, "eleven.pcap"), append(append([]byte{}, ten...), 7))
	s := newSandbox(t, dir, 10)

	if _, err := s.Open("eleven.pcap"); !errors.Is(err, ErrFileTooLarge) {
		t.Errorf("Open(eleven.pcap) with limit 10 = %v, want %v", err, ErrFileTooLarge)
	}
	f, err := s.Open("ten.pcap")
	if err != nil {
		t.Fatalf("Open(ten.pcap) with limit 10 = %v, want success", err)
	}
	defer f.Close()
	got, err := io.ReadAll(f.Reader())
	if err != nil || !bytes.Equal(got, ten) {
		t.Fatalf("ReadAll(ten.pcap) = %x, %v, want %x, nil", got, err, ten)
	}

	// The file grows after Open: the reader stops at the limit and says so.
	a, err := os.OpenFile(filepath.Join(dir, "ten.pcap"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte("more bytes")); err != nil {
		t.Fatal(err)
	}
	a.Close()
	got, err = io.ReadAll(f.Reader())
	if !errors.Is(err, ErrFileTooLarge) || !bytes.Equal(got, ten) {
		t.Errorf("ReadAll(grown ten.pcap) = %x, %v, want %x, %v", got, err, ten, ErrFileTooLarge)
	}
}

func TestNewSandboxErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewSandbox(filepath.Join(dir, "missing"), 10); err == nil {
		t.Error("NewSandbox(missing dir) = nil error")
	}
	for _, max := range []int64{0, -1, math.MaxInt64} {
		if _, err := NewSandbox(dir, max); err == nil {
			t.Errorf("NewSandbox(limit %d) = nil error", max)
		}
	}
}

func TestFileReader(t *testing.T) {
	dir := t.TempDir()
	content := make([]byte, 100_003)
	copy(content, pcapHeader)
	for i := len(pcapHeader); i < len(content); i++ {
		content[i] = byte(i * 7)
	}
	writeFile(t, filepath.Join(dir, "big.pcap"), content)
	s := newSandbox(t, dir, 1<<20)
	f, err := s.Open("big.pcap")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := range 2 { // every Reader starts at byte 0
		got, err := io.ReadAll(f.Reader())
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("reader %d: ReadAll = %d bytes, %v, want %d bytes identical", i, len(got), err, len(content))
		}
	}
	if err := iotest.TestReader(f.Reader(), content); err != nil {
		t.Errorf("iotest.TestReader: %v", err)
	}
	if got, err := io.ReadAll(iotest.OneByteReader(f.Reader())); err != nil || !bytes.Equal(got, content) {
		t.Errorf("OneByteReader: %d bytes, %v", len(got), err)
	}
}

func TestKind(t *testing.T) {
	tests := []struct {
		magic []byte
		want  Kind
	}{
		{[]byte{0xa1, 0xb2, 0xc3, 0xd4}, KindPCAP},
		{[]byte{0xd4, 0xc3, 0xb2, 0xa1}, KindPCAP},
		{[]byte{0xa1, 0xb2, 0x3c, 0x4d}, KindPCAP},
		{[]byte{0x4d, 0x3c, 0xb2, 0xa1}, KindPCAP},
		{[]byte{0xa1, 0xb2, 0xcd, 0x34}, KindPCAP},
		{[]byte{0x34, 0xcd, 0xb2, 0xa1}, KindPCAP},
		{[]byte{0x0a, 0x0d, 0x0d, 0x0a}, KindPCAPNG},
		{[]byte{0x1f, 0x8b, 0x08, 0x00}, KindGzip},
		{[]byte{0x1f, 0x8c, 0x08, 0x00}, 0},
		{[]byte{0xa1, 0xb2, 0xc3, 0xd5}, 0},
		{[]byte{0x0a, 0x0d, 0x0d, 0x0b}, 0},
		{[]byte("GET "), 0},
		{[]byte{0, 0, 0, 0}, 0},
	}
	for _, tc := range tests {
		if got := kindOf(tc.magic); got != tc.want {
			t.Errorf("kindOf(% x) = %v, want %v", tc.magic, got, tc.want)
		}
	}
	for k, want := range map[Kind]string{KindPCAP: "pcap", KindPCAPNG: "pcapng", KindGzip: "gzip", 0: "unknown"} {
		if k.String() != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), k.String(), want)
		}
	}
}

// FuzzSandboxPath opens arbitrary paths, relative and prefixed with the
// root's absolute path, and checks that nothing panics, errors carry no
// file, and every file opened is one of the regular files inside the root
// (by device and inode, so no spelling can fool the check).
func FuzzSandboxPath(f *testing.F) {
	tr := newTree(f, f.TempDir())
	s := newSandbox(f, tr.allowed, 1<<20)
	inside := map[[2]uint64]bool{}
	err := filepath.WalkDir(tr.allowed, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			st := fi.Sys().(*syscall.Stat_t)
			inside[[2]uint64{uint64(st.Dev), st.Ino}] = true
		}
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"cap.pcap", "..", "../outside/secret.pcap", "link-out", "link-abs-out", "link-in",
		"sub/../../allowed/cap.pcap", "/etc/passwd", "../allowed-evil/x.pcap", "link-dir-out/secret.pcap",
		"./sub//inner.pcap", "sub/./../cap.pcap", "", ".", "a\x00b", "link-null",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p string) {
		for _, path := range []string{p, tr.allowed + "/" + p} {
			file, err := s.Open(path)
			if err != nil {
				if file != nil {
					t.Fatalf("Open(%q) returned a file with error %v", path, err)
				}
				continue
			}
			key := [2]uint64{file.Dev, file.Inode}
			file.Close()
			if !inside[key] {
				t.Fatalf("Open(%q) opened dev/inode %v, not a file inside the root", path, key)
			}
		}
	})
}

func TestDirFS(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "allowed")
	if err := os.MkdirAll(filepath.Join(dir, "intel"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "intel", "asn.tsv"), []byte("# x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "secret"), []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "secret"), filepath.Join(dir, "intel", "leak")); err != nil {
		t.Fatal(err)
	}
	s, err := NewSandbox(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fsys, err := s.DirFS("intel")
	if err != nil {
		t.Fatalf("DirFS(intel) = %v", err)
	}
	if b, err := fs.ReadFile(fsys, "asn.tsv"); err != nil || string(b) != "# x\n" {
		t.Errorf("ReadFile(asn.tsv) = %q, %v", b, err)
	}
	if _, err := fs.ReadFile(fsys, "leak"); err == nil {
		t.Errorf("ReadFile(leak) followed a symlink out of the directory")
	}
	// Opening a FIFO through it returns at once (O_NONBLOCK): the intel
	// loader checks the type first, but a FIFO put in place between that
	// check and the open must not block the server.
	if err := syscall.Mkfifo(filepath.Join(dir, "intel", "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	opened := make(chan error, 1)
	go func() {
		f, err := fsys.Open("fifo")
		if err == nil {
			var fi fs.FileInfo
			if fi, err = f.Stat(); err == nil && fi.Mode()&fs.ModeNamedPipe == 0 {
				err = fmt.Errorf("mode %v", fi.Mode())
			}
			f.Close()
		}
		opened <- err
	}()
	select {
	case err := <-opened:
		if err != nil {
			t.Errorf("Open(fifo) through DirFS = %v", err)
		}
	case <-time.After(2 * time.Second):
		if w, err := os.OpenFile(filepath.Join(dir, "intel", "fifo"), os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		t.Fatal("Open(fifo) through DirFS blocked")
	}
	if _, err := s.DirFS("../"); !errors.Is(err, ErrPathOutsideAllowedDir) {
		t.Errorf("DirFS(../) = %v, want ErrPathOutsideAllowedDir", err)
	}
	if _, err := s.DirFS("intel/asn.tsv"); !errors.Is(err, ErrNotRegularFile) {
		t.Errorf("DirFS(file) = %v, want ErrNotRegularFile", err)
	}
	if _, err := s.DirFS("nope"); !errors.Is(err, ErrPathNotFound) {
		t.Errorf("DirFS(nope) = %v, want ErrPathNotFound", err)
	}
}

// TestNotCaptureNamesNoBytes: the refusal of a file that is not a capture
// names what it looks like and never its bytes (with the allowed
// directory at "/", each refusal would reveal the start of any readable
// file, such as /proc/self/environ); it reads only the magic, whatever the
// file's size.
func TestNotCaptureNamesNoBytes(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, start, want string
	}{
		{"environ", "S3CRET_TOKEN=hunter2\x00PATH=/bin", "starts like a text file"},
		{"elf", "\x7fELF\x02\x01\x01", "starts like an ELF executable"},
		{"zip", "PK\x03\x04\x14\x00", "starts like a zip archive"},
		{"binary", "\x00\x01\xfe\x42\x43", "has an unknown magic"},
	}
	s := newSandbox(t, dir, 1<<30)
	for _, c := range cases {
		// A large sparse file: refusing it must not read it.
		path := filepath.Join(dir, c.name)
		writeFile(t, path, []byte(c.start))
		if err := os.Truncate(path, 256<<20); err != nil {
			t.Fatal(err)
		}
		_, err := s.Open(c.name)
		if !errors.Is(err, ErrUnsupportedFileType) {
			t.Fatalf("%s: %v, want ErrUnsupportedFileType", c.name, err)
		}
		msg := err.Error()
		if !bytes.Contains([]byte(msg), []byte(c.want)) {
			t.Errorf("%s: %q does not say %q", c.name, msg, c.want)
		}
		m := []byte(c.start[:MagicLen])
		for _, leak := range []string{string(m), fmt.Sprintf("% x", m[:2]), fmt.Sprintf("%x", m[:2]), fmt.Sprintf("%q", m[:2])} {
			if bytes.Contains([]byte(msg), []byte(leak)) {
				t.Errorf("%s: %q echoes the file's first bytes (%q)", c.name, msg, leak)
			}
		}
		allocs := testing.AllocsPerRun(10, func() { s.Open(c.name) })
		if allocs > 40 {
			t.Errorf("%s: refusing a 256 MiB file took %v allocations, want at most 40", c.name, allocs)
		}
	}
}

// TestSandboxAbsoluteSymlinks: a symbolic link whose target is absolute
// and inside the allowed directory (in either spelling of it) is
// followed, as a relative one is; one whose target leaves it, directly,
// through another link or by ".." after it, is refused. Loops and chains
// past maxSymlinks, and paths past maxResolveSteps, are refused in
// milliseconds.
func TestSandboxAbsoluteSymlinks(t *testing.T) {
	tr := newTree(t, t.TempDir())
	in := func(p string) string { return filepath.Join(tr.allowed, p) }
	symlink(t, in("sub/inner.pcap"), in("abs-in"))
	symlink(t, in("sub"), in("abs-dir-in"))
	symlink(t, in("abs-in"), in("abs-chain"))
	symlink(t, in("link-out"), in("abs-to-rel-out"))
	symlink(t, filepath.Join(tr.base, "alias", "cap.pcap"), in("abs-via-alias"))
	symlink(t, in("loop-b"), in("loop-a"))
	symlink(t, in("loop-a"), in("loop-b"))
	symlink(t, in("sub"), in("sub/abs-self"))
	// A chain of links, each absolute to the next, longer than maxSymlinks.
	for i := range maxSymlinks + 1 {
		symlink(t, in(fmt.Sprintf("chain%d", i+1)), in(fmt.Sprintf("chain%d", i)))
	}
	writeFile(t, in(fmt.Sprintf("chain%d", maxSymlinks+1)), pcapHeader)
	s := newSandbox(t, tr.allowed, 1<<20)
	deep := "abs-dir-in/" + strings.Repeat("abs-self/", maxResolveSteps) + "inner.pcap"
	for _, c := range []struct {
		path string
		want error
	}{
		{"abs-in", nil},
		{"abs-dir-in/inner.pcap", nil},
		{"abs-chain", nil},
		{in("abs-in"), nil},
		{"abs-dir-in/abs-self/abs-self/inner.pcap", nil},
		{"abs-dir-in/../cap.pcap", nil},
		{"chain1", nil},
		{"abs-dir-in/../../outside/secret.pcap", ErrPathOutsideAllowedDir},
		{"abs-to-rel-out", ErrPathOutsideAllowedDir},
		{"abs-via-alias", ErrPathOutsideAllowedDir},
		{"link-abs-out", ErrPathOutsideAllowedDir},
		{"link-null", ErrPathOutsideAllowedDir},
		{"loop-a", ErrPathNotFound},
		{"chain0", ErrPathNotFound},
		{deep, ErrPathNotFound},
	} {
		start := time.Now()
		f, err := s.Open(c.path)
		if el := time.Since(start); el > 500*time.Millisecond {
			t.Errorf("Open(%.60q) took %v", c.path, el)
		}
		if !errors.Is(err, c.want) {
			t.Errorf("Open(%.60q) = %v, want %v", c.path, err, c.want)
			continue
		}
		if err == nil {
			if f.Kind != KindPCAP {
				t.Errorf("Open(%q): kind %v", c.path, f.Kind)
			}
			f.Close()
		}
	}
	// The intel directory's file system follows them alike; a link to
	// one inside the allowed directory but outside the intel directory
	// is refused, as os.Root refuses a relative one.
	symlink(t, in("sub/inner.pcap"), in("sub/abs-file"))
	symlink(t, in("cap.pcap"), in("sub/abs-file-out"))
	fsys, err := s.DirFS("abs-dir-in")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := fs.ReadFile(fsys, "abs-file"); err != nil || !bytes.Equal(b, pcapHeader) {
		t.Errorf("DirFS: ReadFile(abs-file) = %q, %v", b, err)
	}
	if _, err := fs.ReadFile(fsys, "abs-file-out"); err == nil {
		t.Errorf("DirFS: ReadFile(abs-file-out) left the directory")
	}
	// Stat, which the intel loader calls before it opens, follows alike.
	if fi, err := fs.Stat(fsys, "abs-file"); err != nil || fi.Size() != int64(len(pcapHeader)) {
		t.Errorf("DirFS: Stat(abs-file) = %v, %v", fi, err)
	}
	if _, err := fs.Stat(fsys, "abs-file-out"); err == nil {
		t.Errorf("DirFS: Stat(abs-file-out) left the directory")
	}
	if _, ok := fsys.(fs.StatFS); !ok {
		t.Errorf("DirFS is not an fs.StatFS: the intel loader refuses every file")
	}
}
