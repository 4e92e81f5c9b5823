package mcp

import (
	"errors"
	"slices"
	"strings"

	"porthunter/capture"
	"porthunter/intel"
	"porthunter/policy"
)

// Errors of the server that have a contract code.
var (
	errCallTimeout = errors.New("the call took longer than its time limit")
	errServerBusy  = errors.New("the server is busy")
)

// errorCodes maps every sentinel to its contract code (docs/CONTRACT.md §4) and
// the sentence that tells the caller how to fix the call. It is the only
// place codes are assigned.
var errorCodes = []struct {
	err       error
	code, fix string
}{
	{policy.ErrUnauthorized, "unauthorized",
		"Pass auth_token equal to the server's PORT_HUNTER_TOKEN (the MCP host's config gives it in the server's env)."},
	{policy.ErrPathOutsideAllowedDir, "path_outside_allowed_dir",
		"Give a path relative to PORT_HUNTER_ALLOWED_DIR, without .. or links that lead out of it."},
	{policy.ErrPathNotFound, "path_not_found",
		"Check the file name: paths are relative to PORT_HUNTER_ALLOWED_DIR."},
	{policy.ErrNotRegularFile, "not_a_regular_file",
		"Name a capture file, not a directory, pipe or device."},
	{policy.ErrUnsupportedFileType, "unsupported_file_type",
		"Give a pcap or pcapng file (gzip-compressed is fine); convert other formats with editcap -F pcapng."},
	{policy.ErrFileTooLarge, "file_too_large",
		"Split the capture (editcap -c or -A/-B), or raise PORT_HUNTER_MAX_PCAP_MB in the server's environment."},
	{capture.ErrMalformed, "malformed_capture",
		"The file cannot be read as a capture: check it with capinfos, or give another file."},
	{capture.ErrChanged, "malformed_capture",
		"Call again once the file has stopped changing, or copy it first."},
	{intel.ErrInvalidIP, "invalid_ip",
		"Give one IPv4 or IPv6 address, such as 203.0.113.5 or 2001:db8::1."},
	{ErrInvalidArgument, "invalid_argument",
		"Change the argument as detail says; tools/list gives every argument's type, default and bounds."},
	{intel.ErrTooManyIPs, "too_many_ips",
		"Send at most 1000 addresses per call: split the list."},
	{errCallTimeout, "timeout",
		"Raise PORT_HUNTER_CALL_TIMEOUT_S in the server's environment, or analyse a smaller slice of the capture (editcap -A/-B)."},
	{errServerBusy, "busy",
		"Send the call again once one of the calls in flight has been answered."},
	{capture.ErrBadGlob, "invalid_argument",
		"Give a glob relative to PORT_HUNTER_ALLOWED_DIR whose last element alone has wildcards (* ? [a-z]), at most 256 bytes, e.g. sensor1/cap.pcap*."},
	{capture.ErrTooManyFiles, "too_many_files",
		"Name fewer files or a narrower glob (at most PORT_HUNTER_MAX_SET_FILES files per call, and a glob's directory may hold at most 10,000 names), or raise PORT_HUNTER_MAX_SET_FILES."},
	{capture.ErrTooManyPackets, "too_many_packets",
		"Read fewer files at once, or raise PORT_HUNTER_MAX_PACKETS in the server's environment."},
	{capture.ErrCarveTooLarge, "evidence_too_large",
		"Narrow the carve with since and until (or fewer files): a carved capture is held in memory, at most 16 MiB."},
}

// Codes of answers that no sentinel produces.
const (
	codeInternal  = "internal_error"
	fixInternal   = "Retrying will not help: report it with the server's log (stderr)."
	codeCancelled = "cancelled"
)

// ErrorCodes lists every code an error answer may carry, in table order.
func ErrorCodes() []string {
	var out []string
	for _, e := range errorCodes {
		if !slices.Contains(out, e.code) {
			out = append(out, e.code)
		}
	}
	return append(out, codeInternal, codeCancelled)
}

// errorCode is the contract code of err and its fix, if it has one.
func errorCode(err error) (code, fix string, ok bool) {
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return e.code, e.fix, true
		}
	}
	return "", "", false
}

// errorDetail is one readable sentence for the caller: the error's own
// text without the package prefixes of the sentinels it wraps.
func errorDetail(err error) string {
	s := err.Error()
	for _, p := range []string{"policy: ", "intel: ", "pcapng: ", "capture: ", "mcp: "} {
		s = strings.ReplaceAll(s, p, "")
	}
	if first, _, _ := strings.Cut(s, " "); s != "" && !strings.ContainsAny(first, "_\"") {
		s = strings.ToUpper(s[:1]) + s[1:] // not "Auth_token" or a quoted path
	}
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
