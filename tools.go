package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"porthunter/capture"
	"porthunter/intel"
	"porthunter/policy"
)

// Errors of package main that have a contract code.
var (
	errInvalidArgument = errors.New("invalid argument")
	errCallTimeout     = errors.New("the call took longer than its time limit")
	errServerBusy      = errors.New("the server is busy")
)

// errorCodes maps every sentinel to its contract code (CONTRACT §4). It is
// the only place codes are assigned.
var errorCodes = []struct {
	err  error
	code string
}{
	{policy.ErrUnauthorized, "unauthorized"},
	{policy.ErrPathOutsideAllowedDir, "path_outside_allowed_dir"},
	{policy.ErrPathNotFound, "path_not_found"},
	{policy.ErrNotRegularFile, "not_a_regular_file"},
	{policy.ErrUnsupportedFileType, "unsupported_file_type"},
	{policy.ErrFileTooLarge, "file_too_large"},
	{capture.ErrMalformed, "malformed_capture"},
	{capture.ErrChanged, "malformed_capture"},
	{intel.ErrInvalidIP, "invalid_ip"},
	{errInvalidArgument, "invalid_argument"},
	{intel.ErrTooManyIPs, "too_many_ips"},
	{errCallTimeout, "timeout"},
	{errServerBusy, "busy"},
}

// errorCode is the contract code of err, if it has one.
func errorCode(err error) (string, bool) {
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return e.code, true
		}
	}
	return "", false
}

