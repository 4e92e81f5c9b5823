package policy

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOpenFile: a capture named on a command line is opened wherever its
// symbolic links lead, and refused, in words that name it as given and
// never an allowed directory, when it is not a regular capture file.
func TestOpenFile(t *testing.T) {
	tr := newTree(t, t.TempDir())
	capture := append(append([]byte{}, pcapHeader...), make([]byte, 16)...)
	writeFile(t, filepath.Join(tr.outside, "2026-03-14.pcap"), capture)
	writeFile(t, filepath.Join(tr.allowed, "text.txt"), []byte("hello, not a capture\n"))
	writeFile(t, filepath.Join(tr.allowed, "two"), []byte{0xd4, 0xc3})
	writeFile(t, filepath.Join(tr.allowed, "big.pcap"), append(append([]byte{}, pcapHeader...), make([]byte, 100)...))
	if err := os.Mkdir(filepath.Join(tr.allowed, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	// current.pcap -> ../outside/2026-03-14.pcap: a link out of its
	// directory, which Sandbox.Open refuses and OpenFile follows.
	symlink(t, filepath.Join("..", "outside", "2026-03-14.pcap"), filepath.Join(tr.allowed, "current.pcap"))
	symlink(t, "loop-b", filepath.Join(tr.allowed, "loop-a"))
	symlink(t, "loop-a", filepath.Join(tr.allowed, "loop-b"))
	symlink(t, "missing.pcap", filepath.Join(tr.allowed, "dangling.pcap"))

	at := func(name string) string { return filepath.Join(tr.allowed, name) }
	for _, c := range []struct {
		name   string
		path   string
		want   error  // nil: opened
		reason string // the start of FileError.Reason
	}{
		{"symlink out of its directory", at("current.pcap"), nil, ""},
		{"absolute", filepath.Join(tr.outside, "2026-03-14.pcap"), nil, ""},
		{"dotdot", filepath.Join(tr.allowed, "..", "outside", "2026-03-14.pcap"), nil, ""},
		{"missing", at("missing.pcap"), ErrPathNotFound, "does not exist"},
		{"dangling link", at("dangling.pcap"), ErrPathNotFound, "does not exist"},
		{"link loop", at("loop-a"), ErrPathNotFound, "cannot be reached"},
		{"file as directory", filepath.Join(at("text.txt"), "x"), ErrPathNotFound, "does not exist"},
		{"directory", at("dir"), ErrNotRegularFile, "is a directory"},
		{"device", "/dev/null", ErrNotRegularFile, "is a device"},
		{"text", at("text.txt"), ErrUnsupportedFileType, "is not a pcap, pcapng or gzip capture by its first bytes: it starts like a text file"},
		{"two bytes", at("two"), ErrUnsupportedFileType, "is 2 bytes long"},
		{"too large", at("big.pcap"), ErrFileTooLarge, "is 124 bytes, over the limit of 64"},
		{"empty name", "", ErrPathNotFound, "is not a file name"},
		{"NUL", "a\x00b", ErrPathNotFound, "is not a file name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.path == "/dev/null" {
				if _, err := os.Stat(c.path); err != nil {
					t.Skip("no /dev/null")
				}
			}
			f, err := OpenFile(c.path, 64)
			if c.want == nil {
				if err != nil {
					t.Fatalf("OpenFile(%q) = %v, want a file", c.path, err)
				}
				defer f.Close()
				if f.Name != c.path || f.Kind != KindPCAP || f.Size != int64(len(capture)) {
					t.Errorf("OpenFile(%q) = %+v", c.path, f)
				}
				return
			}
			var fe *FileError
			if !errors.Is(err, c.want) || !errors.As(err, &fe) {
				t.Fatalf("OpenFile(%q) = %v, want a FileError matching %v", c.path, err, c.want)
			}
			if fe.Path != c.path || !strings.HasPrefix(fe.Reason, c.reason) {
				t.Errorf("OpenFile(%q) = %q %q, want the path and a reason starting %q", c.path, fe.Path, fe.Reason, c.reason)
			}
			if strings.Contains(fe.Reason, "allowed") || strings.Contains(fe.Reason, "PORT_HUNTER") {
				t.Errorf("OpenFile(%q) = %q mentions the server's allowed directory", c.path, fe.Reason)
			}
		})
	}
}

// TestOpenFileSpecial: a FIFO (named directly or through a link) is
// refused at once, without waiting for a writer, and so is a socket.
func TestOpenFileSpecial(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "live.pcap")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo not permitted here: %v", err)
	}
	symlink(t, fifo, filepath.Join(dir, "current.pcap"))
	for _, p := range []string{fifo, filepath.Join(dir, "current.pcap")} {
		done := make(chan error, 1)
		go func() {
			_, err := OpenFile(p, 1<<20)
			done <- err
		}()
		select {
		case err := <-done:
			var fe *FileError
			if !errors.Is(err, ErrNotRegularFile) || !errors.As(err, &fe) || !strings.Contains(fe.Reason, "named pipe (FIFO)") {
				t.Errorf("OpenFile(%s) = %v, want a FIFO refusal", p, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("OpenFile(%s) waited for a writer", p)
		}
	}
	sock := filepath.Join(dir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("cannot create a unix socket: %v", err)
	}
	defer l.Close()
	if _, err := OpenFile(sock, 1<<20); !errors.Is(err, ErrNotRegularFile) || !strings.Contains(err.Error(), "is a socket") {
		t.Errorf("OpenFile(socket) = %v", err)
	}
}

// TestOpenFileLimit: the limit is checked as NewSandbox checks it.
func TestOpenFileLimit(t *testing.T) {
	for _, max := range []int64{0, -1, 1<<63 - 1} {
		if _, err := OpenFile("x", max); err == nil {
			t.Errorf("OpenFile(x, %d) accepted the limit", max)
		}
	}
}
