// Package intel classifies IP addresses and enriches public ones with offline
// databases (ASN, registration country, geolocation, blocklists, exported
// threat feeds) and, only when explicitly enabled, two online providers
// (AlienVault OTX and GreyNoise Community).
//
// Trust: every offline file is hostile input. Files are read through the
// fs.FS the caller gives (the sandboxed intel directory), regular files
// only and never opened otherwise, sizes are capped before and after
// decompression (and a gzip stream by its ratio), lines are capped, the
// tables of one load share a memory budget, and every parser counts the
// lines it could not use instead of failing the whole file. A broken file,
// or one past the budget, is reported by [DB.Sources] and never stops the
// others loading. Loads, reloads and lookups stop when their context ends.
// Online answers are hostile too: bodies are capped and only the needed
// fields are decoded. API keys are sent in request headers only and never
// appear in answers, errors or logs.
//
// Addresses are classified first against the IANA IPv4 and IPv6
// special-purpose registries ([Classify]); an address that is not globally
// reachable is never looked up online, and is skipped entirely unless
// Options.AllowPrivate is set.
//
// Offline data is loaded once by [Open] into sorted range tables (IPv4 as
// uint32 pairs, IPv6 as 128-bit pairs) and answered by binary search.
// [DB.Refresh] reloads the directory when a file changed.
//
// Fetch (fetch.go) builds a bundle of the freely licensed datasets on a
// connected host, and CheckBundle (bundle.go) checks one against its
// manifest (docs/INTEL.md §8.4, §8.5). Fetch is the package's only other
// network access; it runs only when called, and treats every response as
// hostile input: capped, timed, verified by loading it before it replaces
// the copy in place.
//
// The limits are in limits.go with the reason for each value.
package intel
