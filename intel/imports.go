package intel

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// OTX pulse export (INTEL.md §3.1): saved pages of /api/v1/pulses/subscribed
// ({"results":[pulse…]}), a single pulse object, or an array of pulses. Only
// IPv4, IPv6 and CIDR indicators that are active and not expired at load
// time are indexed; the pulse name, tags, TLP, author and malware families
// are kept.

type otxPulse struct {
	id, name, tlp, modified, author, adversary string
	tags, malware                              []string
}

type otxTable struct {
	set     rangeSet
	pulseOf []int32 // indicator id → pulse index
	pulses  []otxPulse
}

// lookup returns the indexes of every pulse naming a network covering a.
func (t *otxTable) lookup(a netip.Addr) []int32 {
	id := t.set.find(a)
	if id < 0 {
		return nil
	}
	var out []int32
	for _, ind := range t.set.chain(id) {
		if p := t.pulseOf[ind]; !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

type otxPulseJSON struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	Tags            []string        `json:"tags"`
	TLP             string          `json:"TLP"`
	Modified        string          `json:"modified"`
	AuthorName      string          `json:"author_name"`
	Author          json.RawMessage `json:"author"`
	Adversary       string          `json:"adversary"`
	MalwareFamilies json.RawMessage `json:"malware_families"`
	Indicators      []struct {
		Indicator  string          `json:"indicator"`
		Type       string          `json:"type"`
		IsActive   json.RawMessage `json:"is_active"`
		Expiration *string         `json:"expiration"`
	} `json:"indicators"`
}

type otxDoc struct {
	Results []otxPulseJSON `json:"results"`
	otxPulseJSON
}

func loadOTXImport(ctx context.Context, r io.Reader, head []byte, now time.Time, st *loadStats) (*otxTable, error) {
	var pulses []otxPulseJSON
	dec := json.NewDecoder(io.LimitReader(r, MaxOTXImportBytes))
	if t := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf"); len(t) > 0 && t[0] == '[' {
		if err := dec.Decode(&pulses); err != nil {
			return nil, err
		}
	} else {
		var doc otxDoc
		if err := dec.Decode(&doc); err != nil {
			return nil, err
		}
		pulses = doc.Results
		if len(doc.otxPulseJSON.Indicators) > 0 {
			pulses = append(pulses, doc.otxPulseJSON)
		}
	}
	t := &otxTable{}
	var spans []span
	for _, pj := range pulses {
		pi := int32(len(t.pulses))
		used := false
		for _, ind := range pj.Indicators {
			if st.entries >= MaxRowsPerFile {
				st.truncated = true
				break
			}
			switch ind.Type {
			case "IPv4", "IPv6", "CIDR":
			default:
				continue // domains, URLs, hashes: not ours
			}
			if !otxActive(ind.IsActive, ind.Expiration, now) {
				st.dropped++
				continue
			}
			p, ok := parseListEntry(ind.Indicator)
			if !ok {
				st.skipped++
				continue
			}
			if isSpecialEntry(p) {
				st.dropped++
				continue
			}
			if err := st.store(0); err != nil {
				return nil, err
			}
			spans = append(spans, span{start: p.Addr(), end: lastAddr(p), id: int32(len(t.pulseOf))})
			t.pulseOf = append(t.pulseOf, pi)
			used = true
		}
		if used {
			p := otxPulseFrom(pj)
			if err := st.charge(int64(otxPulseBytes + p.textBytes())); err != nil {
				return nil, err
			}
			t.pulses = append(t.pulses, p)
		}
	}
	if len(spans) == 0 {
		return nil, ErrNoEntries
	}
	var err error
	if t.set, err = buildRanges(ctx, spans, len(t.pulseOf)); err != nil {
		return nil, err
	}
	return t, nil
}

// otxActive: is_active 1 (or absent) and no expiration in the past.
func otxActive(active json.RawMessage, exp *string, now time.Time) bool {
	if s := strings.TrimSpace(string(active)); s == "0" || s == "false" {
		return false
	}
	if exp == nil || *exp == "" {
		return true
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999"} {
		if t, err := time.Parse(layout, *exp); err == nil {
			return t.After(now)
		}
	}
	return true // an unreadable expiration is not a reason to hide the pulse
}

func otxPulseFrom(pj otxPulseJSON) otxPulse {
	p := otxPulse{id: cleanText(pj.ID), name: cleanText(pj.Name), tlp: cleanText(pj.TLP),
		modified: cleanText(pj.Modified), adversary: cleanText(pj.Adversary), author: cleanText(pj.AuthorName)}
	if p.author == "" && len(pj.Author) > 0 {
		var a struct {
			Username string `json:"username"`
		}
		if json.Unmarshal(pj.Author, &a) == nil {
			p.author = cleanText(a.Username)
		}
	}
	for i, tag := range pj.Tags {
		if i == MaxNamesShown {
			break
		}
		p.tags = append(p.tags, cleanText(tag))
	}
	p.malware = malwareNames(pj.MalwareFamilies)
	return p
}

// malwareNames reads malware_families as strings or {display_name} objects.
func malwareNames(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var names []string
	if json.Unmarshal(raw, &names) != nil {
		var objs []struct {
			DisplayName string `json:"display_name"`
			ID          string `json:"id"`
		}
		if json.Unmarshal(raw, &objs) != nil {
			return nil
		}
		for _, o := range objs {
			names = append(names, firstNonEmpty(o.DisplayName, o.ID))
		}
	}
	out := names[:0]
	for _, n := range names {
		if n = cleanText(n); n != "" && len(out) < MaxNamesShown {
			out = append(out, n)
		}
	}
	return out
}

// GreyNoise saved community answers (INTEL.md §3.2 b): NDJSON, one
// {ip,noise,riot,classification,name,link,last_seen} per line.

type gnRecord struct {
	noise, riot                          *bool
	classification, name, link, lastSeen string
}

type gnTable struct {
	byIP map[netip.Addr]gnRecord
}

func loadGreyNoiseImport(lr *lineReader, st *loadStats) (*gnTable, error) {
	t := &gnTable{byIP: make(map[netip.Addr]gnRecord)}
	for {
		line, ok := lr.nextRow(st)
		if !ok {
			break
		}
		var j struct {
			IP             string `json:"ip"`
			Noise          *bool  `json:"noise"`
			Riot           *bool  `json:"riot"`
			Classification string `json:"classification"`
			Name           string `json:"name"`
			Link           string `json:"link"`
			LastSeen       string `json:"last_seen"`
		}
		a, err := netip.Addr{}, json.Unmarshal(line, &j)
		if err == nil {
			a, err = ParseIP(j.IP)
		}
		if err != nil || !a.Is4() {
			st.skipped++
			if st.skipped > MaxBrokenLines {
				return nil, ErrTooManyBroken
			}
			continue
		}
		r := gnRecord{noise: j.Noise, riot: j.Riot, classification: cleanText(j.Classification),
			name: cleanText(j.Name), link: cleanText(j.Link), lastSeen: cleanText(j.LastSeen)}
		if old, seen := t.byIP[a]; seen { // the last line for an address wins
			st.dropped++
			if err := st.charge(int64(r.textBytes() - old.textBytes())); err != nil {
				return nil, err
			}
			t.byIP[a] = r
			continue
		}
		if err := st.store((addrBytes+gnRecordBytes)*(1+mapSlack) + r.textBytes()); err != nil {
			return nil, err
		}
		t.byIP[a] = r
	}
	st.skipped += lr.long
	if lr.err != nil {
		return nil, lr.err
	}
	if len(t.byIP) == 0 {
		return nil, ErrNoEntries
	}
	return t, nil
}
