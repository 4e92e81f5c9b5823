package pcapng

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// update rewrites the cached tshark output in testdata/tshark (by running
// tshark) instead of reading it: `go test ./... -update`.
var update = flag.Bool("update", false, "rewrite golden files and cached oracle output instead of comparing against them")

// cachedTshark is the standard output of tshark args... run on the
// capture at path, read from testdata/tshark/<name>: tshark takes about
// half a second to start, so each oracle run is made once, under -update,
// and checked in. The cache's first line holds the arguments and the
// SHA-256 of the capture it was made from, so a capture (or a hand-built
// sequence) that changed without its cache fails the test. "<path>" in
// args stands for the capture's path. Under -update, anything tshark
// prints on stderr (a complaint about the file) fails the test.
func cachedTshark(t *testing.T, name, path string, args ...string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	header := "# tshark " + strings.Join(args, " ") + " sha256 " + hex.EncodeToString(sum[:]) + "\n"
	cache := filepath.Join("testdata", "tshark", name)
	if *update {
		tshark, err := exec.LookPath("tshark")
		if err != nil {
			t.Fatal("-update needs tshark to refresh testdata/tshark: install it (apt-get install tshark)")
		}
		run := make([]string, len(args))
		for i, a := range args {
			run[i] = strings.ReplaceAll(a, "<path>", path)
		}
		cmd := exec.Command(tshark, run...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("tshark %v: %v (%s)", run, err, stderr.String())
		}
		checkToolStderr(t, "tshark", stderr.String())
		if err := os.MkdirAll(filepath.Dir(cache), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cache, append([]byte(header), out...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cached, err := os.ReadFile(cache)
	if err != nil {
		t.Fatalf("%v: run go test ./pcapng -run %s -update (needs tshark)", err, t.Name())
	}
	body, ok := bytes.CutPrefix(cached, []byte(header))
	if !ok {
		t.Fatalf("%s was made from another version of %s or other arguments: run go test ./pcapng -run %s -update (needs tshark)", cache, path, t.Name())
	}
	return string(body)
}
