package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"porthunter/capture"
	"porthunter/intel"
	"porthunter/scan"
)

// toolDef is one entry of the tool table: its description, the Go types
// of its arguments and answer (the schemas are derived from them), and
// its handler.
type toolDef struct {
	name, title, description string
	online                   bool // may ask online providers (openWorldHint when they are enabled)
	writes                   bool // writes into PORT_HUNTER_EVIDENCE_DIR when that is set
	args, answer             reflect.Type
	run                      func(ctx context.Context, s *server, c *call, raw json.RawMessage) (enveloped, error)
}

// define makes a table entry from a typed handler: the arguments are
// decoded into A by the tags its schema is derived from, and the answer
// R is what the output schema describes.
func define[A, R any, PR interface {
	*R
	enveloped
}](name, title, description string, online bool, h func(context.Context, *server, *call, *A) (PR, error)) *toolDef {
	return &toolDef{name: name, title: title, description: description, online: online,
		args: reflect.TypeFor[A](), answer: reflect.TypeFor[R](),
		run: func(ctx context.Context, s *server, c *call, raw json.RawMessage) (enveloped, error) {
			var a A
			if err := DecodeArgs(raw, &a, "auth_token"); err != nil {
				return nil, err
			}
			r, err := h(ctx, s, c, &a)
			if err != nil {
				return nil, err
			}
			return r, nil
		}}
}

// toolTable is the tool table in tools/list order.
func toolTable() []*toolDef {
	return []*toolDef{
		define("list_captures", "List the captures",
			"Lists the captures under the allowed directory (8 levels deep, at most 10,000 names; walk says when a bound "+
				"stopped it), each with its size, modification time, format by its first bytes (pcap or pcapng, through gzip), "+
				"and packets and time range when already analysed; and the rotated sets their names form (tcpdump -C/-G, dumpcap "+
				"rings) with the glob that reads each set as one capture. Start here when you do not know the file names. "+
				"50 captures per page (limit, cursor). Cost: an open and a few bytes read per file; nothing is analysed.",
			false, handleListCaptures),
		define("scan_overview", "Scan overview of a capture",
			"Summarises the port scans in a PCAP/PCAPNG capture: the scanners (kind, techniques, open ports found, tool "+
				"fingerprint), the hosts and ports they probed, the techniques and shapes seen, decoy and distributed groups, "+
				"a timeline of time_window_s windows, and a capture report (format, interfaces, truncation, undecodable frames). "+
				"Start here. Cost: the first call on a file reads it whole (hundreds of MB/s); later calls on the same file "+
				"answer from a cache. The answer stays under 25,000 characters by default; the timeline is paged (limit, cursor).",
			false, handleOverview),
		define("list_suspects", "List scanning sources",
			"Lists the sources that scanned: those reaching min_ports distinct ports on one host, or min_hosts distinct hosts "+
				"on one port, or 25 distinct targets (3 for stealth probes), at min_rate_pps or more. Successful connections are "+
				"not probes. A min_rate_pps other than the default drops every slower source, the sequential test's slow "+
				"scanners (reason trw) included; the default keeps those. Each source has its direction (inbound, outbound, "+
				"internal, external, by home_nets), a priority (critical, high, medium, low) with the scored reasons, and ATT&CK "+
				"IDs; sources of the server's known scanners or of ignore are suppressed and counted in site.suppressed. Highest "+
				"priority first (sort), 50 per page (limit, cursor; total says how many). Cost: one read of the capture, cached; "+
				"thresholds other than the defaults re-judge the cached analysis.",
			false, handleSuspects),
		define("first_scan_event", "First scan event",
			"When the scanning started: the first probe of the earliest scan episode of any source list_suspects lists with "+
				"its defaults (null when none), with its frame number, technique, and when the threshold was crossed. The "+
				"server's known scanners and ignore are left out, and counted in suppressed. "+
				"Cost: one read of the capture, cached; a few hundred characters.",
			false, handleFirstEvent),
		define("scanner_detail", "Everything about one scanner",
			"Everything known about one source in a capture: scan episodes with rates, techniques, targets and ports probed, "+
				"outcomes (open/closed/filtered/unanswered), first probe, first answer, first open port, whether it later "+
				"connected to what it found, and the tool fingerprint. found is false when the address sent nothing. Targets "+
				"and episodes are paged (limit, cursor). Cost: one read of the capture, cached.",
			false, handleDetail),
		define("enrich_ip", "Enrich an address",
			"Who an address is: ASN, organisation, country, blocklists and threat intelligence, from the offline data of "+
				"PORT_HUNTER_INTEL_DIR first and online providers only when PORT_HUNTER_ONLINE is set. Providers that are not "+
				"configured are left out; consulted names those asked. Private and special-purpose addresses are skipped "+
				"(never sent online). Cost: offline lookups take microseconds; online ones up to the provider timeout.",
			true, handleEnrich),
		define("correlate", "Correlate addresses",
			"Enriches up to 1000 addresses and relates them: groups sharing an ASN, /24 or /48, country, blocklist or threat "+
				"pulse, and a score per address with its reasons. With path, each address also carries its scan activity in that "+
				"capture (\"which of these scanned us, and who are they\"). Results keep the input order, 50 per page (limit, "+
				"cursor). Cost: one lookup per distinct address; with path, one read of the capture, cached.",
			true, handleCorrelate),
		define("report", "Incident report",
			"A Markdown incident summary of a capture for the ticket: what was read (files, hashes, window, truncation), who "+
				"scanned whom, how and when, what was found open, follow-up use, and who the scanners are (intel), each statement "+
				"with the frame numbers that support it (first probe, first answer, first open port). The answer holds the report "+
				"(its beginning if longer than 25,000 characters) and links the whole as a text/markdown resource. Cost: one read "+
				"of the capture, cached, and one intel lookup per scanner described.",
			true, handleReport),
		define("carve", "Carve an address's packets",
			"Every packet to or from one address (and the ICMP errors quoting its packets), optionally within since/until, as a "+
				"new pcapng for Wireshark: returned as a resource_link to a resource (resources/read gives it base64, with its "+
				"SHA-256 and packet count), held in memory (16 MiB per carve, 64 MiB in all, least recently used dropped). When "+
				"PORT_HUNTER_EVIDENCE_DIR is set the file is also written there, never overwriting. Cost: one read of the capture.",
			false, handleCarve).writing(),
	}
}

