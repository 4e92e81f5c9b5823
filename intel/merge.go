package intel

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Field precedence (docs/INTEL.md §5): for each field the first candidate in
// this order wins; a provider's answer never mixes with another's for the
// same field group (the org always comes with its AS number).
//
//	asn, org, network: mmdb > ip2asn > dbip_csv (asn) > otx
//	geo.country:       mmdb > dbip_csv > rir_delegated > ip2asn (AS country) > otx
//	other geo fields:  mmdb > dbip_csv > otx
func precedence(provider string) int {
	switch {
	case strings.HasPrefix(provider, "mmdb:"):
		return 0
	case provider == "dbip_csv":
		return 2
	case provider == "ip2asn":
		return 1
	case provider == "rir_delegated":
		return 3
	}
	return 9 // otx
}

func countryRank(provider string) int {
	switch {
	case strings.HasPrefix(provider, "mmdb:"):
		return 0
	case provider == "dbip_csv":
		return 1
	case provider == "rir_delegated":
		return 2
	case provider == "ip2asn":
		return 3
	}
	return 9
}

type asnCand struct {
	prov       string
	fact       asnFact
	start, end netip.Addr // invalid when the provider has no range (otx)
}

type geoCand struct {
	prov string
	fact geoFact
	kind string // "geolocation" or "registration"
}

type groupResult struct {
	g      providerGroup
	hit    *dataset
	failed string // lookup error code when every dataset failed
}

// merger builds one enrichment from the providers' answers.
type merger struct {
	e        *Enrichment
	fields   map[string][]string // provider → fields it supplied
	groups   []groupResult
	asn      []asnCand
	geo      []geoCand
	registry *rirFact
	regProv  string
	listings []Listing
	pulses   []*otxPulse // into the tables, read only
	otxSeen  bool        // an otx_import dataset is loaded
	gnSeen   bool        // a greynoise_import dataset is loaded
	gn       *gnRecord
}

func (m *merger) addField(prov, field string) {
	if !slices.Contains(m.fields[prov], field) {
		m.fields[prov] = append(m.fields[prov], field)
	}
}

// offline asks every loaded dataset about a; the error is ctx's, looked
// at before each dataset (a lookup is a binary search, or an MMDB record
// of at most MaxMMDBValues values, or the pulses naming a).
func (m *merger) offline(ctx context.Context, off *offline, a netip.Addr) error {
	for _, g := range off.groups {
		gr := groupResult{g: g}
		errs := 0
		for _, ds := range g.datasets {
			if err := ctx.Err(); err != nil {
				return err
			}
			hit, err := m.lookupDataset(ds, a)
			if err != nil {
				errs++
				continue
			}
			if hit && gr.hit == nil {
				gr.hit = ds
			}
		}
		if gr.hit == nil && errs > 0 && errs == len(g.datasets) {
			gr.failed = "lookup_failed"
		}
		m.groups = append(m.groups, gr)
	}
	return nil
}

// lookupDataset records what one dataset knows about a.
func (m *merger) lookupDataset(ds *dataset, a netip.Addr) (bool, error) {
	switch {
	case ds.asn != nil:
		f, s, e, ok := ds.asn.lookup(a)
		if ok {
			m.asn = append(m.asn, asnCand{prov: ds.provider, fact: f, start: s, end: e})
			if f.country != "" {
				m.geo = append(m.geo, geoCand{prov: ds.provider, fact: geoFact{country: f.country}, kind: "registration"})
			}
		}
		return ok, nil
	case ds.geo != nil:
		f, ok := ds.geo.lookup(a)
		if ok {
			m.geo = append(m.geo, geoCand{prov: ds.provider, fact: f, kind: "geolocation"})
		}
		return ok, nil
	case ds.rir != nil:
		f, ok := ds.rir.lookup(a)
		if ok {
			m.geo = append(m.geo, geoCand{prov: ds.provider, fact: geoFact{country: f.country}, kind: "registration"})
			if m.registry == nil {
				m.registry, m.regProv = &f, ds.provider
			}
		}
		return ok, nil
	case ds.mmdb != nil:
		rec, prefix, ok, err := ds.mmdb.lookup(a)
		if err != nil || !ok {
			return false, err
		}
		asn, hasASN, geo, hasGeo := mmdbFacts(rec)
		if hasASN {
			m.asn = append(m.asn, asnCand{prov: ds.provider, fact: asn, start: prefix.Addr(), end: lastAddr(prefix)})
		}
		if hasGeo {
			m.geo = append(m.geo, geoCand{prov: ds.provider, fact: geo, kind: "geolocation"})
		}
		return hasASN || hasGeo, nil
	case ds.list != nil:
		le, ok := ds.list.lookup(a)
		if ok {
			l := Listing{List: strings.TrimPrefix(ds.provider, "list:"), Entry: le.prefix.String(), Ref: strp(le.ref)}
			if !ds.asOf.IsZero() {
				l.AsOf = strp(ds.asOf.Format(time.RFC3339))
			}
			m.listings = append(m.listings, l)
			m.addField(ds.provider, "threat.blocklists")
		}
		return ok, nil
	case ds.otx != nil:
		m.otxSeen = true
		ids := ds.otx.lookup(a)
		for _, id := range ids {
			m.pulses = append(m.pulses, &ds.otx.pulses[id])
		}
		return len(ids) > 0, nil
	case ds.gn != nil:
		m.gnSeen = true
		r, ok := ds.gn.byIP[a]
		if ok && m.gn == nil {
			m.gn = &r
		}
		return ok, nil
	}
	return false, nil
}

