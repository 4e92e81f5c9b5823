package mcp

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"

	"porthunter/jsonrpc"
)

// Prompts: the common investigations as user-selected templates (slash
// commands in most hosts). A prompt reads nothing: it writes the tool
// calls to make, with the user's arguments quoted as JSON, so it is
// offered with or without the token (the calls it names need the token
// when the server requires it). Its arguments are checked as strictly as
// a tool's: known names only, bounded, no control characters.

// maxPromptArg bounds a prompt argument, in bytes (a path's bound).
const maxPromptArg = maxPathLen

type promptArg struct {
	name, description string
	required          bool
	kind              string // "source", "ip" or "time"
}

type promptDef struct {
	name, title, description string
	args                     []promptArg
	text                     func(s *server, a map[string]string) string
}

var (
	argPath  = promptArg{"path", "capture file relative to PORT_HUNTER_ALLOWED_DIR, or a glob selecting a rotated set (sensor1/cap.pcap*)", true, "source"}
	argSince = promptArg{"since", "optional RFC 3339 time: analyse only packets at or after it", false, "time"}
	argUntil = promptArg{"until", "optional RFC 3339 time: analyse only packets before it", false, "time"}
)

// prompts are the prompts, in prompts/list order.
var prompts = []promptDef{
	{name: "triage_capture", title: "Triage a capture",
		description: "Who scanned, how, when, what they found open and whether they used it: the PortHunter tools in order, ending with an incident report citing frame numbers.",
		args:        []promptArg{argPath, argSince, argUntil},
		text:        triageText},
	{name: "investigate_scanner", title: "Investigate one scanner",
		description: "Everything about one source in a capture: its episodes, targets, what answered, follow-up use, tool, who it is, and its packets as evidence.",
		args:        []promptArg{argPath, {"ip", "the scanning address (IPv4 or IPv6)", true, "ip"}, argSince, argUntil},
		text:        investigateText},
	{name: "compare_captures", title: "Compare two captures",
		description: "What changed between two captures (or two rotated sets): scanners new, gone or persisting, techniques, ports, what was found open.",
		args:        []promptArg{{"path_a", "the earlier capture (or glob)", true, "source"}, {"path_b", "the later capture (or glob)", true, "source"}},
		text:        compareText},
}

func (p promptDef) descriptor() map[string]any {
	args := []any{}
	for _, a := range p.args {
		args = append(args, map[string]any{"name": a.name, "description": a.description, "required": a.required})
	}
	return map[string]any{"name": p.name, "title": p.title, "description": p.description, "arguments": args}
}

func (s *server) listPrompts(p listParams, modern bool) reply {
	if p.Cursor != nil {
		return reply{err: jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid cursor: this server lists every prompt in one page and issues no cursors")}
	}
	list := []any{}
	for _, pr := range prompts {
		list = append(list, pr.descriptor())
	}
	return reply{result: cacheable(map[string]any{"prompts": list}, modern, listTTL, cachePublic)}
}

// getPrompt answers prompts/get: unknown prompts, unknown or missing
// arguments and values that are not what they name are -32602.
func (s *server) getPrompt(params json.RawMessage) reply {
	var p struct {
		Name      *string                    `json:"name"`
		Arguments map[string]json.RawMessage `json:"arguments"`
	}
	if err := decodeParams(params, &p); err != nil {
		return reply{err: err}
	}
	if p.Name == nil {
		return reply{err: jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "prompts/get needs params.name")}
	}
	i := slices.IndexFunc(prompts, func(d promptDef) bool { return d.name == *p.Name })
	if i < 0 {
		return reply{err: jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "unknown prompt: %s", clipString(*p.Name, 64))}
	}
	def := prompts[i]
	args := map[string]string{}
	for k, raw := range p.Arguments {
		j := slices.IndexFunc(def.args, func(a promptArg) bool { return a.name == k })
		if j < 0 {
			return reply{err: jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "unknown argument %s of %s; it takes %s", clipString(k, 64), def.name, argNames(def))}
		}
		var v string
		if json.Unmarshal(raw, &v) != nil {
			return reply{err: jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "argument %s must be a string", k)}
		}
		if err := checkPromptArg(def.args[j], v); err != nil {
			return reply{err: err}
		}
		if v != "" {
			args[k] = v
		}
	}
	for _, a := range def.args {
		if a.required && args[a.name] == "" {
			return reply{err: jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "argument %s of %s is required (%s)", a.name, def.name, a.description)}
		}
	}
	text := s.red.str(def.text(s, args))
	return reply{result: map[string]any{"description": def.description,
		"messages": []any{map[string]any{"role": "user", "content": map[string]any{"type": "text", "text": text}}}}}
}

func argNames(d promptDef) string {
	var n []string
	for _, a := range d.args {
		n = append(n, a.name)
	}
	return strings.Join(n, ", ")
}

