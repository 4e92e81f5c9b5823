package intel

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"slices"
	"time"
)

// OTX pulse export (docs/INTEL.md §3.1): saved pages of /api/v1/pulses/subscribed
// ({"results":[pulse…]}), a single pulse object, or an array of pulses. Only
// IPv4, IPv6 and CIDR indicators that are active and not expired at load
// time are indexed; the pulse name, tags, TLP, author and malware families
// are kept.
//
// The export is read token by token (jsonScanner), never decoded whole, so
// memory holds what is kept plus one scalar (MaxJSONToken) and the nesting
// (MaxJSONDepth), whatever the file inflates to. Indicators are
// deduplicated as they are indexed: a pulse id seen again is the same pulse
// (export pages overlap), its networks join the first copy's, and a network
// a pulse names twice is stored once (the rest are counted as dropped). So
// one address named by thousands of copies of a pulse costs one entry, and
// a lookup costs the distinct pulses it answers.

type otxPulse struct {
	id, name, tlp, modified, author, adversary string
	tags, malware                              []string
}

// otxTable indexes the distinct networks of the export; entry i (the id
// in set) is named by pulses pulseIdx[first[i]:first[i+1]], sorted and
// distinct.
type otxTable struct {
	set      rangeSet
	first    []int32
	pulseIdx []int32
	pulses   []otxPulse
}

