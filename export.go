package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"porthunter/capture"
	"porthunter/mcp"
	"porthunter/scan"
)

// The exports of analyze --format: the suspects of an analysis as
// findings a SIEM ingests, one per suspect, by first seen (suspectOrder).
// Each format is written from the same findings:
//
//	ndjson  one JSON object per line, PortHunter's own field names
//	csv     a header row, then one row per finding
//	eve     Suricata EVE JSON "alert" records (etc/schema.json of Suricata 8.0)
//	ecs     Elastic Common Schema documents, one per line (ECS 9.4)
//	zeek    a Zeek notice.log (ASCII writer, tab-separated, #fields header)
//
// testdata/eve-fields.tsv and testdata/ecs-fields.tsv copy the field
// definitions the eve and ecs exports are checked against, with their
// sources.

// export is what the exports write: the findings and the capture they
// come from.
type export struct {
	file     string // the capture as named on the command line (several: joined by commas)
	sha256   string // its SHA-256 ("" for a set of files)
	first    *scan.Time
	last     *scan.Time
	findings []finding
	total    int // sources listed in all (more than findings with --top)
}

// finding is one suspect with what the exports need beyond
// list_suspects' answer: the one host and the one port it probed, when
// there is one, its transport, and the ATT&CK techniques it shows.
type finding struct {
	mcp.Suspect
	target netip.Addr // invalid when it probed several hosts
	port   int        // -1 when it probed several ports (or with ICMP)
	proto  string     // tcp, udp or icmp; "" when several
	attack []scan.Attack
}

// buildExport is the findings of res under th and site (known scanners
// suppressed): the limit sources with the most distinct probes (limit <
// 0: all), by first seen.
func buildExport(ctx context.Context, res *capture.Result, file string, th scan.Thresholds, site scan.Site, limit int) (*export, error) {
	if limit < 0 {
		limit = math.MaxInt
	}
	pg, err := res.Analysis.TriagePageOf(ctx, th, site, scan.SortProbes, 0, limit)
	if err != nil {
		return nil, err
	}
	sus, total := pg.Suspects, pg.Total
	ex := &export{file: file, sha256: res.Report.SHA256, first: res.Report.Stats.FirstTS, last: res.Report.Stats.LastTS,
		total: total, findings: make([]finding, 0, len(sus))}
	for _, s := range sus {
		f := finding{Suspect: mcp.SuspectView(s, false), port: -1}
		f.proto = protoOf(f.Techniques)
		readServices := false
		if d, ok := res.Analysis.Detail(s.IP); ok {
			readServices = d.FollowedByUse || d.BannerGrabs > 0
			v, _ := mcp.BuildDetail(d, true, 0, 1)
			if v.TargetsTotal == 1 && len(v.Targets) == 1 {
				f.target = v.Targets[0].IP
			}
			if p, err := strconv.Atoi(string(v.Ports)); err == nil && v.PortsTotal == 1 && f.proto != "icmp" {
				f.port = p
			}
		}
		if a, err := netip.ParseAddr(f.DistributedTarget); err == nil && !f.target.IsValid() {
			f.target = a
		}
		f.attack = scan.AttackOf(f.Kind, f.Techniques, f.DistinctPorts, f.DistinctHosts, readServices)
		ex.findings = append(ex.findings, f)
	}
	slices.SortStableFunc(ex.findings, func(a, b finding) int { return suspectOrder(a.Suspect, b.Suspect) })
	return ex, nil
}

// techniqueProtos is the transport of each technique the engine names.
var techniqueProtos = map[string]string{
	"syn_scan": "tcp", "connect_scan": "tcp", "fin_scan": "tcp", "null_scan": "tcp", "xmas_scan": "tcp",
	"maimon_scan": "tcp", "ack_scan": "tcp", "window_scan": "tcp", "illegal_flags_scan": "tcp",
	"udp_scan": "udp", "ping_sweep": "icmp", "sctp_init_scan": "sctp", "sctp_cookie_echo_scan": "sctp",
}

// protoOf is the one transport of techniques, or "" when they use
// several, or one this table does not know.
func protoOf(techniques []string) string {
	p := ""
	for _, t := range techniques {
		q := techniqueProtos[t]
		if q == "" || p != "" && q != p {
			return ""
		}
		p = q
	}
	return p
}

