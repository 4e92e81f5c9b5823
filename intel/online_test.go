package intel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	otxKey = "otx-secret-key-123"
	gnKey  = "gn-secret-key-456"
)

type fakeService struct {
	otx, gn  atomic.Int32 // requests seen
	badKey   atomic.Bool  // a request came without its key
	otxReply func(w http.ResponseWriter, r *http.Request)
	gnReply  func(w http.ResponseWriter, r *http.Request)
}

func (f *fakeService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/v1/indicators/"):
		f.otx.Add(1)
		if r.Header.Get("X-OTX-API-KEY") != otxKey {
			f.badKey.Store(true)
		}
		f.otxReply(w, r)
	case strings.HasPrefix(r.URL.Path, "/v3/community/"):
		f.gn.Add(1)
		if r.Header.Get("key") != gnKey || r.Header.Get("User-Agent") == "" {
			f.badKey.Store(true)
		}
		f.gnReply(w, r)
	default:
		http.NotFound(w, r)
	}
}

func reply(code int, body string, hdr ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.WriteHeader(code)
		fmt.Fprint(w, body)
	}
}

func newOnline(t *testing.T, f *fakeService, o Options) *DB {
	t.Helper()
	// httptest.NewTLSServer, unrolled so ErrorLog is set before the server
	// starts (setting it after would race with the serving goroutine).
	ts := httptest.NewUnstartedServer(f)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes cut by Close are expected
	ts.StartTLS()
	t.Cleanup(ts.Close)
	o.Online, o.OTXKey, o.GreyNoiseKey = true, otxKey, gnKey
	o.HTTPClient, o.OTXURL, o.GreyNoiseURL = ts.Client(), ts.URL, ts.URL
	if o.Now == nil {
		o.Now = func() time.Time { return testNow }
	}
	db, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func otxBody(count int) string {
	var pulses []string
	for i := 0; i < count; i++ {
		pulses = append(pulses, fmt.Sprintf(`{"id":"p%02d","name":"Pulse %d","tags":["t%d"],"TLP":"white","modified":"2026-01-%02dT00:00:00","author":{"username":"u%d"},"adversary":"","malware_families":[{"id":"f","display_name":"Fam %d"}]}`, i, i, i, i+1, i, i%3))
	}
	return `{"reputation":0,"asn":"AS64501 EXAMPLE-NET Example Net BV","country_code":"NL","country_name":"Netherlands","city":null,` +
		`"latitude":52.0,"longitude":5.0,"validation":[{"source":"whitelist","message":"Example note","name":"Whitelisted IP"}],` +
		`"pulse_info":{"count":` + fmt.Sprint(count) + `,"pulses":[` + strings.Join(pulses, ",") + `],` +
		`"related":{"alienvault":{"adversary":["Example Adversary"],"malware_families":["Fam X"]},"other":{"adversary":[],"malware_families":[]}}}}`
}

const gnOK = `{"ip":"31.0.9.9","noise":true,"riot":false,"classification":"malicious","name":"unknown","link":"https://viz.greynoise.io/ip/31.0.9.9","last_seen":"2026-01-01","message":"Success"}`
const gnNotObserved = `{"ip":"31.0.9.9","noise":false,"riot":false,"message":"IP not observed scanning the internet or contained in RIOT data set."}`

func TestOnlineOK(t *testing.T) {
	f := &fakeService{otxReply: reply(200, otxBody(12)), gnReply: reply(200, gnOK)}
	db := newOnline(t, f, Options{})
	ctx := context.Background()
	e := enriched(t)(db.Enrich(ctx, netip.MustParseAddr("31.0.9.9")))
	o := e.Threat.OTX
	if o.Status != "ok" || deref(o.Source) != "otx" || *o.PulseCount != 12 || len(o.Pulses) != MaxPulsesShown || *o.Reputation != 0 {
		t.Fatalf("otx %+v", o)
	}
	// Most recently modified first: p11 (2026-01-12) down to p02.
	if o.Pulses[0].ID != "p11" || o.Pulses[9].ID != "p02" || deref(o.Pulses[0].Author) != "u11" || deref(o.Pulses[0].TLP) != "white" {
		t.Errorf("pulses %+v", o.Pulses)
	}
	if strings.Join(o.MalwareFamilies, ",") != "Fam 2,Fam 1,Fam 0,Fam X" || strings.Join(o.Adversaries, ",") != "Example Adversary" {
		t.Errorf("families %v adversaries %v", o.MalwareFamilies, o.Adversaries)
	}
	if len(o.Validation) != 1 || o.Validation[0].Name != "Whitelisted IP" || deref(o.Link) != "https://otx.alienvault.com/indicator/ip/31.0.9.9" {
		t.Errorf("validation %+v link %s", o.Validation, deref(o.Link))
	}
	// No offline data: OTX's AS and geo are the fallback, and say so.
	if deref(e.ASN) != "AS64501" || deref(e.Org) != "EXAMPLE-NET Example Net BV" || deref(e.Geo.Country) != "NL" || e.Network != nil ||
		!hasField(e, "otx", "asn") || !hasField(e, "otx", "geo.country") || !hasField(e, "otx", "threat.otx") {
		t.Errorf("fallback asn %s org %s geo %+v sources %+v", deref(e.ASN), deref(e.Org), e.Geo, e.Sources)
	}
	g := e.Threat.GreyNoise
	if g.Status != "ok" || !*g.Observed || !*g.Noise || *g.Riot || deref(g.Classification) != "malicious" || deref(g.LastSeen) != "2026-01-01" {
		t.Errorf("greynoise %+v", g)
	}
	if s := source(e, "otx"); s == nil || s.Cached || deref(s.FetchedAt) != "2026-01-02T03:04:05Z" {
		t.Errorf("otx source %+v", s)
	}
	if f.badKey.Load() {
		t.Error("a request lacked its key header")
	}
	out := string(marshal(t, e))
	if strings.Contains(out, otxKey) || strings.Contains(out, gnKey) {
		t.Error("a key appears in the answer")
	}
	// Second lookup: from the cache, no request.
	e = enriched(t)(db.Enrich(ctx, netip.MustParseAddr("31.0.9.9")))
	if f.otx.Load() != 1 || f.gn.Load() != 1 || !source(e, "otx").Cached || !source(e, "greynoise").Cached || *e.Threat.OTX.PulseCount != 12 {
		t.Errorf("second lookup: %d/%d requests, cached %v", f.otx.Load(), f.gn.Load(), source(e, "otx").Cached)
	}
}

func TestOnlineStatuses(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
	}
	// stall sends the headers and part of the body, then nothing.
	stall := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		fmt.Fprint(w, `{"pulse_info":`)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
	}
	// declared announces n bytes; the client must not wait for them.
	declared := func(n int) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(n))
			w.WriteHeader(200)
		}
	}
	huge := reply(200, `{"pulse_info":{"count":1,"pulses":[]},"x":"`+strings.Repeat("a", MaxOTXBody)+`"}`)
	cases := []struct {
		name            string
		otx, gn         func(http.ResponseWriter, *http.Request)
		ip              string
		otxStatus, otxE string
		gnStatus, gnE   string
		otxReqs, gnReqs int32
		retryOTX        int
		partial         bool
		timeout         time.Duration // default 300 ms
	}{
		{name: "404", otx: reply(404, `{}`), gn: reply(404, gnNotObserved), ip: "31.0.9.9",
			otxStatus: "not_found", gnStatus: "not_found", otxReqs: 1, gnReqs: 1},
		{name: "429", otx: reply(429, `slow down`, "Retry-After", "120"), gn: reply(429, ``), ip: "31.0.9.9",
			otxStatus: "rate_limited", gnStatus: "rate_limited", otxReqs: 1, gnReqs: 1, retryOTX: 120, partial: true},
		{name: "500 retried once", otx: reply(500, `oops`), gn: reply(503, ``), ip: "31.0.9.9",
			otxStatus: "error", otxE: "http_500", gnStatus: "error", gnE: "http_503", otxReqs: 2, gnReqs: 2, partial: true},
		{name: "timeout", otx: slow, gn: slow, ip: "31.0.9.9",
			otxStatus: "timeout", gnStatus: "timeout", otxReqs: 1, gnReqs: 1, partial: true},
		// Chunked: the cap stops the read. 4 MiB over TLS under -race on
		// two shared cores takes longer than 300 ms, hence the timeout.
		{name: "oversized", otx: huge, gn: reply(200, `{"noise":true,"riot":false,"x":"`+strings.Repeat("b", MaxGreyNoiseBody)+`"}`), ip: "31.0.9.9",
			otxStatus: "error", otxE: "body_too_large", gnStatus: "error", gnE: "body_too_large", otxReqs: 1, gnReqs: 1, partial: true,
			timeout: 10 * time.Second},
		// A declared Content-Length over the cap is refused before reading.
		{name: "oversized declared", otx: declared(MaxOTXBody + 1), gn: declared(MaxGreyNoiseBody + 1), ip: "31.0.9.9",
			otxStatus: "error", otxE: "body_too_large", gnStatus: "error", gnE: "body_too_large", otxReqs: 1, gnReqs: 1, partial: true},
		// A body that stops after its headers: the client timeout ends it.
		{name: "stalled body", otx: stall, gn: stall, ip: "31.0.9.9",
			otxStatus: "timeout", gnStatus: "timeout", otxReqs: 1, gnReqs: 1, partial: true},
		{name: "malformed", otx: reply(200, `{"pulse_info":`), gn: reply(200, `[1,2]`), ip: "31.0.9.9",
			otxStatus: "error", otxE: "malformed_response", gnStatus: "error", gnE: "malformed_response", otxReqs: 1, gnReqs: 1, partial: true},
		{name: "bad key", otx: reply(403, `{"detail":"Authentication required"}`), gn: reply(401, `{}`), ip: "31.0.9.9",
			otxStatus: "error", otxE: "unauthorized", gnStatus: "error", gnE: "unauthorized", otxReqs: 1, gnReqs: 1, partial: true},
		{name: "greynoise 400", otx: reply(200, otxBody(0)), gn: reply(400, `{"message":"Request is not a valid routable IPv4 address"}`), ip: "31.0.9.9",
			otxStatus: "ok", gnStatus: "unsupported", otxReqs: 1, gnReqs: 1},
		{name: "ipv6", otx: reply(200, otxBody(1)), gn: reply(200, gnOK), ip: "2a0f:1000::1",
			otxStatus: "ok", gnStatus: "unsupported", otxReqs: 1, gnReqs: 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeService{otxReply: c.otx, gnReply: c.gn}
			timeout := 300 * time.Millisecond
			if c.timeout > 0 {
				timeout = c.timeout
			}
			db := newOnline(t, f, Options{Timeout: timeout})
			e := enriched(t)(db.Enrich(context.Background(), netip.MustParseAddr(c.ip)))
			so, sg := source(e, "otx"), source(e, "greynoise")
			if so.Status != c.otxStatus || str(so.Error) != c.otxE || sg.Status != c.gnStatus || str(sg.Error) != c.gnE {
				t.Errorf("otx %s/%s greynoise %s/%s, want %s/%s %s/%s", so.Status, str(so.Error), sg.Status, str(sg.Error), c.otxStatus, c.otxE, c.gnStatus, c.gnE)
			}
			if f.otx.Load() != c.otxReqs || f.gn.Load() != c.gnReqs {
				t.Errorf("requests otx %d greynoise %d, want %d %d", f.otx.Load(), f.gn.Load(), c.otxReqs, c.gnReqs)
			}
			if e.Partial != c.partial {
				t.Errorf("partial = %v", e.Partial)
			}
			if c.retryOTX > 0 && (so.RetryAfterS == nil || *so.RetryAfterS != c.retryOTX || *e.Threat.OTX.RetryAfterS != c.retryOTX) {
				t.Errorf("retry_after_s %v", so.RetryAfterS)
			}
			if c.otxStatus == "not_found" && (*e.Threat.OTX.PulseCount != 0) {
				t.Errorf("otx not_found %+v", e.Threat.OTX)
			}
			if c.gnStatus == "not_found" && (e.Threat.GreyNoise.Observed == nil || *e.Threat.GreyNoise.Observed) {
				t.Errorf("greynoise not_found %+v", e.Threat.GreyNoise)
			}
			if c.gnStatus == "rate_limited" && (sg.RetryAfterS == nil || *sg.RetryAfterS != int(MinCooldown/time.Second)) {
				t.Errorf("greynoise retry_after_s %v", sg.RetryAfterS)
			}
			// Errors and timeouts are not cached; a 429 cools the provider
			// down, so another address sends nothing.
			e = enriched(t)(db.Enrich(context.Background(), netip.MustParseAddr(c.ip)))
			wantOTX, wantGN := 2*c.otxReqs, 2*c.gnReqs
			switch c.otxStatus {
			case "ok", "not_found":
				wantOTX = c.otxReqs
			case "rate_limited":
				wantOTX = c.otxReqs
				if s := source(e, "otx"); s.Status != "rate_limited" || deref(s.Reason) != "cooldown" {
					t.Errorf("during cooldown: %+v", s)
				}
			}
			switch c.gnStatus {
			case "not_found", "rate_limited":
				wantGN = c.gnReqs
			case "unsupported":
				wantGN = 2 * c.gnReqs
			}
			if f.otx.Load() != wantOTX || f.gn.Load() != wantGN {
				t.Errorf("after a second lookup: requests otx %d greynoise %d, want %d %d", f.otx.Load(), f.gn.Load(), wantOTX, wantGN)
			}
			if f.badKey.Load() {
				t.Error("a request lacked its key header")
			}
		})
	}
}

