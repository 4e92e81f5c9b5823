package policy

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestReadDirBounded(t *testing.T) {
	dir := t.TempDir()
	for i := range 600 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("f%03d.pcap", i)), pcapHeader)
	}
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	s := newSandbox(t, dir, 1<<20)
	for _, c := range []struct {
		max      int
		wantLen  int
		wantMore bool
	}{{1, 1, true}, {255, 255, true}, {256, 256, true}, {600, 600, true}, {601, 601, false}, {10000, 601, false}} {
		got, more, err := s.ReadDir(".", c.max)
		if err != nil || len(got) != c.wantLen || more != c.wantMore {
			t.Errorf("ReadDir(., %d) = %d entries, more %v, %v; want %d, %v", c.max, len(got), more, err, c.wantLen, c.wantMore)
		}
	}
	all, _, _ := s.ReadDir("", 10000)
	i := slices.IndexFunc(all, func(e Entry) bool { return e.Name == "sub" })
	if i < 0 || !all[i].Type.IsDir() {
		t.Errorf("sub not listed as a directory")
	}
}

func TestReadDirRefusals(t *testing.T) {
	tr := newTree(t, t.TempDir())
	s := newSandbox(t, tr.allowed, 1<<20)
	for _, c := range []struct {
		dir  string
		want error
	}{
		{"..", ErrPathOutsideAllowedDir},
		{"link-dir-out", ErrPathOutsideAllowedDir},
		{"/etc", ErrPathOutsideAllowedDir},
		{"missing", ErrPathNotFound},
		{"cap.pcap", ErrPathNotFound},
		{"a\x00b", ErrPathNotFound},
	} {
		if _, _, err := s.ReadDir(c.dir, 10); !errors.Is(err, c.want) {
			t.Errorf("ReadDir(%q) = %v, want %v", c.dir, err, c.want)
		}
	}
	if got, _, err := s.ReadDir("link-dir-in", 10); err != nil || len(got) != 1 || got[0].Name != "inner.pcap" {
		t.Errorf("ReadDir(link-dir-in) = %v, %v", got, err)
	}
}

func TestPeek(t *testing.T) {
	tr := newTree(t, t.TempDir())
	writeFile(t, filepath.Join(tr.allowed, "cap.pcap.gz"), gzipped(t, pcapHeader))
	writeFile(t, filepath.Join(tr.allowed, "ng.gz"), gzipped(t, pcapngHeader))
	writeFile(t, filepath.Join(tr.allowed, "text.gz"), gzipped(t, []byte("hello world")))
	writeFile(t, filepath.Join(tr.allowed, "big.pcap"), append(pcapHeader, make([]byte, 2000)...))
	s := newSandbox(t, tr.allowed, 1024)
	for _, c := range []struct {
		path     string
		want     error
		kind     Kind
		format   string
		tooLarge bool
	}{
		{"cap.pcap", nil, KindPCAP, "pcap", false},
		{"ng.pcapng", nil, KindPCAPNG, "pcapng", false},
		{"cap.pcap.gz", nil, KindGzip, "pcap", false},
		{"ng.gz", nil, KindGzip, "pcapng", false},
		{"text.gz", nil, KindGzip, "", false},
		{"comp.gz", nil, KindGzip, "", false}, // a cut gzip header
		{"big.pcap", nil, KindPCAP, "pcap", true},
		{"link-in", nil, KindPCAP, "pcap", false},
		{"text.pcap", ErrUnsupportedFileType, 0, "", false},
		{"short.pcap", ErrUnsupportedFileType, 0, "", false},
		{"sub", ErrNotRegularFile, 0, "", false},
		{"link-out", ErrPathOutsideAllowedDir, 0, "", false},
		{"link-null", ErrPathOutsideAllowedDir, 0, "", false},
		{"../outside/secret.pcap", ErrPathOutsideAllowedDir, 0, "", false},
		{"missing.pcap", ErrPathNotFound, 0, "", false},
	} {
		info, err := s.Peek(c.path)
		if !errors.Is(err, c.want) || (err == nil && (info.Kind != c.kind || info.Format() != c.format || info.TooLarge != c.tooLarge)) {
			t.Errorf("Peek(%q) = %+v (format %q), %v; want kind %v format %q too large %v, %v", c.path, info, info.Format(), err, c.kind, c.format, c.tooLarge, c.want)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(tr.allowed, "fifo"), 0o644); err == nil {
		if _, err := s.Peek("fifo"); !errors.Is(err, ErrNotRegularFile) {
			t.Errorf("Peek(fifo) = %v", err)
		}
	}
}

// TestPeekGzipBomb: a gzip stream of empty stored blocks never yields a
// byte; Peek stops at peekGzipBytes instead of reading it to its end.
func TestPeekGzipBomb(t *testing.T) {
	dir := t.TempDir()
	b := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}
	for range 1 << 18 {
		b = append(b, 0x00, 0x00, 0x00, 0xff, 0xff) // an empty stored block, not final
	}
	writeFile(t, filepath.Join(dir, "bomb.gz"), b)
	s := newSandbox(t, dir, 1<<30)
	info, err := s.Peek("bomb.gz")
	if err != nil || info.Kind != KindGzip || info.Format() != "" {
		t.Errorf("Peek(bomb) = %+v, %v", info, err)
	}
}

