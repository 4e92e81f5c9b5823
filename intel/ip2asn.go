package intel

import (
	"bytes"
	"context"
	"net/netip"
	"strconv"
)

// iptoasn.com TSV (ip2asn-combined.tsv, ip2asn-v4.tsv, ip2asn-v6.tsv,
// ip2asn-v4-u32.tsv), docs/INTEL.md §1.1:
//
//	range_start <TAB> range_end <TAB> AS_number <TAB> country_code <TAB> AS_description
//
// Inclusive ranges as IP text (decimal uint32 in the -u32 variant). Rows
// with AS 0 ("Not routed") tile the unrouted space; they are not stored,
// since a miss answers the same.
func loadIP2ASN(ctx context.Context, lr *lineReader, st *loadStats) (*asnTable, error) {
	var spans []span
	var in interner[asnFact]
	for {
		line, ok := lr.nextRow(st)
		if !ok {
			break
		}
		start, end, fact, good := parseIP2ASNLine(line)
		if !good {
			st.skipped++
			if st.skipped > MaxBrokenLines {
				return nil, ErrTooManyBroken
			}
			continue
		}
		if fact.asn == 0 {
			st.dropped++
			continue
		}
		id, fresh := in.id(fact)
		extra := 0
		if fresh {
			extra = internCost(asnFactBytes, len(fact.org)+len(fact.country))
		}
		if err := st.store(extra); err != nil {
			return nil, err
		}
		spans = append(spans, span{start: start, end: end, id: id})
	}
	st.skipped += lr.long
	if lr.err != nil {
		return nil, lr.err
	}
	if len(spans) == 0 {
		return nil, ErrNoEntries
	}
	set, err := buildRanges(ctx, spans, 0)
	if err != nil {
		return nil, err
	}
	return &asnTable{set: set, infos: in.vals}, nil
}

func parseIP2ASNLine(line []byte) (start, end netip.Addr, fact asnFact, ok bool) {
	var f [5][]byte
	rest := line
	for i := 0; i < 4; i++ {
		j := bytes.IndexByte(rest, '\t')
		if j < 0 {
			return start, end, fact, false
		}
		f[i], rest = rest[:j], rest[j+1:]
	}
	f[4] = rest // descriptions hold no tab; if one did, it stays in the name
	var good bool
	if start, good = parseRangeAddr(f[0]); !good {
		return start, end, fact, false
	}
	if end, good = parseRangeAddr(f[1]); !good || start.Is4() != end.Is4() || end.Less(start) {
		return start, end, fact, false
	}
	asn, err := strconv.ParseUint(string(bytes.TrimPrefix(bytes.TrimPrefix(f[2], []byte("AS")), []byte("as"))), 10, 32)
	if err != nil {
		return start, end, fact, false
	}
	fact = asnFact{asn: uint32(asn), country: countryCode(string(f[3])), org: cleanText(string(f[4]))}
	return start, end, fact, true
}

// parseRangeAddr reads an address as text, or as a decimal uint32 (the -u32
// variant). Zoned and IPv4-mapped forms are refused: a range bound is never
// written that way, and mixing them would break the family split.
func parseRangeAddr(b []byte) (netip.Addr, bool) {
	s := string(bytes.TrimSpace(b))
	if s != "" && s[0] >= '0' && s[0] <= '9' && !bytes.ContainsAny(b, ".:") {
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		return addr4(uint32(v)), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is4In6() {
		return netip.Addr{}, false
	}
	return a, true
}
