//go:build unix

package intel

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFIFOInDir: a FIFO (and a symlink to one) in the intel directory hung
// Open, and the first reload after one appeared, until a writer came. They
// are reported and never opened.
func TestFIFOInDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "list.txt"), []byte("31.0.12.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "pipe.txt")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("pipe.txt", filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	// Should an open block, a writer releases it when the test ends.
	t.Cleanup(func() {
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	now := testNow
	opened := make(chan *DB, 1)
	go func() { opened <- openTest(t, Options{Dir: os.DirFS(dir), Now: func() time.Time { return now }}) }()
	var db *DB
	select {
	case db = <-opened:
	case <-time.After(2 * time.Second):
		t.Fatal("Open blocked on the FIFO")
	}
	got := map[string]SourceStatus{}
	for _, s := range db.Sources() {
		got[s.File] = s
	}
	for _, name := range []string{"pipe.txt", "link.txt"} {
		if s := got[name]; s.Status != "ignored" || !strings.Contains(deref(s.Error), "not a regular file (a named pipe)") {
			t.Errorf("%s: %+v %s", name, s, deref(s.Error))
		}
	}
	if got["list.txt"].Status != "loaded" {
		t.Errorf("list.txt: %+v", got["list.txt"])
	}

	// A FIFO appearing later: the reload skips it as well.
	if err := syscall.Mkfifo(filepath.Join(dir, "later.txt"), 0o644); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * RefreshInterval)
	done := make(chan error, 1)
	go func() { _, err := db.Refresh(context.Background(), false); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		f, _ := os.OpenFile(filepath.Join(dir, "later.txt"), os.O_WRONLY|syscall.O_NONBLOCK, 0)
		f.Close()
		t.Fatal("Refresh blocked on the FIFO")
	}
	if n := len(db.Sources()); n != 6 { // three files, the new FIFO, two online providers
		t.Errorf("after the reload: %d sources, want 6", n)
	}
}

// TestFIFOInBundle: intel verify and status read the manifest and hash the
// listed files; a FIFO in either place is reported, never opened.
func TestFIFOInBundle(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "list.txt"), []byte("31.0.12.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	man := `{"format":"` + ManifestFormat + `","files":[{"file":"pipe.txt","sha256":"` + strings.Repeat("0", 64) + `","bytes":0}]}`
	if err := os.WriteFile(filepath.Join(dir, ManifestName), []byte(man), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pipe.txt", "other-" + ManifestName} {
		fifo := filepath.Join(dir, name)
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				f.Close()
			}
		})
	}
	check := func(fsysDir string) *BundleReport {
		t.Helper()
		done := make(chan *BundleReport, 1)
		go func() {
			rep, err := CheckBundle(context.Background(), os.DirFS(fsysDir), testNow, true)
			if err != nil {
				t.Error(err)
			}
			done <- rep
		}()
		select {
		case rep := <-done:
			return rep
		case <-time.After(2 * time.Second):
			t.Fatal("CheckBundle blocked on a FIFO")
		}
		return nil
	}
	rep := check(dir)
	if rep == nil || rep.Errors == 0 {
		t.Fatalf("a FIFO listed in the manifest checks: %+v", rep)
	}
	// The manifest itself a FIFO.
	if err := os.Remove(filepath.Join(dir, ManifestName)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "other-"+ManifestName), filepath.Join(dir, ManifestName)); err != nil {
		t.Fatal(err)
	}
	if rep := check(dir); rep == nil || !strings.Contains(rep.ManifestError, "not a regular file") {
		t.Errorf("a FIFO manifest: %+v", rep)
	}
}