// maxNoteProviders caps the providers a tool description names.
const maxNoteProviders = 8

// intelNote ends the descriptions of enrich_ip and correlate with the
// intel this server loaded at start, so an agent knows before calling
// whether an answer can say more than an address's classification. It is
// fixed at start, as tools/list is for the whole session; each answer's
// intel member has the state at the time of the call.
func intelNote(h intel.Health) string {
	var b strings.Builder
	b.WriteString(" On this server, at start: ")
	switch {
	case !h.DirConfigured:
		b.WriteString("no offline intel is configured (PORT_HUNTER_INTEL_DIR is unset)")
	case h.Loaded == 0:
		b.WriteString("PORT_HUNTER_INTEL_DIR is set but no intel file loaded")
	default:
		names := h.Providers[:min(len(h.Providers), maxNoteProviders)]
		fmt.Fprintf(&b, "%d offline intel files loaded (%s", h.Loaded, strings.Join(names, ", "))
		if rest := len(h.Providers) - len(names); rest > 0 {
			fmt.Fprintf(&b, " and %d more", rest)
		}
		b.WriteString(")")
	}
	if n := len(h.Failed); n > 0 {
		fmt.Fprintf(&b, "; %d failed to load", n)
	}
	if n := len(h.Stale); n > 0 {
		fmt.Fprintf(&b, "; %d past their refresh interval", n)
	}
	if len(h.Online) > 0 {
		fmt.Fprintf(&b, "; online providers enabled: %s", strings.Join(h.Online, ", "))
	} else {
		b.WriteString("; online providers off")
	}
	if !h.Configured() {
		b.WriteString(". Answers then carry each address's classification only.")
	} else {
		b.WriteString(". Each answer's intel member names the sources that failed or are stale.")
	}
	return b.String()
}

