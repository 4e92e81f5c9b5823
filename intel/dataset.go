package intel

import (
	"fmt"
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

// Licence facts shown in sources[] (docs/INTEL.md §1.1, §2.2, §3.3).
const (
	licensePDDL       = "PDDL-1.0"
	licenseCCBY       = "CC-BY-4.0"
	attributionDBIP   = "IP Geolocation by DB-IP (https://db-ip.com)"
	licenseSpamhaus   = "Spamhaus DROP terms"
	attributionSpamhs = "(c) The Spamhaus Project"
)

// loadStats counts what a loader did with a file's lines, and the memory
// it holds against what the budget left it.
type loadStats struct {
	entries   int  // entries stored
	skipped   int  // unusable lines (not an address, bad columns, too long)
	dropped   int  // usable but deliberately not stored (special-purpose, not routed, available, duplicate)
	truncated bool // MaxRowsPerFile reached

	bytes int64 // working set so far: entryBytes per entry plus the text kept
	allow int64 // what the budget leaves this file; 0 means no limit (loader tests)
}

// store counts one stored entry and the bytes of text and payload it
// brought (0 when its payload is shared with earlier entries).
func (st *loadStats) store(extra int) error {
	st.entries++
	return st.charge(entryBytes + int64(extra))
}

// charge adds n bytes to the file's working set; past the allowance the
// load stops with ErrOverBudget and the file is refused.
func (st *loadStats) charge(n int64) error {
	st.bytes += n
	if st.allow > 0 && st.bytes > st.allow {
		return fmt.Errorf("%w: its tables need more than the %d bytes left to it", ErrOverBudget, st.allow)
	}
	return nil
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

// id returns k's id and whether k is new (its bytes are then to be charged).
func (in *interner[K]) id(k K) (int32, bool) {
	if in.ids == nil {
		in.ids = make(map[K]int32)
	}
	if id, ok := in.ids[k]; ok {
		return id, false
	}
	id := int32(len(in.vals))
	in.ids[k] = id
	in.vals = append(in.vals, k)
	return id, true
}