// checkPromptArg checks a value against what its argument names.
func checkPromptArg(a promptArg, v string) *jsonrpc.Error {
	if len(v) > maxPromptArg || !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "argument %s must be at most %d bytes of UTF-8 without control characters", a.name, maxPromptArg)
	}
	switch a.kind {
	case "ip":
		if _, err := netip.ParseAddr(v); err != nil && v != "" {
			return jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "argument %s must be an IPv4 or IPv6 address, such as 203.0.113.5", a.name)
		}
	case "time":
		if _, err := parseTime(a.name, v); err != nil {
			return jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "argument %s must be an RFC 3339 time, such as 2026-03-14T09:27:00Z", a.name)
		}
	}
	return nil
}

// callArgs is the JSON of the source arguments for a path or glob, with
// the window: the exact text a model passes on.
func callArgs(path string, a map[string]string, extra map[string]any) string {
	m := map[string]any{}
	if strings.ContainsAny(path, "*?[") {
		m["glob"] = path
	} else {
		m["path"] = path
	}
	for _, k := range []string{"since", "until"} {
		if a[k] != "" {
			m[k] = a[k]
		}
	}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// tokenNote tells the agent where auth_token comes from, never what it is.
func (s *server) tokenNote() string {
	if !s.cfg.RequireToken {
		return ""
	}
	return "\n\nEvery PortHunter call also needs auth_token: the token your MCP host was configured with (PORT_HUNTER_TOKEN). Do not repeat it in your answer."
}

func triageText(s *server, a map[string]string) string {
	src := callArgs(a["path"], a, nil)
	return fmt.Sprintf(`Triage the capture %s with the PortHunter tools, in this order, citing frame numbers for every event:

1. scan_overview %s: the scanners, their techniques and shapes, the most probed hosts and ports, and the capture report (was it cut? one direction only? what was read).
2. list_suspects %s: every scanning source with its kind, rate, flags and open ports found (page with next_cursor if needed).
3. first_scan_event %s: when the scanning started (frame, time, technique) and when it was detected.
4. scanner_detail for each of the first three suspects (the same arguments plus "ip"): episodes, targets, what answered open (first open frame), whether it later used what it found, and the tool fingerprint.
5. correlate with the suspects' addresses and the same source arguments: who they are (ASN, country, blocklists) and what they share.
6. report %s: the Markdown incident summary, each statement with its frames.

Then answer: who scanned whom, how, when it started, what was found open, whether it was used, and what to do next (carve gives a scanner's packets as pcapng evidence).%s`,
		quoteArg(a["path"]), src, src, src, src, s.tokenNote())
}

func investigateText(s *server, a map[string]string) string {
	ip := a["ip"]
	if addr, err := netip.ParseAddr(ip); err == nil {
		ip = normalizeAddr(addr).String()
	}
	src := callArgs(a["path"], a, nil)
	with := callArgs(a["path"], a, map[string]any{"ip": ip})
	corr := callArgs(a["path"], a, map[string]any{"ips": []string{ip}})
	return fmt.Sprintf(`Investigate the source %s in the capture %s with the PortHunter tools:

1. scanner_detail %s: its scan episodes and rates, the hosts and ports it probed, what answered (open, closed, filtered, unanswered), the first probe, first answer and first open port with their frames, follow-up use of what it found, and its tool fingerprint. Page with next_cursor for more targets.
2. enrich_ip {"ip": %s}: who it is (ASN, organisation, country, blocklists, threat intelligence).
3. correlate %s: its score and scan activity together.
4. carve %s: its packets as a pcapng resource (SHA-256 and packet count given) to attach to the ticket.
5. report %s: the incident summary, for the frames that support each statement.

Then summarise what %s did, when (frames), what it found and used, and how confident the evidence is.%s`,
		quoteArg(ip), quoteArg(a["path"]), with, quoteArg(ip), corr, with, src, quoteArg(ip), s.tokenNote())
}

func compareText(s *server, a map[string]string) string {
	x, y := callArgs(a["path_a"], nil, nil), callArgs(a["path_b"], nil, nil)
	return fmt.Sprintf(`Compare the captures %s (earlier) and %s (later) with the PortHunter tools:

1. scan_overview %s and scan_overview %s: scanners, techniques, targets and time ranges of each.
2. list_suspects %s and list_suspects %s: the scanning sources of each.
3. correlate with the union of both suspect lists, once with %s and once with %s: which addresses scanned in one, the other, or both.
4. scanner_detail, in the capture where it appears, for each source seen in both, and for the most active new one.

Then report: sources only in the earlier capture, only in the later one, and in both (with changes of technique, rate, ports or targets), what was found open in each, and first scan events (frames) of each.%s`,
		quoteArg(a["path_a"]), quoteArg(a["path_b"]), x, y, x, y, x, y, s.tokenNote())
}

// quoteArg is a user's value quoted as JSON, so that it cannot be read
// as instructions around it.
func quoteArg(v string) string {
	b, _ := json.Marshal(v)
	return string(b)
}
