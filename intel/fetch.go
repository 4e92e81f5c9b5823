package intel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Fetching a bundle (docs/INTEL.md §8.4). `porthunter intel fetch` runs on
// a connected host: it downloads the freely licensed datasets over HTTPS
// into a directory that is then copied, as it is, to the air-gapped host.
//
// Every response is hostile input, however well known the host: a body
// is capped (FetchSource.MaxBytes, checked against Content-Length before
// the first byte and while reading), a connection that sends nothing for
// FetchStallTimeout is dropped, an HTML page (a captive portal, a proxy's
// block page) is refused at its first bytes, and a file replaces the
// previous copy only once it loads in its format with entries: it is
// written to a hidden temporary file in the same directory and renamed
// over the old one after that check, so a failed or garbled download never
// costs the good file. Retries are polite: exponential backoff with
// jitter, Retry-After honoured, conditional requests (If-None-Match,
// If-Modified-Since) from the previous manifest, and a download cut short
// resumes with Range when the server supports it. Only GET is sent, with
// no credential and no cookie.

// FetchSource is one dataset `porthunter intel fetch` downloads.
type FetchSource struct {
	Name        string // short name, e.g. "iptoasn", "ripencc"
	URL         string // https only
	File        string // the file name written in the bundle (a plain name)
	Format      string // the Format* the file must load as
	License     string
	Attribution string
	// MaxBytes caps the body as sent (compressed files stay compressed):
	// about ten times the real size, so growth is no failure and an
	// endless body stops early.
	MaxBytes int64
	// MinInterval: the publisher asks for no more than one download in
	// this time (Spamhaus: an hour); a file fetched more recently is not
	// asked for again unless FetchOptions.Force.
	MinInterval time.Duration
	// MayBeEmpty: a list that may list nothing today and still be whole
	// (Feodo Tracker between campaigns).
	MayBeEmpty bool
}

// Licence notes of the fetched sources (docs/INTEL.md §8.1).
const (
	licenseRIR      = "RIR statistics, published for public use; no licence text in the files (docs/INTEL.md §8.1)"
	licenseFireHOL  = "aggregate of lists under their maintainers' terms (docs/INTEL.md §8.1)"
	licenseAbuseCH  = "abuse.ch terms: free for commercial and non-commercial use (docs/INTEL.md §8.1)"
	urlSpamhausDrop = "https://www.spamhaus.org/blocklists/drop-fair-use-policy/"
)

// DefaultFetchSources lists the datasets fetched by default: iptoasn, the
// five RIRs' extended delegated statistics, Spamhaus DROP (IPv4 and IPv6),
// FireHOL level 1 and Feodo Tracker. The URLs are the publishers' own
// (docs/INTEL.md §8.1).
func DefaultFetchSources() []FetchSource {
	rir := func(name, url string) FetchSource {
		return FetchSource{Name: name, URL: url, File: "delegated-" + name + "-extended-latest", Format: FormatRIR,
			License: licenseRIR, MaxBytes: 512 << 20}
	}
	return []FetchSource{
		{Name: "iptoasn", URL: "https://iptoasn.com/data/ip2asn-combined.tsv.gz", File: "ip2asn-combined.tsv.gz",
			Format: FormatIP2ASN, License: licensePDDL, MaxBytes: 256 << 20},
		rir("arin", "https://ftp.arin.net/pub/stats/arin/delegated-arin-extended-latest"),
		rir("ripencc", "https://ftp.ripe.net/pub/stats/ripencc/delegated-ripencc-extended-latest"),
		rir("apnic", "https://ftp.apnic.net/stats/apnic/delegated-apnic-extended-latest"),
		rir("lacnic", "https://ftp.lacnic.net/pub/stats/lacnic/delegated-lacnic-extended-latest"),
		rir("afrinic", "https://ftp.afrinic.net/pub/stats/afrinic/delegated-afrinic-extended-latest"),
		{Name: "spamhaus-drop-v4", URL: "https://www.spamhaus.org/drop/drop_v4.json", File: "drop_v4.json", Format: FormatList,
			License: licenseSpamhaus + " (" + urlSpamhausDrop + ")", Attribution: attributionSpamhs, MaxBytes: 32 << 20, MinInterval: time.Hour},
		{Name: "spamhaus-drop-v6", URL: "https://www.spamhaus.org/drop/drop_v6.json", File: "drop_v6.json", Format: FormatList,
			License: licenseSpamhaus + " (" + urlSpamhausDrop + ")", Attribution: attributionSpamhs, MaxBytes: 32 << 20, MinInterval: time.Hour},
		{Name: "firehol-level1", URL: "https://iplists.firehol.org/files/firehol_level1.netset", File: "firehol_level1.netset",
			Format: FormatList, License: licenseFireHOL, MaxBytes: 64 << 20},
		{Name: "feodo", URL: "https://feodotracker.abuse.ch/downloads/ipblocklist.csv", File: "ipblocklist.csv",
			Format: FormatList, License: licenseAbuseCH, MaxBytes: 32 << 20, MayBeEmpty: true},
	}
}