func TestOnlineBudgetAndCooldownExpiry(t *testing.T) {
	now := testNow
	f := &fakeService{otxReply: reply(429, ``), gnReply: reply(200, gnOK)}
	db := newOnline(t, f, Options{GreyNoiseDailyBudget: 1, Now: func() time.Time { return now }})
	ctx := context.Background()
	db.Enrich(ctx, netip.MustParseAddr("31.0.9.9"))
	e := enriched(t)(db.Enrich(ctx, netip.MustParseAddr("31.0.9.10")))
	if s := source(e, "greynoise"); s.Status != "rate_limited" || deref(s.Reason) != "daily_budget" || f.gn.Load() != 1 {
		t.Errorf("over budget: %+v after %d requests", s, f.gn.Load())
	}
	// Next day: the budget is back; after the cooldown OTX is asked again.
	now = now.Add(25 * time.Hour)
	f.otxReply = reply(200, otxBody(0))
	e = enriched(t)(db.Enrich(ctx, netip.MustParseAddr("31.0.9.11")))
	if s := source(e, "greynoise"); s.Status != "ok" || f.gn.Load() != 2 {
		t.Errorf("next day greynoise: %+v", s)
	}
	if s := source(e, "otx"); s.Status != "ok" || f.otx.Load() != 2 {
		t.Errorf("after cooldown otx: %+v (%d requests)", s, f.otx.Load())
	}
	// Cache lifetimes: the negative answer (0 pulses) expires after 12 h.
	now = now.Add(NegativeTTL + time.Minute)
	db.Enrich(ctx, netip.MustParseAddr("31.0.9.11"))
	if f.otx.Load() != 3 {
		t.Errorf("expired negative answer not refetched: %d requests", f.otx.Load())
	}
}

