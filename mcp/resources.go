package mcp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"unicode/utf8"

	"porthunter/jsonrpc"
	"porthunter/policy"
)

// Resources: the captures of the allowed directory (their overview, one
// scanner, the incident report), and the evidence tool calls made (a
// carved pcapng, a whole report). See discover.go for when each is
// offered. URIs come from the client and are parsed as hostile input:
// bounded, percent-decoded once, and the path inside goes through the
// sandbox like a tool's path argument (FuzzParseURI).
//
//	porthunter://capture/{path}/overview      the scan_overview answer (JSON)
//	porthunter://capture/{path}/scanner/{ip}  the scanner_detail answer (JSON)
//	porthunter://capture/{path}/report        the report (Markdown)
//	porthunter://evidence/{id}/{name}         a carve (pcapng, base64) or a report
//
// {path} is written as RFC 6570 expands a simple variable: every byte but
// the unreserved ones percent-encoded, "/" included. A path written with
// its slashes is read too: the URI is read from its end.

const (
	uriScheme     = "porthunter://"
	uriCapture    = uriScheme + "capture/"
	uriEvidence   = uriScheme + "evidence/"
	maxURILen     = 8192 // a path of 4096 bytes, percent-encoded in part
	resourcesPage = 100  // resources per resources/list page

	// codeResourceNotFound is the legacy era's resource-not-found code;
	// 2026-07-28 replaced it by -32602 (resources.mdx "Error Handling").
	codeResourceNotFound = -32002

	mimeJSON     = "application/json"
	mimeMarkdown = "text/markdown"
	mimePcapng   = "application/x-pcapng" // Wireshark's; pcapng has no registered type
)

// resourceURI is a parsed resource URI.
type resourceURI struct {
	kind string // "overview", "scanner", "report" or "evidence"
	path string // the capture, relative to the allowed directory
	ip   netip.Addr
	id   string // evidence id
	name string // evidence name
}

var errBadURI = errors.New("not a URI of this server")

// parseURI reads a resource URI, or says why it is none of this server's
// (with the zero resourceURI).
func parseURI(s string) (resourceURI, error) {
	u, err := parseURIParts(s)
	if err != nil {
		return resourceURI{}, err
	}
	return u, nil
}

func parseURIParts(s string) (resourceURI, error) {
	var u resourceURI
	switch {
	case len(s) > maxURILen:
		return u, fmt.Errorf("%w: longer than %d bytes", errBadURI, maxURILen)
	case !utf8.ValidString(s) || strings.ContainsAny(s, "?#\x00"):
		return u, fmt.Errorf("%w: invalid UTF-8, a query, a fragment or a NUL", errBadURI)
	}
	if rest, ok := strings.CutPrefix(s, uriEvidence); ok {
		id, name, ok := strings.Cut(rest, "/")
		if !ok || !validEvidenceID(id) || name == "" || strings.Contains(name, "/") {
			return u, fmt.Errorf("%w: an evidence URI is %s{id}/{name}", errBadURI, uriEvidence)
		}
		name, err := unescape(name)
		if err != nil {
			return u, err
		}
		return resourceURI{kind: "evidence", id: id, name: name}, nil
	}
	rest, ok := strings.CutPrefix(s, uriCapture)
	if !ok {
		return u, fmt.Errorf("%w: it starts with neither %s nor %s", errBadURI, uriCapture, uriEvidence)
	}
	switch {
	case strings.HasSuffix(rest, "/overview"):
		u.kind, rest = "overview", strings.TrimSuffix(rest, "/overview")
	case strings.HasSuffix(rest, "/report"):
		u.kind, rest = "report", strings.TrimSuffix(rest, "/report")
	default:
		i := strings.LastIndex(rest, "/scanner/")
		if i < 0 {
			return u, fmt.Errorf("%w: a capture URI ends in /overview, /report or /scanner/{ip}", errBadURI)
		}
		ip, err := unescape(rest[i+len("/scanner/"):])
		if err != nil {
			return u, err
		}
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return u, fmt.Errorf("%w: %q is not an IP address", errBadURI, clip([]byte(ip)))
		}
		u.kind, u.ip, rest = "scanner", normalizeAddr(a), rest[:i]
	}
	p, err := unescape(rest)
	if err != nil {
		return u, err
	}
	if p == "" || len(p) > maxPathLen {
		return u, fmt.Errorf("%w: the capture path must be 1 to %d bytes", errBadURI, maxPathLen)
	}
	u.path = p
	return u, nil
}

