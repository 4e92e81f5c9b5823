package intel

// The memory budget (MaxIntelMemory) counts what the offline tables hold,
// never what a file decompresses to: text loaders stream, and what they
// keep is charged as it is stored (loadStats.store), so a file is refused
// (ErrOverBudget) as soon as its working set passes what the files before
// it left. Once loaded, a dataset is charged its tables' size (size below).
// The figures are estimates from the structures' layout on a 64-bit
// platform (budget_test.go checks them against unsafe.Sizeof); strings are
// 16 bytes plus their text, slices 24, netip.Addr 24.
const (
	// entryBytes is the working set of one stored entry while its file
	// loads: its span (56 B) twice over (append's spare room, then the
	// sort's merge buffer) and up to two ranges of the built table with the
	// parent link (76 B for IPv6).
	entryBytes = 192

	spanBytes      = 56  // two netip.Addr and an int32
	asnFactBytes   = 40  // uint32, two strings
	rirFactBytes   = 48  // three strings
	geoKeyBytes    = 88  // four strings, two float64, a bool
	geoFactBytes   = 96  // five strings, two *float64
	listEntryBytes = 48  // netip.Prefix (32 B), a string
	otxPulseBytes  = 144 // six strings, two slices
	otxPairBytes   = 40  // netip.Prefix, an int32
	gnRecordBytes  = 80  // two *bool, four strings
	addrBytes      = 24  // netip.Addr
	floatBytes     = 8   // one allocated float64 (a coordinate)
	boolBytes      = 8   // one allocated bool (the smallest size class)

	// mapSlack: a Go map holds about twice its entries' bytes (buckets are
	// at most 7/8 full and grow by doubling), so a map entry is charged
	// (1+mapSlack) times its key and value.
	mapSlack = 1
)

// internCost is what one new interned value costs: the value kept in the
// table and the same value as a key of the interning map.
func internCost(valBytes, text int) int {
	return valBytes + (valBytes+4)*(1+mapSlack) + text
}

// size is the memory the set's slices hold.
func (t *rangeSet) size() int64 {
	return 4*int64(cap(t.s4)+cap(t.e4)+cap(t.id4)+cap(t.id6)+cap(t.parent)) + 16*int64(cap(t.s6)+cap(t.e6))
}

// size estimates the memory a loaded dataset holds: what the budget is
// charged for it and what the sources report shows as "bytes".
func (ds *dataset) size() int64 {
	var n int64
	switch {
	case ds.asn != nil:
		n = ds.asn.set.size() + int64(cap(ds.asn.infos))*asnFactBytes
		for _, f := range ds.asn.infos {
			n += int64(len(f.org) + len(f.country))
		}
	case ds.geo != nil:
		n = ds.geo.set.size() + int64(cap(ds.geo.infos))*geoFactBytes
		for _, f := range ds.geo.infos {
			n += int64(len(f.country) + len(f.countryName) + len(f.continent) + len(f.region) + len(f.city))
			if f.lat != nil {
				n += 2 * floatBytes
			}
		}
	case ds.rir != nil:
		n = ds.rir.set.size() + int64(cap(ds.rir.infos))*rirFactBytes
		for _, f := range ds.rir.infos {
			n += int64(len(f.registry) + len(f.country) + len(f.status))
		}
	case ds.list != nil:
		n = ds.list.set.size() + int64(cap(ds.list.entries))*listEntryBytes
		for _, e := range ds.list.entries {
			n += int64(len(e.ref))
		}
	case ds.mmdb != nil:
		n = ds.mmdb.bufBytes
	case ds.otx != nil:
		t := ds.otx
		n = t.set.size() + 4*int64(cap(t.first)+cap(t.pulseIdx)) + int64(cap(t.pulses))*otxPulseBytes
		for i := range t.pulses {
			n += int64(t.pulses[i].textBytes())
		}
	case ds.gn != nil:
		n = int64(len(ds.gn.byIP)) * (addrBytes + gnRecordBytes) * (1 + mapSlack)
		for _, r := range ds.gn.byIP {
			n += int64(r.textBytes())
		}
	}
	return n
}

// textBytes is what a pulse's strings and lists hold besides the struct.
func (p *otxPulse) textBytes() int {
	n := len(p.id) + len(p.name) + len(p.tlp) + len(p.modified) + len(p.author) + len(p.adversary)
	for _, s := range p.tags {
		n += 16 + len(s)
	}
	for _, s := range p.malware {
		n += 16 + len(s)
	}
	return n
}

// textBytes is what a GreyNoise record's strings and flags hold.
func (r *gnRecord) textBytes() int {
	n := len(r.classification) + len(r.name) + len(r.link) + len(r.lastSeen)
	if r.noise != nil {
		n += boolBytes
	}
	if r.riot != nil {
		n += boolBytes
	}
	return n
}
