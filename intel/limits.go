package intel

import "time"

// Limits against hostile input and hostile or slow services. Package main may
// lower them through Options where a field exists; hitting one is reported in
// SourceStatus or in the provider status, never silently.
const (
	// MaxCorrelateIPs is the contract's cap on one correlate call.
	MaxCorrelateIPs = 1000
	// MaxInputLen bounds the text handed to ParseIP: the longest IPv6 text
	// with an IPv4 tail and a zone is far below it, so anything longer is
	// not an address and is not even parsed.
	MaxInputLen = 128
	// MaxEchoLen bounds how much of an invalid input is echoed back in a
	// correlate result, so 1000 huge strings cannot blow up the answer.
	MaxEchoLen = 64

	// MaxFiles caps the files looked at in the intel directory (a mistaken
	// directory full of files must not make startup take minutes).
	MaxFiles = 256
	// MaxDirDepth: files are looked for in the directory and in
	// subdirectories this many levels down (an OTX export is a folder).
	MaxDirDepth = 2
	// MaxFileBytes caps one file after decompression: the biggest real input
	// (GeoLite2-City.mmdb, a DB-IP city CSV) is well under it, and a gzip
	// bomb stops here.
	MaxFileBytes = 512 << 20
	// MaxLineLen caps one text line; real lines are under 300 bytes. A longer
	// line is skipped to the next newline and counted as unusable.
	MaxLineLen = 64 << 10
	// MaxRowsPerFile caps the entries taken from one file (iptoasn has about
	// 0.7 M rows, DB-IP city about 4 M). The rest is reported as truncated.
	MaxRowsPerFile = 8_000_000
	// MaxBrokenLines: past this many unusable lines a file is not what its
	// name says; it is abandoned with ErrTooManyBroken.
	MaxBrokenLines = 100_000
	// MaxTextField caps a stored name (AS org, city, pulse name) so one row
	// cannot make every answer huge.
	MaxTextField = 256
	// SniffLen is how much of a file's (decompressed) head is used to
	// identify its format.
	SniffLen = 4096

	// MaxIntelMemory is the memory the offline tables of one load may hold
	// together (the real set: iptoasn, a DB-IP city CSV, GeoLite2 City and
	// ASN, a few blocklists and OTX pages, is a few hundred MiB). Files are
	// loaded in lexical order; one whose tables, or whose working set while
	// it loads, would pass what the files before it left is refused, with
	// status "refused" in the sources report and a line in the log. A
	// reload builds new tables beside the old ones, so during a reload up to
	// twice this is held.
	MaxIntelMemory = 1 << 30
	// MaxGzipRatio caps how far a gzip'd file may inflate: real feeds
	// compress 3:1 to 15:1 (JSON exports about 20:1), a bomb 1000:1.
	// Reading stops with ErrFileTooLarge at this many times the compressed
	// size (and never below MinGzipAllowance), so the time spent inflating
	// is bounded by the bytes on disk.
	MaxGzipRatio = 64
	// MinGzipAllowance: a tiny compressed file may inflate to this much
	// whatever its ratio (a header and a few lines compress unevenly).
	MinGzipAllowance = 1 << 20
	// MaxJSONToken caps one JSON string or number of an OTX export: the
	// reader holds one whole to decode it, and real ones (pulse
	// descriptions) are a few KiB.
	MaxJSONToken = 1 << 20
	// MaxJSONDepth caps the nesting of an OTX export (real pages nest 5
	// deep): the reader keeps a byte per open level.
	MaxJSONDepth = 32
	// sortRun is how many entries are sorted between two looks at the
	// context while a table is built: 32768 spans sort in about 2 ms.
	sortRun = 1 << 15

	// MaxMMDBMetadata is the spec's bound on the metadata section, searched
	// for from the end of the file.
	MaxMMDBMetadata = 128 << 10
	// MaxMMDBDepth bounds map/array nesting and pointer following in one
	// decode (real databases nest 4 deep); a pointer cycle stops here.
	MaxMMDBDepth = 32
	// MaxMMDBValues bounds the values decoded for one record, so a record of
	// shared pointers cannot expand exponentially.
	MaxMMDBValues = 20_000
	// MaxMMDBRecordBytes bounds the string and byte payloads copied for one
	// record: a record of many pointers to one large string would otherwise
	// copy it each time (real city records are a few KiB).
	MaxMMDBRecordBytes = 1 << 20

	// MaxOTXBody and MaxGreyNoiseBody cap response bodies; real answers are
	// a few KiB (OTX with many pulses some hundred KiB).
	MaxOTXBody       = 4 << 20
	MaxGreyNoiseBody = 64 << 10
	// MaxOTXImportBytes caps one saved OTX page file.
	MaxOTXImportBytes = 256 << 20
	// MaxPulsesShown: answers list the most recently modified pulses only.
	MaxPulsesShown = 10
	// MaxNamesShown caps malware family and adversary lists.
	MaxNamesShown = 20
	// MaxCacheEntries is the per-provider LRU size for online answers.
	MaxCacheEntries = 10_000
)

