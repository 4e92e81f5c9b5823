package intel

import (
	"container/list"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Official endpoints (docs/INTEL.md §3.1, §3.2).
const (
	OTXBaseURL       = "https://otx.alienvault.com"
	GreyNoiseBaseURL = "https://api.greynoise.io"
	userAgent        = "porthunter-intel"
)

// onlineResult is one provider's answer for one address.
type onlineResult struct {
	status     string
	reason     string // for disabled, unsupported, rate_limited
	errCode    string // for error: a fixed code, never a transport message
	otx        *OTX
	gn         *GreyNoise
	asn        *asnFact // OTX "asn": a fallback for the AS
	geo        *geoFact // OTX geo: a fallback for geo
	cached     bool
	fetchedAt  time.Time
	latency    time.Duration
	retryAfter time.Duration
}

// onlineProvider is OTX or GreyNoise: one HTTP client, a concurrency
// semaphore, an LRU+TTL cache, a cooldown after 429 and a request budget.
type onlineProvider struct {
	name    string
	key     string
	base    string
	client  *http.Client
	timeout time.Duration
	maxBody int64
	sem     chan struct{}
	now     func() time.Time
	parse   func(p *onlineProvider, a netip.Addr, code int, body []byte) (onlineResult, time.Duration)
	path    func(a netip.Addr) string
	header  string

	mu            sync.Mutex
	cache         *lru
	cooldownUntil time.Time
	strikes       int
	maxCooldown   time.Duration
	// token bucket (OTX): tokens refill at rate per second up to burst.
	rate, burst, tokens float64
	last                time.Time
	// daily budget (GreyNoise): requests sent on budgetDay.
	budget, used int
	budgetDay    string
}

func newOTX(o Options, client *http.Client, now func() time.Time) *onlineProvider {
	return &onlineProvider{
		name: "otx", key: o.OTXKey, base: strings.TrimRight(firstNonEmpty(o.OTXURL, OTXBaseURL), "/"),
		client: client, timeout: firstDuration(o.Timeout, OTXTimeout), maxBody: MaxOTXBody,
		sem: make(chan struct{}, 2), now: now, parse: parseOTX, header: "X-OTX-API-KEY",
		path: func(a netip.Addr) string {
			fam := "IPv4"
			if a.Is6() {
				fam = "IPv6"
			}
			return "/api/v1/indicators/" + fam + "/" + url.PathEscape(a.String()) + "/general"
		},
		cache: newLRU(MaxCacheEntries), maxCooldown: OTXMaxCooldown,
		rate: OTXRatePerSecond, burst: OTXBurst, tokens: OTXBurst,
	}
}

func newGreyNoise(o Options, client *http.Client, now func() time.Time) *onlineProvider {
	budget := o.GreyNoiseDailyBudget
	if budget <= 0 {
		budget = GreyNoiseDailyBudget
	}
	return &onlineProvider{
		name: "greynoise", key: o.GreyNoiseKey, base: strings.TrimRight(firstNonEmpty(o.GreyNoiseURL, GreyNoiseBaseURL), "/"),
		client: client, timeout: firstDuration(o.Timeout, GreyNoiseTimeout), maxBody: MaxGreyNoiseBody,
		sem: make(chan struct{}, 1), now: now, parse: parseGreyNoise, header: "key",
		path:  func(a netip.Addr) string { return "/v3/community/" + url.PathEscape(a.String()) },
		cache: newLRU(MaxCacheEntries), maxCooldown: GreyNoiseMaxCooldown, budget: budget,
	}
}

func firstDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// newHTTPClient: docs/INTEL.md §5 transport timeouts, proxy from the
// environment, TLS 1.2+, redirects only to https. A caller's client keeps
// its transport but gets the redirect rule and a timeout.
func newHTTPClient(o Options) *http.Client {
	timeout := firstDuration(o.Timeout, DefaultHTTPTimeout)
	if o.HTTPClient != nil {
		c := *o.HTTPClient
		c.CheckRedirect = httpsOnlyRedirect
		if c.Timeout == 0 {
			c.Timeout = timeout
		}
		return &c
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 8 * time.Second,
		MaxIdleConnsPerHost:   2,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: httpsOnlyRedirect}
}

func httpsOnlyRedirect(req *http.Request, via []*http.Request) error {
	if req.URL.Scheme != "https" {
		return ErrInsecureURL
	}
	if len(via) >= 3 {
		return errors.New("intel: too many redirects")
	}
	return nil
}

func checkHTTPS(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%w: %q", ErrInsecureURL, raw)
	}
	return nil
}

