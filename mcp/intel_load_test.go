package mcp

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIntelDirFIFO: a FIFO in PORT_HUNTER_INTEL_DIR hung the server at
// start. It is skipped without being opened, and stderr says so next to
// what was loaded and the memory it holds.
func TestIntelDirFIFO(t *testing.T) {
	dir := t.TempDir()
	intelDir := filepath.Join(dir, "intel")
	must(t, os.Mkdir(intelDir, 0o755))
	must(t, os.WriteFile(filepath.Join(intelDir, "list.txt"), []byte("31.0.12.1\n"), 0o644))
	fifo := filepath.Join(intelDir, "pipe.txt")
	must(t, syscall.Mkfifo(fifo, 0o644))
	t.Cleanup(func() { // should an open block, a writer releases it
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	cfg := testConfig(t, dir, map[string]string{"PORT_HUNTER_INTEL_DIR": "intel"})
	var stderr bytes.Buffer
	started := make(chan error, 1)
	go func() {
		s, err := newServer(cfg, "test", &bytes.Buffer{}, &stderr)
		if err == nil {
			s.close()
		}
		started <- err
	}()
	select {
	case err := <-started:
		must(t, err)
	case <-time.After(2 * time.Second):
		t.Fatal("the server did not start: blocked on the FIFO")
	}
	for _, want := range []string{"intel: loaded 1 of 2 files (", " MiB budget); 0 refused over the budget, 0 in error, 1 ignored",
		`intel: ignored "pipe.txt": intel: not a regular file (a named pipe)`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}
