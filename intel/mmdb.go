package intel

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"time"
)

// MaxMind DB format v2 (docs/INTEL.md §2.3), written from the specification:
//
//	[search tree][16 zero bytes][data section]["\xab\xcd\xefMaxMind.com"][metadata map]
//
// The whole file is held in memory (tens of MB for a city database). Every
// offset read from the file is checked against the slice it indexes before
// use, decoding depth and value counts are bounded, and pointers may not
// point at pointers, so no file can make the reader panic, loop or expand
// without bound.

var mmdbMarker = []byte("\xab\xcd\xefMaxMind.com")

// MMDB data types (control byte, extended types 8–15 after a zero type).
const (
	mmdbExtended = 0
	mmdbPointer  = 1
	mmdbString   = 2
	mmdbDouble   = 3
	mmdbBytes    = 4
	mmdbUint16   = 5
	mmdbUint32   = 6
	mmdbMap      = 7
	mmdbInt32    = 8
	mmdbUint64   = 9
	mmdbUint128  = 10
	mmdbArray    = 11
	mmdbCache    = 12
	mmdbEnd      = 13
	mmdbBool     = 14
	mmdbFloat    = 15
)

// mmdbDataGap is the run of zero bytes between the tree and the data.
const mmdbDataGap = 16

type mmdbReader struct {
	tree       []byte
	data       []byte
	nodeCount  uint32
	recordSize int // bits: 24, 28 or 32
	nodeBytes  int
	ipVersion  int
	v4Start    uint32 // node reached after 96 zero bits (IPv4 in an IPv6 tree)
	dbType     string
	buildEpoch uint64
	bufBytes   int64 // the file, held whole
}

func mmdbErr(off int, format string, args ...any) error {
	return &FormatError{Offset: int64(off), Reason: fmt.Sprintf(format, args...), Err: ErrMMDB}
}

// isMMDB reports whether buf ends with an MMDB metadata section.
func isMMDB(buf []byte) bool {
	tail := buf[max(0, len(buf)-MaxMMDBMetadata-len(mmdbMarker)):]
	return bytes.LastIndex(tail, mmdbMarker) >= 0
}

func openMMDB(buf []byte) (*mmdbReader, error) {
	tailStart := max(0, len(buf)-MaxMMDBMetadata-len(mmdbMarker))
	i := bytes.LastIndex(buf[tailStart:], mmdbMarker)
	if i < 0 {
		return nil, mmdbErr(len(buf), "metadata marker not found in the last %d bytes", MaxMMDBMetadata)
	}
	markerAt := tailStart + i
	metaStart := markerAt + len(mmdbMarker)
	d := mmdbDecoder{data: buf[metaStart:]}
	v, _, err := d.decode(0, 0)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	meta, ok := v.(map[string]any)
	if !ok {
		return nil, mmdbErr(metaStart, "metadata is not a map")
	}
	m := &mmdbReader{bufBytes: int64(cap(buf))}
	major, _ := toUint(meta["binary_format_major_version"])
	if major != 2 {
		return nil, mmdbErr(metaStart, "binary format major version %d, want 2", major)
	}
	nc, ok1 := toUint(meta["node_count"])
	rs, ok2 := toUint(meta["record_size"])
	ipv, ok3 := toUint(meta["ip_version"])
	if !ok1 || !ok2 || !ok3 || nc > math.MaxUint32 || (rs != 24 && rs != 28 && rs != 32) || (ipv != 4 && ipv != 6) {
		return nil, mmdbErr(metaStart, "bad node_count/record_size/ip_version")
	}
	m.nodeCount, m.recordSize, m.ipVersion = uint32(nc), int(rs), int(ipv)
	m.nodeBytes = m.recordSize / 4 // two records of recordSize bits
	treeSize := nc * uint64(m.nodeBytes)
	if treeSize+mmdbDataGap > uint64(markerAt) {
		return nil, mmdbErr(0, "search tree of %d bytes does not fit before the metadata", treeSize)
	}
	m.tree = buf[:treeSize]
	m.data = buf[treeSize+mmdbDataGap : markerAt]
	if s, ok := meta["database_type"].(string); ok {
		m.dbType = cleanText(s)
	}
	m.buildEpoch, _ = toUint(meta["build_epoch"])
	node, n := uint32(0), 0
	if m.ipVersion == 6 {
		for ; n < 96 && node < m.nodeCount; n++ {
			node = m.record(node, 0)
		}
	}
	m.v4Start = node
	return m, nil
}