// FetchOptions configures Fetch.
type FetchOptions struct {
	// Dir is the bundle directory; it is created when missing.
	Dir string
	// Sources are the datasets to fetch; nil means DefaultFetchSources.
	Sources []FetchSource
	// Client sends the requests; nil builds one with the timeouts of
	// newFetchClient. Either way redirects may lead to https only.
	Client *http.Client
	// Log receives one line per event (a file done, a retry, a failure);
	// nil means none. Its text may quote a server's words: a terminal
	// caller escapes it.
	Log io.Writer
	// Progress is called as a body arrives (done bytes of total, 0 when
	// unknown); nil means none.
	Progress func(file string, done, total int64)
	// Force downloads every file whole: no conditional request, and
	// MinInterval is not waited for.
	Force bool
	// UserAgent names the program to the servers.
	UserAgent string
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// Test hooks: the stall timeout, the first backoff, and the sleep
	// between attempts.
	stall   time.Duration
	backoff time.Duration
	sleep   func(context.Context, time.Duration) error
}

// Fetch statuses (FetchResult.Status).
const (
	FetchDownloaded  = "downloaded"   // a new copy, verified and in place
	FetchNotModified = "not_modified" // the server says the copy in place is current
	FetchSkipped     = "skipped"      // fetched less than MinInterval ago: not asked again
	FetchFailed      = "failed"       // no new copy; Kept says whether the previous one stays
)

// FetchResult is what became of one source.
type FetchResult struct {
	Source, File string
	Status       string
	Kept         bool // failed, and a previous good copy stays in place
	Bytes        int64
	Entries      int
	Err          error
}

// Manifest is MANIFEST.json: what each file of a bundle is, so that the
// air-gapped host can check it (porthunter intel verify).
type Manifest struct {
	Format    string         `json:"format"` // ManifestFormat
	Generator string         `json:"generator"`
	Updated   string         `json:"updated"` // RFC 3339
	Files     []ManifestFile `json:"files"`
}

// ManifestFormat names the manifest's layout.
const ManifestFormat = "porthunter-intel-bundle/1"

// ManifestFile is one file of a bundle.
type ManifestFile struct {
	File         string `json:"file"`
	Source       string `json:"source"`
	URL          string `json:"url,omitempty"` // empty for a file not fetched (the sample set)
	Format       string `json:"format"`
	SHA256       string `json:"sha256"`
	Bytes        int64  `json:"bytes"`
	Entries      int    `json:"entries"`
	FetchedAt    string `json:"fetched_at"`              // when this copy was downloaded, RFC 3339
	CheckedAt    string `json:"checked_at"`              // when the server last said it was current
	LastModified string `json:"last_modified,omitempty"` // the server's Last-Modified, as sent
	ETag         string `json:"etag,omitempty"`
	License      string `json:"license"`
	Attribution  string `json:"attribution,omitempty"`
	RefreshDays  int    `json:"refresh_days"` // stale after this many days (docs/INTEL.md §8.3)
}

// Fetch errors.
var (
	errFetchHTML   = errors.New("the server sent an HTML page (a login portal, a proxy's block page or an error page), not the dataset")
	errFetchStall  = errors.New("nothing arrived for too long")
	errFetchSize   = errors.New("larger than the source's limit")
	errFetchNotGz  = errors.New("not gzip data, though the file is .gz")
	errFetchLater  = errors.New("the server asks to come back later")
	errFetchShrank = errors.New("far fewer entries than the previous copy")
)

