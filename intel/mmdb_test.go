package intel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"slices"
	"testing"
)

// Test-only MMDB writer: just enough of the format to build tiny
// databases with every type the reader decodes.

type mmdbPtr int // a pointer to this data-section offset

type mmdbU16 uint16
type mmdbU32 uint32
type mmdbI32 int32

func mmdbCtrl(typ, size int) []byte {
	var out []byte
	first := byte(0)
	if typ <= 7 {
		first = byte(typ << 5)
	}
	var ext []byte
	switch {
	case size < 29:
		first |= byte(size)
	case size < 285:
		first |= 29
		ext = []byte{byte(size - 29)}
	case size < 65821:
		first |= 30
		v := size - 285
		ext = []byte{byte(v >> 8), byte(v)}
	default:
		first |= 31
		v := size - 65821
		ext = []byte{byte(v >> 16), byte(v >> 8), byte(v)}
	}
	out = append(out, first)
	if typ > 7 {
		out = append(out, byte(typ-7))
	}
	return append(out, ext...)
}

func minimalBE(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	i := 0
	for i < 8 && b[i] == 0 {
		i++
	}
	return b[i:]
}

func mmdbEncode(v any) []byte {
	switch x := v.(type) {
	case string:
		return append(mmdbCtrl(mmdbString, len(x)), x...)
	case []byte:
		return append(mmdbCtrl(mmdbBytes, len(x)), x...)
	case float64:
		b := binary.BigEndian.AppendUint64(nil, math.Float64bits(x))
		return append(mmdbCtrl(mmdbDouble, 8), b...)
	case float32:
		b := binary.BigEndian.AppendUint32(nil, math.Float32bits(x))
		return append(mmdbCtrl(mmdbFloat, 4), b...)
	case mmdbU16:
		b := minimalBE(uint64(x))
		return append(mmdbCtrl(mmdbUint16, len(b)), b...)
	case mmdbU32:
		b := minimalBE(uint64(x))
		return append(mmdbCtrl(mmdbUint32, len(b)), b...)
	case uint64:
		b := minimalBE(x)
		return append(mmdbCtrl(mmdbUint64, len(b)), b...)
	case mmdbI32:
		b := binary.BigEndian.AppendUint32(nil, uint32(x))
		return append(mmdbCtrl(mmdbInt32, 4), b...)
	case bool:
		n := 0
		if x {
			n = 1
		}
		return mmdbCtrl(mmdbBool, n)
	case []any:
		out := mmdbCtrl(mmdbArray, len(x))
		for _, e := range x {
			out = append(out, mmdbEncode(e)...)
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out := mmdbCtrl(mmdbMap, len(x))
		for _, k := range keys {
			out = append(out, mmdbEncode(k)...)
			out = append(out, mmdbEncode(x[k])...)
		}
		return out
	case mmdbPtr:
		p := int(x)
		switch {
		case p < 2048:
			return []byte{0x20 | byte(p>>8), byte(p)}
		case p < 2048+524288:
			p -= 2048
			return []byte{0x28 | byte(p>>16), byte(p >> 8), byte(p)}
		case p < 526336+134217728:
			p -= 526336
			return []byte{0x30 | byte(p>>24), byte(p >> 16), byte(p >> 8), byte(p)}
		}
		return append([]byte{0x38}, binary.BigEndian.AppendUint32(nil, uint32(p))...)
	}
	panic("mmdbEncode: unsupported type")
}

type trieNode struct {
	child [2]*trieNode
	data  [2]int // data offset + 1 for a record pointing at data, 0 for none
}

type mmdbEntry struct {
	prefix netip.Prefix
	off    int // data-section offset of the record
}

// buildMMDB writes a database with the given record size and IP version.
// data is the data section (records at the offsets the entries name).
func buildMMDB(recordSize, ipVersion int, data []byte, entries []mmdbEntry, meta map[string]any) []byte {
	root := &trieNode{}
	for _, e := range entries {
		addr, bits := e.prefix.Addr(), e.prefix.Bits()
		var ip []byte
		if ipVersion == 6 {
			b := addr.As16()
			if addr.Is4() { // IPv4 lives at ::/96 (not ::ffff:0:0/96)
				b4 := addr.As4()
				b = [16]byte{}
				copy(b[12:], b4[:])
				bits += 96
			}
			ip = b[:]
		} else {
			b := addr.As4()
			ip = b[:]
		}
		n := root
		for i := 0; i < bits-1; i++ {
			bit := (ip[i/8] >> (7 - i%8)) & 1
			if n.child[bit] == nil {
				n.child[bit] = &trieNode{}
			}
			n = n.child[bit]
		}
		last := bits - 1
		n.data[(ip[last/8]>>(7-last%8))&1] = e.off + 1
	}
	var order []*trieNode
	index := map[*trieNode]int{}
	queue := []*trieNode{root}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		index[n] = len(order)
		order = append(order, n)
		for _, c := range n.child {
			if c != nil {
				queue = append(queue, c)
			}
		}
	}
	nodeCount := len(order)
	var tree []byte
	for _, n := range order {
		var rec [2]uint32
		for b := 0; b < 2; b++ {
			switch {
			case n.child[b] != nil:
				rec[b] = uint32(index[n.child[b]])
			case n.data[b] > 0:
				rec[b] = uint32(nodeCount + 16 + n.data[b] - 1)
			default:
				rec[b] = uint32(nodeCount)
			}
		}
		tree = append(tree, packNode(recordSize, rec[0], rec[1])...)
	}
	meta["node_count"] = mmdbU32(nodeCount)
	meta["record_size"] = mmdbU16(recordSize)
	meta["ip_version"] = mmdbU16(ipVersion)
	if _, ok := meta["binary_format_major_version"]; !ok {
		meta["binary_format_major_version"] = mmdbU16(2)
	}
	out := append(tree, make([]byte, 16)...)
	out = append(out, data...)
	out = append(out, mmdbMarker...)
	return append(out, mmdbEncode(meta)...)
}

