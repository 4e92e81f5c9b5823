package capture

import "errors"

// Sentinel errors. Package main maps each one to a contract error code in
// one table; nothing else assigns codes. Unlike the other packages' their
// messages carry no "capture: " prefix: they were package main's, and the
// answers quote them word for word.
var (
	// ErrMalformed is wrapped by the error of a file that starts like a
	// capture but breaks before its first packet. A capture that breaks
	// later is analysed up to the break (Report.Truncated).
	ErrMalformed = errors.New("the file is a capture but broken before its first packet")

	// ErrChanged is wrapped when a capture read a second time, for its
	// heaviest sources, no longer holds the records of the first reading.
	ErrChanged = errors.New("the capture changed while it was read")

	// ErrTooManyFiles is wrapped when a call names more files than one
	// capture set may have (policy.Config.MaxSetFiles), or a glob matches
	// more, or its directory holds more names than a listing reads.
	ErrTooManyFiles = errors.New("too many files for one capture set")

	// ErrTooManyPackets is wrapped when the files of one call hold more
	// records than policy.Config.MaxPackets.
	ErrTooManyPackets = errors.New("too many packets for one call")

	// ErrBadGlob is wrapped when a glob argument is not a pattern this
	// package accepts (GlobCaptures).
	ErrBadGlob = errors.New("invalid glob pattern")

	// ErrCarveTooLarge is wrapped when a carve's output passes the bytes
	// its caller allowed.
	ErrCarveTooLarge = errors.New("the carved capture is larger than allowed")
)
