package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"porthunter/capture"
	"porthunter/internal/race"
	"porthunter/pcapng"
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

// writeGzipBomb writes a gzip-compressed capture that expands to gib GiB
// of 256 KiB packets of zeros (no IP packet), as repeated gzip members
// (the reader reads multistream gzip): about 1 MiB per GiB. The first
// member holds the section and interface headers, every later one the
// same 64 packets, written once.
func writeGzipBomb(t *testing.T, path string, gib int) {
	t.Helper()
	var raw bytes.Buffer
	w := pcapng.NewWriter(&raw)
	itf := pcapng.InterfaceInfo{LinkType: pcapng.LinkRaw, SnapLen: 262144, TSResolDigits: 6}
	e2eMust(t, w.WriteSectionHeader(""))
	e2eMust(t, w.WriteInterface(itf))
	e2eMust(t, w.Flush())
	member := func(level int) []byte {
		var m bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&m, level)
		zw.Write(raw.Bytes())
		e2eMust(t, zw.Close())
		raw.Reset()
		return m.Bytes()
	}
	b := bytes.NewBuffer(member(gzip.DefaultCompression))
	data := make([]byte, 256<<10-32) // in an Enhanced Packet Block of 256 KiB
	rec := pcapng.Record{LinkType: pcapng.LinkRaw, Data: data, OrigLen: len(data)}
	for range 64 { // 16 MiB
		e2eMust(t, w.WritePacket(itf, &rec))
	}
	e2eMust(t, w.Flush())
	m := member(gzip.BestCompression)
	for range 64 * gib {
		b.Write(m)
	}
	e2eMust(t, os.WriteFile(path, b.Bytes(), 0o644))
}

// TestCarveDecompressedLimit: carve reads a gzip capture within the
// analysis reader's limits (PORT_HUNTER_MAX_PCAP_MB 50: 1 GiB expanded),
// not the reader's 64 GiB default: a 16 GiB bomb (16 MiB on disk) is
// refused after 1 GiB, within seconds, where it was read to its end.
func TestCarveDecompressedLimit(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir, nil)
	lim, want := capture.CarveLimits(cfg), capture.ReaderLimits(cfg)
	// 1 GiB is capture's minDecompressed, the floor of the analyses' gzip
	// expansion, which 20 × 50 MB does not reach.
	if lim.MaxDecompressed != want.MaxDecompressed || lim.MaxDecompressed != 1<<30 || lim.MaxAllInterfaces != capture.CarveMaxInterfaces {
		t.Errorf("carve limits %+v, want the analysis reader's %+v with %d interfaces", lim, want, capture.CarveMaxInterfaces)
	}
	if race.Enabled {
		t.Skip("inflating 1 GiB takes about 4 s under the race detector; the limits above are checked")
	}
	bomb, out := filepath.Join(dir, "bomb.pcap.gz"), filepath.Join(dir, "out.pcapng")
	writeGzipBomb(t, bomb, 16)
	start := time.Now()
	code, stderr := runCLI("carve", bomb, "--ip", "10.0.0.1", "-o", out)
	el := time.Since(start)
	if code != exitFatal || !strings.Contains(stderr, "beyond MaxDecompressed 1073741824 bytes") {
		t.Errorf("carve of a 16 GiB gzip bomb: exit %d, stderr %q; want the 1 GiB limit", code, stderr)
	}
	if el > 3*time.Second {
		t.Errorf("carve of a 16 GiB gzip bomb took %v; 1 GiB takes about 0.5 s", el)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s left behind", out)
	}
	t.Logf("refused in %v", el)
}

// TestDockerfileGo: the image is built with an exact Go patch release of
// a supported major version (the toolchain's or the one before it; Go
// fixes security issues in those two only), not a floating or
// end-of-life tag such as golang:1.24.
func TestDockerfileGo(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^FROM golang:1\.(\d+)\.(\d+)(-[a-z0-9]+)? AS build$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("Dockerfile: no FROM golang:1.MINOR.PATCH AS build line")
	}
	var tool int
	if _, err := fmt.Sscanf(runtime.Version(), "go1.%d", &tool); err != nil {
		t.Skipf("toolchain %s: not a release", runtime.Version())
	}
	if minor, _ := strconv.Atoi(string(m[1])); minor < tool-1 {
		t.Errorf("Dockerfile builds with Go 1.%d; the toolchain is %s, and Go 1.%d is no longer supported", minor, runtime.Version(), minor)
	}
}