// errorDetail is one readable sentence for the caller: the error's own
// text without the package prefixes of the sentinels it wraps.
func errorDetail(err error) string {
	s := err.Error()
	for _, p := range []string{"policy: ", "intel: ", "pcapng: "} {
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

func invalidArg(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errInvalidArgument, fmt.Sprintf(format, args...))
}

// toolArgs are a call's arguments, checked one by one against the tool's
// declared properties.
type toolArgs map[string]json.RawMessage

// str returns a string argument; "" when absent and not required.
func (a toolArgs) str(name string, required bool) (string, error) {
	raw, ok := a[name]
	if !ok || string(raw) == "null" {
		if required {
			return "", invalidArg("%s is required", name)
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", invalidArg("%s must be a string", name)
	}
	return s, nil
}

// integer returns an integer argument in [lo, hi], def when absent.
func (a toolArgs) integer(name string, def, lo, hi int) (int, error) {
	raw, ok := a[name]
	if !ok || string(raw) == "null" {
		return def, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || f != math.Trunc(f) {
		return 0, invalidArg("%s must be an integer", name)
	}
	if f < float64(lo) || f > float64(hi) {
		return 0, invalidArg("%s must be between %d and %d, got %v", name, lo, hi, f)
	}
	return int(f), nil
}

// number returns a numeric argument in [lo, hi] (lo exclusive when
// loOpen), def when absent.
func (a toolArgs) number(name string, def, lo, hi float64, loOpen bool) (float64, error) {
	raw, ok := a[name]
	if !ok || string(raw) == "null" {
		return def, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || math.IsNaN(f) {
		return 0, invalidArg("%s must be a number", name)
	}
	if f < lo || (loOpen && f == lo) || f > hi {
		op := ">="
		if loOpen {
			op = ">"
		}
		return 0, invalidArg("%s must be %s %v and <= %v, got %v", name, op, lo, hi, f)
	}
	return f, nil
}

// strs returns an array-of-strings argument.
func (a toolArgs) strs(name string) ([]string, error) {
	raw, ok := a[name]
	if !ok || string(raw) == "null" {
		return nil, invalidArg("%s is required", name)
	}
	var xs []json.RawMessage
	if err := json.Unmarshal(raw, &xs); err != nil {
		return nil, invalidArg("%s must be an array of strings", name)
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		if err := json.Unmarshal(x, &out[i]); err != nil {
			return nil, invalidArg("%s[%d] must be a string", name, i)
		}
	}
	return out, nil
}

// tool is one entry of the tool table: its MCP description and its
// handler. The handler returns the answer's members besides ok and
// generated_at.
type tool struct {
	name, title, description string
	props                    map[string]any // input properties besides auth_token
	required                 []string
	output                   map[string]any // output properties besides ok, generated_at, error, detail
	openWorld                bool           // may ask online providers
	handler                  func(ctx context.Context, s *server, c *call, a toolArgs) (map[string]any, error)
}

// Limits of tool arguments.
const (
	maxTopK      = 1000            // rows per list in one answer
	maxWindowS   = 366 * 24 * 3600 // a timeline window longer than a year says nothing
	minWindowS   = 1e-3            // a millisecond; finer windows would only inflate the timeline
	maxThreshold = 1 << 20         // min_ports / min_hosts above any real count
	// list_suspects answers at most limit sources: a capture of thousands
	// of slow scanners would otherwise give megabytes no MCP host accepts
	// as one tool result. The default keeps every list a real capture
	// gives whole.
	defSuspectLimit = 1000
	maxSuspectLimit = 1 << 20
	maxRatePPS      = 1e9  // packets per second no link carries
	maxPathBytes    = 4096 // PATH_MAX
	maxIPArgBytes   = 256  // an address with a zone fits easily
)

func pathProp(desc string) map[string]any {
	return map[string]any{"type": "string", "minLength": 1, "maxLength": maxPathBytes, "description": desc}
}

const pathDesc = "capture file (pcap, pcapng, optionally gzip-compressed), relative to PORT_HUNTER_ALLOWED_DIR"

// inputSchema is a tool's input schema: an object root, draft-07 and
// 2020-12 compatible keywords only, no $schema.
func (t *tool) inputSchema() map[string]any {
	props := map[string]any{"auth_token": map[string]any{"type": "string", "description": "the server's PORT_HUNTER_TOKEN"}}
	for k, v := range t.props {
		props[k] = v
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(t.required) > 0 {
		s["required"] = t.required
	}
	return s
}

// outputSchema covers both the answer and the error shape, so that every
// structuredContent validates.
func (t *tool) outputSchema() map[string]any {
	props := map[string]any{
		"ok":           map[string]any{"type": "boolean"},
		"generated_at": map[string]any{"type": "string", "description": "UTC, RFC 3339"},
		"error":        map[string]any{"type": "string", "description": "error code, when ok is false"},
		"detail":       map[string]any{"type": "string", "description": "one readable sentence, when ok is false"},
	}
	for k, v := range t.output {
		props[k] = v
	}
	return map[string]any{"type": "object", "properties": props, "required": []string{"ok", "generated_at"}}
}

func (t *tool) descriptor() map[string]any {
	return map[string]any{
		"name":         t.name,
		"title":        t.title,
		"description":  t.description,
		"inputSchema":  t.inputSchema(),
		"outputSchema": t.outputSchema(),
		"annotations": map[string]any{
			"title":          t.title,
			"readOnlyHint":   true,
			"idempotentHint": true,
			"openWorldHint":  t.openWorld,
		},
	}
}

// tools is the tool table in tools/list order.
func tools() []*tool {
	obj := func(desc string) map[string]any { return map[string]any{"type": "object", "description": desc} }
	arr := func(desc string) map[string]any {
		return map[string]any{"type": "array", "items": map[string]any{"type": "object"}, "description": desc}
	}
	return []*tool{
		{
			name:  "scan_overview",
			title: "Scan overview of a capture",
			description: "Reads a PCAP/PCAPNG capture and summarises its port-scan activity: scanners (with techniques, " +
				"kind, open ports found, tool fingerprint), targets, probed ports, suspected patterns, a timeline of " +
				"time_window_s windows, and a capture report (format, interfaces, truncation, undecodable frames).",
			props: map[string]any{
				"path":          pathProp(pathDesc),
				"time_window_s": map[string]any{"type": "number", "exclusiveMinimum": 0, "maximum": maxWindowS, "default": 60, "description": "timeline window in seconds"},
				"top_k":         map[string]any{"type": "integer", "minimum": 1, "maximum": maxTopK, "default": 20, "description": "rows per list"},
			},
			required: []string{"path"},
			output:   map[string]any{"overview": obj("scanners, targets, port_distribution, suspected_patterns, timeline, capture")},
			handler:  handleOverview,
		},
		{
			name:  "list_suspects",
			title: "List scanning sources",
			description: "Lists the sources whose scan activity reaches min_ports distinct ports on one host, or min_hosts " +
				"distinct hosts on one port, or 25 distinct targets (3 for stealth probes), at min_rate_pps or more. " +
				"Successful connections are not counted as probes.",
			props: map[string]any{
				"path":         pathProp(pathDesc),
				"min_ports":    map[string]any{"type": "integer", "minimum": 1, "maximum": maxThreshold, "default": 10, "description": "distinct ports on one host"},
				"min_rate_pps": map[string]any{"type": "number", "minimum": 0, "maximum": maxRatePPS, "default": 5.0, "description": "distinct probes per second of the scan episode"},
				"min_hosts":    map[string]any{"type": "integer", "minimum": 1, "maximum": maxThreshold, "default": 10, "description": "distinct hosts on one port"},
				"limit": map[string]any{"type": "integer", "minimum": 1, "maximum": maxSuspectLimit, "default": defSuspectLimit,
					"description": "most sources listed; when more qualify, those with the most probes are kept (still in address order) and total and truncated say so"},
			},
			required: []string{"path"},
			output:   map[string]any{"suspects": arr("one entry per listed source")},
			handler:  handleSuspects,
		},
		{
			name:        "first_scan_event",
			title:       "First scan event",
			description: "The first probe of the earliest scan episode of any source list_suspects would list with its defaults (null when none), with its frame number, technique and the time the threshold was crossed.",
			props:       map[string]any{"path": pathProp(pathDesc)},
			required:    []string{"path"},
			output:      map[string]any{"first_event": map[string]any{"description": "null, or an object: ts, src, dst, port, flags or proto, frame, technique, detected_at"}},
			handler:     handleFirstEvent,
		},
		{
			name:  "scanner_detail",
			title: "Everything about one scanner",
			description: "Everything known about one source in a capture: scan episodes with rates, techniques, targets and " +
				"ports probed, outcomes (open/closed/filtered/unanswered), first probe, first answer, first open port, " +
				"whether it later connected to what it found, and the tool fingerprint with its evidence.",
			props: map[string]any{
				"path": pathProp(pathDesc),
				"ip":   map[string]any{"type": "string", "minLength": 1, "maxLength": maxIPArgBytes, "description": "IPv4 or IPv6 address of the source"},
			},
			required: []string{"path", "ip"},
			output:   map[string]any{"detail": obj("the source's scan activity")},
			handler:  handleDetail,
		},
		{
			name:  "enrich_ip",
			title: "Enrich an address",
			description: "ASN, organisation, country, blocklists and threat intelligence for one address, offline data first " +
				"(PORT_HUNTER_INTEL_DIR), online providers only when enabled. Private and special-purpose addresses are " +
				"skipped (never sent online) unless PORT_HUNTER_ALLOW_PRIVATE.",
			props:     map[string]any{"ip": map[string]any{"type": "string", "minLength": 1, "maxLength": maxIPArgBytes, "description": "IPv4 or IPv6 address"}},
			required:  []string{"ip"},
			output:    map[string]any{"enrichment": obj("asn, org, geo, threat, sources with each provider's status"), "skipped": map[string]any{"type": "boolean"}},
			openWorld: true,
			handler:   handleEnrich,
		},
		{
			name:  "correlate",
			title: "Correlate addresses",
			description: "Enriches up to 1000 addresses (results in input order) and relates them: groups sharing an ASN, " +
				"/24 or /48, country, blocklist or threat pulse, and a score per address with its reasons. With path, each " +
				"address also carries its scan activity in that capture.",
			props: map[string]any{
				"ips":  map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "addresses, at most 1000"},
				"path": pathProp("optional capture whose scan activity is attached to each address"),
			},
			required:  []string{"ips"},
			output:    map[string]any{"results": arr("one per input, in order"), "groups": arr("addresses sharing something"), "summary": obj("counts")},
			openWorld: true,
			handler:   handleCorrelate,
		},
	}
}

// checkArgs refuses arguments the tool does not declare (a misspelt
// threshold must not silently fall back to its default).
func (t *tool) checkArgs(a toolArgs) error {
	var unknown []string
	for k := range a {
		if _, ok := t.props[k]; !ok && k != "auth_token" {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		known := make([]string, 0, len(t.props))
		for k := range t.props {
			known = append(known, k)
		}
		slices.Sort(known)
		return invalidArg("unknown argument %s (%s takes %s)", strings.Join(unknown, ", "), t.name, strings.Join(known, ", "))
	}
	return nil
}