// Fetch downloads every source into o.Dir, verifies each, and writes the
// bundle's MANIFEST.json and SHA256SUMS. One failed source does not stop
// the others. The error is for what stops the whole fetch: a bad option,
// an unusable directory, or ctx ending.
func Fetch(ctx context.Context, o FetchOptions) ([]FetchResult, error) {
	f := &fetcher{o: o, now: o.Now, client: o.Client}
	if f.now == nil {
		f.now = time.Now
	}
	if o.Sources == nil {
		o.Sources = DefaultFetchSources()
	}
	if err := checkFetchSources(o.Sources); err != nil {
		return nil, err
	}
	if f.client == nil {
		f.client = newFetchClient()
	} else {
		c := *f.client
		c.CheckRedirect = httpsOnlyRedirect
		f.client = &c
	}
	if o.Dir == "" {
		return nil, errors.New("intel: fetch needs an output directory")
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	old, err := ReadManifest(os.DirFS(o.Dir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.logf("fetch: the previous %s is not usable (%v): every file is downloaded whole", ManifestName, err)
	}
	byFile := map[string]ManifestFile{}
	if old != nil {
		for _, m := range old.Files {
			byFile[m.File] = m
		}
	}
	var results []FetchResult
	for _, src := range o.Sources {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		var prev *ManifestFile
		if m, ok := byFile[src.File]; ok && f.matches(src.File, m) {
			prev = &m
		}
		res, entry := f.one(ctx, src, prev)
		if entry != nil {
			byFile[src.File] = *entry
		}
		results = append(results, res)
	}
	if err := f.writeManifest(byFile); err != nil {
		return results, err
	}
	return results, ctx.Err()
}

// checkFetchSources refuses what would write outside the directory or
// fetch without TLS.
func checkFetchSources(srcs []FetchSource) error {
	seen := map[string]bool{}
	for _, s := range srcs {
		if err := checkHTTPS(s.URL); err != nil || s.URL == "" {
			return fmt.Errorf("intel: source %s: %w", s.Name, cmpErr(err, ErrInsecureURL))
		}
		if s.File == "" || s.File != path.Base(s.File) || s.File != filepath.Base(s.File) || strings.HasPrefix(s.File, ".") ||
			bundleFile(s.File) || seen[s.File] {
			return fmt.Errorf("intel: source %s: file name %q must be a plain, visible, unique data file name", s.Name, s.File)
		}
		if s.MaxBytes <= 0 {
			return fmt.Errorf("intel: source %s: no size limit", s.Name)
		}
		seen[s.File] = true
	}
	return nil
}

func cmpErr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// newFetchClient: proxy from the environment, TLS 1.2 or later, timeouts
// for each step of a connection (the body's own pace is watched by the
// stall timer), redirects to https only.
func newFetchClient() *http.Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 15 * time.Second}).DialContext,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: FetchStallTimeout,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
	return &http.Client{Transport: tr, CheckRedirect: httpsOnlyRedirect}
}

type fetcher struct {
	o      FetchOptions
	now    func() time.Time
	client *http.Client
}

func (f *fetcher) logf(format string, args ...any) {
	if f.o.Log != nil {
		fmt.Fprintf(f.o.Log, format+"\n", args...)
	}
}

// matches reports whether the file in place is the one the manifest
// describes (size and SHA-256): only then may a conditional request keep
// it, or MinInterval skip it.
func (f *fetcher) matches(file string, m ManifestFile) bool {
	sum, n, err := fileSHA256(os.DirFS(f.o.Dir), file)
	return err == nil && n == m.Bytes && sum == m.SHA256
}