// lookup answers from the cache, or asks the service unless the provider
// is cooling down or out of budget. Errors and timeouts are not cached.
func (p *onlineProvider) lookup(ctx context.Context, a netip.Addr) onlineResult {
	key := a.String()
	now := p.now()
	p.mu.Lock()
	if r, ok := p.cache.get(key, now); ok {
		p.mu.Unlock()
		r.cached = true
		r.latency = 0
		return r
	}
	if now.Before(p.cooldownUntil) {
		wait := p.cooldownUntil.Sub(now)
		p.mu.Unlock()
		return onlineResult{status: StatusRateLimited, reason: "cooldown", retryAfter: wait}
	}
	if p.budget > 0 {
		day := now.UTC().Format("2006-01-02")
		if day != p.budgetDay {
			p.budgetDay, p.used = day, 0
		}
		if p.used >= p.budget {
			p.mu.Unlock()
			return onlineResult{status: StatusRateLimited, reason: "daily_budget"}
		}
	}
	p.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	start := time.Now()
	select {
	case p.sem <- struct{}{}:
		defer func() { <-p.sem }()
	case <-ctx.Done():
		return ctxResult(ctx)
	}
	if err := p.takeToken(ctx); err != nil {
		return ctxResult(ctx)
	}
	r, ttl := p.fetch(ctx, a)
	if r.status == StatusError && strings.HasPrefix(r.errCode, "http_5") && ctx.Err() == nil {
		r, ttl = p.fetch(ctx, a) // one retry for a server error (docs/INTEL.md §5)
	}
	r.latency = time.Since(start)
	r.fetchedAt = p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	switch r.status {
	case StatusRateLimited:
		p.strikes++
		d := r.retryAfter
		if d <= 0 {
			d = MinCooldown << min(p.strikes-1, 10)
		}
		d = min(d, p.maxCooldown)
		r.retryAfter = d
		p.cooldownUntil = p.now().Add(d)
	case StatusOK, StatusNotFound:
		p.strikes = 0
		if ttl > 0 {
			p.cache.put(key, r, p.now().Add(ttl))
		}
	}
	return r
}

func ctxResult(ctx context.Context) onlineResult {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return onlineResult{status: StatusTimeout}
	}
	return onlineResult{status: StatusError, errCode: "canceled"}
}

// takeToken waits for the token bucket (providers without a rate pass).
func (p *onlineProvider) takeToken(ctx context.Context) error {
	if p.rate <= 0 {
		return nil
	}
	for {
		p.mu.Lock()
		now := time.Now()
		if !p.last.IsZero() {
			p.tokens = min(p.burst, p.tokens+now.Sub(p.last).Seconds()*p.rate)
		}
		p.last = now
		if p.tokens >= 1 {
			p.tokens--
			p.mu.Unlock()
			return nil
		}
		wait := time.Duration((1 - p.tokens) / p.rate * float64(time.Second))
		p.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// fetch sends one request and maps the answer to a result and a cache TTL.
func (p *onlineProvider) fetch(ctx context.Context, a netip.Addr) (onlineResult, time.Duration) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+p.path(a), nil)
	if err != nil {
		return onlineResult{status: StatusError, errCode: "bad_request"}, 0
	}
	req.Header.Set(p.header, p.key)
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/json")
	if p.budget > 0 {
		p.mu.Lock()
		p.used++
		p.mu.Unlock()
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return transportResult(ctx, err), 0
	}
	defer resp.Body.Close()
	if resp.ContentLength > p.maxBody {
		// Declared too large: answer now instead of reading maxBody bytes
		// only to throw them away. Chunked bodies are capped below.
		return onlineResult{status: StatusError, errCode: "body_too_large"}, 0
	}
	body, over, err := readAllMax(resp.Body, p.maxBody)
	if err != nil {
		return transportResult(ctx, err), 0
	}
	if ctx.Err() != nil {
		// The answer was completed after the deadline: the transport can
		// still hand over a response that raced with the cancellation
		// (typically the server giving up as the client hangs up). It
		// is a timeout, not whatever that late response says.
		return ctxResult(ctx), 0
	}
	if over {
		return onlineResult{status: StatusError, errCode: "body_too_large"}, 0
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return onlineResult{status: StatusRateLimited, reason: "http_429", retryAfter: retryAfter(resp.Header.Get("Retry-After"), p.now())}, 0
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return onlineResult{status: StatusError, errCode: "unauthorized"}, 0
	case resp.StatusCode >= 500:
		return onlineResult{status: StatusError, errCode: "http_" + strconv.Itoa(resp.StatusCode)}, 0
	}
	return p.parse(p, a, resp.StatusCode, body)
}