func TestOnlineHTTPSOnly(t *testing.T) {
	for _, u := range []string{"http://otx.example", "ftp://x", "://bad", "https://"} {
		if _, err := Open(context.Background(), Options{Online: true, OTXKey: "k", OTXURL: u}); !errors.Is(err, ErrInsecureURL) {
			t.Errorf("Open(OTXURL %q) = %v, want ErrInsecureURL", u, err)
		}
		if _, err := Open(context.Background(), Options{Online: true, GreyNoiseKey: "k", GreyNoiseURL: u}); !errors.Is(err, ErrInsecureURL) {
			t.Errorf("Open(GreyNoiseURL %q) = %v, want ErrInsecureURL", u, err)
		}
	}
	// A redirect to http is refused, not followed.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the plain-http server was reached")
	}))
	defer plain.Close()
	f := &fakeService{otxReply: func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, plain.URL+"/x", http.StatusFound) },
		gnReply: reply(200, gnOK)}
	db := newOnline(t, f, Options{})
	e := enriched(t)(db.Enrich(context.Background(), netip.MustParseAddr("31.0.9.9")))
	if s := source(e, "otx"); s.Status != "error" || deref(s.Error) != "insecure_redirect" {
		t.Errorf("redirect to http: %+v", s)
	}
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{"": 0, "30": 30 * time.Second, "-1": 0, "x": 0,
		"Thu, 01 Jan 2026 00:02:00 GMT": 2 * time.Minute, "99999999": 86400 * time.Second} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestLRU(t *testing.T) {
	c := newLRU(2)
	exp := testNow.Add(time.Hour)
	c.put("a", onlineResult{status: "ok"}, exp)
	c.put("b", onlineResult{status: "ok"}, exp)
	c.get("a", testNow) // a is now the most recent
	c.put("c", onlineResult{status: "ok"}, exp)
	if _, ok := c.get("b", testNow); ok {
		t.Error("b not evicted")
	}
	if _, ok := c.get("a", testNow); !ok {
		t.Error("a evicted")
	}
	if _, ok := c.get("c", exp); ok {
		t.Error("c served at its expiry")
	}
}