// unescape percent-decodes one part of a URI; the result must be UTF-8
// without NUL (a path or name goes to the sandbox, an address to the
// parser).
func unescape(s string) (string, error) {
	v, err := url.PathUnescape(s)
	if err != nil || !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
		return "", fmt.Errorf("%w: a bad percent-encoding, invalid UTF-8 or a NUL", errBadURI)
	}
	return v, nil
}

// uriEscape writes s as RFC 6570 expands a simple variable: only the
// unreserved bytes (ALPHA DIGIT - . _ ~) stay as they are.
func uriEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// captureURI is the URI of a capture's resource (what: "overview",
// "report" or "scanner/" + address).
func captureURI(path, what string) string { return uriCapture + uriEscape(path) + "/" + what }

// templates are the resource templates (offered without the token only).
var templates = []map[string]any{
	{"uriTemplate": uriCapture + "{path}/overview", "name": "capture-overview", "title": "Scan overview of a capture",
		"description": "scan_overview's default answer for the capture at path (relative to the allowed directory): scanners, targets, ports, timeline, capture report.",
		"mimeType":    mimeJSON},
	{"uriTemplate": uriCapture + "{path}/scanner/{ip}", "name": "capture-scanner", "title": "One scanner of a capture",
		"description": "scanner_detail's default answer for the source ip in the capture at path: episodes, targets, outcomes, first probe and first open port with their frames, follow-up use, tool.",
		"mimeType":    mimeJSON},
	{"uriTemplate": uriCapture + "{path}/report", "name": "capture-report", "title": "Incident report of a capture",
		"description": "A Markdown incident summary of the capture at path, each statement with the frame numbers that support it.",
		"mimeType":    mimeMarkdown},
}

