package intel

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"
)

// Every test here serves the data from a local httptest TLS server: no
// test touches the internet.

var fetchLastModified = time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)

// fetchServer serves fixed bodies by path, or a handler, and counts the
// requests and their conditional and range headers.
type fetchServer struct {
	ts       *httptest.Server
	mu       sync.Mutex
	bodies   map[string][]byte
	handlers map[string]http.HandlerFunc
	requests map[string]int
	headers  []http.Header
	release  chan struct{} // closed at cleanup: handlers that stall return
}

func newFetchServer(t *testing.T) *fetchServer {
	s := &fetchServer{bodies: map[string][]byte{}, handlers: map[string]http.HandlerFunc{}, requests: map[string]int{},
		release: make(chan struct{})}
	s.ts = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.release)
		s.ts.Close()
	})
	return s
}

func (s *fetchServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.URL.Path]++
	s.headers = append(s.headers, r.Header.Clone())
	h, body := s.handlers[r.URL.Path], s.bodies[r.URL.Path]
	s.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	if body == nil {
		http.NotFound(w, r)
		return
	}
	etag := `"` + hexSum(body)[:16] + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Last-Modified", fetchLastModified.Format(http.TimeFormat))
	w.Header().Set("Accept-Ranges", "bytes")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

func (s *fetchServer) count(p string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[p]
}

func hexSum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// fetchFixtures are the bodies of the five kinds of fetched sources,
// from testdata/intel.
func fetchFixtures(t *testing.T) map[string][]byte {
	return map[string][]byte{
		"/data/ip2asn-combined.tsv.gz":                   gz(t, readFixture(t, "ip2asn-combined.tsv")),
		"/stats/delegated-testrir-extended-latest":       readFixture(t, "delegated-testrir-extended-latest"),
		"/drop/drop_v4.json":                             readFixture(t, "drop_v4.json"),
		"/files/firehol_level1.netset":                   readFixture(t, "firehol_level1.netset"),
		"/downloads/ipblocklist.csv":                     readFixture(t, "ipblocklist.csv"),
		"/downloads/ipblocklist_recommended_between.txt": []byte("# Feodo Tracker\n# Last updated: 2026-01-01 00:00:00 UTC\n# END 0 entries\n"),
	}
}

// fetchSources are the default sources' shapes, pointed at s.
func fetchSources(s *fetchServer) []FetchSource {
	u := s.ts.URL
	return []FetchSource{
		{Name: "iptoasn", URL: u + "/data/ip2asn-combined.tsv.gz", File: "ip2asn-combined.tsv.gz", Format: FormatIP2ASN, License: licensePDDL, MaxBytes: 1 << 20},
		{Name: "testrir", URL: u + "/stats/delegated-testrir-extended-latest", File: "delegated-testrir-extended-latest", Format: FormatRIR, MaxBytes: 1 << 20},
		{Name: "spamhaus-drop-v4", URL: u + "/drop/drop_v4.json", File: "drop_v4.json", Format: FormatList, MaxBytes: 1 << 20, MinInterval: time.Hour},
		{Name: "firehol-level1", URL: u + "/files/firehol_level1.netset", File: "firehol_level1.netset", Format: FormatList, MaxBytes: 1 << 20},
		{Name: "feodo", URL: u + "/downloads/ipblocklist.csv", File: "ipblocklist.csv", Format: FormatList, MaxBytes: 1 << 20, MayBeEmpty: true},
		{Name: "feodo-empty", URL: u + "/downloads/ipblocklist_recommended_between.txt", File: "ipblocklist_recommended.txt", Format: FormatList, MaxBytes: 1 << 20, MayBeEmpty: true},
	}
}

// sleeps records the pauses between attempts instead of waiting them.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func fetchOpts(s *fetchServer, dir string, srcs []FetchSource, sl *sleeps, now time.Time) FetchOptions {
	return FetchOptions{Dir: dir, Sources: srcs, Client: s.ts.Client(), Now: func() time.Time { return now },
		stall: 5 * time.Second, backoff: time.Millisecond, sleep: sl.sleep}
}

