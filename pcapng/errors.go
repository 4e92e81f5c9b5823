package pcapng

import "errors"

// Sentinel errors of the readers. A reader error is sticky: once Next has
// returned one, every later call returns it again.
var (
	// ErrNotCapture: the first bytes are no pcap, pcapng or gzip magic.
	ErrNotCapture = errors.New("pcapng: not a pcap or pcapng capture")
	// ErrUnsupportedVersion: a pcap or pcapng version this reader does not read.
	ErrUnsupportedVersion = errors.New("pcapng: unsupported format version")
	// ErrLimit: a named limit (limits.go) was hit; the error wrapping it says which.
	ErrLimit = errors.New("pcapng: limit exceeded")
	// ErrMalformed: a structure is inconsistent (lengths, trailers, indexes).
	ErrMalformed = errors.New("pcapng: malformed capture")
)

// Sentinel errors of the header views (ParseEthernet, ParseIPv4, ...).
// Decode never returns them; it records the matching Anomaly bit instead.
var (
	// ErrHeaderTruncated: fewer bytes than the header's fixed or declared length.
	ErrHeaderTruncated = errors.New("pcapng: header truncated")
	// ErrHeaderInvalid: a version, length or offset field the header cannot have.
	ErrHeaderInvalid = errors.New("pcapng: header invalid")
)

// Sentinel errors of the Writer. A refusal writes nothing; the Writer
// stays usable. Lengths beyond a bound the Reader enforces wrap ErrLimit.
var (
	// ErrUnknownInterface: a packet of an interface not written by
	// WriteInterface in the current section, or not the record's own.
	ErrUnknownInterface = errors.New("pcapng: interface not written")
	// ErrUnwritable: a value pcapng cannot hold exactly (a timestamp
	// before 1970 or saturated, an original length beyond 32 bits), or a
	// block out of order (an interface before the section header, or
	// twice in it).
	ErrUnwritable = errors.New("pcapng: not writable")
)