func TestEvidenceDir(t *testing.T) {
	base := t.TempDir()
	allowed := filepath.Join(base, "captures")
	for _, d := range []string{"captures/evidence", "evidence", "elsewhere/deep"} {
		os.MkdirAll(filepath.Join(base, d), 0o755)
	}
	writeFile(t, filepath.Join(base, "file"), nil)
	symlink(t, allowed, filepath.Join(base, "alias"))
	for _, c := range []struct {
		dir string
		ok  bool
	}{
		{filepath.Join(allowed, "evidence"), true},
		{filepath.Join(base, "evidence"), true},
		{filepath.Join(base, "alias", "evidence"), true},
		{allowed, false},
		{filepath.Join(base, "alias"), false},
		{filepath.Join(base, "elsewhere", "deep"), false},
		{base, false},
		{filepath.Join(base, "file"), false},
		{filepath.Join(base, "missing"), false},
	} {
		d, err := OpenEvidenceDir(allowed, c.dir)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrConfig)) {
			t.Errorf("OpenEvidenceDir(%q) = %v, want ok %v", c.dir, err, c.ok)
		}
		if d != nil {
			d.Close()
		}
	}

	d, err := OpenEvidenceDir(allowed, filepath.Join(base, "evidence"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	f, err := d.Create("one.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("evidence"))
	f.Close()
	fi, _ := os.Stat(filepath.Join(base, "evidence", "one.pcapng"))
	if fi.Mode().Perm()&^EvidenceMode != 0 {
		t.Errorf("mode %v, want at most %o", fi.Mode().Perm(), EvidenceMode)
	}
	if _, err := d.Create("one.pcapng"); !errors.Is(err, os.ErrExist) {
		t.Errorf("second Create = %v, want it refused", err)
	}
	if b, _ := os.ReadFile(filepath.Join(base, "evidence", "one.pcapng")); string(b) != "evidence" {
		t.Errorf("overwritten: %q", b)
	}
	symlink(t, filepath.Join(base, "elsewhere", "planted"), filepath.Join(base, "evidence", "planted.pcapng"))
	if _, err := d.Create("planted.pcapng"); err == nil {
		t.Error("Create followed a planted link")
	}
	if _, err := os.Stat(filepath.Join(base, "elsewhere", "planted")); err == nil {
		t.Error("a file was created through the planted link")
	}
	for _, name := range []string{"", ".", "..", "a/b", "../x", "a\x00"} {
		if _, err := d.Create(name); err == nil {
			t.Errorf("Create(%q) accepted", name)
		}
	}
}