// record reads the left (bit 0) or right (bit 1) record of a node; node <
// nodeCount, so the node lies inside the tree checked at open.
func (m *mmdbReader) record(node uint32, bit byte) uint32 {
	b := m.tree[int(node)*m.nodeBytes:][:m.nodeBytes]
	switch m.recordSize {
	case 24:
		if bit == 0 {
			return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
		}
		return uint32(b[3])<<16 | uint32(b[4])<<8 | uint32(b[5])
	case 28:
		if bit == 0 {
			return uint32(b[3]&0xf0)<<20 | uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
		}
		return uint32(b[3]&0x0f)<<24 | uint32(b[4])<<16 | uint32(b[5])<<8 | uint32(b[6])
	}
	if bit == 0 {
		return binary.BigEndian.Uint32(b[:4])
	}
	return binary.BigEndian.Uint32(b[4:8])
}

// lookup walks the tree for a and decodes its record. found is false when
// the database has no data for a; the prefix is the network the record
// covers.
func (m *mmdbReader) lookup(a netip.Addr) (rec map[string]any, prefix netip.Prefix, found bool, err error) {
	a = a.WithZone("").Unmap()
	var ip [16]byte
	bits, node := 128, uint32(0)
	if a.Is4() {
		if m.ipVersion == 6 {
			node = m.v4Start
		}
		b4 := a.As4()
		copy(ip[:], b4[:])
		bits = 32
	} else {
		if m.ipVersion == 4 {
			return nil, prefix, false, nil
		}
		ip = a.As16()
	}
	i := 0
	for ; i < bits && node < m.nodeCount; i++ {
		node = m.record(node, (ip[i>>3]>>(7-uint(i&7)))&1)
	}
	if node < m.nodeCount {
		return nil, prefix, false, mmdbErr(0, "search tree deeper than the address")
	}
	// i bits of this address were used; when the IPv4 subtree of an IPv6
	// tree ends above ::/96 the loop did not run and i is 0.
	prefix = netip.PrefixFrom(a, i).Masked()
	if node == m.nodeCount {
		return nil, prefix, false, nil
	}
	off := uint64(node) - uint64(m.nodeCount) - mmdbDataGap
	if uint64(node)-uint64(m.nodeCount) < mmdbDataGap || off >= uint64(len(m.data)) {
		return nil, prefix, false, mmdbErr(int(node), "data pointer %d outside the data section", node)
	}
	d := mmdbDecoder{data: m.data}
	v, _, err := d.decode(int(off), 0)
	if err != nil {
		return nil, prefix, false, err
	}
	rec, ok := v.(map[string]any)
	if !ok {
		return nil, prefix, false, mmdbErr(int(off), "record is not a map")
	}
	return rec, prefix, true, nil
}

func (m *mmdbReader) asOf() time.Time {
	if m.buildEpoch == 0 || m.buildEpoch > 1<<40 {
		return time.Time{}
	}
	return time.Unix(int64(m.buildEpoch), 0).UTC()
}

// mmdbDecoder decodes data-section values into string, float64, []byte,
// uint64, int64, u128, map[string]any, []any and bool.
type mmdbDecoder struct {
	data   []byte
	values int
	bytes  int // string and byte payload copied so far
}