// summary is a finding in one sentence, worded as Zeek's scan notices
// are ("... scanned 1000 unique ports of host 10.0.0.5 in 0m1s").
func (f *finding) summary() string {
	d := zeekDuration(f.LastSeen.NS - f.FirstSeen.NS)
	switch {
	case f.target.IsValid():
		return fmt.Sprintf("%s scanned %d unique ports of host %s in %s", f.IP, f.DistinctPorts, f.target, d)
	case f.proto == "icmp":
		return fmt.Sprintf("%s pinged %d unique hosts in %s", f.IP, f.DistinctHosts, d)
	case f.port >= 0:
		return fmt.Sprintf("%s scanned %d unique hosts on port %d/%s in %s", f.IP, f.DistinctHosts, f.port, cmpOr(f.proto, "unknown"), d)
	}
	return fmt.Sprintf("%s scanned %d unique hosts on %d ports in %s", f.IP, f.DistinctHosts, f.DistinctPorts, d)
}

// zeekDuration is a duration as Zeek's duration_to_mins_secs writes it:
// "1m5s", whole seconds.
func zeekDuration(ns int64) string {
	s := max(ns, 0) / int64(time.Second)
	return fmt.Sprintf("%dm%ds", s/60, s%60)
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// writeExport writes ex in format to w, one line per Write: w is a
// termWriter, which must see whole characters.
func writeExport(w io.Writer, format string, ex *export) error {
	var lines [][]byte
	var err error
	switch format {
	case "ndjson":
		lines, err = jsonLines(ex, ndjsonRecord)
	case "eve":
		lines, err = jsonLines(ex, eveRecord)
	case "ecs":
		lines, err = jsonLines(ex, ecsRecord)
	case "csv":
		lines, err = csvLines(ex)
	case "zeek":
		lines = zeekLines(ex)
	default:
		return fmt.Errorf("analyze: no export %q", format)
	}
	if err != nil {
		return err
	}
	for _, l := range lines {
		if _, err := w.Write(l); err != nil {
			return err
		}
	}
	return nil
}

// jsonLines is one JSON document per finding, each on its line.
func jsonLines(ex *export, record func(*export, *finding) any) ([][]byte, error) {
	out := make([][]byte, 0, len(ex.findings))
	for i := range ex.findings {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(record(ex, &ex.findings[i])); err != nil {
			return nil, err
		}
		out = append(out, b.Bytes())
	}
	return out, nil
}

// --- ndjson ----------------------------------------------------------------

// ndjsonFinding is a finding in PortHunter's own terms: list_suspects'
// field names, with the one target and port, and the ATT&CK techniques.
type ndjsonFinding struct {
	FirstSeen     scan.Time   `json:"first_seen"`
	LastSeen      scan.Time   `json:"last_seen"`
	DetectedAt    scan.Time   `json:"detected_at"`
	Src           netip.Addr  `json:"src"`
	Kind          string      `json:"kind"`
	Techniques    []string    `json:"techniques"`
	FlagsSeen     []string    `json:"flags_seen"`
	Proto         string      `json:"proto,omitempty"`
	DistinctHosts int         `json:"distinct_hosts"`
	Target        string      `json:"target,omitempty"`
	DistinctPorts int         `json:"distinct_ports"`
	Port          *int        `json:"port,omitempty"`
	Probes        int         `json:"probes"`
	RatePPS       *float64    `json:"rate_pps"`
	OpenPorts     mcp.Ports   `json:"open_ports"`
	Tool          *toolRef    `json:"tool"`
	Confidence    float64     `json:"confidence"`
	Attack        []attackRef `json:"attack"`
	Capture       captureRef  `json:"capture"`
}

type toolRef struct {
	Name       string  `json:"name"`
	Confidence float64 `json:"confidence"`
}

type attackRef struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Tactic string `json:"tactic"`
}

type captureRef struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256,omitempty"`
}