func (s *server) listTemplates(p listParams, modern bool) reply {
	if p.Cursor != nil {
		return reply{err: jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid cursor: this server lists every template in one page and issues no cursors")}
	}
	list := []any{}
	if s.offersCaptureResources() {
		for _, t := range templates {
			list = append(list, t)
		}
	}
	return reply{result: cacheable(map[string]any{"resourceTemplates": list}, modern, listTTL, cachePublic)}
}

// listResources lists the captures (without the token) and the evidence
// made in this process, resourcesPage at a time.
func (s *server) listResources(ctx context.Context, p listParams, modern bool) reply {
	var items []map[string]any
	if s.offersCaptureResources() {
		cat, err := s.catalog(ctx)
		if err != nil {
			return reply{err: jsonError(jsonrpc.CodeInternalError, err, "")}
		}
		for _, e := range cat.Captures {
			it := s.catalogItem(cat, e)
			desc := fmt.Sprintf("%s capture, %d bytes, modified %s", it.Format, it.SizeBytes, it.Modified)
			if it.Compression == "gzip" {
				desc = "gzip-compressed " + desc
			}
			if it.Analysed != nil {
				desc += fmt.Sprintf("; analysed: %d packets", it.Analysed.Packets)
			}
			if it.Set != "" {
				desc += "; part of the rotated set " + it.Set
			}
			if it.TooLarge {
				desc += "; over PORT_HUNTER_MAX_PCAP_MB, cannot be read"
			}
			items = append(items, map[string]any{"uri": captureURI(e.Path, "overview"), "name": e.Path,
				"title": "Scan overview of " + e.Path, "description": desc, "mimeType": mimeJSON,
				"annotations": map[string]any{"lastModified": it.Modified}})
		}
		for _, e := range s.store.list() {
			items = append(items, e.resource())
		}
	}
	var uris strings.Builder
	for _, it := range items {
		uris.WriteString(it["uri"].(string))
		uris.WriteByte(0)
	}
	bind := binding("resources/list", uris.String())
	off := 0
	if p.Cursor != nil {
		var err error
		if off, err = readCursor(*p.Cursor, bind); err != nil {
			return reply{err: jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid cursor: %s", errorDetail(err))}
		}
	}
	page, more := pageOf(items, off, resourcesPage)
	list := make([]any, len(page))
	for i, it := range page {
		list[i] = it
	}
	res := map[string]any{"resources": list}
	if more {
		res["nextCursor"] = makeCursor(off+len(page), bind)
	}
	return reply{result: cacheable(res, modern, 0, cachePrivate)}
}

// readResource answers resources/read.
func (s *server) readResource(ctx context.Context, c *call, raw string, modern bool) reply {
	u, err := parseURI(raw)
	if err != nil {
		return reply{err: notFound(raw, errorDetail(err), modern)}
	}
	if u.kind == "evidence" {
		e := s.store.get(u.id)
		if e == nil || e.name != u.name {
			return reply{err: notFound(raw, fmt.Sprintf("no such evidence: evidence is held in memory, at most %d MiB, the least recently used dropped first, and is lost when the server stops; carve or report again", MaxEvidenceBytes>>20), modern)}
		}
		return reply{result: cacheable(map[string]any{"contents": []any{e.contents(raw)}}, modern, listTTL, cachePrivate)}
	}
	if !s.offersCaptureResources() {
		return reply{err: notFound(raw, "capture resources are offered only when PORT_HUNTER_REQUIRE_TOKEN is false; call the tools with auth_token instead", modern)}
	}
	src := Source{Path: u.path}
	var text []byte
	mime := mimeJSON
	switch u.kind {
	case "overview":
		a := Defaults[OverviewArgs]()
		a.Source = src
		ans, err := handleOverview(ctx, s, c, &a)
		if err != nil {
			return reply{err: s.resourceError(raw, err, modern)}
		}
		text = encodeAnswer(ans)
	case "scanner":
		a := Defaults[DetailArgs]()
		a.Source, a.IP = src, u.ip.String()
		ans, err := handleDetail(ctx, s, c, &a)
		if err != nil {
			return reply{err: s.resourceError(raw, err, modern)}
		}
		text = encodeAnswer(ans)
	case "report":
		a := Defaults[ReportArgs]()
		a.Source = src
		rep, err := s.buildReport(ctx, c, &a)
		if err != nil {
			return reply{err: s.resourceError(raw, err, modern)}
		}
		text, mime = []byte(rep.markdown), mimeMarkdown
	}
	out := s.red.str(string(text)) // the report: Markdown quoting paths and addresses
	if mime == mimeJSON {
		out = string(s.red.json(text)) // string values only, so the JSON stays whole
	}
	content := map[string]any{"uri": raw, "mimeType": mime, "text": out}
	return reply{result: cacheable(map[string]any{"contents": []any{content}}, modern, 0, cachePrivate)}
}

// notFound is the resource-not-found error of the era: -32002 up to
// 2025-11-25, -32602 in 2026-07-28 (the 2.x SDK client reports both as
// -32602 when the data carries the URI).
func notFound(uri, why string, modern bool) *jsonrpc.Error {
	code := codeResourceNotFound
	if modern {
		code = jsonrpc.CodeInvalidParams
	}
	return &jsonrpc.Error{Code: code, Message: "Resource not found: " + why, Data: map[string]any{"uri": clipString(uri, maxEchoURI)}}
}

// resourceError is the JSON-RPC error of a resource read that failed: a
// capture that is not there (or may not be read) is not found; one that
// cannot be read, or an address that is none, is invalid; the rest is
// internal. The data carries the tools' error code, sentence and fix.
func (s *server) resourceError(uri string, err error, modern bool) *jsonrpc.Error {
	switch {
	case errors.Is(err, policy.ErrPathNotFound), errors.Is(err, policy.ErrPathOutsideAllowedDir),
		errors.Is(err, policy.ErrNotRegularFile):
		// Data {uri} alone, as the spec's example: the 2.x SDK client
		// recognises a resource-not-found error by it.
		return notFound(uri, errorDetail(err), modern)
	case errors.Is(err, errServerBusy), errors.Is(err, errCallTimeout), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return jsonError(jsonrpc.CodeInternalError, err, uri)
	}
	if _, _, ok := errorCode(err); !ok {
		s.logf("porthunter: resources/read: %v", err)
		return jsonError(jsonrpc.CodeInternalError, err, uri)
	}
	return jsonError(jsonrpc.CodeInvalidParams, err, uri)
}

// encodeAnswer is an answer's JSON as a tool's text block holds it.
func encodeAnswer(a enveloped) []byte {
	a.envelope().OK, a.envelope().GeneratedAt = true, now()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		return []byte(`{"ok":false,"error":"internal_error"}`)
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// maxEchoURI bounds the URI an error quotes back.
const maxEchoURI = 512

// clipString is s cut to at most n bytes, marked when cut.
func clipString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// base64Of is the blob of a binary resource.
func base64Of(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