// one fetches one source; the entry is the manifest's new line for it (nil
// when nothing changed for the manifest).
func (f *fetcher) one(ctx context.Context, src FetchSource, prev *ManifestFile) (FetchResult, *ManifestFile) {
	res := FetchResult{Source: src.Name, File: src.File}
	if fi, err := os.Lstat(filepath.Join(f.o.Dir, src.File)); err == nil && fi.Mode().IsRegular() {
		res.Kept = true // until a new copy replaces it
	}
	now := f.now()
	if prev != nil && !f.o.Force && src.MinInterval > 0 {
		if t, err := time.Parse(time.RFC3339, prev.FetchedAt); err == nil && now.Sub(t) < src.MinInterval {
			res.Status, res.Bytes, res.Entries = FetchSkipped, prev.Bytes, prev.Entries
			f.logf("skip %s: fetched %s ago; %s asks for one download in %s at most (--force to ask anyway)",
				src.File, now.Sub(t).Round(time.Minute), src.Name, src.MinInterval)
			return res, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, FetchFileTimeout)
	defer cancel()
	tmp, err := os.CreateTemp(f.o.Dir, "."+src.File+".*.part") // hidden: a loader skips it
	if err != nil {
		return f.failed(res, err), nil
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name()) // gone already once renamed
	}()
	d := &download{src: src, tmp: tmp, h: sha256.New()}
	cond := prev
	if f.o.Force {
		cond = nil
	}
	for attempt := 0; ; attempt++ {
		err := f.attempt(ctx, d, cond)
		if err == nil {
			break
		}
		if errors.Is(err, errNotModified) {
			res.Status, res.Bytes, res.Entries = FetchNotModified, prev.Bytes, prev.Entries
			f.logf("ok   %s: not modified since %s", src.File, cmpStr(prev.LastModified, prev.FetchedAt))
			entry := *prev
			entry.CheckedAt = now.UTC().Format(time.RFC3339)
			return res, &entry
		}
		var retry *retryable
		if !errors.As(err, &retry) || attempt == FetchRetries || ctx.Err() != nil {
			return f.failed(res, err), nil
		}
		wait := max(retry.wait, f.backoffFor(attempt))
		f.logf("retry %s in %s (%d of %d): %v", src.File, wait.Round(time.Second), attempt+1, FetchRetries, retry.err)
		if err := f.pause(ctx, wait); err != nil {
			return f.failed(res, err), nil
		}
	}
	entry, err := f.install(ctx, d, prev)
	if err != nil {
		return f.failed(res, err), nil
	}
	res.Status, res.Kept, res.Bytes, res.Entries = FetchDownloaded, false, entry.Bytes, entry.Entries
	f.logf("ok   %s: %s, %d entries", src.File, sizeText(entry.Bytes), entry.Entries)
	return res, entry
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (f *fetcher) failed(res FetchResult, err error) FetchResult {
	res.Status, res.Err = FetchFailed, err
	kept := "no previous copy"
	if res.Kept {
		kept = "the previous copy stays"
	}
	f.logf("FAIL %s: %v; %s", res.File, err, kept)
	return res
}

// backoffFor is the pause before retry attempt+1: doubling from the first
// backoff, capped, with a quarter of jitter so that many hosts retrying
// together do not arrive together.
func (f *fetcher) backoffFor(attempt int) time.Duration {
	d := cmpDur(f.o.backoff, fetchBackoff) << attempt
	d = min(d, fetchMaxBackoff)
	return d - d/4 + rand.N(d/4+1)
}

func cmpDur(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (f *fetcher) pause(ctx context.Context, d time.Duration) error {
	if f.o.sleep != nil {
		return f.o.sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// download is one file on its way: the temporary file, its hash and
// length so far, and what resuming needs.
type download struct {
	src           FetchSource
	tmp           *os.File
	h             hash.Hash
	written       int64
	head          []byte // the body's first bytes, until checked (checkHead)
	checked       bool
	etag, lastMod string
	ranges        bool // the server accepts byte ranges: a cut transfer resumes
}

// restart empties the temporary file for a whole new body.
func (d *download) restart() error {
	d.h.Reset()
	d.written, d.etag, d.lastMod, d.ranges = 0, "", "", false
	d.head, d.checked = d.head[:0], false
	if err := d.tmp.Truncate(0); err != nil {
		return err
	}
	_, err := d.tmp.Seek(0, io.SeekStart)
	return err
}

// retryable wraps an error worth another attempt; wait is what the server
// asked for (Retry-After), or 0.
type retryable struct {
	err  error
	wait time.Duration
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

var errNotModified = errors.New("not modified")

// attempt makes one request and reads its body into d. The error is
// errNotModified, a *retryable, or final.
func (f *fetcher) attempt(ctx context.Context, d *download, cond *ManifestFile) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stall := cmpDur(f.o.stall, FetchStallTimeout)
	var stalled atomic.Bool
	watchdog := time.AfterFunc(stall, func() { stalled.Store(true); cancel() })
	defer watchdog.Stop()
	transportErr := func(err error) error {
		if errors.Is(err, ErrInsecureURL) {
			return errors.New("refused a redirect to a URL that is not https")
		}
		if stalled.Load() {
			err = fmt.Errorf("%w (%s)", errFetchStall, stall)
		}
		if ctx.Err() != nil && !stalled.Load() {
			return err // the caller's context ended: no retry
		}
		return &retryable{err: err}
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.src.URL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", cmpStr(f.o.UserAgent, "porthunter-intel-fetch"))
	// identity: the body is stored as sent (a .gz stays gzip), its size
	// is the size the cap and Range count, and Go's transport does not
	// inflate it behind the caps.
	req.Header.Set("Accept-Encoding", "identity")
	resuming := d.written > 0 && d.ranges && (d.etag != "" || d.lastMod != "")
	switch {
	case resuming:
		req.Header.Set("Range", "bytes="+strconv.FormatInt(d.written, 10)+"-")
		req.Header.Set("If-Range", cmpStr(d.etag, d.lastMod))
	case cond != nil:
		if cond.ETag != "" {
			req.Header.Set("If-None-Match", cond.ETag)
		}
		if cond.LastModified != "" {
			req.Header.Set("If-Modified-Since", cond.LastModified)
		}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return transportErr(err)
	}
	defer resp.Body.Close()
	watchdog.Reset(stall)

	switch code := resp.StatusCode; {
	case code == http.StatusNotModified && cond != nil && !resuming:
		return errNotModified
	case code == http.StatusOK:
		if err := d.restart(); err != nil {
			return err
		}
	case code == http.StatusPartialContent && resuming && rangeStart(resp.Header.Get("Content-Range")) == d.written:
		// the rest of the same file: append
	case code == http.StatusPartialContent:
		// a range we did not ask for: start again, whole
		if err := d.restart(); err != nil {
			return err
		}
		return &retryable{err: errors.New("the server answered a range that does not continue the file")}
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		wait := retryAfter(resp.Header.Get("Retry-After"), f.now())
		if wait > FetchMaxRetryAfter {
			return fmt.Errorf("%w: HTTP %d, Retry-After %s; run the fetch again then", errFetchLater, code, wait.Round(time.Minute))
		}
		return &retryable{err: fmt.Errorf("HTTP %d", code), wait: wait}
	case code >= 500:
		return &retryable{err: fmt.Errorf("HTTP %d", code)}
	default:
		return fmt.Errorf("HTTP %d from %s", code, d.src.URL)
	}
	if resp.StatusCode == http.StatusOK {
		d.etag, d.lastMod = resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
		d.ranges = strings.EqualFold(strings.TrimSpace(resp.Header.Get("Accept-Ranges")), "bytes")
	}
	total := int64(0)
	if resp.ContentLength >= 0 {
		total = d.written + resp.ContentLength
		if total > d.src.MaxBytes {
			return fmt.Errorf("%w: %d bytes announced, at most %d", errFetchSize, total, d.src.MaxBytes)
		}
	}
	// The body streams to the temporary file within the source's limit
	// (not readAllMax: a dataset is not held, and a resumed download
	// counts the bytes already written).
	buf := make([]byte, 64<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			watchdog.Reset(stall)
			if !d.checked {
				d.head = append(d.head, buf[:min(n, headCheckLen-len(d.head))]...)
				if len(d.head) == headCheckLen {
					if err := d.checkHead(); err != nil {
						return err
					}
				}
			}
			if d.written+int64(n) > d.src.MaxBytes {
				return fmt.Errorf("%w: more than %d bytes", errFetchSize, d.src.MaxBytes)
			}
			if _, err := d.tmp.Write(buf[:n]); err != nil {
				return err
			}
			d.h.Write(buf[:n])
			d.written += int64(n)
			if f.o.Progress != nil {
				f.o.Progress(d.src.File, d.written, total)
			}
		}
		if errors.Is(rerr, io.EOF) {
			return d.checkHead()
		}
		if rerr != nil {
			return transportErr(rerr)
		}
	}
}

// rangeStart reads the first byte position of a Content-Range header
// ("bytes 100-199/200"), or -1.
func rangeStart(v string) int64 {
	rest, ok := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !ok {
		return -1
	}
	first, _, ok := strings.Cut(rest, "-")
	n, err := strconv.ParseInt(first, 10, 64)
	if !ok || err != nil || n < 0 {
		return -1
	}
	return n
}

// headCheckLen is how much of a body checkHead looks at.
const headCheckLen = 512

// checkHead refuses a body by its first bytes, once they are in (or the
// body ended): an HTML page where data was expected, or text where the
// file is gzip. It looks once per body.
func (d *download) checkHead() error {
	if d.checked {
		return nil
	}
	d.checked = true
	src, head := d.src, d.head
	t := bytes.ToLower(bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf"))
	if bytes.HasPrefix(t, []byte("<!doctype html")) || bytes.HasPrefix(t, []byte("<html")) || bytes.HasPrefix(t, []byte("<head")) {
		return errFetchHTML
	}
	if strings.HasSuffix(src.File, ".gz") && !(len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b) {
		return errFetchNotGz
	}
	return nil
}

// install verifies the downloaded file (it must load in its format, with
// entries unless the source may be empty, and not shrink to a tenth of
// the previous copy), moves it over the old copy, dates it with the
// server's Last-Modified and returns its manifest entry.
func (f *fetcher) install(ctx context.Context, d *download, prev *ManifestFile) (*ManifestFile, error) {
	if err := d.tmp.Sync(); err != nil {
		return nil, err
	}
	st := verifyFile(ctx, f.o.Dir, filepath.Base(d.tmp.Name()), d.src.File, f.now())
	switch {
	case st.Status != "loaded":
		return nil, fmt.Errorf("the download does not load: %s", errText(st.Error))
	case st.Format != d.src.Format:
		return nil, fmt.Errorf("the download is %s, not %s", cmpStr(st.Format, "of no known format"), d.src.Format)
	case st.Entries == 0 && !d.src.MayBeEmpty:
		return nil, fmt.Errorf("%w: the download has no entries", ErrNoEntries)
	case prev != nil && !d.src.MayBeEmpty && prev.Entries >= fetchShrinkFloor && st.Entries < prev.Entries/10:
		return nil, fmt.Errorf("%w: %d, the copy in place has %d; if that is right, delete it and fetch again", errFetchShrank, st.Entries, prev.Entries)
	}
	final := filepath.Join(f.o.Dir, d.src.File)
	if err := d.tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(d.tmp.Name(), final); err != nil {
		return nil, err
	}
	now := f.now().UTC()
	if t, err := http.ParseTime(d.lastMod); err == nil && !t.After(now) {
		os.Chtimes(final, t, t) // the dataset's date survives cp -p and tar (docs/INTEL.md §8.3)
	}
	stamp := now.Format(time.RFC3339)
	return &ManifestFile{File: d.src.File, Source: d.src.Name, URL: d.src.URL, Format: d.src.Format,
		SHA256: hex.EncodeToString(d.h.Sum(nil)), Bytes: d.written, Entries: st.Entries, FetchedAt: stamp, CheckedAt: stamp,
		LastModified: d.lastMod, ETag: d.etag, License: d.src.License, Attribution: d.src.Attribution,
		RefreshDays: int(FreshFor(d.src.Format) / (24 * time.Hour))}, nil
}

// verifyFile loads the temporary file tmp of dir as if it were named name
// (formats are told by name first) and returns the load report.
func verifyFile(ctx context.Context, dir, tmp, name string, now time.Time) SourceStatus {
	_, st := loadFile(ctx, aliasFS{fsys: os.DirFS(dir).(fs.StatFS), alias: name, real: tmp}, name, now, MaxIntelMemory)
	return st
}

// aliasFS shows one file of fsys under another name.
type aliasFS struct {
	fsys        fs.StatFS
	alias, real string
}

func (a aliasFS) Open(name string) (fs.File, error) {
	if name != a.alias {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return a.fsys.Open(a.real)
}

func (a aliasFS) Stat(name string) (fs.FileInfo, error) {
	if name != a.alias {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return a.fsys.Stat(a.real)
}

// writeManifest writes MANIFEST.json and SHA256SUMS for the files whose
// entry matches the file in place, each to a temporary file renamed over
// the old one.
func (f *fetcher) writeManifest(byFile map[string]ManifestFile) error {
	m := Manifest{Format: ManifestFormat, Generator: cmpStr(f.o.UserAgent, "porthunter-intel-fetch"),
		Updated: f.now().UTC().Format(time.RFC3339)}
	for _, e := range byFile {
		if _, err := os.Lstat(filepath.Join(f.o.Dir, e.File)); err == nil {
			m.Files = append(m.Files, e)
		}
	}
	slices.SortFunc(m.Files, func(a, b ManifestFile) int { return strings.Compare(a.File, b.File) })
	js, err := marshalIndent(m)
	if err != nil {
		return err
	}
	var sums bytes.Buffer
	for _, e := range m.Files {
		fmt.Fprintf(&sums, "%s  %s\n", e.SHA256, e.File)
	}
	if err := writeAtomic(f.o.Dir, ManifestName, js); err != nil {
		return err
	}
	return writeAtomic(f.o.Dir, SumsName, sums.Bytes())
}

// writeAtomic writes data to dir/name through a hidden temporary file and
// a rename, so a reader never sees half a file.
func writeAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, "."+name+".*.part")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, name))
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