func ndjsonRecord(ex *export, f *finding) any {
	r := ndjsonFinding{FirstSeen: f.FirstSeen, LastSeen: f.LastSeen, DetectedAt: f.DetectedAt, Src: f.IP, Kind: f.Kind,
		Techniques: f.Techniques, FlagsSeen: f.FlagsSeen, Proto: f.proto, DistinctHosts: f.DistinctHosts,
		DistinctPorts: f.DistinctPorts, Probes: f.Probes, RatePPS: f.RatePPS, OpenPorts: f.OpenPorts,
		Confidence: f.Confidence, Attack: []attackRef{}, Capture: captureRef{File: ex.file, SHA256: ex.sha256}}
	if f.target.IsValid() {
		r.Target = f.target.String()
	}
	if f.port >= 0 {
		p := f.port
		r.Port = &p
	}
	if f.Tool != nil {
		r.Tool = &toolRef{f.Tool.Name, f.Tool.Confidence}
	}
	for _, a := range f.attack {
		r.Attack = append(r.Attack, attackRef{ID: a.ID, Name: a.Name, Tactic: a.TacticName})
	}
	return r
}

// --- csv -------------------------------------------------------------------

var csvHeader = []string{"first_seen", "last_seen", "detected_at", "src", "kind", "techniques", "flags_seen", "proto",
	"distinct_hosts", "target", "distinct_ports", "port", "probes", "rate_pps", "open_ports", "tool", "tool_confidence",
	"confidence", "attack", "capture", "sha256"}

// csvLines is a header row and one row per finding (RFC 4180 quoting;
// lines end in LF, not RFC 4180's CRLF: the output goes through
// termWriter, which shows a carriage return as \x0d, and every CSV reader
// takes LF). Lists are joined by commas inside their quoted cell.
func csvLines(ex *export) ([][]byte, error) {
	rows := [][]string{slices.Clone(csvHeader)} // csvSafe rewrites cells in place; the header is shared
	for i := range ex.findings {
		f := &ex.findings[i]
		target, port, rate, tool, toolConf := "", "", "", "", ""
		if f.target.IsValid() {
			target = f.target.String()
		}
		if f.port >= 0 {
			port = strconv.Itoa(f.port)
		}
		if f.RatePPS != nil {
			rate = strconv.FormatFloat(*f.RatePPS, 'f', -1, 64)
		}
		if f.Tool != nil {
			tool, toolConf = f.Tool.Name, strconv.FormatFloat(f.Tool.Confidence, 'f', -1, 64)
		}
		ids := make([]string, len(f.attack))
		for j, a := range f.attack {
			ids[j] = a.ID
		}
		rows = append(rows, []string{f.FirstSeen.String(), f.LastSeen.String(), f.DetectedAt.String(), f.IP.String(), f.Kind,
			strings.Join(f.Techniques, ","), strings.Join(f.FlagsSeen, ","), f.proto, strconv.Itoa(f.DistinctHosts), target,
			strconv.Itoa(f.DistinctPorts), port, strconv.Itoa(f.Probes), rate, string(f.OpenPorts), tool, toolConf,
			strconv.FormatFloat(f.Confidence, 'f', -1, 64), strings.Join(ids, ","), ex.file, ex.sha256})
	}
	out := make([][]byte, 0, len(rows))
	for _, r := range rows {
		for j := range r {
			r[j] = csvSafe(r[j])
		}
		var b bytes.Buffer
		cw := csv.NewWriter(&b)
		if err := cw.Write(r); err != nil {
			return nil, err
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return nil, err
		}
		out = append(out, b.Bytes())
	}
	return out, nil
}

// csvSafe keeps a spreadsheet from running a cell as a formula (OWASP's
// CSV injection): a cell starting with = + - @ or a tab or carriage
// return gets a leading apostrophe. Only a capture's file name can start
// so; numbers here are never negative.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// --- Suricata EVE ----------------------------------------------------------

// eveAlert is a Suricata EVE "alert" record: the fields of Suricata 8.0's
// etc/schema.json this export uses (testdata/eve-fields.tsv), with the
// rule of a local signature per kind of scan.
type eveAlert struct {
	Timestamp    string     `json:"timestamp"`
	EventType    string     `json:"event_type"`
	SrcIP        netip.Addr `json:"src_ip"`
	DestIP       string     `json:"dest_ip,omitempty"`
	DestPort     *int       `json:"dest_port,omitempty"`
	Proto        string     `json:"proto,omitempty"`
	PcapFilename string     `json:"pcap_filename"`
	Alert        eveRule    `json:"alert"`
}

