package intel

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"time"
)

// IP/CIDR lists (docs/INTEL.md §3.3): FireHOL netsets, Spamhaus DROP text
// ("CIDR ; SBLnnn") and NDJSON ({"cidr":…,"sblid":…}), abuse.ch Feodo text
// and CSV (dst_ip column), ET and blocklist.de one-address-per-line files.
// Rules, line by line: '#', ';' and '//' start comments (header dates are
// read from them); a line starting with '{' is JSON (cidr, ip_address or
// dst_ip); a CSV header naming dst_ip selects that column; otherwise the
// first token before white space, ';' or ',' must be an address or a
// prefix. Special-purpose entries (FireHOL carries the bogons) are dropped.

// listEntry is one listed network and its reference (SBL id, malware).
type listEntry struct {
	prefix netip.Prefix
	ref    string
}

type listTable struct {
	set     rangeSet
	entries []listEntry
}

// lookup returns the innermost listed network covering a.
func (t *listTable) lookup(a netip.Addr) (listEntry, bool) {
	id := t.set.find(a)
	if id < 0 {
		return listEntry{}, false
	}
	return t.entries[id], true
}

// listJSON is the union of the JSON line shapes understood.
type listJSON struct {
	CIDR      string   `json:"cidr"`
	SBLID     string   `json:"sblid"`
	IPAddress string   `json:"ip_address"`
	DstIP     string   `json:"dst_ip"`
	Malware   string   `json:"malware"`
	Type      string   `json:"type"`
	Timestamp *float64 `json:"timestamp"`
}

// listResult carries what the loader learned about the file besides entries.
type listResult struct {
	table    *listTable
	asOf     time.Time
	spamhaus bool // SBL references seen: the Spamhaus terms apply
}

func loadList(ctx context.Context, lr *lineReader, st *loadStats) (listResult, error) {
	var res listResult
	var entries []listEntry
	var spans []span
	ipCol, refCol := -1, -1
	var fields []string
	for {
		line, ok := lr.next()
		if !ok {
			break
		}
		if len(line) == 0 {
			continue
		}
		if st.entries >= MaxRowsPerFile {
			st.truncated = true
			break
		}
		if isComment(line) {
			body := bytes.TrimLeft(line, "#;/ \t")
			if t, ok := headerDate(body); ok && res.asOf.IsZero() {
				res.asOf = t
			}
			// Feodo's CSV ships its column header commented out.
			if i, j, ok := csvHeader(body, fields); ok {
				ipCol, refCol = i, j
			}
			continue
		}
		var text, ref string
		switch {
		case line[0] == '{':
			var j listJSON
			if err := json.Unmarshal(line, &j); err != nil {
				break // counted below as an unusable line
			}
			if j.Type == "metadata" && j.Timestamp != nil && *j.Timestamp > 0 && *j.Timestamp < 1e11 {
				res.asOf = time.Unix(int64(*j.Timestamp), 0).UTC()
				continue
			}
			text = firstNonEmpty(j.CIDR, j.IPAddress, j.DstIP)
			ref = firstNonEmpty(j.SBLID, j.Malware)
			if j.SBLID != "" {
				res.spamhaus = true
			}
		case ipCol < 0 && bytes.Contains(line, []byte("dst_ip")):
			if i, j, ok := csvHeader(line, fields); ok {
				ipCol, refCol = i, j
				continue
			}
		case ipCol >= 0:
			var good bool
			if fields, good = splitCSV(line, fields); good && ipCol < len(fields) {
				text = fields[ipCol]
				if refCol >= 0 && refCol < len(fields) {
					ref = fields[refCol]
				}
			}
		default:
			text, ref = firstToken(line)
			if strings.HasPrefix(ref, "SBL") {
				res.spamhaus = true
			}
		}
		p, good := parseListEntry(text)
		if !good {
			st.skipped++
			if st.skipped > MaxBrokenLines {
				return res, ErrTooManyBroken
			}
			continue
		}
		if isSpecialEntry(p) {
			st.dropped++
			continue
		}
		ref = cleanText(ref)
		if err := st.store(listEntryBytes + len(ref)); err != nil {
			return res, err
		}
		spans = append(spans, span{start: p.Addr(), end: lastAddr(p), id: int32(len(entries))})
		entries = append(entries, listEntry{prefix: p, ref: ref})
	}
	st.skipped += lr.long
	if lr.err != nil {
		return res, lr.err
	}
	if len(entries) == 0 {
		return res, ErrNoEntries
	}
	set, err := buildRanges(ctx, spans, len(entries))
	if err != nil {
		return res, err
	}
	res.table = &listTable{set: set, entries: entries}
	return res, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// firstToken splits "1.2.3.0/24 ; SBL123" or "1.2.3.4,comment" or
// "1.2.3.4 # note" into the address text and the reference after ';'.
func firstToken(line []byte) (text, ref string) {
	end := bytes.IndexAny(line, " \t;,#")
	if end < 0 {
		return string(line), ""
	}
	text = string(line[:end])
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		ref = string(bytes.TrimSpace(line[i+1:]))
	}
	return text, ref
}

