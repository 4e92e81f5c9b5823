package intel

import (
	"errors"
	"fmt"
)

// Sentinel errors. Package main maps ErrInvalidIP to the contract code
// invalid_ip and ErrTooManyIPs to too_many_ips.
var (
	// ErrInvalidIP: the text is not a single IPv4 or IPv6 address.
	ErrInvalidIP = errors.New("intel: invalid ip address")
	// ErrTooManyIPs: Correlate was given more than MaxCorrelateIPs inputs.
	ErrTooManyIPs = errors.New("intel: too many ip addresses")
	// ErrInsecureURL: an online provider URL that is not https.
	ErrInsecureURL = errors.New("intel: online provider url must be https")
	// ErrFileTooLarge: an offline file (after decompression) passed MaxFileBytes.
	ErrFileTooLarge = errors.New("intel: file too large")
	// ErrUnrecognised: an offline file whose format could not be identified.
	ErrUnrecognised = errors.New("intel: unrecognised file format")
	// ErrNoEntries: a recognised file that held no usable entry.
	ErrNoEntries = errors.New("intel: no usable entries")
	// ErrTooManyBroken: a file with more than MaxBrokenLines unusable lines.
	ErrTooManyBroken = errors.New("intel: too many unusable lines")
	// ErrMMDB: a MaxMind DB file that breaks the format (wrapped by FormatError).
	ErrMMDB = errors.New("intel: malformed mmdb")
	// ErrOverBudget: a file whose tables would pass what MaxIntelMemory (or
	// Options.MaxMemory) leaves after the files loaded before it.
	ErrOverBudget = errors.New("intel: over the intel memory budget")
	// ErrNotRegular: an entry of the intel directory that is not a regular
	// file (a FIFO, socket, device, or a symlink to one); it is never opened.
	ErrNotRegular = errors.New("intel: not a regular file")
)

// FormatError reports where a binary offline file (MMDB, a gzip header)
// breaks its format. Text formats do not fail on a bad line: they count it
// (SourceStatus.Skipped) and go on.
type FormatError struct {
	File   string // set by the directory loader
	Offset int64  // byte offset in the file (MMDB: in the section being decoded)
	Reason string
	Err    error // the sentinel, e.g. ErrMMDB
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("intel: %s offset %d: %s", e.File, e.Offset, e.Reason)
}

func (e *FormatError) Unwrap() error { return e.Err }