type eveRule struct {
	Action      string              `json:"action"`
	GID         int                 `json:"gid"`
	SignatureID int                 `json:"signature_id"`
	Rev         int                 `json:"rev"`
	Signature   string              `json:"signature"`
	Category    string              `json:"category"`
	Severity    int                 `json:"severity"`
	Source      eveEndpoint         `json:"source"`
	Target      *eveEndpoint        `json:"target,omitempty"`
	Metadata    map[string][]string `json:"metadata"`
}

type eveEndpoint struct {
	IP   string `json:"ip"`
	Port *int   `json:"port,omitempty"`
}

// Suricata's classification of scans (etc/classification.config:
// "config classification: network-scan,Detection of a Network Scan,3"),
// the category and priority every scan alert carries.
const (
	eveCategory = "Detection of a Network Scan"
	eveSeverity = 3
)

// signature is the local rule a finding is reported under, one per kind
// of scan. Signature IDs 1000000-1999999 are the range Snort and Suricata
// rule sets leave to local rules; the same ID is ECS's rule.id.
func (f *finding) signature() (sid int, msg string) {
	switch {
	case f.proto == "icmp":
		return 1000005, "PORTHUNTER SCAN ping sweep"
	case f.Kind == "vertical":
		return 1000001, "PORTHUNTER SCAN vertical port scan"
	case f.Kind == "horizontal":
		return 1000002, "PORTHUNTER SCAN horizontal scan (address sweep)"
	case f.Kind == "block":
		return 1000003, "PORTHUNTER SCAN block scan (ports of an address block)"
	case f.Kind == "distributed":
		return 1000004, "PORTHUNTER SCAN distributed port scan"
	}
	return 1000000, "PORTHUNTER SCAN " + f.Kind + " scan"
}

// eveTime is a time as EVE writes it: local time with a numeric offset
// and microseconds, here always UTC ("2026-03-14T09:26:55.600795+0000";
// the schema's pattern requires the fraction and the offset).
func eveTime(t scan.Time) string {
	return time.Unix(0, t.NS).UTC().Format("2006-01-02T15:04:05.000000-0700")
}

// eveProto is the protocol name EVE writes (Suricata names protocols as
// /etc/protocols does: "TCP", "UDP", "ICMP", "IPv6-ICMP").
func eveProto(proto string, src netip.Addr) string {
	if proto == "icmp" && src.Is6() {
		return "IPv6-ICMP"
	}
	return strings.ToUpper(proto)
}

func eveRecord(ex *export, f *finding) any {
	sid, msg := f.signature()
	r := eveAlert{Timestamp: eveTime(f.DetectedAt), EventType: "alert", SrcIP: f.IP, Proto: eveProto(f.proto, f.IP),
		PcapFilename: ex.file,
		Alert: eveRule{Action: "allowed", GID: 1, SignatureID: sid, Rev: 1, Signature: msg, Category: eveCategory,
			Severity: eveSeverity, Source: eveEndpoint{IP: f.IP.String()}, Metadata: eveMetadata(f)}}
	if f.target.IsValid() {
		r.DestIP = f.target.String()
		r.Alert.Target = &eveEndpoint{IP: r.DestIP}
	}
	if f.port >= 0 {
		p := f.port
		r.DestPort = &p
	}
	return r
}

