package intel

import "encoding/json"

// Enrichment is the enrich_ip answer for one address (docs/INTEL.md §6 and
// docs/CONTRACT.md §3.4). Every key is always present; a value nobody supplied is
// null, never guessed. When the address was skipped (not globally reachable
// and AllowPrivate off) Skip is set and the value marshals as the Skip shape.
type Enrichment struct {
	IP             string         `json:"ip"`
	Input          string         `json:"input"`
	NormalizedFrom *string        `json:"normalized_from"` // "ipv4_mapped", "zone", "zone,ipv4_mapped" or null
	Version        int            `json:"version"`
	Classification Classification `json:"classification"`
	// ASN is "AS64500" (docs/CONTRACT.md §3.4 prints the AS as text); ASNumber is
	// the same number for programs.
	ASN      *string  `json:"asn"`
	ASNumber *uint32  `json:"asn_number"`
	Org      *string  `json:"org"`
	Network  *Network `json:"network"`
	Geo      Geo      `json:"geo"`
	Threat   Threat   `json:"threat"`
	Sources  []Source `json:"sources"`
	// Partial is true when an enabled provider ended in timeout,
	// rate_limited or error.
	Partial bool `json:"partial"`

	Skip *Skip `json:"-"`
}

// Skip is the answer for an address that is not enriched because it is not
// globally reachable (docs/CONTRACT.md §3.4: skipped, reason private_ip, category).
type Skip struct {
	IP       string  `json:"ip"`
	Input    string  `json:"input"`
	Skipped  bool    `json:"skipped"`
	Reason   string  `json:"reason"` // "private_ip"
	Category string  `json:"category"`
	Block    *string `json:"block"`
	Name     *string `json:"name"`
	RFC      *string `json:"rfc"`
}

type enrichmentJSON Enrichment // no methods: plain struct encoding

// MarshalJSON writes the Skip shape for a skipped address and the full
// enrichment otherwise.
func (e Enrichment) MarshalJSON() ([]byte, error) {
	if e.Skip != nil {
		return json.Marshal(e.Skip)
	}
	return json.Marshal(enrichmentJSON(e))
}

// Network is the range the ASN answer came from, with its CIDR split.
type Network struct {
	Start string   `json:"start"`
	End   string   `json:"end"`
	CIDRs []string `json:"cidrs"`
}

// Geo: Kind is "registration" (RIR or AS country) or "geolocation" (MMDB,
// DB-IP, OTX); Registry names the RIR whose delegation covers the address.
type Geo struct {
	Country     *string  `json:"country"`
	CountryName *string  `json:"country_name"`
	Continent   *string  `json:"continent"`
	Region      *string  `json:"region"`
	City        *string  `json:"city"`
	Latitude    *float64 `json:"latitude"`
	Longitude   *float64 `json:"longitude"`
	Kind        *string  `json:"kind"`
	Registry    *string  `json:"registry"`
}

// Threat gathers blocklist listings and the two threat providers. Listed
// is true when at least one blocklist lists the address.
type Threat struct {
	Listed     bool      `json:"listed"`
	Blocklists []Listing `json:"blocklists"`
	OTX        OTX       `json:"otx"`
	GreyNoise  GreyNoise `json:"greynoise"`
}

// Listing is one blocklist entry covering the address.
type Listing struct {
	List  string  `json:"list"`
	Entry string  `json:"entry"` // the listed network (innermost)
	Ref   *string `json:"ref"`   // SBL id, malware family
	AsOf  *string `json:"as_of"`
}

// OTX is threat.otx. Source is "otx" (online) or "otx_import" (a saved
// export), null when neither answered.
type OTX struct {
	Status          string       `json:"status"`
	Reason          *string      `json:"reason"`
	Source          *string      `json:"source"`
	PulseCount      *int         `json:"pulse_count"`
	Reputation      *int         `json:"reputation"`
	Pulses          []Pulse      `json:"pulses"`
	MalwareFamilies []string     `json:"malware_families"`
	Adversaries     []string     `json:"adversaries"`
	Validation      []Validation `json:"validation"`
	Link            *string      `json:"link"`
	RetryAfterS     *int         `json:"retry_after_s"`
}

// Pulse is one OTX pulse naming the address.
type Pulse struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Tags     []string `json:"tags"`
	TLP      *string  `json:"tlp"`
	Modified *string  `json:"modified"`
	Author   *string  `json:"author"`
}

// Validation is an OTX validation note ("Whitelisted IP", "Known False
// Positive"): shown because it suppresses false alarms.
type Validation struct {
	Source  string `json:"source"`
	Name    string `json:"name"`
	Message string `json:"message"`
}

// GreyNoise is threat.greynoise. Observed is false for a 404 (not seen
// scanning and not in RIOT).
type GreyNoise struct {
	Status         string  `json:"status"`
	Reason         *string `json:"reason"`
	Source         *string `json:"source"`
	Observed       *bool   `json:"observed"`
	Noise          *bool   `json:"noise"`
	Riot           *bool   `json:"riot"`
	Classification *string `json:"classification"`
	Name           *string `json:"name"`
	LastSeen       *string `json:"last_seen"`
	Link           *string `json:"link"`
	RetryAfterS    *int    `json:"retry_after_s"`
}

// Source is one provider's part in an answer: its status, the fields it
// supplied, and the provenance of the data.
type Source struct {
	Provider    string   `json:"provider"`
	Kind        string   `json:"kind"` // "offline" or "online"
	Status      string   `json:"status"`
	Fields      []string `json:"fields"`
	Dataset     *string  `json:"dataset"`
	AsOf        *string  `json:"as_of"`
	Stale       *bool    `json:"stale"`
	License     *string  `json:"license"`
	Attribution *string  `json:"attribution"`
	Cached      bool     `json:"cached"`
	FetchedAt   *string  `json:"fetched_at"`
	LatencyMS   int64    `json:"latency_ms"`
	Error       *string  `json:"error"`
	Reason      *string  `json:"reason"`
	RetryAfterS *int     `json:"retry_after_s"`
}

// Provider statuses.
const (
	StatusOK          = "ok"
	StatusNotFound    = "not_found"
	StatusDisabled    = "disabled"
	StatusUnsupported = "unsupported"
	StatusTimeout     = "timeout"
	StatusRateLimited = "rate_limited"
	StatusError       = "error"
)

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