// writing marks a tool that writes into PORT_HUNTER_EVIDENCE_DIR.
func (t *toolDef) writing() *toolDef {
	t.writes = true
	return t
}

// inputSchema is a tool's input schema: its arguments' type plus
// auth_token.
func (t *toolDef) inputSchema() map[string]any {
	s := Schema(t.args)
	props := s["properties"].(map[string]any)
	props["auth_token"] = map[string]any{"type": "string", "description": "the server's PORT_HUNTER_TOKEN"}
	var req []string
	for _, f := range Fields(t.args) {
		if f.Tag.Get("required") == "true" {
			req = append(req, f.Name)
		}
	}
	delete(s, "required")
	if len(req) > 0 {
		s["required"] = req
	}
	return s
}

// outputSchema is the answer type's schema, whose root also admits the
// error answer: only ok and generated_at are required there, and error,
// detail and fix are declared. Nested objects keep their own required
// members.
func (t *toolDef) outputSchema() map[string]any {
	s := Schema(t.answer)
	props := s["properties"].(map[string]any)
	for k, v := range Schema(reflect.TypeFor[ErrorAnswer]())["properties"].(map[string]any) {
		if _, ok := props[k]; ok && k != "ok" && k != "generated_at" {
			panic(fmt.Sprintf("mcp: %s: answer member %q collides with the error answer's", t.name, k))
		}
		props[k] = v
	}
	props["error"].(map[string]any)["enum"] = toAny(ErrorCodes())
	s["required"] = []string{"ok", "generated_at"}
	return s
}

func toAny(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// descriptor is the tool's tools/list entry.
func (t *toolDef) descriptor(online bool) map[string]any {
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
			"openWorldHint":  t.online && online,
		},
	}
}

// ToolNames lists the tools in tools/list order.
func ToolNames() []string {
	var out []string
	for _, t := range toolTable() {
		out = append(out, t.name)
	}
	return out
}

// WriteToolHelp prints one tool's description and arguments from the tool
// table, the source tools/list is built from; false when there is no such
// tool.
func WriteToolHelp(w io.Writer, name string) bool {
	i := slices.IndexFunc(toolTable(), func(t *toolDef) bool { return t.name == name })
	if i < 0 {
		return false
	}
	t := toolTable()[i]
	fmt.Fprintf(w, "%s: %s\n\n%s\n\narguments:\n", t.name, t.title, t.description)
	fmt.Fprintf(w, "  %-14s %-8s %s\n", "auth_token", "string", "the server's PORT_HUNTER_TOKEN")
	for _, f := range Fields(t.args) {
		note := " (" + describe(f)
		if d := f.Tag.Get("default"); d != "" && !strings.Contains(note, "default") {
			note += ", default " + d
		}
		if f.Tag.Get("required") == "true" {
			note += ", required"
		}
		typ, _ := Schema(f.Type)["type"].(string)
		fmt.Fprintf(w, "  %-14s %-8s %s%s)\n", f.Name, typ, f.Tag.Get("desc"), strings.ReplaceAll(note, `"`, ""))
	}
	return true
}

// --- handlers --------------------------------------------------------------

// captureID is what a cursor binds a capture by: its hash (each file's,
// for a set), size and packets, and the time window.
func captureID(res *capture.Result) string {
	r := res.Report
	id := fmt.Sprintf("%s/%d/%d", r.SHA256, r.SizeBytes, r.Stats.TotalPackets)
	for _, f := range r.Files {
		id += "/" + f.Name + ":" + f.SHA256
	}
	if w := r.Window; w != nil {
		id += "/" + w.Since + "/" + w.Until
	}
	return id
}