func TestFetchBundle(t *testing.T) {
	s := newFetchServer(t)
	s.bodies = fetchFixtures(t)
	dir := filepath.Join(t.TempDir(), "bundle")
	var log bytes.Buffer
	var progress atomic.Int64
	now := fetchLastModified.Add(time.Hour)
	o := fetchOpts(s, dir, fetchSources(s), &sleeps{}, now)
	o.Log = &log
	o.Progress = func(file string, done, total int64) { progress.Add(1) }
	res, err := Fetch(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != FetchDownloaded || r.Err != nil || (r.Entries == 0 && r.Source != "feodo-empty") {
			t.Errorf("%s: %+v", r.Source, r)
		}
	}
	if progress.Load() == 0 {
		t.Error("no progress reported")
	}
	man, err := ReadManifest(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(man.Files) != len(res) {
		t.Fatalf("manifest lists %d files, want %d", len(man.Files), len(res))
	}
	sums, _ := os.ReadFile(filepath.Join(dir, SumsName))
	for _, m := range man.Files {
		body := s.bodies[strings.TrimPrefix(m.URL, s.ts.URL)]
		got, _ := os.ReadFile(filepath.Join(dir, m.File))
		if !bytes.Equal(got, body) || m.SHA256 != hexSum(body) || m.Bytes != int64(len(body)) || m.ETag == "" ||
			m.LastModified != fetchLastModified.Format(http.TimeFormat) || m.FetchedAt != now.Format(time.RFC3339) || m.RefreshDays == 0 {
			t.Errorf("%s: manifest %+v", m.File, m)
		}
		if !strings.Contains(string(sums), m.SHA256+"  "+m.File+"\n") {
			t.Errorf("%s lacks %s", SumsName, m.File)
		}
		if fi, err := os.Stat(filepath.Join(dir, m.File)); err != nil || !fi.ModTime().Equal(fetchLastModified) {
			t.Errorf("%s: mtime %v, want the server's Last-Modified", m.File, fi.ModTime())
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
	rep, err := CheckBundle(t.Context(), os.DirFS(dir), now, true)
	if err != nil || rep.Errors != 0 || rep.Loaded != len(res) {
		t.Errorf("check of the fetched bundle: %+v %v", rep, err)
	}

	// Again, an hour and a minute later: the server says not modified to
	// the conditional requests, and nothing is downloaded.
	o.Now = func() time.Time { return now.Add(61 * time.Minute) }
	res, err = Fetch(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != FetchNotModified {
			t.Errorf("second fetch of %s: %+v", r.Source, r)
		}
	}
	if man2, _ := ReadManifest(os.DirFS(dir)); man2.Files[0].CheckedAt != now.Add(61*time.Minute).Format(time.RFC3339) || man2.Files[0].FetchedAt != man.Files[0].FetchedAt {
		t.Errorf("after not modified: %+v", man2.Files[0])
	}
	var conditional int
	for _, h := range s.headers {
		if h.Get("If-None-Match") != "" && h.Get("If-Modified-Since") != "" {
			conditional++
		}
		if h.Get("Accept-Encoding") != "identity" || !strings.HasPrefix(h.Get("User-Agent"), "porthunter") {
			t.Errorf("request headers %v", h)
		}
	}
	if conditional != len(res) {
		t.Errorf("%d conditional requests, want %d", conditional, len(res))
	}

	// Within Spamhaus's hour, its list is not asked for again at all.
	o.Now = func() time.Time { return now.Add(30 * time.Minute) }
	before := s.count("/drop/drop_v4.json")
	res, _ = Fetch(t.Context(), o)
	if s.count("/drop/drop_v4.json") != before || res[2].Status != FetchSkipped {
		t.Errorf("drop_v4.json asked again within the hour: %+v", res[2])
	}
}

// bigIP2ASNGz is an iptoasn file of n rows, gzip'd.
func bigIP2ASNGz(t *testing.T, n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "31.%d.%d.0\t31.%d.%d.255\t%d\tDE\tEXAMPLE-AS\n", i/256, i%256, i/256, i%256, 64496+i%16)
	}
	return gz(t, []byte(b.String()))
}

// TestFetchHostile: whatever a server does, a failed download never
// replaces the good copy in place, the fetch ends, and it retries only
// what is worth retrying.
func TestFetchHostile(t *testing.T) {
	good := bigIP2ASNGz(t, 2000)
	short := gz(t, readFixture(t, "ip2asn-combined.tsv"))
	cases := []struct {
		name     string
		handler  func(s *fetchServer) http.HandlerFunc
		maxBytes int64
		stall    bool   // the case is a stall: the stall timer is short
		attempts int    // requests the server sees
		err      string // in the error
		ok       bool   // the download succeeds
	}{
		{name: "stalls before the headers", stall: true, attempts: 1 + FetchRetries, err: "nothing arrived",
			handler: func(s *fetchServer) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					select {
					case <-r.Context().Done():
					case <-s.release:
					}
					panic(http.ErrAbortHandler) // no response at all, not an empty one
				}
			}},
		{name: "stalls in the body", stall: true, attempts: 1 + FetchRetries, err: "nothing arrived",
			handler: func(s *fetchServer) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", strconv.Itoa(len(good)))
					w.Write(good[:100])
					w.(http.Flusher).Flush()
					select {
					case <-r.Context().Done():
					case <-s.release:
					}
					panic(http.ErrAbortHandler) // no response at all, not an empty one
				}
			}},
		{name: "sends garbage", attempts: 1, err: "does not load",
			handler: func(s *fetchServer) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					junk := make([]byte, 5000)
					rand.Read(junk)
					w.Write(append([]byte{0x1f, 0x8b}, junk...))
				}
			}},
		{name: "sends text where gzip is due", attempts: 1, err: errFetchNotGz.Error(),
			handler: func(s *fetchServer) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("31.0.0.0\t31.0.0.255\t64496\tDE\tX\n")) }
			}},
		{name: "sends an HTML page", attempts: 1, err: "HTML page",
			handler: func(s *fetchServer) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Write([]byte("\n<!DOCTYPE html><html><body>Please log in to the hotel wifi</body></html>"))
				}
			}},
		{name: "sends an endless body", maxBytes: 256 << 10, attempts: 1, err: "larger than the source's limit",
			handler: func(s *fetchServer) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					chunk := append([]byte{0x1f, 0x8b}, make([]byte, 32<<10)...)
					for {
						if _, err := w.Write(chunk); err != nil {
							return
						}
						w.(http.Flusher).Flush()
						chunk = chunk[2:]
					}
				}
			}},
		{name: "announces a huge body", attempts: 1, err: "announced",
			handler: func(s *fetchServer) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", "10000000000")
					w.WriteHeader(http.StatusOK)
				}
			}},
		{name: "answers 404", attempts: 1, err: "HTTP 404",
			handler: func(s *fetchServer) http.HandlerFunc { return http.NotFound }},
		{name: "answers 500 always", attempts: 1 + FetchRetries, err: "HTTP 500",
			handler: func(s *fetchServer) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { http.Error(w, "oops", 500) }
			}},
		{name: "asks to come back in two hours", attempts: 1, err: "come back later",
			handler: func(s *fetchServer) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Retry-After", "7200")
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			}},
		{name: "redirects to http", attempts: 1, err: "not https",
			handler: func(s *fetchServer) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, "http://example.invalid/ip2asn-combined.tsv.gz", http.StatusFound)
				}
			}},
		{name: "shrinks to a few rows", attempts: 1, err: errFetchShrank.Error(),
			handler: func(s *fetchServer) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { w.Write(short) }
			}},
		{name: "rate limits once, then answers", attempts: 2, ok: true,
			handler: func(s *fetchServer) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					if s.count("/ip2asn.gz") == 1 {
						w.Header().Set("Retry-After", "3")
						w.WriteHeader(http.StatusTooManyRequests)
						return
					}
					w.Write(good)
				}
			}},
		{name: "drops the connection halfway, then resumes", attempts: 2, ok: true,
			handler: func(s *fetchServer) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("ETag", `"v1"`)
					w.Header().Set("Accept-Ranges", "bytes")
					if rg := r.Header.Get("Range"); rg != "" {
						var from int
						if _, err := fmt.Sscanf(rg, "bytes=%d-", &from); err != nil || r.Header.Get("If-Range") != `"v1"` || from != len(good)/2 {
							http.Error(w, "bad range "+rg, http.StatusBadRequest)
							return
						}
						w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, len(good)-1, len(good)))
						w.Header().Set("Content-Length", strconv.Itoa(len(good)-from))
						w.WriteHeader(http.StatusPartialContent)
						w.Write(good[from:])
						return
					}
					w.Header().Set("Content-Length", strconv.Itoa(len(good)))
					w.Write(good[:len(good)/2])
					w.(http.Flusher).Flush()
					conn, _, err := w.(http.Hijacker).Hijack()
					if err == nil {
						conn.Close()
					}
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newFetchServer(t)
			s.bodies["/ip2asn.gz"] = good
			src := FetchSource{Name: "iptoasn", URL: s.ts.URL + "/ip2asn.gz", File: "ip2asn-combined.tsv.gz", Format: FormatIP2ASN, MaxBytes: 1 << 20}
			dir := t.TempDir()
			var sl sleeps
			o := fetchOpts(s, dir, []FetchSource{src}, &sl, fetchLastModified)
			if res, err := Fetch(t.Context(), o); err != nil || res[0].Status != FetchDownloaded {
				t.Fatalf("first fetch: %+v %v", res, err)
			}
			s.mu.Lock()
			s.handlers["/ip2asn.gz"] = c.handler(s)
			s.requests = map[string]int{}
			s.mu.Unlock()
			if c.maxBytes > 0 {
				o.Sources[0].MaxBytes = c.maxBytes
			}
			if c.stall {
				o.stall = 300 * time.Millisecond // the other cases keep seconds: a slow machine is no stall
			}
			o.Force = true // no conditional request: the server's answer is the case
			var log bytes.Buffer
			o.Log = &log
			began := time.Now()
			res, err := Fetch(t.Context(), o)
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(began); took > 10*time.Second {
				t.Errorf("took %v", took)
			}
			r := res[0]
			if got := s.count("/ip2asn.gz"); got != c.attempts {
				t.Errorf("%d requests, want %d (log:\n%s)", got, c.attempts, log.String())
			}
			after, _ := os.ReadFile(filepath.Join(dir, "ip2asn-combined.tsv.gz"))
			if !bytes.Equal(after, good) {
				t.Errorf("the copy in place changed (%d bytes)", len(after))
			}
			if c.ok {
				if r.Status != FetchDownloaded || r.Err != nil {
					t.Errorf("result %+v (log:\n%s)", r, log.String())
				}
				return
			}
			if r.Status != FetchFailed || !r.Kept || r.Err == nil || !strings.Contains(r.Err.Error(), c.err) {
				t.Errorf("result %+v, want failed with %q", r, c.err)
			}
			if !strings.Contains(log.String(), "FAIL ip2asn-combined.tsv.gz: ") || !strings.Contains(log.String(), "the previous copy stays") {
				t.Errorf("log:\n%s", log.String())
			}
			leftovers, _ := filepath.Glob(filepath.Join(dir, ".*"))
			if len(leftovers) != 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
			if rep, _ := CheckBundle(t.Context(), os.DirFS(dir), fetchLastModified, true); rep.Errors != 0 {
				t.Errorf("the bundle no longer checks: %+v", rep)
			}
		})
	}
}

