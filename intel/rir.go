package intel

import (
	"bytes"
	"context"
	"net/netip"
	"strconv"
	"time"
)

// RIR statistics exchange format (delegated-<rir>-extended-latest),
// docs/INTEL.md §2.1. Pipe-separated:
//
//	version|registry|serial|records|startdate|enddate|UTCoffset     (header)
//	registry|*|type|*|count|summary                                 (summary)
//	registry|cc|type|start|value|date|status[|opaque-id[|ext...]]   (record)
//
// ipv4 value = number of addresses (not always a power of two, so rows are
// stored as ranges), ipv6 value = prefix length. asn rows are counted as
// dropped (not used for address lookups). available/reserved rows carry no
// country and are dropped: a miss answers the same, and on a transfer
// overlap the allocated row must win.

// rirFact is what a delegated row tells about its block.
type rirFact struct {
	registry string
	country  string
	status   string
}

type rirTable struct {
	set   rangeSet
	infos []rirFact
}

func (t *rirTable) lookup(a netip.Addr) (rirFact, bool) {
	id := t.set.find(a)
	if id < 0 {
		return rirFact{}, false
	}
	return t.infos[id], true
}

func loadRIR(ctx context.Context, lr *lineReader, st *loadStats) (*rirTable, time.Time, error) {
	var spans []span
	var in interner[rirFact]
	var asOf time.Time
	var fields [][]byte
	for {
		line, ok := lr.nextRow(st)
		if !ok {
			break
		}
		fields = splitPipes(line, fields[:0])
		switch rirLineKind(fields) {
		case rirHeader:
			// enddate, else serial, when they are dates (serial is a date
			// at every RIR today).
			for _, i := range []int{5, 2} {
				if len(fields) > i {
					if t, err := time.Parse("20060102", string(fields[i])); err == nil {
						asOf = t
						break
					}
				}
			}
			continue
		case rirSummary:
			continue
		case rirBad:
			st.skipped++
			if st.skipped > MaxBrokenLines {
				return nil, asOf, ErrTooManyBroken
			}
			continue
		}
		start, end, fact, kind := parseRIRRecord(fields)
		switch kind {
		case rirBad:
			st.skipped++
			if st.skipped > MaxBrokenLines {
				return nil, asOf, ErrTooManyBroken
			}
			continue
		case rirIgnored:
			st.dropped++
			continue
		}
		id, fresh := in.id(fact)
		extra := 0
		if fresh {
			extra = internCost(rirFactBytes, len(fact.registry)+len(fact.country)+len(fact.status))
		}
		if err := st.store(extra); err != nil {
			return nil, asOf, err
		}
		spans = append(spans, span{start: start, end: end, id: id})
	}
	st.skipped += lr.long
	if lr.err != nil {
		return nil, asOf, lr.err
	}
	if len(spans) == 0 {
		return nil, asOf, ErrNoEntries
	}
	set, err := buildRanges(ctx, spans, 0)
	if err != nil {
		return nil, asOf, err
	}
	return &rirTable{set: set, infos: in.vals}, asOf, nil
}

func splitPipes(line []byte, dst [][]byte) [][]byte {
	for len(dst) < 16 { // records have 7–9 fields; more is ignored
		i := bytes.IndexByte(line, '|')
		if i < 0 {
			return append(dst, line)
		}
		dst = append(dst, line[:i])
		line = line[i+1:]
	}
	return dst
}

type rirKind uint8

const (
	rirRecord rirKind = iota
	rirHeader
	rirSummary
	rirIgnored
	rirBad
)

func rirLineKind(f [][]byte) rirKind {
	switch {
	case len(f) >= 6 && (bytes.Equal(f[1], []byte("*")) || bytes.Equal(f[5], []byte("summary"))):
		return rirSummary
	case len(f) >= 7 && len(f[0]) > 0 && f[0][0] >= '0' && f[0][0] <= '9':
		// version line: "2" or "2.3" in the first field
		return rirHeader
	case len(f) >= 7:
		return rirRecord
	}
	return rirBad
}

func parseRIRRecord(f [][]byte) (start, end netip.Addr, fact rirFact, kind rirKind) {
	typ, status := string(f[2]), string(f[6])
	switch typ {
	case "asn":
		return start, end, fact, rirIgnored
	case "ipv4", "ipv6":
	default:
		return start, end, fact, rirBad
	}
	switch status {
	case "allocated", "assigned":
	case "available", "reserved":
		return start, end, fact, rirIgnored
	default: // the NRO combined file has other values; keep them
	}
	a, err := netip.ParseAddr(string(f[3]))
	if err != nil || a.Zone() != "" || a.Is4In6() || (typ == "ipv4") != a.Is4() {
		return start, end, fact, rirBad
	}
	v, err := strconv.ParseUint(string(f[4]), 10, 64)
	if err != nil {
		return start, end, fact, rirBad
	}
	if typ == "ipv4" {
		first := uint64(key4(a))
		if v == 0 || first+v-1 > 0xffffffff { // compare before adding: no wrap
			return start, end, fact, rirBad
		}
		end = addr4(uint32(first + v - 1))
	} else {
		if v > 128 {
			return start, end, fact, rirBad
		}
		p := netip.PrefixFrom(a, int(v))
		if p.Masked().Addr() != a { // host bits set: not a valid row
			return start, end, fact, rirBad
		}
		end = lastAddr(p)
	}
	fact = rirFact{registry: cleanText(string(f[0])), country: countryCode(string(f[1])), status: cleanText(status)}
	return a, end, fact, rirRecord
}

// lastAddr is the last address of a prefix (host bits all set).
func lastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	if p.Addr().Is4() {
		host := uint32(0)
		if p.Bits() < 32 {
			host = ^uint32(0) >> p.Bits()
		}
		return addr4(key4(p.Addr()) | host)
	}
	x := key6(p.Addr())
	bits := p.Bits()
	switch {
	case bits == 0:
		x = u128{^uint64(0), ^uint64(0)}
	case bits < 64:
		x.hi |= ^uint64(0) >> bits
		x.lo = ^uint64(0)
	case bits < 128:
		x.lo |= ^uint64(0) >> (bits - 64)
	}
	return addr6(x)
}