// eveMetadata is the rule metadata of a finding: every value a list of
// strings, as Suricata writes a rule's metadata keyword. The ATT&CK keys
// are those Emerging Threats rules use (mitre_technique_id, ...).
func eveMetadata(f *finding) map[string][]string {
	m := map[string][]string{
		"first_seen":     {f.FirstSeen.String()},
		"last_seen":      {f.LastSeen.String()},
		"kind":           {f.Kind},
		"techniques":     f.Techniques,
		"flags_seen":     f.FlagsSeen,
		"distinct_ports": {strconv.Itoa(f.DistinctPorts)},
		"distinct_hosts": {strconv.Itoa(f.DistinctHosts)},
		"probes":         {strconv.Itoa(f.Probes)},
		"confidence":     {strconv.FormatFloat(f.Confidence, 'f', -1, 64)},
		"summary":        {f.summary()},
	}
	if f.OpenPorts != "" {
		m["open_ports"] = []string{string(f.OpenPorts)}
	}
	if f.Tool != nil {
		m["tool"] = []string{f.Tool.Name}
	}
	for _, a := range f.attack {
		m["mitre_technique_id"] = append(m["mitre_technique_id"], a.ID)
		m["mitre_technique_name"] = append(m["mitre_technique_name"], a.Name)
		if !slices.Contains(m["mitre_tactic_id"], a.TacticID) {
			m["mitre_tactic_id"] = append(m["mitre_tactic_id"], a.TacticID)
			m["mitre_tactic_name"] = append(m["mitre_tactic_name"], a.TacticName)
		}
	}
	for k, v := range m {
		if len(v) == 0 { // the schema wants at least one item per key
			delete(m, k)
		}
	}
	return m
}

// --- Elastic Common Schema -------------------------------------------------

// ecsVersion is the ECS release the documents follow, and whose field
// definitions testdata/ecs-fields.tsv copies.
const ecsVersion = "9.4.0"

// ecsDoc is a finding as an ECS document: an alert (event.kind) of the
// network and intrusion_detection categories, the scanner as source, the
// one target (when there is one) as destination, the ATT&CK classification
// under threat, and what ECS has no field for under porthunter.
type ecsDoc struct {
	Timestamp   scan.Time     `json:"@timestamp"`
	ECS         ecsVersionRef `json:"ecs"`
	Message     string        `json:"message"`
	Event       ecsEvent      `json:"event"`
	Source      ecsHost       `json:"source"`
	Destination *ecsHostPort  `json:"destination,omitempty"`
	Network     *ecsNetwork   `json:"network,omitempty"`
	Related     ecsRelated    `json:"related"`
	Rule        ecsRule       `json:"rule"`
	Threat      *ecsThreat    `json:"threat,omitempty"`
	Observer    ecsObserver   `json:"observer"`
	PortHunter  ecsCustom     `json:"porthunter"`
}

type ecsVersionRef struct {
	Version string `json:"version"`
}

type ecsEvent struct {
	Kind     string    `json:"kind"`
	Category []string  `json:"category"`
	Type     []string  `json:"type"`
	Action   string    `json:"action"`
	Module   string    `json:"module"`
	Dataset  string    `json:"dataset"`
	Start    scan.Time `json:"start"`
	End      scan.Time `json:"end"`
	Duration int64     `json:"duration"`
}

type ecsHost struct {
	IP netip.Addr `json:"ip"`
}

type ecsHostPort struct {
	IP   *netip.Addr `json:"ip,omitempty"`
	Port *int        `json:"port,omitempty"`
}

type ecsNetwork struct {
	Transport string `json:"transport"`
}

type ecsRelated struct {
	IP []netip.Addr `json:"ip"`
}

type ecsRule struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Category string `json:"category"`
	Ruleset  string `json:"ruleset"`
}

type ecsThreat struct {
	Framework string       `json:"framework"`
	Tactic    ecsAttackIDs `json:"tactic"`
	Technique ecsTechnique `json:"technique"`
}

type ecsAttackIDs struct {
	ID        []string `json:"id"`
	Name      []string `json:"name"`
	Reference []string `json:"reference"`
}

type ecsTechnique struct {
	ecsAttackIDs
	Subtechnique *ecsAttackIDs `json:"subtechnique,omitempty"`
}

type ecsObserver struct {
	Product string `json:"product"`
	Type    string `json:"type"`
	Version string `json:"version"`
}

// ecsCustom are PortHunter's fields, which ECS has no place for, under
// the porthunter namespace (ECS: custom fields in their own object).
type ecsCustom struct {
	Kind          string     `json:"kind"`
	Techniques    []string   `json:"techniques"`
	FlagsSeen     []string   `json:"flags_seen"`
	DistinctHosts int        `json:"distinct_hosts"`
	DistinctPorts int        `json:"distinct_ports"`
	Probes        int        `json:"probes"`
	RatePPS       *float64   `json:"rate_pps,omitempty"`
	OpenPorts     string     `json:"open_ports"`
	Tool          *toolRef   `json:"tool,omitempty"`
	Confidence    float64    `json:"confidence"`
	DetectedAt    scan.Time  `json:"detected_at"`
	Capture       captureRef `json:"capture"`
}