// transportResult maps a client error to timeout or a fixed code; the
// error text is dropped (it may carry the URL, and it says nothing a SOC
// analyst can act on).
func transportResult(ctx context.Context, err error) onlineResult {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return onlineResult{status: StatusTimeout}
	}
	if ctx.Err() != nil {
		return ctxResult(ctx)
	}
	if errors.Is(err, ErrInsecureURL) {
		return onlineResult{status: StatusError, errCode: "insecure_redirect"}
	}
	return onlineResult{status: StatusError, errCode: "transport_error"}
}

// retryAfter reads seconds or an HTTP date; 0 when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(min(s, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// otxGeneral holds the fields of /indicators/{type}/{ip}/general we use.
type otxGeneral struct {
	Reputation  json.RawMessage `json:"reputation"`
	ASN         string          `json:"asn"`
	CountryCode string          `json:"country_code"`
	CountryName string          `json:"country_name"`
	City        *string         `json:"city"`
	Latitude    *float64        `json:"latitude"`
	Longitude   *float64        `json:"longitude"`
	Validation  []Validation    `json:"validation"`
	PulseInfo   struct {
		Count   *int           `json:"count"`
		Pulses  []otxPulseJSON `json:"pulses"`
		Related map[string]struct {
			Adversary       json.RawMessage `json:"adversary"`
			MalwareFamilies json.RawMessage `json:"malware_families"`
		} `json:"related"`
	} `json:"pulse_info"`
}

func parseOTX(p *onlineProvider, a netip.Addr, code int, body []byte) (onlineResult, time.Duration) {
	link := "https://otx.alienvault.com/indicator/ip/" + a.String()
	switch code {
	case http.StatusOK:
	case http.StatusNotFound:
		count := 0
		return onlineResult{status: StatusNotFound, otx: &OTX{Status: StatusNotFound, Source: strp("otx"), PulseCount: &count,
			Pulses: []Pulse{}, MalwareFamilies: []string{}, Adversaries: []string{}, Validation: []Validation{}, Link: &link}}, NegativeTTL
	case http.StatusBadRequest:
		return onlineResult{status: StatusError, errCode: "bad_request"}, 0
	default:
		return onlineResult{status: StatusError, errCode: "http_" + strconv.Itoa(code)}, 0
	}
	var g otxGeneral
	if err := json.Unmarshal(body, &g); err != nil || g.PulseInfo.Count == nil {
		return onlineResult{status: StatusError, errCode: "malformed_response"}, 0
	}
	count := max(*g.PulseInfo.Count, 0)
	o := &OTX{Status: StatusOK, Source: strp("otx"), PulseCount: &count, Link: &link,
		Pulses: []Pulse{}, MalwareFamilies: []string{}, Adversaries: []string{}, Validation: []Validation{}}
	var rep int
	if json.Unmarshal(g.Reputation, &rep) == nil {
		o.Reputation = &rep
	}
	pulses := make([]*otxPulse, 0, len(g.PulseInfo.Pulses))
	for _, pj := range g.PulseInfo.Pulses {
		p := otxPulseFrom(pj)
		pulses = append(pulses, &p)
	}
	sortPulses(pulses)
	fillOTX(o, pulses)
	for _, rel := range sortedRelated(g) {
		for _, n := range malwareNames(rel.MalwareFamilies) {
			o.MalwareFamilies = appendUnique(o.MalwareFamilies, n)
		}
		for _, n := range malwareNames(rel.Adversary) {
			o.Adversaries = appendUnique(o.Adversaries, n)
		}
	}
	for i, v := range g.Validation {
		if i == MaxNamesShown {
			break
		}
		o.Validation = append(o.Validation, Validation{Source: cleanText(v.Source), Name: cleanText(v.Name), Message: cleanText(v.Message)})
	}
	r := onlineResult{status: StatusOK, otx: o}
	if n, org, ok := parseOTXASN(g.ASN); ok {
		r.asn = &asnFact{asn: n, org: org}
	}
	geo := geoFact{country: countryCode(g.CountryCode), countryName: cleanText(g.CountryName)}
	geo.lat, geo.lon = validCoords(g.Latitude, g.Longitude)
	if g.City != nil {
		geo.city = cleanText(*g.City)
	}
	if geo.country != "" || geo.city != "" {
		r.geo = &geo
	}
	ttl := PositiveTTL
	if count == 0 {
		ttl = NegativeTTL
	}
	return r, ttl
}