func packNode(size int, l, r uint32) []byte {
	switch size {
	case 24:
		return []byte{byte(l >> 16), byte(l >> 8), byte(l), byte(r >> 16), byte(r >> 8), byte(r)}
	case 28:
		return []byte{byte(l >> 16), byte(l >> 8), byte(l), byte(l>>24)<<4 | byte(r>>24)&0x0f, byte(r >> 16), byte(r >> 8), byte(r)}
	}
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, l), r)
}

// testMMDB builds the fixture of docs/INTEL.md §7: two IPv4 networks and one
// IPv6 network, a pointer-shared string, every scalar type.
func testMMDB(recordSize, ipVersion int) []byte {
	var data []byte
	shared := len(data)
	data = append(data, mmdbEncode("EXAMPLE-AS-1 Example One GmbH")...)
	germany := len(data)
	data = append(data, mmdbEncode(map[string]any{
		"autonomous_system_number":       mmdbU32(64496),
		"autonomous_system_organization": mmdbPtr(shared),
		"country":                        map[string]any{"iso_code": "DE", "names": map[string]any{"en": "Germany", "de": "Deutschland"}},
		"continent":                      map[string]any{"code": "EU"},
		"city":                           map[string]any{"names": map[string]any{"en": "Berlin"}},
		"subdivisions":                   []any{map[string]any{"iso_code": "BE", "names": map[string]any{"en": "Land Berlin"}}},
		"location":                       map[string]any{"latitude": 52.5, "longitude": 13.4, "accuracy_radius": mmdbU16(100)},
		"extra":                          []any{int64Marker(), true, false, float32(1.5), []byte{1, 2}, uint64(1) << 40},
	})...)
	second := len(data)
	data = append(data, mmdbEncode(map[string]any{
		"autonomous_system_number":       mmdbU32(64500),
		"autonomous_system_organization": "EXAMPLE-AS-2 Example Two Ltd",
		"also":                           mmdbPtr(shared),
	})...)
	entries := []mmdbEntry{{netip.MustParsePrefix("31.0.0.0/22"), germany}, {netip.MustParsePrefix("31.0.4.0/22"), second}}
	if ipVersion == 6 {
		japan := len(data)
		data = append(data, mmdbEncode(map[string]any{"country": map[string]any{"iso_code": "JP", "names": map[string]any{"en": "Japan"}}})...)
		entries = append(entries, mmdbEntry{netip.MustParsePrefix("2a0f:1000::/32"), japan})
	}
	return buildMMDB(recordSize, ipVersion, data, entries, map[string]any{
		"database_type": "Test-City", "languages": []any{"en"}, "binary_format_minor_version": mmdbU16(0),
		"build_epoch": uint64(1767225600), "description": map[string]any{"en": "SYNTHETIC TEST DATA"},
	})
}

func int64Marker() mmdbI32 { return -5 }