// csvHeader finds the dst_ip column (and malware, kept as the reference).
func csvHeader(line []byte, scratch []string) (ipCol, refCol int, ok bool) {
	if !bytes.Contains(line, []byte("dst_ip")) || !bytes.Contains(line, []byte(",")) {
		return -1, -1, false
	}
	f, good := splitCSV(line, scratch)
	if !good {
		return -1, -1, false
	}
	ipCol, refCol = -1, -1
	for i, name := range f {
		switch strings.TrimSpace(name) {
		case "dst_ip":
			ipCol = i
		case "malware":
			refCol = i
		}
	}
	return ipCol, refCol, ipCol >= 0
}

// parseListEntry accepts an address or a prefix (host bits are masked: a
// list saying 1.2.3.4/24 means the /24).
func parseListEntry(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxInputLen {
		return netip.Prefix{}, false
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil || p.Addr().Is4In6() {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// isSpecialEntry: an entry whose first and last addresses are both not
// globally reachable is bogon filler (10.0.0.0/8, 224.0.0.0/3, 0.0.0.0/0)
// and would only make private addresses look listed. One exception: an
// entry inside a documentation block (RFC 5737, RFC 3849, RFC 9637) and
// narrower than it is kept. Feeds list those blocks only whole, as bogons
// (still dropped); a narrower entry was written on purpose, by a sample
// or a lab set (fixtures/intel), and is looked up only when
// AllowPrivate asks for such addresses.
func isSpecialEntry(p netip.Prefix) bool {
	first, last := Describe(p.Addr()), Describe(lastAddr(p))
	if first.GloballyReachable || last.GloballyReachable {
		return false
	}
	if first.Category == CategoryDocumentation && first.Block != nil && last.Block != nil && *first.Block == *last.Block {
		if blk, err := netip.ParsePrefix(*first.Block); err == nil && p.Bits() > blk.Bits() {
			return false
		}
	}
	return true
}

// headerDate reads the dataset date from a comment line: FireHOL "This File
// Date : Mon Jan  2 15:04:05 UTC 2006", Feodo "Last updated: 2006-01-02
// 15:04:05 UTC", Spamhaus "Last-Modified: Mon, 02 Jan 2006 15:04:05 GMT".
func headerDate(body []byte) (time.Time, bool) {
	label, value, ok := strings.Cut(string(body), ":")
	if !ok {
		return time.Time{}, false
	}
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "this file date", "last updated", "last-modified", "last modified", "date", "generated":
	default:
		return time.Time{}, false
	}
	// Box-drawn headers end the line with '#'.
	value = strings.Join(strings.Fields(strings.TrimRight(value, "# \t")), " ")
	for _, layout := range []string{time.RFC3339, time.UnixDate, "Mon Jan 2 15:04:05 MST 2006", time.RFC1123,
		time.RFC1123Z, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, value); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
