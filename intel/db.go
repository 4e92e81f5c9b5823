package intel

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures Open.
type Options struct {
	// Dir is the offline intel directory (already confined to the sandbox
	// by the caller); nil means no offline data.
	Dir fs.FS
	// DirError is why the caller could not open the configured directory
	// (missing, unreadable, outside the allowed directory); Dir is then
	// nil. It does not fail Open: the database starts without offline
	// data and Sources and Health report the error, so that answers say
	// what is missing instead of the server refusing to start.
	DirError error
	// Online allows the online providers; each also needs its key. When
	// false no request, DNS lookup or dial is ever made.
	Online       bool
	OTXKey       string
	GreyNoiseKey string
	// AllowPrivate enriches non-public addresses with offline data too.
	// They are never sent online, whatever this says.
	AllowPrivate bool
	// HTTPClient is used for online requests; nil builds one with the
	// timeouts of docs/INTEL.md §5. Its redirects are limited to https.
	HTTPClient *http.Client
	// Timeout bounds one online lookup; 0 means OTXTimeout/GreyNoiseTimeout.
	Timeout time.Duration
	// OTXURL and GreyNoiseURL override the service base URLs (tests, a
	// TLS-intercepting proxy); they must be https.
	OTXURL, GreyNoiseURL string
	// GreyNoiseDailyBudget caps GreyNoise requests per UTC day; 0 means
	// GreyNoiseDailyBudget.
	GreyNoiseDailyBudget int
	// Now is the clock for staleness, cache lifetimes and OTX expirations;
	// nil means time.Now.
	Now func() time.Time
	// MaxMemory is the memory budget of the offline tables; 0 (or more
	// than MaxIntelMemory) means MaxIntelMemory.
	MaxMemory int64
	// Log receives a summary of every load of the directory (what was
	// loaded, and each file refused, in error or ignored, one per line);
	// nil means none. Package main passes stderr.
	Log io.Writer
}

// DB answers enrichments. It is safe for concurrent use.
type DB struct {
	opts Options
	now  func() time.Time
	off  atomic.Pointer[offline]

	refreshMu sync.Mutex
	lastCheck time.Time

	otx, gn             *onlineProvider // nil when disabled
	otxReason, gnReason string          // why disabled
}

// Open loads every recognised file of o.Dir (a broken file is reported by
// Sources, not fatal) and prepares the online providers. It fails only on
// an online URL that is not https, or with ctx's error when ctx ends
// during the load.
//
// Offline file names (case-insensitive, optionally ending in .gz; gzip is
// detected by its magic bytes):
//
//	*.mmdb                          MaxMind DB (GeoLite2/GeoIP2/DB-IP country, city, ASN)
//	ip2asn*                         iptoasn TSV (combined, v4, v6, v4-u32)
//	delegated-*                     RIR delegated statistics (extended or not)
//	dbip-*.csv                      DB-IP Lite CSV (country, city or asn)
//	otx*.json, *pulses*.json        OTX pulse export (subscribed pages, pulse, array)
//	greynoise*.{json,jsonl,ndjson}  saved GreyNoise community answers (NDJSON)
//	anything else                   identified by content: one of the above, or an
//	                                IP/CIDR list (netset, txt, Spamhaus NDJSON, Feodo CSV)
//
// A list is provider "list:<stem>" (drop*.{txt,json} → spamhaus_drop,
// edrop → spamhaus_edrop, ipblocklist* → feodo, greynoise*.txt →
// greynoise_block). Hidden files are skipped, and so is anything that is
// not a regular file (or a symlink to one), without being opened;
// subdirectories are read up to MaxDirDepth levels. The tables together
// hold at most Options.MaxMemory (MaxIntelMemory); a file past it is
// refused.
func Open(ctx context.Context, o Options) (*DB, error) {
	if err := checkHTTPS(o.OTXURL); err != nil {
		return nil, err
	}
	if err := checkHTTPS(o.GreyNoiseURL); err != nil {
		return nil, err
	}
	db := &DB{opts: o, now: o.Now}
	if db.now == nil {
		db.now = time.Now
	}
	if db.opts.MaxMemory <= 0 || db.opts.MaxMemory > MaxIntelMemory {
		db.opts.MaxMemory = MaxIntelMemory
	}
	off, err := loadDir(ctx, o.Dir, db.now(), db.opts.MaxMemory)
	if err != nil {
		return nil, err
	}
	if o.DirError != nil {
		off.status = append(off.status, SourceStatus{Status: "error", Error: strp(o.DirError.Error())})
	}
	db.off.Store(off)
	db.logLoad("loaded", off)
	db.lastCheck = db.now()
	db.otxReason, db.gnReason = "offline_mode", "offline_mode"
	if o.Online {
		client := newHTTPClient(o)
		db.otxReason, db.gnReason = "no_api_key", "no_api_key"
		if o.OTXKey != "" {
			db.otx, db.otxReason = newOTX(o, client, db.now), ""
		}
		if o.GreyNoiseKey != "" {
			db.gn, db.gnReason = newGreyNoise(o, client, db.now), ""
		}
	}
	return db, nil
}