func TestMMDBRecordDecode(t *testing.T) {
	cases := []struct {
		size        int
		node        []byte
		left, right uint32
	}{
		{24, []byte{1, 2, 3, 4, 5, 6}, 0x010203, 0x040506},
		{28, []byte{0x12, 0x34, 0x56, 0xa7, 0x89, 0xab, 0xcd}, 0xa123456, 0x789abcd},
		{32, []byte{0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1}, 0xdeadbeef, 1},
	}
	for _, c := range cases {
		m := &mmdbReader{tree: append(make([]byte, len(c.node)), c.node...), recordSize: c.size, nodeBytes: c.size / 4, nodeCount: 2}
		if l, r := m.record(1, 0), m.record(1, 1); l != c.left || r != c.right {
			t.Errorf("record size %d: %#x %#x, want %#x %#x", c.size, l, r, c.left, c.right)
		}
		if got := packNode(c.size, c.left, c.right); !bytes.Equal(got, c.node) {
			t.Errorf("packNode(%d) = %x, want %x", c.size, got, c.node)
		}
	}
}

func TestMMDBLookup(t *testing.T) {
	for _, ipv := range []int{4, 6} {
		for _, rs := range []int{24, 28, 32} {
			buf := testMMDB(rs, ipv)
			m, err := openMMDB(buf)
			if err != nil {
				t.Fatalf("openMMDB(v%d, %d) = %v", ipv, rs, err)
			}
			if m.dbType != "Test-City" || m.asOf().Unix() != 1767225600 {
				t.Errorf("metadata %q %v", m.dbType, m.asOf())
			}
			rec, prefix, ok, err := m.lookup(ip("31.0.2.3"))
			if err != nil || !ok || prefix.String() != "31.0.0.0/22" {
				t.Fatalf("v%d/%d lookup(31.0.2.3) = %v %v %v", ipv, rs, prefix, ok, err)
			}
			asn, hasASN, geo, hasGeo := mmdbFacts(rec)
			if !hasASN || asn.asn != 64496 || asn.org != "EXAMPLE-AS-1 Example One GmbH" {
				t.Errorf("asn = %+v", asn)
			}
			if !hasGeo || geo.country != "DE" || geo.countryName != "Germany" || geo.city != "Berlin" || geo.region != "Land Berlin" ||
				geo.continent != "EU" || *geo.lat != 52.5 || *geo.lon != 13.4 {
				t.Errorf("geo = %+v", geo)
			}
			extra := rec["extra"].([]any)
			if extra[0] != int64(-5) || extra[1] != true || extra[2] != false || extra[3] != 1.5 || !bytes.Equal(extra[4].([]byte), []byte{1, 2}) || extra[5] != uint64(1)<<40 {
				t.Errorf("extra = %#v", extra)
			}
			rec, _, ok, _ = m.lookup(ip("::ffff:31.0.7.255"))
			if !ok || rec["also"] != "EXAMPLE-AS-1 Example One GmbH" || rec["autonomous_system_organization"] != "EXAMPLE-AS-2 Example Two Ltd" {
				t.Errorf("second record = %v %v", rec, ok)
			}
			if _, p, ok, err := m.lookup(ip("31.0.8.0")); ok || err != nil {
				t.Errorf("lookup(31.0.8.0) = %v %v %v", p, ok, err)
			}
			_, _, ok, err = m.lookup(ip("2a0f:1000::1"))
			if ok != (ipv == 6) || err != nil {
				t.Errorf("v%d lookup(2a0f:1000::1) found=%v err=%v", ipv, ok, err)
			}
		}
	}
}

func TestMMDBHostile(t *testing.T) {
	good := testMMDB(24, 4)
	markerAt := bytes.LastIndex(good, mmdbMarker)
	cases := map[string][]byte{
		"empty":          nil,
		"no marker":      bytes.Repeat([]byte{0}, 100),
		"marker only":    mmdbMarker,
		"tree too large": buildMMDBMeta(map[string]any{"node_count": mmdbU32(1 << 30), "record_size": mmdbU16(24), "ip_version": mmdbU16(4), "binary_format_major_version": mmdbU16(2)}),
		"bad record":     buildMMDBMeta(map[string]any{"node_count": mmdbU32(0), "record_size": mmdbU16(20), "ip_version": mmdbU16(4), "binary_format_major_version": mmdbU16(2)}),
		"major 3":        buildMMDBMeta(map[string]any{"node_count": mmdbU32(0), "record_size": mmdbU16(24), "ip_version": mmdbU16(4), "binary_format_major_version": mmdbU16(3)}),
		"meta not map":   append(append([]byte{}, mmdbMarker...), mmdbEncode("x")...),
		"cut metadata":   good[:len(good)-3],
		"cut data":       append(append(append([]byte{}, good[:markerAt-40]...), mmdbMarker...), good[markerAt+len(mmdbMarker):]...),
	}
	for name, buf := range cases {
		m, err := openMMDB(buf)
		if err == nil {
			// Opening may succeed when only the data is damaged: the
			// lookups must then fail cleanly.
			for _, a := range []string{"31.0.2.3", "31.0.5.5", "1.1.1.1"} {
				if _, _, _, err := m.lookup(ip(a)); err != nil && !errors.Is(err, ErrMMDB) {
					t.Errorf("%s: lookup error %v not ErrMMDB", name, err)
				}
			}
			if name != "cut data" {
				t.Errorf("%s: openMMDB succeeded", name)
			}
			continue
		}
		if !errors.Is(err, ErrMMDB) {
			t.Errorf("%s: error %v is not ErrMMDB", name, err)
		}
	}
}