// TestFetchBackoff: retries wait longer each time, and as long as
// Retry-After asks.
func TestFetchBackoff(t *testing.T) {
	s := newFetchServer(t)
	s.handlers["/x"] = func(w http.ResponseWriter, r *http.Request) {
		if s.count("/x") == 2 {
			w.Header().Set("Retry-After", "120")
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	var sl sleeps
	o := fetchOpts(s, t.TempDir(), []FetchSource{{Name: "x", URL: s.ts.URL + "/x", File: "x.netset", Format: FormatList, MaxBytes: 1 << 10}}, &sl, fetchLastModified)
	o.backoff = time.Second
	res, _ := Fetch(t.Context(), o)
	if res[0].Status != FetchFailed || res[0].Kept || len(sl.d) != FetchRetries {
		t.Fatalf("%+v after sleeps %v", res[0], sl.d)
	}
	if sl.d[0] < 750*time.Millisecond || sl.d[0] > time.Second || sl.d[1] != 120*time.Second || sl.d[2] < 3*time.Second || sl.d[2] > 4*time.Second {
		t.Errorf("sleeps %v, want about 1 s, the 120 s asked for, then about 4 s", sl.d)
	}
}

// TestFetchSourcesChecked: a source that would fetch without TLS or write
// outside the directory is refused before any request.
func TestFetchSourcesChecked(t *testing.T) {
	for _, src := range []FetchSource{
		{Name: "plain", URL: "http://example.invalid/x", File: "x.netset", MaxBytes: 1},
		{Name: "escape", URL: "https://example.invalid/x", File: "../x.netset", MaxBytes: 1},
		{Name: "hidden", URL: "https://example.invalid/x", File: ".x", MaxBytes: 1},
		{Name: "manifest", URL: "https://example.invalid/x", File: ManifestName, MaxBytes: 1},
		{Name: "unbounded", URL: "https://example.invalid/x", File: "x.netset"},
	} {
		if _, err := Fetch(t.Context(), FetchOptions{Dir: t.TempDir(), Sources: []FetchSource{src}}); err == nil {
			t.Errorf("%s: no error", src.Name)
		}
	}
	if err := checkFetchSources(DefaultFetchSources()); err != nil {
		t.Errorf("the default sources: %v", err)
	}
	for _, s := range DefaultFetchSources() {
		if FreshFor(s.Format) == 0 || (s.Format == FormatList && !strings.HasPrefix(s.URL, "https://")) {
			t.Errorf("%s: %+v", s.Name, s)
		}
	}
}

// TestCheckBundle: a copy that changed after the fetch, a missing file and
// a manifest that names a path outside the directory are errors; a file
// added by hand is a warning.
func TestCheckBundle(t *testing.T) {
	s := newFetchServer(t)
	s.bodies = fetchFixtures(t)
	dir := t.TempDir()
	if _, err := Fetch(t.Context(), fetchOpts(s, dir, fetchSources(s), &sleeps{}, fetchLastModified)); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "firehol_level1.netset"), []byte("# changed\n31.0.9.9\n"), 0o644))
	must(os.Remove(filepath.Join(dir, "drop_v4.json")))
	must(os.WriteFile(filepath.Join(dir, "mine.txt"), []byte("31.0.9.10\n"), 0o644))
	rep, err := CheckBundle(t.Context(), os.DirFS(dir), fetchLastModified, true)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]BundleFile{}
	for _, f := range rep.Files {
		got[f.File] = f
	}
	if f := got["firehol_level1.netset"]; f.SumOK == nil || *f.SumOK || len(f.Problems) != 1 {
		t.Errorf("changed file: %+v", f)
	}
	if f := got["drop_v4.json"]; f.Status != "missing" || len(f.Problems) != 1 {
		t.Errorf("missing file: %+v", f)
	}
	if f := got["mine.txt"]; f.Status != "loaded" || len(f.Problems) != 0 || len(f.Notes) != 1 {
		t.Errorf("file added by hand: %+v", f)
	}
	if rep.Errors != 2 || rep.Warnings != 1 {
		t.Errorf("errors %d warnings %d", rep.Errors, rep.Warnings)
	}

	for name, man := range map[string]string{
		"outside": `{"format":"` + ManifestFormat + `","files":[{"file":"../etc/passwd","sha256":"` + strings.Repeat("0", 64) + `"}]}`,
		"twice": `{"format":"` + ManifestFormat + `","files":[{"file":"a.txt","sha256":"` + strings.Repeat("0", 64) + `"},` +
			`{"file":"a.txt","sha256":"` + strings.Repeat("0", 64) + `"}]}`,
		"bad sum":      `{"format":"` + ManifestFormat + `","files":[{"file":"a.txt","sha256":"xyz"}]}`,
		"other format": `{"format":"something-else/1","files":[]}`,
		"not json":     `{"format":`,
		"huge":         `{"format":"` + ManifestFormat + `","generator":"` + strings.Repeat("x", MaxManifestBytes) + `"}`,
	} {
		must(os.WriteFile(filepath.Join(dir, ManifestName), []byte(man), 0o644))
		rep, err := CheckBundle(t.Context(), os.DirFS(dir), fetchLastModified, true)
		if err != nil || rep.ManifestError == "" || rep.Errors == 0 {
			t.Errorf("%s: %+v %v", name, rep, err)
		}
	}
	must(os.Remove(filepath.Join(dir, ManifestName)))
	if rep, _ := CheckBundle(t.Context(), os.DirFS(dir), fetchLastModified, false); rep.Errors != 0 || rep.ManifestError == "" {
		t.Errorf("without a manifest, not needed: %+v", rep)
	}
	if rep, _ := CheckBundle(t.Context(), os.DirFS(t.TempDir()), fetchLastModified, false); rep.Errors == 0 {
		t.Errorf("an empty directory checks: %+v", rep)
	}
}