// Sources reports every file of the intel directory (loaded, error with
// the reason, ignored) and the two online providers (enabled, disabled).
func (db *DB) Sources() []SourceStatus {
	out := slices.Clone(db.off.Load().status)
	for _, p := range []struct {
		name   string
		on     bool
		reason string
	}{{"otx", db.otx != nil, db.otxReason}, {"greynoise", db.gn != nil, db.gnReason}} {
		st := SourceStatus{Provider: p.name, Format: "online", Status: "enabled"}
		if !p.on {
			st.Status = "disabled"
			st.Error = strp(p.reason)
		}
		out = append(out, st)
	}
	return out
}

// Refresh reloads the intel directory when a file was added, removed or
// changed (mtime, size or type), at most once per RefreshInterval unless
// force. The new tables replace the old ones atomically; lookups in flight
// finish on the old ones. It reports whether a reload happened. When ctx
// ends during the reload, the old tables stay, the error is ctx's, and the
// next call tries again.
func (db *DB) Refresh(ctx context.Context, force bool) (bool, error) {
	if db.opts.Dir == nil || !db.refreshMu.TryLock() {
		return false, nil
	}
	defer db.refreshMu.Unlock()
	now := db.now()
	if !force && now.Sub(db.lastCheck) < RefreshInterval {
		return false, nil
	}
	_, stamps, _ := listDir(db.opts.Dir)
	old := db.off.Load().stamps
	changed := len(stamps) != len(old)
	for name, s := range stamps {
		if o, ok := old[name]; !ok || !o.modTime.Equal(s.modTime) || o.size != s.size || o.mode != s.mode {
			changed = true
		}
	}
	if !changed {
		db.lastCheck = now
		return false, nil
	}
	off, err := loadDir(ctx, db.opts.Dir, now, db.opts.MaxMemory)
	if err != nil {
		return false, err
	}
	db.off.Store(off)
	db.lastCheck = now
	db.logLoad("reloaded", off)
	return true, nil
}

// logLoad writes a load's summary to Options.Log: one line of totals, then
// one per file not loaded and one per file past its refresh interval
// (names quoted, so a crafted name cannot forge a line). The caller
// reports Options.DirError itself.
func (db *DB) logLoad(what string, off *offline) {
	if db.opts.Log == nil || db.opts.Dir == nil {
		return
	}
	count, files := map[string]int{}, 0
	for _, st := range off.status {
		if st.File != "" { // not the directory's own error
			count[st.Status]++
			files++
		}
	}
	fmt.Fprintf(db.opts.Log, "intel: %s %d of %d files (%.1f MiB of the %d MiB budget); %d refused over the budget, %d in error, %d ignored\n",
		what, count["loaded"], files, float64(off.used)/(1<<20), off.limit>>20, count["refused"], count["error"], count["ignored"])
	now := db.now()
	for _, st := range off.status {
		switch {
		case st.Status != "loaded":
			fmt.Fprintf(db.opts.Log, "intel: %s %q: %s\n", st.Status, st.File, errText(st.Error))
		case st.StaleAt(now):
			fmt.Fprintf(db.opts.Log, "intel: stale %q: %s\n", st.File, staleReason(st))
		}
	}
}

// staleReason says how old a stale dataset is against its refresh
// interval.
func staleReason(st SourceStatus) string {
	return fmt.Sprintf("as of %s, and %s is refreshed every %s (docs/INTEL.md §8.3)",
		st.asOf.Format(time.DateOnly), st.Provider, days(st.FreshFor))
}