func buildMMDBMeta(meta map[string]any) []byte {
	return append(append([]byte{}, mmdbMarker...), mmdbEncode(meta)...)
}

func TestMMDBDecoderHostile(t *testing.T) {
	// Each must fail with ErrMMDB, not panic or loop.
	nest := func(n int) []byte { // n arrays of one element each, then a string
		var b []byte
		for range n {
			b = append(b, mmdbCtrl(mmdbArray, 1)...)
		}
		return append(b, mmdbEncode("x")...)
	}
	// Exponential sharing: node i is an array of two pointers to node i-1.
	var fan []byte
	offs := []int{0}
	fan = append(fan, mmdbEncode("leaf")...)
	for i := 1; i < 30; i++ {
		offs = append(offs, len(fan))
		fan = append(fan, mmdbCtrl(mmdbArray, 2)...)
		fan = append(fan, mmdbEncode(mmdbPtr(offs[i-1]))...)
		fan = append(fan, mmdbEncode(mmdbPtr(offs[i-1]))...)
	}
	// Amplification: an array of 1000 pointers to one 64 KiB string.
	var amp []byte
	amp = append(amp, mmdbEncode(string(bytes.Repeat([]byte{'s'}, 64<<10)))...)
	ampAt := len(amp)
	amp = append(amp, mmdbCtrl(mmdbArray, 1000)...)
	for range 1000 {
		amp = append(amp, mmdbEncode(mmdbPtr(0))...)
	}
	cases := map[string]struct {
		data []byte
		off  int
	}{
		"text amplification": {amp, ampAt},
		"pointer to pointer": {append(mmdbEncode(mmdbPtr(2)), mmdbEncode(mmdbPtr(0))...), 0},
		"pointer cycle":      {append(mmdbCtrl(mmdbArray, 1), mmdbEncode(mmdbPtr(0))...), 0},
		"pointer outside":    {mmdbEncode(mmdbPtr(500)), 0},
		"deep nesting":       {nest(MaxMMDBDepth + 5), 0},
		"huge map":           {mmdbCtrl(mmdbMap, 60000), 0},
		"huge array":         {mmdbCtrl(mmdbArray, 60000), 0},
		"string past end":    {append(mmdbCtrl(mmdbString, 20), 'a'), 0},
		"double size 4":      {append(mmdbCtrl(mmdbDouble, 4), 0, 0, 0, 0), 0},
		"uint32 size 5":      {append(mmdbCtrl(mmdbUint32, 5), 1, 2, 3, 4, 5), 0},
		"bool size 2":        {mmdbCtrl(mmdbBool, 2), 0},
		"extended 16":        {[]byte{0x00, 9}, 0},
		"cache container":    {mmdbCtrl(mmdbCache, 0), 0},
		"end marker":         {mmdbCtrl(mmdbEnd, 0), 0},
		"map int key":        {append(mmdbCtrl(mmdbMap, 1), append(mmdbEncode(mmdbU16(1)), mmdbEncode("v")...)...), 0},
		"truncated size":     {[]byte{0x5f}, 0},
		"truncated pointer":  {[]byte{0x38, 0}, 0},
		"exponential fan":    {fan, offs[len(offs)-1]},
	}
	for name, c := range cases {
		d := mmdbDecoder{data: c.data}
		if _, _, err := d.decode(c.off, 0); !errors.Is(err, ErrMMDB) {
			t.Errorf("%s: decode error %v, want ErrMMDB", name, err)
		}
	}
	// And the size encodings at their boundaries decode back.
	for _, n := range []int{0, 28, 29, 284, 285, 65820, 65821, 70000} {
		s := string(bytes.Repeat([]byte{'a'}, n))
		d := mmdbDecoder{data: mmdbEncode(s)}
		if v, next, err := d.decode(0, 0); err != nil || v != s || next != len(d.data) {
			t.Errorf("string of %d: %v %d", n, err, next)
		}
	}
	for _, p := range []int{5, 2047, 2048, 526335, 526336, 600000} {
		data := append(mmdbEncode(mmdbPtr(p)), make([]byte, p+1)...)
		d := mmdbDecoder{data: data}
		target, after, err := d.pointer(0)
		if err != nil || target != p || after != len(mmdbEncode(mmdbPtr(p))) {
			t.Errorf("pointer %d = %d %d %v", p, target, after, err)
		}
	}
	// The 4-byte form ignores the low bits of the control byte.
	d := mmdbDecoder{data: append([]byte{0x3f, 0, 0, 0, 6}, mmdbEncode("z")...)}
	if v, _, err := d.decode(0, 0); !errors.Is(err, ErrMMDB) || v != nil { // offset 6 is the 'z', not a value
		t.Errorf("4-byte pointer into a string's payload = %v %v", v, err)
	}
	d = mmdbDecoder{data: append([]byte{0x3f, 0, 0, 0, 5}, mmdbEncode("z")...)}
	if v, next, err := d.decode(0, 0); err != nil || v != "z" || next != 5 {
		t.Errorf("4-byte pointer = %v %d %v", v, next, err)
	}
}