// decode returns the value at off and the offset just after it (after the
// pointer bytes when off holds a pointer).
func (d *mmdbDecoder) decode(off, depth int) (any, int, error) {
	if depth > MaxMMDBDepth {
		return nil, off, mmdbErr(off, "nesting deeper than %d", MaxMMDBDepth)
	}
	d.values++
	if d.values > MaxMMDBValues {
		return nil, off, mmdbErr(off, "more than %d values in one record", MaxMMDBValues)
	}
	typ, size, next, err := d.control(off)
	if err != nil {
		return nil, off, err
	}
	if typ == mmdbPointer {
		target, after, err := d.pointer(off)
		if err != nil {
			return nil, off, err
		}
		if t, _, _, err := d.control(target); err != nil {
			return nil, off, err
		} else if t == mmdbPointer {
			return nil, off, mmdbErr(target, "pointer to a pointer")
		}
		v, _, err := d.decode(target, depth+1)
		return v, after, err
	}
	return d.value(typ, size, next, depth)
}

// control parses a control byte: type, size and the payload offset.
func (d *mmdbDecoder) control(off int) (typ, size, next int, err error) {
	if off < 0 || off >= len(d.data) {
		return 0, 0, off, mmdbErr(off, "offset outside the data")
	}
	c := d.data[off]
	off++
	typ = int(c >> 5)
	if typ == mmdbPointer {
		return typ, 0, off, nil
	}
	if typ == mmdbExtended {
		if off >= len(d.data) {
			return 0, 0, off, mmdbErr(off, "truncated extended type")
		}
		typ = 7 + int(d.data[off])
		off++
		if typ < mmdbInt32 || typ > mmdbFloat {
			return 0, 0, off, mmdbErr(off-1, "unknown extended type %d", typ)
		}
	}
	size = int(c & 0x1f)
	if size >= 29 {
		n := size - 28 // 1, 2 or 3 more bytes
		if n > len(d.data)-off {
			return 0, 0, off, mmdbErr(off, "truncated size")
		}
		v := 0
		for _, b := range d.data[off : off+n] {
			v = v<<8 | int(b)
		}
		off += n
		size = [...]int{29, 285, 65821}[n-1] + v
	}
	return typ, size, off, nil
}

// pointer resolves the pointer whose control byte is at off.
func (d *mmdbDecoder) pointer(off int) (target, after int, err error) {
	c := d.data[off]
	ss := int(c>>3) & 3
	n := ss + 1
	if n > len(d.data)-off-1 {
		return 0, off, mmdbErr(off, "truncated pointer")
	}
	b := d.data[off+1 : off+1+n]
	var p int
	switch ss {
	case 0:
		p = int(c&7)<<8 | int(b[0])
	case 1:
		p = (int(c&7)<<16 | int(b[0])<<8 | int(b[1])) + 2048
	case 2:
		p = (int(c&7)<<24 | int(b[0])<<16 | int(b[1])<<8 | int(b[2])) + 526336
	default:
		p = int(binary.BigEndian.Uint32(b))
	}
	if p >= len(d.data) {
		return 0, off, mmdbErr(off, "pointer %d outside the data", p)
	}
	return p, off + 1 + n, nil
}