// lookup returns the indexes of every pulse naming a network covering a,
// sorted and distinct. The slice may be shared with the table: read only.
func (t *otxTable) lookup(a netip.Addr) []int32 {
	id := t.set.find(a)
	if id < 0 {
		return nil
	}
	chain := t.set.chain(id) // distinct networks nest at most 129 deep
	if len(chain) == 1 {
		lo, hi := t.first[id], t.first[id+1]
		return t.pulseIdx[lo:hi:hi]
	}
	var out []int32
	for _, n := range chain {
		out = append(out, t.pulseIdx[t.first[n]:t.first[n+1]]...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// otxPair is one (network, pulse) indicator as read.
type otxPair struct {
	net   netip.Prefix
	pulse int32
}

// otxLoader walks one export.
type otxLoader struct {
	sc     *jsonScanner
	now    time.Time
	st     *loadStats
	byKey  map[string]int32 // pulse id (or name, for a pulse without one) → index in pulses
	pairs  []otxPair
	pulses []otxPulse
	full   bool // MaxRowsPerFile reached: the rest of the file is not read
}

// otxPulseState is one pulse object being read: its fields, and the
// networks of its indicators (its index is known only at its end, when
// its id has been read).
type otxPulseState struct {
	p    otxPulse
	nets []netip.Prefix
}

var errOTXShape = errors.New("intel: not an OTX pulse, array of pulses or page of pulses")

func loadOTXImport(ctx context.Context, r io.Reader, now time.Time, st *loadStats) (*otxTable, error) {
	br := bufio.NewReaderSize(&capReader{ctx: ctx, r: r, max: MaxOTXImportBytes, what: " (MaxOTXImportBytes)"}, 64<<10)
	l := &otxLoader{sc: newJSONScanner(br), now: now, st: st, byKey: make(map[string]int32)}
	kind, err := l.sc.next()
	if err != nil {
		return nil, err
	}
	switch kind {
	case jsonArray:
		err = l.pulseArray()
	case jsonObject:
		err = l.page()
	default:
		err = errOTXShape
	}
	if err != nil {
		return nil, err
	}
	if len(l.pairs) == 0 {
		return nil, ErrNoEntries
	}
	return l.table(ctx)
}

// skip consumes the rest of a value whose first token was kind.
func (l *otxLoader) skip(kind jsonKind) error {
	if kind != jsonObject && kind != jsonArray {
		return nil
	}
	for stop := l.sc.depth() - 1; l.sc.depth() > stop; {
		if _, err := l.sc.next(); err != nil {
			return err
		}
	}
	return nil
}

// skipValue consumes the next value.
func (l *otxLoader) skipValue() error {
	kind, err := l.sc.next()
	if err != nil {
		return err
	}
	return l.skip(kind)
}

// object calls field for each key of the object whose '{' was just read;
// field looks at the key (l.sc.keyIs) before it reads the value. It stops
// early once the file is full.
func (l *otxLoader) object(field func() error) error {
	for !l.full {
		kind, err := l.sc.next()
		if err != nil || kind == jsonObjectEnd {
			return err
		}
		if err := field(); err != nil { // kind is jsonKey: the grammar says so
			return err
		}
	}
	return nil
}

// array calls elem for each element of the array whose '[' was just read.
func (l *otxLoader) array(elem func(kind jsonKind) error) error {
	for !l.full {
		kind, err := l.sc.next()
		if err != nil || kind == jsonArrayEnd {
			return err
		}
		if err := elem(kind); err != nil {
			return err
		}
	}
	return nil
}

// arrayOf reads the next value with elem when it is an array, and skips
// it otherwise.
func (l *otxLoader) arrayOf(elem func(kind jsonKind) error) error {
	kind, err := l.sc.next()
	if err != nil || kind != jsonArray {
		return cmp.Or(err, l.skip(kind))
	}
	return l.array(elem)
}

// page reads the top-level object: a page ("results" holds the pulses) or
// a single pulse (its own keys), or both.
func (l *otxLoader) page() error {
	var top otxPulseState
	err := l.object(func() error {
		if !l.sc.keyIs("results") {
			return l.pulseField(&top)
		}
		return l.arrayOf(l.pulse)
	})
	if err != nil {
		return err
	}
	return l.endPulse(&top)
}

// pulseArray reads pulses up to the ']' closing the array just opened.
func (l *otxLoader) pulseArray() error { return l.array(l.pulse) }

// pulse reads one element of a pulse array; one that is not an object is
// ignored.
func (l *otxLoader) pulse(kind jsonKind) error {
	if kind != jsonObject {
		return l.skip(kind)
	}
	var ps otxPulseState
	if err := l.object(func() error { return l.pulseField(&ps) }); err != nil {
		return err
	}
	return l.endPulse(&ps)
}

// str reads a value and returns it as cleaned text when it is a string.
func (l *otxLoader) str() (string, error) {
	kind, err := l.sc.next()
	if err != nil || kind != jsonString {
		return "", cmp.Or(err, l.skip(kind))
	}
	return cleanText(l.sc.text()), nil
}

// names reads an array of strings, or of {"display_name"|"id"} objects
// (malware families), keeping the first MaxNamesShown non-empty ones.
func (l *otxLoader) names() ([]string, error) {
	var out []string
	err := l.arrayOf(func(kind jsonKind) error {
		var name string
		switch kind {
		case jsonString:
			name = l.sc.text()
		case jsonObject:
			var display, id string
			err := l.object(func() error {
				var err error
				switch {
				case l.sc.keyIs("display_name"):
					display, err = l.str()
				case l.sc.keyIs("id"):
					id, err = l.str()
				default:
					err = l.skipValue()
				}
				return err
			})
			if err != nil {
				return err
			}
			name = firstNonEmpty(display, id)
		default:
			if err := l.skip(kind); err != nil {
				return err
			}
		}
		if name = cleanText(name); name != "" && len(out) < MaxNamesShown {
			out = append(out, name)
		}
		return nil
	})
	return out, err
}

func (l *otxLoader) pulseField(ps *otxPulseState) error {
	var err error
	sc := l.sc
	switch {
	case sc.keyIs("id"):
		ps.p.id, err = l.str()
	case sc.keyIs("name"):
		ps.p.name, err = l.str()
	case sc.keyIs("tlp"):
		ps.p.tlp, err = l.str()
	case sc.keyIs("modified"):
		ps.p.modified, err = l.str()
	case sc.keyIs("author_name"):
		ps.p.author, err = l.str()
	case sc.keyIs("adversary"):
		ps.p.adversary, err = l.str()
	case sc.keyIs("tags"):
		ps.p.tags, err = l.names()
	case sc.keyIs("malware_families"):
		ps.p.malware, err = l.names()
	case sc.keyIs("author"): // {"username": …}, used when author_name is absent
		var kind jsonKind
		if kind, err = sc.next(); err != nil || kind != jsonObject {
			return cmp.Or(err, l.skip(kind))
		}
		err = l.object(func() error {
			if !sc.keyIs("username") || ps.p.author != "" {
				return l.skipValue()
			}
			var err error
			ps.p.author, err = l.str()
			return err
		})
	case sc.keyIs("indicators"):
		err = l.arrayOf(func(kind jsonKind) error {
			if kind != jsonObject {
				return l.skip(kind)
			}
			return l.indicator(ps)
		})
	default:
		err = l.skipValue()
	}
	return err
}

// indicator reads one indicator object (its '{' just read) and keeps its
// network when it is an active, unexpired IP or CIDR indicator.
func (l *otxLoader) indicator(ps *otxPulseState) error {
	var text, typ string
	var exp *string
	active := true
	sc := l.sc
	err := l.object(func() error {
		field := 0
		switch {
		case sc.keyIs("indicator"):
			field = 1
		case sc.keyIs("type"):
			field = 2
		case sc.keyIs("is_active"):
			field = 3
		case sc.keyIs("expiration"):
			field = 4
		default:
			return l.skipValue()
		}
		kind, err := sc.next()
		if err != nil {
			return err
		}
		switch field {
		case 1:
			text = ""
			if kind == jsonString {
				text = sc.text()
			}
		case 2:
			typ = ""
			if kind == jsonString {
				typ = sc.text()
			}
		case 3: // 0 or false hides it; anything else, or absent, keeps it
			active = !(kind == jsonFalse || (kind == jsonNumber && string(sc.buf) == "0"))
		case 4:
			exp = nil
			if kind == jsonString {
				s := sc.text()
				exp = &s
			}
		}
		return l.skip(kind)
	})
	if err != nil || l.full {
		return err
	}
	switch typ {
	case "IPv4", "IPv6", "CIDR":
	default:
		return nil // domains, URLs, hashes: not ours
	}
	if l.st.entries >= MaxRowsPerFile {
		l.st.truncated, l.full = true, true
		return nil
	}
	if !otxActive(active, exp, l.now) {
		l.st.dropped++
		return nil
	}
	p, ok := parseListEntry(text)
	if !ok {
		l.st.skipped++
		return nil
	}
	if isSpecialEntry(p) {
		l.st.dropped++
		return nil
	}
	if err := l.st.store(0); err != nil {
		return err
	}
	ps.nets = append(ps.nets, p)
	return nil
}

// endPulse files a pulse that named at least one network: a pulse already
// seen (same id; same name when it has none) keeps its first copy's fields
// and gains these networks.
func (l *otxLoader) endPulse(ps *otxPulseState) error {
	if len(ps.nets) == 0 {
		return nil
	}
	key := ps.p.id
	if key == "" {
		key = "\x00" + ps.p.name
	}
	idx, seen := l.byKey[key]
	if !seen {
		if err := l.st.charge(int64(otxPulseBytes + ps.p.textBytes() + internCost(16, len(key)))); err != nil {
			return err
		}
		idx = int32(len(l.pulses))
		l.byKey[key] = idx
		l.pulses = append(l.pulses, ps.p)
	}
	for _, n := range ps.nets {
		l.pairs = append(l.pairs, otxPair{net: n, pulse: idx})
	}
	return nil
}

// table sorts the pairs, drops the repeated ones and indexes the distinct
// networks.
func (l *otxLoader) table(ctx context.Context) (*otxTable, error) {
	err := sortCtx(ctx, l.pairs, func(a, b otxPair) int {
		return cmp.Or(a.net.Addr().Compare(b.net.Addr()), cmp.Compare(a.net.Bits(), b.net.Bits()), cmp.Compare(a.pulse, b.pulse))
	})
	if err != nil {
		return nil, err
	}
	pairs := slices.Compact(l.pairs)
	l.st.dropped += len(l.pairs) - len(pairs)
	l.st.entries = len(pairs)
	t := &otxTable{pulses: l.pulses, pulseIdx: make([]int32, len(pairs))}
	var spans []span
	for i, pr := range pairs {
		if i == 0 || pr.net != pairs[i-1].net {
			t.first = append(t.first, int32(i))
			spans = append(spans, span{start: pr.net.Addr(), end: lastAddr(pr.net), id: int32(len(spans))})
		}
		t.pulseIdx[i] = pr.pulse
	}
	t.first = append(t.first, int32(len(pairs)))
	if t.set, err = buildRanges(ctx, spans, len(spans)); err != nil {
		return nil, err
	}
	return t, nil
}

// otxActive: is_active not 0 (or absent) and no expiration in the past.
func otxActive(active bool, exp *string, now time.Time) bool {
	if !active {
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

// otxPulseJSON is a pulse of an online answer (pulse_info.pulses), a body
// already capped at MaxOTXBody and decoded whole.
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

// GreyNoise saved community answers (docs/INTEL.md §3.2 b): NDJSON, one
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
