package intel

import (
	"net/netip"
	"time"
)

// Formats recognised in the intel directory (SourceStatus.Format).
const (
	FormatIP2ASN          = "ip2asn"
	FormatRIR             = "rir_delegated"
	FormatDBIP            = "dbip_csv"
	FormatMMDB            = "mmdb"
	FormatList            = "list"
	FormatOTXImport       = "otx_import"
	FormatGreyNoiseImport = "greynoise_import"
)

// Licence facts shown in sources[] (INTEL.md §1.1, §2.2, §3.3).
const (
	licensePDDL       = "PDDL-1.0"
	licenseCCBY       = "CC-BY-4.0"
	attributionDBIP   = "IP Geolocation by DB-IP (https://db-ip.com)"
	licenseSpamhaus   = "Spamhaus DROP terms"
	attributionSpamhs = "(c) The Spamhaus Project"
)

// loadStats counts what a loader did with a file's lines.
type loadStats struct {
	entries   int  // entries stored
	skipped   int  // unusable lines (not an address, bad columns, too long)
	dropped   int  // usable but deliberately not stored (special-purpose, not routed, available)
	truncated bool // MaxRowsPerFile reached
}

// dataset is one loaded file.
type dataset struct {
	provider    string // provider name shown in sources[]
	format      string
	file        string
	asOf        time.Time // zero when unknown
	staleAfter  time.Duration
	license     string
	attribution string
	stats       loadStats

	// Exactly one of these is set, by format.
	asn  *asnTable
	geo  *geoTable
	rir  *rirTable
	list *listTable
	mmdb *mmdbReader
	otx  *otxTable
	gn   *gnTable
}

// asnFact is one AS answer: number, holder name, registration country.
type asnFact struct {
	asn     uint32
	org     string
	country string
}

// asnTable: iptoasn rows or DB-IP ASN rows; ids index infos (interned, so
// the hundreds of thousands of rows share one record per AS).
type asnTable struct {
	set   rangeSet
	infos []asnFact
}

// lookup returns the AS fact and the row's range.
func (t *asnTable) lookup(a netip.Addr) (asnFact, netip.Addr, netip.Addr, bool) {
	id, s, e := t.set.findRange(a)
	if id < 0 {
		return asnFact{}, s, e, false
	}
	return t.infos[id], s, e, true
}

// interner hands out one id per distinct value.
type interner[K comparable] struct {
	ids  map[K]int32
	vals []K
}

func (in *interner[K]) id(k K) int32 {
	if in.ids == nil {
		in.ids = make(map[K]int32)
	}
	if id, ok := in.ids[k]; ok {
		return id
	}
	id := int32(len(in.vals))
	in.ids[k] = id
	in.vals = append(in.vals, k)
	return id
}