// TestFetchCancel: a fetch whose context ends stops at once, and leaves
// nothing half written.
func TestFetchCancel(t *testing.T) {
	s := newFetchServer(t)
	s.handlers["/slow"] = func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-s.release:
		}
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	o := fetchOpts(s, dir, []FetchSource{{Name: "slow", URL: s.ts.URL + "/slow", File: "slow.netset", Format: FormatList, MaxBytes: 1 << 10}}, &sleeps{}, fetchLastModified)
	o.stall = time.Minute
	began := time.Now()
	res, err := Fetch(ctx, o)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(began) > 5*time.Second || len(res) != 1 || res[0].Status != FetchFailed {
		t.Errorf("%+v %v after %v", res, err, time.Since(began))
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.netset")); len(left) != 0 {
		t.Errorf("files left: %v", left)
	}
}

// roundTripper answers every request with one function, no network.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzFetchResponse: any status, headers and body a server sends; the
// fetch ends, writes no more than the limit, leaves no temporary file,
// and installs a file only when it is the body and loads.
func FuzzFetchResponse(f *testing.F) {
	good := gz(f, readFixture(f, "ip2asn-combined.tsv"))
	f.Add(uint16(200), "", "", int64(len(good)), good)
	f.Add(uint16(200), "", "", int64(-1), []byte("<!DOCTYPE html><p>portal</p>"))
	f.Add(uint16(206), "bytes 0-9/100", "", int64(10), good[:10])
	f.Add(uint16(304), "", "", int64(0), []byte{})
	f.Add(uint16(429), "", "1", int64(0), []byte{})
	f.Add(uint16(503), "", "Wed, 21 Oct 2015 07:28:00 GMT", int64(0), []byte{})
	f.Add(uint16(200), "", "", int64(5), []byte{0x1f, 0x8b, 8, 0, 0})
	f.Fuzz(func(t *testing.T, status uint16, contentRange, retryAfterV string, cl int64, body []byte) {
		code := 100 + int(status)%500
		if code < 200 {
			code = 200 // 1xx are interim: the transport would not hand them over
		}
		const limit = 4096
		calls := 0
		rt := roundTripper(func(r *http.Request) (*http.Response, error) {
			calls++
			h := http.Header{}
			if contentRange != "" {
				h.Set("Content-Range", contentRange)
			}
			if retryAfterV != "" {
				h.Set("Retry-After", retryAfterV)
			}
			h.Set("Accept-Ranges", "bytes")
			h.Set("ETag", `"e"`)
			n := cl
			if n >= 0 && n != int64(len(body)) {
				n = -1 // a length that lies is the transport's to catch, not ours
			}
			return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: n, Request: r}, nil
		})
		dir := t.TempDir()
		src := FetchSource{Name: "x", URL: "https://example.invalid/x.gz", File: "ip2asn-combined.tsv.gz", Format: FormatIP2ASN, MaxBytes: limit}
		res, err := Fetch(context.Background(), FetchOptions{Dir: dir, Sources: []FetchSource{src}, Client: &http.Client{Transport: rt},
			sleep: func(ctx context.Context, d time.Duration) error { return nil }, Now: func() time.Time { return fetchLastModified }})
		if err != nil {
			t.Fatal(err)
		}
		if calls > 1+FetchRetries {
			t.Fatalf("%d requests", calls)
		}
		got, rerr := os.ReadFile(filepath.Join(dir, src.File))
		switch res[0].Status {
		case FetchDownloaded:
			if rerr != nil || len(got) > limit || (code == 200 && !bytes.Equal(got, body)) {
				t.Fatalf("installed %d bytes (%v) from a %d of %d bytes", len(got), rerr, code, len(body))
			}
			if _, st := loadFile(context.Background(), os.DirFS(dir).(fs.StatFS), src.File, fetchLastModified, MaxIntelMemory); st.Status != "loaded" {
				t.Fatalf("installed a file that does not load: %+v", st)
			}
		case FetchFailed:
			if rerr == nil {
				t.Fatal("a failed download left a file")
			}
		default:
			t.Fatalf("status %s without a previous copy", res[0].Status)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
			t.Fatalf("left %v", left)
		}
	})
}

// FuzzManifest: ReadManifest on any bytes does not panic, and what it
// accepts names only plain files of the bundle with well-formed sums.
func FuzzManifest(f *testing.F) {
	f.Add([]byte(`{"format":"` + ManifestFormat + `","files":[{"file":"a.txt","sha256":"` + strings.Repeat("ab", 32) + `","bytes":3}]}`))
	f.Add([]byte(`{"format":"` + ManifestFormat + `","files":[{"file":"../a","sha256":""}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadManifest(fstest.MapFS{ManifestName: &fstest.MapFile{Data: data}})
		if err != nil {
			return
		}
		for _, e := range m.Files {
			if e.File != filepath.Base(e.File) || strings.HasPrefix(e.File, ".") || len(e.SHA256) != 64 || e.Bytes < 0 {
				t.Fatalf("accepted %+v", e)
			}
		}
	})
}