func handleOverview(ctx context.Context, s *server, c *call, a *OverviewArgs) (*OverviewAnswer, error) {
	res, _, err := s.openSource(ctx, c, a.Source)
	if err != nil {
		return nil, err
	}
	bind := binding("scan_overview", captureID(res), a.TimeWindowS, a.TopK, a.Detail, a.Limit, a.Ignore)
	off, err := readCursor(a.Cursor, bind)
	if err != nil {
		return nil, err
	}
	site, err := SiteArgs{Ignore: a.Ignore}.site(s.home, s.known, s.dark)
	if err != nil {
		return nil, err
	}
	ans, n := fitPage(a.Limit, func(n int) *OverviewAnswer {
		b := *a
		b.Limit = n
		ov, more := BuildOverview(res, a.name(), b, site, off, a.Cursor != "")
		ans := &OverviewAnswer{Overview: ov}
		if more {
			ans.NextCursor = "more"
		}
		return ans
	})
	if ans.NextCursor != "" {
		ans.NextCursor = makeCursor(off+n, bind)
	}
	return ans, nil
}

func handleSuspects(ctx context.Context, s *server, c *call, a *SuspectsArgs) (*SuspectsAnswer, error) {
	res, req, err := s.openSource(ctx, c, a.Source)
	if err != nil {
		return nil, err
	}
	th := a.Thresholds()
	site, err := a.site(s.home, s.known, s.dark)
	if err != nil {
		return nil, err
	}
	site.Reputation = Reputation(ctx, s.intelDB)
	bind := binding("list_suspects", captureID(res), th, a.Detail, a.Limit, a.Sort, a.HomeNets, a.Ignore)
	off, err := readCursor(a.Cursor, bind)
	if err != nil {
		return nil, err
	}
	pg, err := res.Analysis.TriagePageOf(ctx, th, site, a.Sort, off, a.Limit)
	if err != nil {
		return nil, err
	}
	views := make([]Suspect, 0, len(pg.Suspects))
	for _, x := range pg.Suspects {
		views = append(views, SuspectView(x, a.Detail == DetailFull))
	}
	read, sv, total := readView(a.Source, req, res), SiteOf(pg), pg.Total
	ans, n := fitPage(len(views), func(n int) *SuspectsAnswer {
		return &SuspectsAnswer{Suspects: views[:n], Total: total, Site: sv, Read: read,
			BelowThreshold: pg.BelowThreshold, BelowThresholdTotal: pg.BelowThresholdTotal}
	})
	if off+n < total {
		ans.Truncated, ans.NextCursor = true, makeCursor(off+n, bind)
	}
	return ans, nil
}

func handleFirstEvent(ctx context.Context, s *server, c *call, a *FirstEventArgs) (*FirstEventAnswer, error) {
	res, req, err := s.openSource(ctx, c, a.Source)
	if err != nil {
		return nil, err
	}
	site, err := SiteArgs{Ignore: a.Ignore}.site(s.home, s.known, s.dark)
	if err != nil {
		return nil, err
	}
	fe, sup, n, err := res.Analysis.FirstEventSite(ctx, scan.DefaultThresholds(), site)
	if err != nil {
		return nil, err
	}
	return &FirstEventAnswer{FirstEvent: fe, Suppressed: sup, SuppressedTotal: n, Read: readView(a.Source, req, res)}, nil
}