// sortedRelated returns pulse_info.related in key order (alienvault, other)
// so answers are deterministic.
func sortedRelated(g otxGeneral) []struct {
	Adversary       json.RawMessage `json:"adversary"`
	MalwareFamilies json.RawMessage `json:"malware_families"`
} {
	keys := make([]string, 0, len(g.PulseInfo.Related))
	for k := range g.PulseInfo.Related {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]struct {
		Adversary       json.RawMessage `json:"adversary"`
		MalwareFamilies json.RawMessage `json:"malware_families"`
	}, 0, len(keys))
	for _, k := range keys {
		out = append(out, g.PulseInfo.Related[k])
	}
	return out
}

// sortPulses puts the most recently modified pulses first (stable: the
// order the service or the files gave otherwise).
func sortPulses(pulses []*otxPulse) {
	slices.SortStableFunc(pulses, func(x, y *otxPulse) int { return strings.Compare(y.modified, x.modified) })
}

// fillOTX adds the first MaxPulsesShown pulses of the sorted list and the
// names they carry.
func fillOTX(o *OTX, pulses []*otxPulse) {
	for _, p := range pulses {
		if len(o.Pulses) < MaxPulsesShown {
			tags := p.tags
			if tags == nil {
				tags = []string{}
			}
			o.Pulses = append(o.Pulses, Pulse{ID: p.id, Name: p.name, Tags: tags, TLP: strp(p.tlp), Modified: strp(p.modified), Author: strp(p.author)})
		}
		for _, m := range p.malware {
			o.MalwareFamilies = appendUnique(o.MalwareFamilies, m)
		}
		if p.adversary != "" {
			o.Adversaries = appendUnique(o.Adversaries, p.adversary)
		}
	}
}

func appendUnique(s []string, v string) []string {
	if v == "" || len(s) >= MaxNamesShown || slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// parseOTXASN reads "AS15169 GOOGLE".
func parseOTXASN(s string) (uint32, string, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "AS") {
		return 0, "", false
	}
	num, org, _ := strings.Cut(s[2:], " ")
	n, err := strconv.ParseUint(num, 10, 32)
	if err != nil || n == 0 {
		return 0, "", false
	}
	return uint32(n), cleanText(org), true
}

type greyNoiseJSON struct {
	Noise          *bool  `json:"noise"`
	Riot           *bool  `json:"riot"`
	Classification string `json:"classification"`
	Name           string `json:"name"`
	Link           string `json:"link"`
	LastSeen       string `json:"last_seen"`
}

func parseGreyNoise(p *onlineProvider, a netip.Addr, code int, body []byte) (onlineResult, time.Duration) {
	var j greyNoiseJSON
	switch code {
	case http.StatusOK:
		if err := json.Unmarshal(body, &j); err != nil || j.Noise == nil || j.Riot == nil {
			return onlineResult{status: StatusError, errCode: "malformed_response"}, 0
		}
		observed := true
		return onlineResult{status: StatusOK, gn: &GreyNoise{Status: StatusOK, Source: strp("greynoise"), Observed: &observed,
			Noise: j.Noise, Riot: j.Riot, Classification: strp(cleanText(j.Classification)), Name: strp(cleanText(j.Name)),
			LastSeen: strp(cleanText(j.LastSeen)), Link: strp(cleanText(j.Link))}}, PositiveTTL
	case http.StatusNotFound:
		// 404 is GreyNoise's "not observed": a valid negative answer.
		f, observed := false, false
		return onlineResult{status: StatusNotFound, gn: &GreyNoise{Status: StatusNotFound, Source: strp("greynoise"),
			Observed: &observed, Noise: &f, Riot: &f}}, NegativeTTL
	case http.StatusBadRequest:
		return onlineResult{status: StatusUnsupported, reason: "not_routable_ipv4"}, 0
	}
	return onlineResult{status: StatusError, errCode: "http_" + strconv.Itoa(code)}, 0
}

// lru is a fixed-size least-recently-used cache with per-entry expiry.
type lru struct {
	max   int
	order *list.List // front = most recent; values are *lruEntry
	items map[string]*list.Element
}

type lruEntry struct {
	key     string
	val     onlineResult
	expires time.Time
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), items: make(map[string]*list.Element)}
}

func (c *lru) get(key string, now time.Time) (onlineResult, bool) {
	el, ok := c.items[key]
	if !ok {
		return onlineResult{}, false
	}
	e := el.Value.(*lruEntry)
	if !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return onlineResult{}, false
	}
	c.order.MoveToFront(el)
	return e.val, true
}

func (c *lru) put(key string, v onlineResult, expires time.Time) {
	if el, ok := c.items[key]; ok {
		el.Value = &lruEntry{key: key, val: v, expires: expires}
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&lruEntry{key: key, val: v, expires: expires})
	for c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.items, old.Value.(*lruEntry).key)
	}
}