// days writes a duration of whole days as "7 days".
func days(d time.Duration) string {
	n := int(d / (24 * time.Hour))
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// Problem is one source of Health that failed or is stale.
type Problem struct {
	File     string        // path inside the intel directory; "" for the directory itself
	Provider string        // "" when the file was not recognised
	Reason   string        // the load error, or how old a stale file is
	AsOf     time.Time     // a stale file's date
	FreshFor time.Duration // a stale file's refresh interval
}

// Health is the intel at a glance: what every answer and the start-up log
// say of it, so that an empty field is never taken for "nothing known"
// when the data is missing.
type Health struct {
	DirConfigured bool      // an intel directory was configured (it may have failed)
	Loaded        int       // files loaded
	Providers     []string  // offline providers loaded, in answer order
	Online        []string  // online providers enabled
	Failed        []Problem // the directory's own error first, then files in error or refused
	Stale         []Problem // loaded files past their refresh interval
	Ignored       int       // files not read: not a recognised format, or not a regular file
}

// Configured reports whether any intel is configured: a directory (even
// one that failed) or an online provider.
func (h Health) Configured() bool { return h.DirConfigured || len(h.Online) > 0 }

// Health reports the state of the intel now: the last load's report, with
// staleness judged at the database's clock.
func (db *DB) Health() Health {
	off := db.off.Load()
	h := Health{DirConfigured: db.opts.Dir != nil || db.opts.DirError != nil}
	now := db.now()
	for _, st := range off.status {
		switch st.Status {
		case "loaded":
			h.Loaded++
			if st.StaleAt(now) {
				h.Stale = append(h.Stale, Problem{File: st.File, Provider: st.Provider, Reason: staleReason(st), AsOf: st.asOf, FreshFor: st.FreshFor})
			}
		case "error", "refused":
			p := Problem{File: st.File, Provider: st.Provider, Reason: errText(st.Error)}
			if st.File == "" { // the directory's own: first
				h.Failed = append([]Problem{p}, h.Failed...)
				continue
			}
			h.Failed = append(h.Failed, p)
		case "ignored":
			h.Ignored++
		}
	}
	for _, g := range off.groups {
		h.Providers = append(h.Providers, g.name)
	}
	if db.otx != nil {
		h.Online = append(h.Online, "otx")
	}
	if db.gn != nil {
		h.Online = append(h.Online, "greynoise")
	}
	return h
}

// Inspect loads the intel directory fsys as Open would, at the clock now,
// and returns what Sources would report of its files; the tables are let
// go. It fails only when ctx ends. `porthunter intel verify` and `intel
// status` print it.
func Inspect(ctx context.Context, fsys fs.FS, now time.Time) ([]SourceStatus, error) {
	off, err := loadDir(ctx, fsys, now, MaxIntelMemory)
	if err != nil {
		return nil, err
	}
	return off.status, nil
}

func errText(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// providerGroup is the datasets of one offline provider, in file order.
type providerGroup struct {
	name     string
	datasets []*dataset
}

func providerRank(name string) int {
	switch {
	case name == "ip2asn":
		return 0
	case name == "rir_delegated":
		return 1
	case name == "dbip_csv":
		return 2
	case strings.HasPrefix(name, "mmdb:"):
		return 3
	case strings.HasPrefix(name, "list:"):
		return 4
	case name == "otx_import":
		return 5
	}
	return 6
}

func groupDatasets(dss []*dataset) []providerGroup {
	var groups []providerGroup
	for _, ds := range dss {
		i := slices.IndexFunc(groups, func(g providerGroup) bool { return g.name == ds.provider })
		if i < 0 {
			groups = append(groups, providerGroup{name: ds.provider})
			i = len(groups) - 1
		}
		groups[i].datasets = append(groups[i].datasets, ds)
	}
	slices.SortStableFunc(groups, func(a, b providerGroup) int {
		return cmp.Or(cmp.Compare(providerRank(a.name), providerRank(b.name)), strings.Compare(a.name, b.name))
	})
	return groups
}

// Enrich answers for a valid address (ParseIP's result). A zone is dropped
// and an IPv4-mapped address unmapped, as normalized_from says. An address
// that is not globally reachable gets the Skip answer unless AllowPrivate.
// The zero Addr is skipped with reason invalid_ip. The error is ctx's,
// when ctx ends before the offline lookups are done (a reload first, when
// a file changed); online providers that run out of time report timeout
// in the answer instead.
func (db *DB) Enrich(ctx context.Context, a netip.Addr) (Enrichment, error) {
	input := a.String()
	var from []string
	if a.Zone() != "" {
		from = append(from, normZone)
		a = a.WithZone("")
	}
	if a.Is4In6() {
		from = append(from, normMapped)
		a = a.Unmap()
	}
	return db.enrich(ctx, ctx, a, input, strings.Join(from, ","))
}

// EnrichInput parses s with ParseIP rules and enriches it, keeping s as
// "input". The error is ErrInvalidIP, or ctx's as for Enrich.
func (db *DB) EnrichInput(ctx context.Context, s string) (Enrichment, error) {
	a, from, err := parseInput(s)
	if err != nil {
		return Enrichment{}, err
	}
	return db.enrich(ctx, ctx, a, s, from)
}

// enrich answers for a. ctx bounds the whole answer: when it ends before
// the offline lookups are done the error is ctx's. online bounds the
// online providers only (Correlate's budget): one that runs out of time
// reports timeout in the answer.
func (db *DB) enrich(ctx, online context.Context, a netip.Addr, input, from string) (Enrichment, error) {
	if !a.IsValid() {
		return Enrichment{Skip: &Skip{Input: input, Skipped: true, Reason: "invalid_ip", Category: CategoryReserved}}, nil
	}
	if _, err := db.Refresh(ctx, false); err != nil {
		return Enrichment{}, err
	}
	cls := Describe(a)
	if !cls.GloballyReachable && !db.opts.AllowPrivate {
		return Enrichment{IP: a.String(), Skip: &Skip{IP: a.String(), Input: input, Skipped: true, Reason: "private_ip",
			Category: cls.Category, Block: cls.Block, Name: cls.Name, RFC: cls.RFC}}, nil
	}
	e := Enrichment{IP: a.String(), Input: input, NormalizedFrom: strp(from), Version: 4, Classification: cls}
	if a.Is6() {
		e.Version = 6
	}
	otxRes, gnRes := db.online(online, a, cls.GloballyReachable)
	m := merger{e: &e, fields: map[string][]string{}}
	if err := m.offline(ctx, db.off.Load(), a); err != nil {
		return Enrichment{}, err
	}
	m.onlineFacts(otxRes)
	m.resolve()
	m.threat(otxRes, gnRes, a)
	e.Sources = m.sources(db.now())
	e.Sources = append(e.Sources, onlineSource("otx", otxRes, m.fields["otx"]), onlineSource("greynoise", gnRes, m.fields["greynoise"]))
	for _, s := range e.Sources {
		switch s.Status {
		case StatusTimeout, StatusRateLimited, StatusError:
			e.Partial = true
		}
	}
	return e, nil
}

// online runs both online providers concurrently under EnrichBudget. A
// non-public address never leaves the host.
func (db *DB) online(ctx context.Context, a netip.Addr, public bool) (otxRes, gnRes onlineResult) {
	otxRes = onlineResult{status: StatusDisabled, reason: db.otxReason}
	gnRes = onlineResult{status: StatusDisabled, reason: db.gnReason}
	if !public {
		if db.otx != nil {
			otxRes = onlineResult{status: StatusUnsupported, reason: "not_public"}
		}
		if db.gn != nil {
			gnRes = onlineResult{status: StatusUnsupported, reason: "not_public"}
		}
		return otxRes, gnRes
	}
	if db.gn != nil && !a.Is4() {
		gnRes = onlineResult{status: StatusUnsupported, reason: "ipv4_only"}
	}
	askGN := db.gn != nil && a.Is4()
	if db.otx == nil && !askGN {
		return otxRes, gnRes
	}
	ctx, cancel := context.WithTimeout(ctx, EnrichBudget)
	defer cancel()
	var wg sync.WaitGroup
	run := func(p *onlineProvider, out *onlineResult) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if recover() != nil { // a provider bug must not take the server down
					*out = onlineResult{status: StatusError, errCode: "internal"}
				}
			}()
			*out = p.lookup(ctx, a)
		}()
	}
	if db.otx != nil {
		run(db.otx, &otxRes)
	}
	if askGN {
		run(db.gn, &gnRes)
	}
	wg.Wait()
	return otxRes, gnRes
}

func onlineSource(name string, r onlineResult, fields []string) Source {
	s := Source{Provider: name, Kind: "online", Status: r.status, Fields: fields, Cached: r.cached,
		LatencyMS: r.latency.Milliseconds(), Reason: strp(r.reason), Error: strp(r.errCode)}
	if s.Fields == nil {
		s.Fields = []string{}
	}
	if !r.fetchedAt.IsZero() {
		s.FetchedAt = strp(r.fetchedAt.UTC().Format(time.RFC3339))
	}
	if r.retryAfter > 0 {
		n := int((r.retryAfter + time.Second - 1) / time.Second)
		s.RetryAfterS = &n
	}
	return s
}