// TestOnlineBadCoordinates: coordinates off the globe from OTX are dropped,
// not passed on as the address's location (found by FuzzOTXResponse).
func TestOnlineBadCoordinates(t *testing.T) {
	body := `{"reputation":0,"country_code":"NL","latitude":1000,"longitude":-500,"pulse_info":{"count":0,"pulses":[]}}`
	f := &fakeService{otxReply: reply(200, body), gnReply: reply(404, gnNotObserved)}
	db := newOnline(t, f, Options{})
	e := enriched(t)(db.Enrich(context.Background(), netip.MustParseAddr("31.0.9.9")))
	if deref(e.Geo.Country) != "NL" || e.Geo.Latitude != nil || e.Geo.Longitude != nil || hasField(e, "otx", "geo.location") {
		t.Errorf("geo %+v", e.Geo)
	}
}

// lateTransport answers only once the request's context is done, as a
// response can when it races with the cancellation.
type lateTransport struct{ calls atomic.Int32 }

func (l *lateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	l.calls.Add(1)
	<-r.Context().Done()
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

// TestOnlineLateAnswerIsTimeout: a response handed over after the deadline
// is a timeout, not malformed_response (seen under -race on a loaded host,
// where the test server's reply to a cancelled request won the race).
func TestOnlineLateAnswerIsTimeout(t *testing.T) {
	lt := &lateTransport{}
	db, err := Open(context.Background(), Options{Online: true, OTXKey: otxKey, GreyNoiseKey: gnKey, Timeout: 50 * time.Millisecond,
		HTTPClient: &http.Client{Transport: lt}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	e := enriched(t)(db.Enrich(context.Background(), netip.MustParseAddr("31.0.9.9")))
	for _, p := range []string{"otx", "greynoise"} {
		if s := source(e, p); s.Status != "timeout" || s.Error != nil {
			t.Errorf("%s: %s/%s, want timeout", p, s.Status, str(s.Error))
		}
	}
	if lt.calls.Load() != 2 || !e.Partial {
		t.Errorf("%d requests, partial %v", lt.calls.Load(), e.Partial)
	}
}