// Time limits for online providers (docs/INTEL.md §5).
const (
	OTXTimeout           = 8 * time.Second
	GreyNoiseTimeout     = 5 * time.Second
	DefaultHTTPTimeout   = 10 * time.Second
	EnrichBudget         = 12 * time.Second
	CorrelateBudget      = 60 * time.Second
	PositiveTTL          = 24 * time.Hour
	NegativeTTL          = 12 * time.Hour
	MinCooldown          = 60 * time.Second
	OTXMaxCooldown       = 15 * time.Minute
	GreyNoiseMaxCooldown = time.Hour
	// GreyNoiseDailyBudget: the community quota is tiny and unpublished, so
	// at most this many requests per UTC day leave the host.
	GreyNoiseDailyBudget = 25
	// OTXRatePerSecond and OTXBurst: self-throttle, OTX publishes no limit.
	OTXRatePerSecond = 1
	OTXBurst         = 5
	// CorrelateWorkers bounds concurrent online enrichments in Correlate.
	CorrelateWorkers = 4
	// RefreshInterval: the directory is stat'ed at most this often.
	RefreshInterval = 60 * time.Second
)

// Limits of `porthunter intel fetch` (fetch.go), which reads responses
// from the internet: each is hostile input, however well known the host.
const (
	// FetchRetries is how many times a failed download is tried again
	// (server errors, 429, a dropped or stalled connection); a 4xx other
	// than 429 is not retried.
	FetchRetries = 3
	// FetchStallTimeout: a download that receives nothing (no header, no
	// byte of body) for this long is abandoned and tried again, so a
	// server that holds the connection open cannot hold the fetch forever.
	FetchStallTimeout = 60 * time.Second
	// FetchFileTimeout bounds one file, retries included: the largest
	// (a RIR file of some 40 MB) takes seconds on a working link.
	FetchFileTimeout = 30 * time.Minute
	// FetchMaxRetryAfter: a Retry-After longer than this is not waited
	// for; the file fails (the previous good copy stays) and the message
	// says when to come back.
	FetchMaxRetryAfter = 10 * time.Minute
	// fetchBackoff doubles from this after each failed attempt, up to
	// fetchMaxBackoff, with a quarter of jitter.
	fetchBackoff    = 2 * time.Second
	fetchMaxBackoff = 60 * time.Second
	// MaxManifestBytes caps the MANIFEST.json read back (a bundle of ten
	// files writes some 5 KiB).
	MaxManifestBytes = 1 << 20
	// fetchShrinkFloor: a new copy of a dataset that had at least this many
	// entries is refused when it has less than a tenth of them: a file
	// cut short but still parseable must not replace a whole one.
	fetchShrinkFloor = 1000
)

// Staleness thresholds for the as_of date of a dataset.
const (
	staleASN       = 30 * 24 * time.Hour
	staleRIR       = 30 * 24 * time.Hour
	staleDBIP      = 62 * 24 * time.Hour
	staleBlocklist = 7 * 24 * time.Hour
)
