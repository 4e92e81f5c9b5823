package intel

import (
	"cmp"
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Correlation is the correlate answer (docs/CONTRACT.md §3.5) without the envelope
// keys (ok, generated_at) that package main adds.
type Correlation struct {
	Results []CorrelateResult `json:"results"`
	Groups  []Group           `json:"groups"`
	Summary Summary           `json:"summary"`
	Partial bool              `json:"partial"`
}

// CorrelateResult is one input's answer, in one of three shapes:
//
//	invalid: {"ip": <input>, "ok": false, "error": "invalid_ip"}
//	skipped: {"ip": …, "skipped": true, "reason": "private_ip", "category": …}
//	ok:      {"ip": …, "ok": true, "kind": "public", "enrichment": {…}, "score": {…}}
//
// Input is set when the canonical address differs from what was sent;
// Activity when the caller's activity function returned one.
type CorrelateResult struct {
	IP         string      `json:"ip"`
	Input      string      `json:"input,omitempty"`
	OK         *bool       `json:"ok,omitempty"`
	Error      string      `json:"error,omitempty"`
	Skipped    bool        `json:"skipped,omitempty"`
	Reason     string      `json:"reason,omitempty"`
	Category   string      `json:"category,omitempty"`
	Kind       string      `json:"kind,omitempty"`
	Enrichment *Enrichment `json:"enrichment,omitempty"`
	Score      *Score      `json:"score,omitempty"`
	Activity   Activity    `json:"activity,omitempty"`
}

// Score is a 0–100 suspicion score and the reasons that make it up.
type Score struct {
	Value   int      `json:"value"`
	Reasons []Reason `json:"reasons"`
}

// Reason is one scored fact.
type Reason struct {
	Code   string `json:"code"`
	Points int    `json:"points"`
	Detail string `json:"detail"`
}

// Group is a set of (distinct, enriched) input addresses sharing something.
type Group struct {
	Kind string   `json:"kind"` // "asn", "prefix", "country", "blocklist", "pulse"
	Key  string   `json:"key"`  // "AS64500", "31.0.4.0/24", "FR", "spamhaus_drop", pulse id
	Name *string  `json:"name"` // AS org or pulse name, when known
	IPs  []string `json:"ips"`  // in input order
}

// Summary counts results (per input) and facts (per distinct address).
type Summary struct {
	Total     int            `json:"total"`
	Unique    int            `json:"unique"`
	OK        int            `json:"ok"`
	Skipped   int            `json:"skipped"`
	Invalid   int            `json:"invalid"`
	Listed    int            `json:"listed"`
	ByASN     map[string]int `json:"by_asn"`
	ByCountry map[string]int `json:"by_country"`
}

// Activity is an address's activity in a capture, as the caller knows it:
// Correlate attaches it to the address's results (encoded as the value's
// own JSON) and scores a suspect ScoreScanned. intel imports no other
// package of the product, so the caller's type (scan.Activity) meets this
// interface, and the compiler checks it where the caller passes its
// activity function.
type Activity interface {
	// IsSuspect reports whether the address scanned the capture.
	IsSuspect() bool
}

// Score weights: a listing is strong evidence, threat-feed hits next,
// sharing a network with other inputs weak evidence of coordination;
// benign classifications and OTX validations (whitelists) subtract.
const (
	ScoreListed          = 40 // first blocklist
	ScoreListedMore      = 10 // each further blocklist, up to ScoreListedMoreCap
	ScoreListedMoreCap   = 20
	ScorePulse           = 10 // each OTX pulse, up to ScorePulseCap
	ScorePulseCap        = 30
	ScoreGNMalicious     = 30
	ScoreGNBenign        = -20
	ScoreGNRiot          = -20
	ScoreOTXValidated    = -20
	ScoreSharedPrefix    = 10 // another input in the same /24 or /48
	ScoreASNWithListed   = 10 // another input of the same AS is listed
	ScoreScanned         = 20 // the activity says it scanned the capture
	scoreMax, scoreMin   = 100, 0
	prefixBits4, prefix6 = 24, 48
)

// Correlate enriches up to MaxCorrelateIPs addresses (more is
// ErrTooManyIPs) and relates them. Results follow the input order, one per
// input; duplicates (also after normalisation) are enriched once and
// answered each time. activity, if not nil, is called once per distinct
// valid address and its value attached as "activity"; it returns a nil
// interface (not a nil pointer in one) for an address without activity,
// which then has no "activity" member. When ctx ends before
// every address was looked up offline, the error is ctx's.
func (db *DB) Correlate(ctx context.Context, ips []string, activity func(netip.Addr) Activity) (Correlation, error) {
	if len(ips) > MaxCorrelateIPs {
		return Correlation{}, ErrTooManyIPs
	}
	c := Correlation{Results: make([]CorrelateResult, len(ips)), Groups: []Group{},
		Summary: Summary{Total: len(ips), ByASN: map[string]int{}, ByCountry: map[string]int{}}}
	type input struct {
		addr netip.Addr
		from string
		ok   bool
	}
	parsed := make([]input, len(ips))
	index := map[netip.Addr]int{} // address → position in uniq
	var uniq []netip.Addr
	for i, s := range ips {
		a, from, err := parseInput(s)
		if err != nil {
			continue
		}
		parsed[i] = input{addr: a, from: from, ok: true}
		if _, seen := index[a]; !seen {
			index[a] = len(uniq)
			uniq = append(uniq, a)
		}
	}
	enr, err := db.enrichAll(ctx, uniq)
	if err != nil {
		return Correlation{}, err
	}
	acts := make([]Activity, len(uniq))
	if activity != nil {
		for i, a := range uniq {
			acts[i] = activity(a)
		}
	}
	scores := scoreAll(uniq, enr, acts)
	for i, s := range ips {
		p := parsed[i]
		if !p.ok {
			f := false
			c.Results[i] = CorrelateResult{IP: echo(s), OK: &f, Error: "invalid_ip"}
			c.Summary.Invalid++
			continue
		}
		u := index[p.addr]
		e := enr[u]
		r := CorrelateResult{IP: p.addr.String(), Activity: acts[u]}
		if s != r.IP {
			r.Input = echo(s)
		}
		if e.Skip != nil {
			r.Skipped, r.Reason, r.Category = true, e.Skip.Reason, e.Skip.Category
			c.Summary.Skipped++
		} else {
			t := true
			e.Input = s
			e.NormalizedFrom = strp(p.from)
			r.OK, r.Kind, r.Enrichment, r.Score = &t, e.Classification.Category, &e, scores[u]
			c.Summary.OK++
			c.Partial = c.Partial || e.Partial
		}
		c.Results[i] = r
	}
	c.Summary.Unique = len(uniq)
	for _, e := range enr {
		if e.Skip != nil {
			continue
		}
		if e.Threat.Listed {
			c.Summary.Listed++
		}
		if e.ASN != nil {
			c.Summary.ByASN[*e.ASN]++
		}
		if e.Geo.Country != nil {
			c.Summary.ByCountry[*e.Geo.Country]++
		}
	}
	c.Groups = groupAll(uniq, enr)
	return c, nil
}

// echo bounds an invalid input before it is repeated in an answer.
func echo(s string) string {
	if len(s) <= MaxEchoLen {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	cut := MaxEchoLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.ToValidUTF8(s[:cut], "\uFFFD") + "…"
}

// enrichAll enriches distinct addresses: inline when everything is
// offline (microseconds each), else CorrelateWorkers at a time with the
// online providers under CorrelateBudget; lookups still running at the
// deadline report timeout. The error is ctx's (the first address that
// found it ended stops the rest).
func (db *DB) enrichAll(ctx context.Context, uniq []netip.Addr) ([]Enrichment, error) {
	out := make([]Enrichment, len(uniq))
	if db.otx == nil && db.gn == nil {
		for i, a := range uniq {
			var err error
			if out[i], err = db.enrich(ctx, ctx, a, a.String(), ""); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	online, cancel := context.WithTimeout(ctx, CorrelateBudget)
	defer cancel()
	jobs := make(chan int)
	var wg sync.WaitGroup
	var errOnce sync.Once
	var firstErr error
	for range min(CorrelateWorkers, len(uniq)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				var err error
				if out[i], err = db.enrich(ctx, online, uniq[i], uniq[i].String(), ""); err != nil {
					errOnce.Do(func() { firstErr = err })
				}
			}
		}()
	}
	for i := range uniq {
		if ctx.Err() != nil {
			break // the workers would only return ctx's error
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return out, firstErr
}

func netKey(a netip.Addr) netip.Prefix {
	if a.Is4() {
		p, _ := a.Prefix(prefixBits4)
		return p
	}
	p, _ := a.Prefix(prefix6)
	return p
}

// scoreAll scores every enriched (not skipped) distinct address.
func scoreAll(uniq []netip.Addr, enr []Enrichment, acts []Activity) []*Score {
	prefixCount := map[netip.Prefix]int{}
	listedASN := map[string]int{}
	for i, a := range uniq {
		if enr[i].Skip != nil {
			continue
		}
		prefixCount[netKey(a)]++
		if enr[i].ASN != nil && enr[i].Threat.Listed {
			listedASN[*enr[i].ASN]++
		}
	}
	out := make([]*Score, len(uniq))
	for i, a := range uniq {
		e := &enr[i]
		if e.Skip != nil {
			continue
		}
		s := &Score{Reasons: []Reason{}}
		add := func(code string, pts int, detail string) {
			s.Reasons = append(s.Reasons, Reason{Code: code, Points: pts, Detail: detail})
			s.Value += pts
		}
		if n := len(e.Threat.Blocklists); n > 0 {
			lists := make([]string, 0, n)
			for _, l := range e.Threat.Blocklists {
				lists = append(lists, l.List)
			}
			add("blocklisted", ScoreListed, "listed in "+lists[0])
			if n > 1 {
				add("blocklisted_more", min((n-1)*ScoreListedMore, ScoreListedMoreCap), "also in "+strings.Join(lists[1:], ", "))
			}
		}
		if o := e.Threat.OTX; o.PulseCount != nil && *o.PulseCount > 0 {
			add("otx_pulses", min(*o.PulseCount*ScorePulse, ScorePulseCap), strconv.Itoa(*o.PulseCount)+" OTX pulse(s)")
		}
		if len(e.Threat.OTX.Validation) > 0 {
			add("otx_validated", ScoreOTXValidated, e.Threat.OTX.Validation[0].Name)
		}
		if g := e.Threat.GreyNoise; g.Classification != nil {
			switch *g.Classification {
			case "malicious":
				add("greynoise_malicious", ScoreGNMalicious, "GreyNoise classification malicious")
			case "benign":
				add("greynoise_benign", ScoreGNBenign, "GreyNoise classification benign")
			}
		}
		if g := e.Threat.GreyNoise; g.Riot != nil && *g.Riot {
			add("greynoise_riot", ScoreGNRiot, "known business service (GreyNoise RIOT)")
		}
		if n := prefixCount[netKey(a)]; n > 1 {
			add("shared_prefix", ScoreSharedPrefix, strconv.Itoa(n-1)+" other input(s) in "+netKey(a).String())
		}
		if e.ASN != nil {
			others := listedASN[*e.ASN]
			if e.Threat.Listed {
				others--
			}
			if others > 0 {
				add("asn_with_listed", ScoreASNWithListed, strconv.Itoa(others)+" listed input(s) in "+*e.ASN)
			}
		}
		if acts[i] != nil && acts[i].IsSuspect() {
			add("scanned_capture", ScoreScanned, "scan activity in the capture")
		}
		s.Value = max(scoreMin, min(scoreMax, s.Value))
		out[i] = s
	}
	return out
}

// groupAll builds the groups with at least two distinct members.
func groupAll(uniq []netip.Addr, enr []Enrichment) []Group {
	type gkey struct{ kind, key string }
	members := map[gkey][]string{}
	names := map[gkey]string{}
	var order []gkey
	add := func(k gkey, ip, name string) {
		if _, ok := members[k]; !ok {
			order = append(order, k)
		}
		if !slices.Contains(members[k], ip) {
			members[k] = append(members[k], ip)
		}
		if name != "" && names[k] == "" {
			names[k] = name
		}
	}
	for i, a := range uniq {
		e := &enr[i]
		if e.Skip != nil {
			continue
		}
		ip := a.String()
		if e.ASN != nil {
			org := ""
			if e.Org != nil {
				org = *e.Org
			}
			add(gkey{"asn", *e.ASN}, ip, org)
		}
		add(gkey{"prefix", netKey(a).String()}, ip, "")
		if e.Geo.Country != nil {
			add(gkey{"country", *e.Geo.Country}, ip, "")
		}
		for _, l := range e.Threat.Blocklists {
			add(gkey{"blocklist", l.List}, ip, "")
		}
		for _, p := range e.Threat.OTX.Pulses {
			add(gkey{"pulse", p.ID}, ip, p.Name)
		}
	}
	kindRank := map[string]int{"asn": 0, "prefix": 1, "country": 2, "blocklist": 3, "pulse": 4}
	out := []Group{}
	for _, k := range order {
		if len(members[k]) < 2 {
			continue
		}
		out = append(out, Group{Kind: k.kind, Key: k.key, Name: strp(names[k]), IPs: members[k]})
	}
	slices.SortStableFunc(out, func(x, y Group) int {
		return cmp.Or(cmp.Compare(kindRank[x.Kind], kindRank[y.Kind]), cmp.Compare(len(y.IPs), len(x.IPs)), strings.Compare(x.Key, y.Key))
	})
	return out
}
