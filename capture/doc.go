// Package capture reads a capture, or a rotated set of captures read as
// one, into a scan.Analysis with its capture report (the "capture" object
// of the answers), and caches analyses between calls.
//
// An Analyzer opens every file through a policy.Sandbox, reads at most
// policy.Config.MaxConcurrentAnalyses captures at a time and keeps the
// recent analyses by file identity (name, device, inode, size,
// modification time), so the tools asked about one capture read it once
// and a file that changed is read again. ReadFiles reads a set of files,
// opened by a function of the caller's, as one capture ordered by their
// first packets, and caches nothing. AnalyzeSet is the server's: a
// Request names one file or a rotated set and an optional time window
// (set.go), read within the set's limits with duplicates read once, and
// cached by the files' identities and the window. ListCaptures and
// GlobCaptures find captures by their first bytes within named bounds
// (catalog.go); Carve writes an address's packets into a new pcapng
// (carve.go).
//
// Trusted input: the configuration. Untrusted input: the files. A file is
// read only up to the size it had when opened; a gzip capture expands to
// at most 20 times the size limit, or 1 GiB if more (ReaderLimits); analyses
// being read and cached ones stay within the memory budget together; a
// capture that breaks after its first packet is analysed up to the break
// and reported truncated. Reading stops within milliseconds of the
// context's end.
package capture