// onlineFacts adds OTX's AS and geo as the last fallback.
func (m *merger) onlineFacts(r onlineResult) {
	if r.asn != nil {
		m.asn = append(m.asn, asnCand{prov: "otx", fact: *r.asn})
	}
	if r.geo != nil {
		m.geo = append(m.geo, geoCand{prov: "otx", fact: *r.geo, kind: "geolocation"})
	}
}

// resolve picks the winner of every field.
func (m *merger) resolve() {
	e := m.e
	slices.SortStableFunc(m.asn, func(x, y asnCand) int { return cmp.Compare(precedence(x.prov), precedence(y.prov)) })
	if len(m.asn) > 0 {
		w := m.asn[0]
		as := fmt.Sprintf("AS%d", w.fact.asn)
		n := w.fact.asn
		e.ASN, e.ASNumber = &as, &n
		m.addField(w.prov, "asn")
		if w.fact.org != "" {
			e.Org = strp(w.fact.org)
			m.addField(w.prov, "org")
		}
		if w.start.IsValid() {
			e.Network = &Network{Start: w.start.String(), End: w.end.String(), CIDRs: rangeCIDRs(w.start, w.end)}
			m.addField(w.prov, "network")
		}
	}
	slices.SortStableFunc(m.geo, func(x, y geoCand) int { return cmp.Compare(countryRank(x.prov), countryRank(y.prov)) })
	for _, c := range m.geo {
		if c.fact.country != "" {
			e.Geo.Country, e.Geo.Kind = strp(c.fact.country), strp(c.kind)
			m.addField(c.prov, "geo.country")
			break
		}
	}
	// The other geo fields come from geolocation sources only.
	pick := func(field string, get func(geoFact) bool) {
		for _, c := range m.geo {
			if c.kind == "geolocation" && get(c.fact) {
				m.addField(c.prov, field)
				return
			}
		}
	}
	pick("geo.country_name", func(f geoFact) bool { e.Geo.CountryName = strp(f.countryName); return f.countryName != "" })
	pick("geo.continent", func(f geoFact) bool { e.Geo.Continent = strp(f.continent); return f.continent != "" })
	pick("geo.region", func(f geoFact) bool { e.Geo.Region = strp(f.region); return f.region != "" })
	pick("geo.city", func(f geoFact) bool { e.Geo.City = strp(f.city); return f.city != "" })
	pick("geo.location", func(f geoFact) bool {
		if f.lat == nil || f.lon == nil {
			return false
		}
		lat, lon := *f.lat, *f.lon
		e.Geo.Latitude, e.Geo.Longitude = &lat, &lon
		return true
	})
	if e.Geo.Kind == nil && (e.Geo.City != nil || e.Geo.Latitude != nil) {
		e.Geo.Kind = strp("geolocation")
	}
	if m.registry != nil && m.registry.registry != "" {
		e.Geo.Registry = strp(m.registry.registry)
		m.addField(m.regProv, "geo.registry")
	}
}

