package intel

import (
	"context"
	"net/netip"
	"strconv"

	"time"
)

// DB-IP Lite CSV (docs/INTEL.md §2.2), no header, IPv4 and IPv6 in one file,
// inclusive ranges as IP text; the column count says which database:
//
//	country: ip_start,ip_end,country_code
//	asn:     ip_start,ip_end,as_number,as_organization
//	city:    ip_start,ip_end,continent,country,stateprov,city,latitude,longitude
//
// The first data row fixes the kind; rows of another shape are unusable.

type dbipKind uint8

const (
	dbipUnknown dbipKind = iota
	dbipCountry
	dbipASN
	dbipCity
)

// geoFact is a geolocation answer. Pointers are nil when the source does
// not say.
type geoFact struct {
	country, countryName, continent, region, city string
	lat, lon                                      *float64
}

type geoTable struct {
	set   rangeSet
	infos []geoFact
}

func (t *geoTable) lookup(a netip.Addr) (geoFact, bool) {
	id := t.set.find(a)
	if id < 0 {
		return geoFact{}, false
	}
	return t.infos[id], true
}

// geoKey interns geo facts; coordinates as values so equal rows share.
type geoKey struct {
	country, continent, region, city string
	lat, lon                         float64
	hasLL                            bool
}

// loadDBIP returns either a geo table (country/city) or an ASN table.
func loadDBIP(ctx context.Context, lr *lineReader, st *loadStats) (*geoTable, *asnTable, error) {
	var spans []span
	var geoIn interner[geoKey]
	var asnIn interner[asnFact]
	kind := dbipUnknown
	var fields []string
	for {
		line, ok := lr.next()
		if !ok {
			break
		}
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if st.entries >= MaxRowsPerFile {
			st.truncated = true
			break
		}
		var good bool
		fields, good = splitCSV(line, fields)
		var start, end netip.Addr
		if good && len(fields) >= 3 {
			start, good = parseRangeAddr([]byte(fields[0]))
			if good {
				end, good = parseRangeAddr([]byte(fields[1]))
				good = good && start.Is4() == end.Is4() && !end.Less(start)
			}
		} else {
			good = false
		}
		k := dbipShape(fields)
		if good && kind == dbipUnknown {
			kind = k
		}
		if !good || k != kind || kind == dbipUnknown {
			st.skipped++
			if st.skipped > MaxBrokenLines {
				return nil, nil, ErrTooManyBroken
			}
			continue
		}
		var id int32
		var fresh bool
		extra := 0
		switch kind {
		case dbipCountry:
			id, fresh = geoIn.id(geoKey{country: countryCode(fields[2])})
		case dbipCity:
			gk := geoKey{continent: cleanText(fields[2]), country: countryCode(fields[3]),
				region: cleanText(fields[4]), city: cleanText(fields[5])}
			lat, e1 := strconv.ParseFloat(fields[6], 64)
			lon, e2 := strconv.ParseFloat(fields[7], 64)
			if e1 == nil && e2 == nil && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 {
				gk.lat, gk.lon, gk.hasLL = lat, lon, true
			}
			id, fresh = geoIn.id(gk)
		case dbipASN:
			asn, _ := strconv.ParseUint(fields[2], 10, 32) // checked by dbipShape
			if asn == 0 {
				st.dropped++
				continue
			}
			fact := asnFact{asn: uint32(asn), org: cleanText(fields[3])}
			if id, fresh = asnIn.id(fact); fresh {
				extra = internCost(asnFactBytes, len(fact.org))
			}
		}
		if fresh && kind != dbipASN {
			// The key in the interner, and the geoFact built from it.
			gk := &geoIn.vals[id]
			extra = internCost(geoKeyBytes, len(gk.continent)+len(gk.country)+len(gk.region)+len(gk.city)) + geoFactBytes + 2*floatBytes
		}
		if err := st.store(extra); err != nil {
			return nil, nil, err
		}
		spans = append(spans, span{start: start, end: end, id: id})
	}
	st.skipped += lr.long
	if lr.err != nil {
		return nil, nil, lr.err
	}
	if len(spans) == 0 {
		return nil, nil, ErrNoEntries
	}
	set, err := buildRanges(ctx, spans, 0)
	if err != nil {
		return nil, nil, err
	}
	if kind == dbipASN {
		return nil, &asnTable{set: set, infos: asnIn.vals}, nil
	}
	infos := make([]geoFact, len(geoIn.vals))
	for i, k := range geoIn.vals {
		infos[i] = geoFact{country: k.country, continent: k.continent, region: k.region, city: k.city}
		if k.hasLL {
			lat, lon := k.lat, k.lon
			infos[i].lat, infos[i].lon = &lat, &lon
		}
	}
	return &geoTable{set: set, infos: infos}, nil, nil
}

func dbipShape(f []string) dbipKind {
	switch len(f) {
	case 3:
		return dbipCountry
	case 4:
		if _, err := strconv.ParseUint(f[2], 10, 32); err == nil {
			return dbipASN
		}
	case 8:
		return dbipCity
	}
	return dbipUnknown
}

// dbipAsOf reads the month from a DB-IP file name (dbip-city-lite-2026-01.csv).
func dbipAsOf(base string) time.Time {
	for i := 0; i+7 <= len(base); i++ {
		if t, err := time.Parse("2006-01", base[i:i+7]); err == nil && (i+7 == len(base) || !isDigit(base[i+7])) && (i == 0 || !isDigit(base[i-1])) {
			return t
		}
	}
	return time.Time{}
}

// validCoords keeps a latitude/longitude pair only when both are present,
// finite and on the globe (DB-IP rows are checked the same way when read):
// a hostile service or file must not place an address at latitude 1000.
// NaN fails every comparison and is dropped too.
func validCoords(lat, lon *float64) (*float64, *float64) {
	if lat == nil || lon == nil || !(*lat >= -90 && *lat <= 90) || !(*lon >= -180 && *lon <= 180) {
		return nil, nil
	}
	return lat, lon
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