func ecsRecord(ex *export, f *finding) any {
	sid, msg := f.signature()
	d := ecsDoc{Timestamp: f.DetectedAt, ECS: ecsVersionRef{ecsVersion}, Message: f.summary(),
		Event: ecsEvent{Kind: "alert", Category: []string{"network", "intrusion_detection"}, Type: []string{"info"},
			Action: f.Kind + "-scan", Module: "porthunter", Dataset: "porthunter.suspects", Start: f.FirstSeen, End: f.LastSeen,
			Duration: max(f.LastSeen.NS-f.FirstSeen.NS, 0)},
		Source:   ecsHost{IP: f.IP},
		Related:  ecsRelated{IP: []netip.Addr{f.IP}},
		Rule:     ecsRule{ID: strconv.Itoa(sid), Name: msg, Category: eveCategory, Ruleset: "porthunter"},
		Observer: ecsObserver{Product: "PortHunter", Type: "ids", Version: version},
		PortHunter: ecsCustom{Kind: f.Kind, Techniques: f.Techniques, FlagsSeen: f.FlagsSeen, DistinctHosts: f.DistinctHosts,
			DistinctPorts: f.DistinctPorts, Probes: f.Probes, RatePPS: f.RatePPS, OpenPorts: string(f.OpenPorts),
			Confidence: f.Confidence, DetectedAt: f.DetectedAt, Capture: captureRef{File: ex.file, SHA256: ex.sha256}}}
	if f.Tool != nil {
		d.PortHunter.Tool = &toolRef{f.Tool.Name, f.Tool.Confidence}
	}
	if f.target.IsValid() || f.port >= 0 {
		d.Destination = &ecsHostPort{}
		if f.target.IsValid() {
			t := f.target
			d.Destination.IP = &t
			d.Related.IP = append(d.Related.IP, t)
		}
		if f.port >= 0 {
			p := f.port
			d.Destination.Port = &p
		}
	}
	if f.proto != "" {
		d.Network = &ecsNetwork{Transport: f.proto}
	}
	if len(f.attack) > 0 {
		th := &ecsThreat{Framework: "MITRE ATT&CK"}
		for _, a := range f.attack {
			if !slices.Contains(th.Tactic.ID, a.TacticID) {
				th.Tactic.ID = append(th.Tactic.ID, a.TacticID)
				th.Tactic.Name = append(th.Tactic.Name, a.TacticName)
				th.Tactic.Reference = append(th.Tactic.Reference, a.TacticURL())
			}
			// ECS keeps a sub-technique apart from its technique:
			// threat.technique.id T1595, subtechnique.id T1595.001.
			id, name, ref := a.ID, a.Name, a.URL()
			if a.ParentID != "" {
				if th.Technique.Subtechnique == nil {
					th.Technique.Subtechnique = &ecsAttackIDs{}
				}
				st := th.Technique.Subtechnique
				st.ID, st.Name, st.Reference = append(st.ID, a.ID), append(st.Name, a.Name), append(st.Reference, a.URL())
				id, name = a.ParentID, a.ParentName
				ref = scan.Attack{ID: a.ParentID}.URL()
			}
			th.Technique.ID = append(th.Technique.ID, id)
			th.Technique.Name = append(th.Technique.Name, name)
			th.Technique.Reference = append(th.Technique.Reference, ref)
		}
		d.Threat = th
	}
	return d
}

// --- Zeek notice.log -------------------------------------------------------

// zeekFields and zeekTypes are notice.log's columns as Zeek 8.2 writes
// them (testing/btest/Baseline/.../notice.log of zeek v8.2.2).
var (
	zeekFields = []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "fuid", "file_mime_type",
		"file_desc", "proto", "note", "msg", "sub", "src", "dst", "p", "n", "peer_descr", "actions", "email_dest",
		"suppress_for", "remote_location.country_code", "remote_location.region", "remote_location.city",
		"remote_location.latitude", "remote_location.longitude"}
	zeekTypes = []string{"time", "string", "addr", "port", "addr", "port", "string", "string", "string", "enum", "enum",
		"string", "string", "addr", "addr", "port", "count", "string", "set[enum]", "set[string]", "interval", "string",
		"string", "string", "double", "double"}
)