func handleDetail(ctx context.Context, s *server, c *call, a *DetailArgs) (*DetailAnswer, error) {
	ip, err := intel.ParseIP(a.IP)
	if err != nil {
		return nil, err
	}
	ip = normalizeAddr(ip)
	res, req, err := s.openSource(ctx, c, a.Source)
	if err != nil {
		return nil, err
	}
	bind := binding("scanner_detail", captureID(res), ip, a.Detail, a.Limit)
	off, err := readCursor(a.Cursor, bind)
	if err != nil {
		return nil, err
	}
	read := readView(a.Source, req, res)
	ans := &DetailAnswer{IP: ip.String(), Read: read}
	d, found := res.Analysis.Detail(ip)
	if !found {
		return ans, nil
	}
	site, err := SiteArgs{}.site(s.home, s.known, s.dark)
	if err != nil {
		return nil, err
	}
	site.Reputation = Reputation(ctx, s.intelDB)
	tr, listed, err := res.Analysis.TriageOf(ctx, scan.DefaultThresholds(), site, ip)
	if err != nil {
		return nil, err
	}
	more := false
	ans, n := fitPage(a.Limit, func(n int) *DetailAnswer {
		v := &DetailAnswer{IP: ans.IP, Found: true, Read: read}
		v.Scanner, more = BuildDetail(d, a.Detail == DetailFull, off, n)
		if listed {
			sd := v.Scanner
			sd.Direction, sd.Priority, sd.PriorityReasons, sd.Attack, sd.SuppressedBy = tr.Direction, tr.Priority, tr.Reasons, tr.Attack, tr.Suppressed
			if tr.Priority != "" {
				score := tr.PriorityScore
				sd.PriorityScore = &score
			}
		}
		return v
	})
	if more {
		ans.NextCursor = makeCursor(off+n, bind)
	}
	return ans, nil
}

// normalizeAddr is how addresses appear in captures: no zone, IPv4-mapped
// IPv6 unmapped.
func normalizeAddr(a netip.Addr) netip.Addr { return a.WithZone("").Unmap() }

func handleEnrich(ctx context.Context, s *server, _ *call, a *EnrichArgs) (*EnrichAnswer, error) {
	e, err := s.intelDB.EnrichInput(ctx, a.IP)
	if err != nil {
		return nil, err
	}
	state := IntelStateOf(s.intelDB.Health())
	if k := e.Skip; k != nil {
		// docs/CONTRACT.md §3.4: a skipped address is answered at the top level.
		return &EnrichAnswer{IP: k.IP, Input: k.Input, Skipped: true, Reason: k.Reason, Category: k.Category,
			Block: k.Block, Name: k.Name, RFC: k.RFC, Intel: state}, nil
	}
	return &EnrichAnswer{Enrichment: EnrichmentView(&e, a.Detail == DetailFull, true), Intel: state}, nil
}

// scan.Activity is what correlate scores and attaches; intel cannot import
// scan, so it states the contract and this line checks it.
var _ intel.Activity = (*scan.Activity)(nil)

func handleCorrelate(ctx context.Context, s *server, c *call, a *CorrelateArgs) (*CorrelateAnswer, error) {
	if len(a.IPs) > intel.MaxCorrelateIPs { // before reading any capture
		return nil, fmt.Errorf("%w: %d addresses, at most %d per call", intel.ErrTooManyIPs, len(a.IPs), intel.MaxCorrelateIPs)
	}
	var activity func(netip.Addr) *scan.Activity
	capID := ""
	var read *ReadView
	if a.given() {
		res, req, err := s.openSource(ctx, c, a.Source)
		if err != nil {
			return nil, err
		}
		capID, read = captureID(res), readView(a.Source, req, res)
		activity = func(ip netip.Addr) *scan.Activity { return res.Analysis.Activity(normalizeAddr(ip)) }
	}
	bind := binding("correlate", capID, strings.Join(a.IPs, "\x00"), a.Detail, a.Limit)
	off, err := readCursor(a.Cursor, bind)
	if err != nil {
		return nil, err
	}
	var scoreBy func(netip.Addr) intel.Activity
	if activity != nil {
		scoreBy = func(ip netip.Addr) intel.Activity {
			if act := activity(ip); act != nil {
				return act
			}
			return nil // no nil *scan.Activity inside the interface: intel would attach it as null
		}
	}
	corr, err := s.intelDB.Correlate(ctx, a.IPs, scoreBy)
	if err != nil {
		return nil, err
	}
	more := false
	state := IntelStateOf(s.intelDB.Health())
	ans, n := fitPage(a.Limit, func(n int) *CorrelateAnswer {
		var ans *CorrelateAnswer
		ans, more = BuildCorrelate(corr, a.Detail == DetailFull, off, n, activity)
		ans.Intel = state
		ans.Read = read
		return ans
	})
	if more {
		ans.NextCursor = makeCursor(off+n, bind)
	}
	return ans, nil
}
