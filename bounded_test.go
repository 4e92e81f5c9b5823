package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAllowedDirRootWarns: an allowed directory that is the file system
// root, named so or through a symbolic link, is reported at start by one
// stderr line; any other directory is not. The check resolves the one
// path and never walks the root: the server starts and stops within a
// second.
func TestAllowedDirRootWarns(t *testing.T) {
	tmp := t.TempDir()
	link := filepath.Join(tmp, "root")
	if err := os.Symlink("/", link); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dir  string
		warn bool
	}{{"/", true}, {link, true}, {"/.", true}, {tmp, false}} {
		var errb bytes.Buffer
		start := time.Now()
		if err := serve(context.Background(), testConfig(t, c.dir, nil), strings.NewReader(""), &bytes.Buffer{}, &errb); err != nil {
			t.Fatalf("%s: %v", c.dir, err)
		}
		if el := time.Since(start); el > time.Second {
			t.Errorf("%s: start and stop took %v", c.dir, el)
		}
		n := strings.Count(errb.String(), "PORT_HUNTER_ALLOWED_DIR is the file system root")
		if want := map[bool]int{true: 1, false: 0}[c.warn]; n != want {
			t.Errorf("%s: %d warnings, want %d; stderr:\n%s", c.dir, n, want, errb.String())
		}
	}
}