// Zeek's ASCII log conventions.
const (
	zeekUnset = "-"
	zeekEmpty = "(empty)"
	// zeekSuppress is Notice::default_suppression_interval, one hour,
	// which Zeek logs as suppress_for.
	zeekSuppress = "3600.000000"
)

// zeekLines is a notice.log: its header, one notice per finding, and
// #close. #open and #close are the capture's first and last packet times
// (Zeek writes its own clock), so that the same capture always gives the
// same log.
func zeekLines(ex *export) [][]byte {
	stamp := func(t *scan.Time) string {
		if t == nil {
			return time.Unix(0, 0).UTC().Format("2006-01-02-15-04-05")
		}
		return time.Unix(0, t.NS).UTC().Format("2006-01-02-15-04-05")
	}
	lines := [][]byte{
		[]byte("#separator \\x09\n"),
		[]byte("#set_separator\t,\n"),
		[]byte("#empty_field\t" + zeekEmpty + "\n"),
		[]byte("#unset_field\t" + zeekUnset + "\n"),
		[]byte("#path\tnotice\n"),
		[]byte("#open\t" + stamp(ex.first) + "\n"),
		[]byte("#fields\t" + strings.Join(zeekFields, "\t") + "\n"),
		[]byte("#types\t" + strings.Join(zeekTypes, "\t") + "\n"),
	}
	for i := range ex.findings {
		lines = append(lines, []byte(strings.Join(zeekRow(&ex.findings[i]), "\t")+"\n"))
	}
	return append(lines, []byte("#close\t"+stamp(ex.last)+"\n"))
}

// zeekRow is a finding as a notice: Scan::Port_Scan when the source
// probed one host (n: its ports), Scan::Address_Scan when it probed many
// (n: the hosts), as Zeek's scan detection (policy/misc/scan.zeek to Zeek
// 6.0, then the bro-simple-scan package) names them.
func zeekRow(f *finding) []string {
	note, n := "Scan::Address_Scan", f.DistinctHosts
	if f.DistinctHosts <= 1 {
		note, n = "Scan::Port_Scan", f.DistinctPorts
	}
	dst, p, proto := zeekUnset, zeekUnset, zeekUnset
	if f.target.IsValid() {
		dst = f.target.String()
	}
	if f.port >= 0 {
		p = strconv.Itoa(f.port)
	}
	if f.proto != "" {
		proto = f.proto
	}
	tool := "-"
	if f.Tool != nil {
		tool = f.Tool.Name
	}
	sub := fmt.Sprintf("kind=%s techniques=%s tool=%s", f.Kind, strings.Join(f.Techniques, ","), tool)
	row := make([]string, 0, len(zeekFields))
	row = append(row,
		strconv.FormatFloat(float64(f.DetectedAt.NS)/1e9, 'f', 6, 64), // ts
		zeekUnset, zeekUnset, zeekUnset, zeekUnset, zeekUnset, // uid, id.*: no one connection
		zeekUnset, zeekUnset, zeekUnset, // fuid, file_mime_type, file_desc
		proto, note, zeekString(f.summary()), zeekString(sub),
		f.IP.String(), dst, p, strconv.Itoa(n),
		"porthunter", "Notice::ACTION_LOG", zeekEmpty, zeekSuppress,
		zeekUnset, zeekUnset, zeekUnset, zeekUnset, zeekUnset) // remote_location.*
	return row
}

// zeekString is a string field as Zeek's ASCII writer escapes it: bytes
// outside printable ASCII (the tab separator among them) and the
// backslash as \xHH, and a value that reads as the unset marker escaped
// too.
func zeekString(s string) string {
	switch s {
	case "":
		return zeekEmpty
	case zeekUnset:
		return `\x2d`
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '\\' {
			fmt.Fprintf(&b, `\x%02x`, c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