func (d *mmdbDecoder) value(typ, size, off, depth int) (any, int, error) {
	rest := len(d.data) - off
	fixed := func(max int) ([]byte, error) {
		if size > max {
			return nil, mmdbErr(off, "type %d with size %d", typ, size)
		}
		if size > rest {
			return nil, mmdbErr(off, "value runs past the data")
		}
		return d.data[off : off+size], nil
	}
	switch typ {
	case mmdbString, mmdbBytes:
		b, err := fixed(rest)
		if err != nil {
			return nil, off, err
		}
		d.bytes += size
		if d.bytes > MaxMMDBRecordBytes {
			return nil, off, mmdbErr(off, "more than %d bytes of text in one record", MaxMMDBRecordBytes)
		}
		if typ == mmdbString {
			return string(b), off + size, nil
		}
		return bytes.Clone(b), off + size, nil
	case mmdbDouble, mmdbFloat:
		want := 8
		if typ == mmdbFloat {
			want = 4
		}
		if size != want {
			return nil, off, mmdbErr(off, "float of size %d", size)
		}
		b, err := fixed(want)
		if err != nil {
			return nil, off, err
		}
		if typ == mmdbFloat {
			return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), off + 4, nil
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), off + 8, nil
	case mmdbUint16, mmdbUint32, mmdbUint64, mmdbInt32:
		width := 4
		switch typ {
		case mmdbUint16:
			width = 2
		case mmdbUint64:
			width = 8
		}
		b, err := fixed(width)
		if err != nil {
			return nil, off, err
		}
		var v uint64
		for _, x := range b {
			v = v<<8 | uint64(x)
		}
		if typ == mmdbInt32 {
			return int64(int32(uint32(v))), off + size, nil
		}
		return v, off + size, nil
	case mmdbUint128:
		b, err := fixed(16)
		if err != nil {
			return nil, off, err
		}
		var v u128
		for _, x := range b {
			v.hi = v.hi<<8 | v.lo>>56
			v.lo = v.lo<<8 | uint64(x)
		}
		return v, off + size, nil
	case mmdbBool:
		if size > 1 {
			return nil, off, mmdbErr(off, "boolean of size %d", size)
		}
		return size == 1, off, nil
	case mmdbMap:
		if size > rest/2 { // each pair takes at least two bytes
			return nil, off, mmdbErr(off, "map of %d pairs in %d bytes", size, rest)
		}
		m := make(map[string]any, min(size, 64))
		for range size {
			k, next, err := d.decode(off, depth+1)
			if err != nil {
				return nil, off, err
			}
			key, ok := k.(string)
			if !ok {
				return nil, off, mmdbErr(off, "map key is not a string")
			}
			v, next2, err := d.decode(next, depth+1)
			if err != nil {
				return nil, off, err
			}
			m[key] = v
			off = next2
		}
		return m, off, nil
	case mmdbArray:
		if size > rest { // each item takes at least one byte
			return nil, off, mmdbErr(off, "array of %d items in %d bytes", size, rest)
		}
		a := make([]any, 0, min(size, 64))
		for range size {
			v, next, err := d.decode(off, depth+1)
			if err != nil {
				return nil, off, err
			}
			a = append(a, v)
			off = next
		}
		return a, off, nil
	}
	return nil, off, mmdbErr(off, "type %d not allowed here", typ)
}

func toUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint64:
		return x, true
	case int64:
		if x >= 0 {
			return uint64(x), true
		}
	}
	return 0, false
}

// recPath follows map keys and array indexes ("0") through a decoded record.
func recPath(v any, keys ...string) any {
	for _, k := range keys {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			if k != "0" || len(x) == 0 {
				return nil
			}
			v = x[0]
		default:
			return nil
		}
	}
	return v
}

func pathString(v any, keys ...string) string {
	s, _ := recPath(v, keys...).(string)
	return cleanText(s)
}

func pathFloat(v any, keys ...string) *float64 {
	switch x := recPath(v, keys...).(type) {
	case float64:
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			return &x
		}
	}
	return nil
}

// mmdbFacts reads the ASN and geo shapes of GeoLite2/GeoIP2/DB-IP records,
// detected by the keys present.
func mmdbFacts(rec map[string]any) (asn asnFact, hasASN bool, geo geoFact, hasGeo bool) {
	if n, ok := toUint(rec["autonomous_system_number"]); ok && n > 0 && n <= math.MaxUint32 {
		asn = asnFact{asn: uint32(n), org: pathString(rec, "autonomous_system_organization")}
		hasASN = true
	}
	geo = geoFact{
		country:     countryCode(pathString(rec, "country", "iso_code")),
		countryName: pathString(rec, "country", "names", "en"),
		continent:   pathString(rec, "continent", "code"),
		region:      pathString(rec, "subdivisions", "0", "names", "en"),
		city:        pathString(rec, "city", "names", "en"),
	}
	geo.lat, geo.lon = validCoords(pathFloat(rec, "location", "latitude"), pathFloat(rec, "location", "longitude"))
	hasGeo = geo.country != "" || geo.city != "" || geo.lat != nil
	return asn, hasASN, geo, hasGeo
}