// threat fills blocklists, OTX and GreyNoise. An online answer with pulses
// beats an import; an import hit beats an online "nothing".
func (m *merger) threat(otxRes, gnRes onlineResult, a netip.Addr) {
	t := &m.e.Threat
	t.Blocklists = m.listings
	if t.Blocklists == nil {
		t.Blocklists = []Listing{}
	}
	t.Listed = len(t.Blocklists) > 0

	onlineHit := otxRes.otx != nil && otxRes.otx.PulseCount != nil && *otxRes.otx.PulseCount > 0
	switch {
	case onlineHit:
		t.OTX = *otxRes.otx
		m.addField("otx", "threat.otx")
	case len(m.pulses) > 0:
		t.OTX = importedOTX(m.pulses, a)
		m.addField("otx_import", "threat.otx")
	case otxRes.otx != nil:
		t.OTX = *otxRes.otx
		m.addField("otx", "threat.otx")
	case m.otxSeen:
		count := 0
		t.OTX = emptyOTX(StatusNotFound, "")
		t.OTX.Source, t.OTX.PulseCount = strp("otx_import"), &count
	default:
		t.OTX = emptyOTX(otxRes.status, otxRes.reason)
	}
	if otxRes.status == StatusRateLimited && otxRes.retryAfter > 0 && !onlineHit && len(m.pulses) == 0 {
		n := int((otxRes.retryAfter + time.Second - 1) / time.Second)
		t.OTX.RetryAfterS = &n
	}

	switch {
	case gnRes.gn != nil && gnRes.status == StatusOK:
		t.GreyNoise = *gnRes.gn
		m.addField("greynoise", "threat.greynoise")
	case m.gn != nil:
		observed := true
		t.GreyNoise = GreyNoise{Status: StatusOK, Source: strp("greynoise_import"), Observed: &observed,
			Noise: m.gn.noise, Riot: m.gn.riot, Classification: strp(m.gn.classification), Name: strp(m.gn.name),
			LastSeen: strp(m.gn.lastSeen), Link: strp(m.gn.link)}
		m.addField("greynoise_import", "threat.greynoise")
	case gnRes.gn != nil:
		t.GreyNoise = *gnRes.gn
		m.addField("greynoise", "threat.greynoise")
	case m.gnSeen:
		t.GreyNoise = GreyNoise{Status: StatusNotFound, Source: strp("greynoise_import")}
	default:
		t.GreyNoise = GreyNoise{Status: gnRes.status, Reason: strp(gnRes.reason)}
		if gnRes.retryAfter > 0 {
			n := int((gnRes.retryAfter + time.Second - 1) / time.Second)
			t.GreyNoise.RetryAfterS = &n
		}
	}
}

func emptyOTX(status, reason string) OTX {
	return OTX{Status: status, Reason: strp(reason), Pulses: []Pulse{}, MalwareFamilies: []string{},
		Adversaries: []string{}, Validation: []Validation{}}
}

// importedOTX answers from the imported pulses naming a. A pulse saved in
// two files (overlapping export pages) counts once: its most recently
// modified copy is kept.
func importedOTX(pulses []*otxPulse, a netip.Addr) OTX {
	o := emptyOTX(StatusOK, "")
	o.Source = strp("otx_import")
	sortPulses(pulses)
	seen := make(map[string]bool, len(pulses))
	uniq := pulses[:0]
	for _, p := range pulses {
		if p.id == "" || !seen[p.id] {
			seen[p.id] = true
			uniq = append(uniq, p)
		}
	}
	n := len(uniq)
	o.PulseCount = &n
	o.Link = strp("https://otx.alienvault.com/indicator/ip/" + a.String())
	fillOTX(&o, uniq)
	return o
}

// sources lists the offline providers in fixed order.
func (m *merger) sources(now time.Time) []Source {
	out := make([]Source, 0, len(m.groups)+2)
	for _, gr := range m.groups {
		s := Source{Provider: gr.g.name, Kind: "offline", Status: StatusNotFound, Fields: m.fields[gr.g.name]}
		if s.Fields == nil {
			s.Fields = []string{}
		}
		ds := gr.hit
		switch {
		case ds != nil:
			s.Status = StatusOK
		case gr.failed != "":
			s.Status, s.Error = StatusError, strp(gr.failed)
		}
		if ds == nil && len(gr.g.datasets) == 1 {
			ds = gr.g.datasets[0]
		}
		first := gr.g.datasets[0]
		s.License, s.Attribution = strp(first.license), strp(first.attribution)
		if ds != nil {
			s.Dataset = strp(ds.file)
			if !ds.asOf.IsZero() {
				s.AsOf = strp(ds.asOf.Format(time.RFC3339))
				stale := now.Sub(ds.asOf) > ds.staleAfter
				s.Stale = &stale
			}
		} else {
			names := make([]string, len(gr.g.datasets))
			for i, d := range gr.g.datasets {
				names[i] = d.file
			}
			s.Dataset = strp(strings.Join(names, ", "))
		}
		out = append(out, s)
	}
	return out
}

// rangeCIDRs splits an inclusive range into prefixes (at most 64 are
// listed; a real AS range needs far fewer).
func rangeCIDRs(start, end netip.Addr) []string {
	var out []string
	for len(out) < 64 && start.IsValid() && start.Compare(end) <= 0 {
		bits := 0
		for ; bits < start.BitLen(); bits++ {
			p := netip.PrefixFrom(start, bits)
			if p.Masked().Addr() == start && lastAddr(p).Compare(end) <= 0 {
				break
			}
		}
		p := netip.PrefixFrom(start, bits)
		out = append(out, p.String())
		start = lastAddr(p).Next()
	}
	return out
}