func FuzzMMDB(f *testing.F) {
	f.Add(testMMDB(24, 4))
	f.Add(testMMDB(28, 6))
	f.Add(testMMDB(32, 6))
	f.Add(buildMMDBMeta(map[string]any{"node_count": mmdbU32(0), "record_size": mmdbU16(24), "ip_version": mmdbU16(4), "binary_format_major_version": mmdbU16(2)}))
	addrs := []netip.Addr{ip("31.0.2.3"), ip("31.0.5.1"), ip("2a0f:1000::1"), ip("0.0.0.0"), ip("255.255.255.255"), ip("::"), ip("ffff::1")}
	f.Fuzz(func(t *testing.T, buf []byte) {
		fuzzMMDBFile(t, buf, addrs)
		// The same bytes as the data section of a valid tree whose
		// 31.0.0.0/22 record is at offset 0: exercises the decoder
		// through lookups even when the metadata would not parse.
		fuzzMMDBFile(t, buildMMDB(24, 4, buf, []mmdbEntry{{netip.MustParsePrefix("31.0.0.0/22"), 0}},
			map[string]any{"database_type": "Fuzz"}), addrs)
	})
}

func fuzzMMDBFile(t *testing.T, buf []byte, addrs []netip.Addr) {
	m, err := openMMDB(buf)
	if err != nil {
		if m != nil || !errors.Is(err, ErrMMDB) {
			t.Fatalf("openMMDB = %v, %v", m, err)
		}
		return
	}
	{
		for _, a := range addrs {
			rec, _, ok, err := m.lookup(a)
			if err != nil && (ok || rec != nil) {
				t.Fatalf("lookup(%v) returned data with error %v", a, err)
			}
			if ok {
				mmdbFacts(rec)
			}
		}
		d := mmdbDecoder{data: buf}
		if v, _, err := d.decode(0, 0); err != nil && v != nil {
			t.Fatalf("decode returned %v with error %v", v, err)
		}
		if d.values > MaxMMDBValues+1 {
			t.Fatalf("decoded %d values", d.values)
		}
	}
}

// TestMMDBBadCoordinates: a record's location is kept only when both
// coordinates are on the globe.
func TestMMDBBadCoordinates(t *testing.T) {
	for _, c := range []struct {
		lat, lon any
		keep     bool
	}{
		{52.5, 13.4, true}, {-90.0, 180.0, true}, {91.0, 13.4, false}, {52.5, -180.5, false},
		{math.Inf(1), 0.0, false}, {math.NaN(), 0.0, false}, {52.5, nil, false}, {"52.5", 13.4, false},
	} {
		loc := map[string]any{"latitude": c.lat}
		if c.lon != nil {
			loc["longitude"] = c.lon
		}
		_, _, geo, _ := mmdbFacts(map[string]any{"location": loc})
		if (geo.lat != nil) != c.keep || (geo.lon != nil) != c.keep {
			t.Errorf("mmdbFacts(latitude %v, longitude %v) = %v, %v, want kept %v", c.lat, c.lon, geo.lat, geo.lon, c.keep)
		}
	}
}
