package mcp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"porthunter/capture"
	"porthunter/intel"
	"porthunter/scan"
)

// Evidence: what a tool call hands back that is too large for an answer
// (a carved capture, a whole report), held in memory as a resource the
// answer links to (a resource_link content item), and, for carves, also
// written to PORT_HUNTER_EVIDENCE_DIR when it is set. Nothing else the
// server does writes to disk.

// Limits of the evidence held in memory.
const (
	// MaxCarveBytes bounds one carved capture: sixteen MiB are a few
	// hundred thousand probes, more than one scanner's packets in any
	// capture the default limits allow, and 21 MiB once base64-encoded in
	// a resources/read answer.
	MaxCarveBytes = 16 << 20
	// MaxEvidenceBytes bounds the evidence held in all; past it the least
	// recently read or made is dropped (its URI then answers not found).
	MaxEvidenceBytes = 64 << 20
	// evidenceIDBytes is the randomness of an evidence URI: the URI is
	// the capability to read it when the token is required (discover.go).
	evidenceIDBytes = 16
)

// evidence is one artefact held in memory.
type evidence struct {
	id, name, title, mime string
	data                  []byte
	sha256                string
	packets               *uint64 // a carve's packets
	created               time.Time
	description           string
}

func (e *evidence) uri() string { return uriEvidence + e.id + "/" + uriEscape(e.name) }

// resource is e's entry of resources/list.
func (e *evidence) resource() map[string]any {
	return map[string]any{"uri": e.uri(), "name": e.name, "title": e.title, "description": e.description,
		"mimeType": e.mime, "size": len(e.data), "annotations": map[string]any{"lastModified": rfc3339(e.created)}}
}

// link is e as a resource_link content item of a tool result.
func (e *evidence) link() map[string]any {
	l := e.resource()
	l["type"] = "resource_link"
	return l
}

// contents is e's resources/read content: text for a report, base64
// for a capture, with its SHA-256 (and packets) in _meta.
func (e *evidence) contents(uri string) map[string]any {
	meta := map[string]any{"porthunter/sha256": e.sha256, "porthunter/size_bytes": len(e.data)}
	if e.packets != nil {
		meta["porthunter/packets"] = *e.packets
	}
	c := map[string]any{"uri": uri, "mimeType": e.mime, "_meta": meta}
	if strings.HasPrefix(e.mime, "text/") {
		c["text"] = string(e.data)
	} else {
		c["blob"] = base64Of(e.data)
	}
	return c
}

// evidenceStore holds the evidence of the process, least recently used
// first, within MaxEvidenceBytes.
type evidenceStore struct {
	mu    sync.Mutex
	items []*evidence // least recently used first
	bytes int64
}

func newEvidenceStore() *evidenceStore { return &evidenceStore{} }

// newEvidenceID is a fresh random id.
func newEvidenceID() string {
	b := make([]byte, evidenceIDBytes)
	rand.Read(b) // never fails (crypto/rand: a failure crashes the program)
	return hex.EncodeToString(b)
}

func validEvidenceID(id string) bool {
	if len(id) != 2*evidenceIDBytes {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

// put stores e, dropping the least recently used to make room.
func (st *evidenceStore) put(e *evidence) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for len(st.items) > 0 && st.bytes+int64(len(e.data)) > MaxEvidenceBytes {
		st.bytes -= int64(len(st.items[0].data))
		st.items = st.items[1:]
	}
	st.items = append(st.items, e)
	st.bytes += int64(len(e.data))
}

// get returns the evidence of id, now the most recently used, or nil.
func (st *evidenceStore) get(id string) *evidence {
	st.mu.Lock()
	defer st.mu.Unlock()
	i := slices.IndexFunc(st.items, func(e *evidence) bool { return e.id == id })
	if i < 0 {
		return nil
	}
	e := st.items[i]
	st.items = append(slices.Delete(st.items, i, i+1), e)
	return e
}

// list is the evidence held, newest first.
func (st *evidenceStore) list() []*evidence {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := slices.Clone(st.items)
	slices.SortStableFunc(out, func(a, b *evidence) int { return b.created.Compare(a.created) })
	return out
}

// linker is an answer that links resources: their resource_link items
// follow the JSON text in the tool result's content.
type linker interface{ links() []any }

// --- carve -------------------------------------------------------------------

// CarveArgs are carve's arguments.
type CarveArgs struct {
	Source
	IP string `json:"ip" required:"true" min:"1" max:"256" desc:"address whose packets are kept, sent or received (IPv4 or IPv6), with the ICMP errors that quote them"`
}

// CarveAnswer is carve's answer: what was kept and where it is.
type CarveAnswer struct {
	Envelope
	IP          string                    `json:"ip"`
	URI         string                    `json:"uri" desc:"the carved pcapng as a resource: resources/read gives it base64 with its SHA-256 and packets; the result's resource_link points to it"`
	Name        string                    `json:"name"`
	MimeType    string                    `json:"mime_type"`
	SizeBytes   int64                     `json:"size_bytes"`
	SHA256      string                    `json:"sha256" desc:"of the pcapng as held and as written"`
	Packets     uint64                    `json:"packets" desc:"packets kept"`
	RecordsRead uint64                    `json:"records_read" desc:"records read, in all the files"`
	FirstTS     *scan.Time                `json:"first_ts" desc:"first packet kept; null when none"`
	LastTS      *scan.Time                `json:"last_ts"`
	Files       []string                  `json:"files" desc:"the files read, in the order read, at most 8"`
	FilesTotal  int                       `json:"files_total"`
	Duplicates  []capture.DuplicateReport `json:"duplicates" desc:"files left out as the same as another, at most 8"`
	Window      *capture.WindowReport     `json:"window" desc:"the time window, null when none"`
	Truncated   *capture.TruncationReport `json:"truncated" desc:"where reading stopped when a file broke after its first packet (the packets before were carved); null when all was read"`
	WrittenTo   string                    `json:"written_to,omitempty" desc:"the file also written into PORT_HUNTER_EVIDENCE_DIR (its name there), when that is set"`
	Held        string                    `json:"held" desc:"how long the resource stays readable"`

	ev *evidence
}

func (a *CarveAnswer) links() []any { return []any{a.ev.link()} }

func handleCarve(ctx context.Context, s *server, c *call, a *CarveArgs) (*CarveAnswer, error) {
	ip, err := intel.ParseIP(a.IP)
	if err != nil {
		return nil, err
	}
	ip = normalizeAddr(ip)
	req, err := s.request(a.Source)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	res, err := s.z.Carve(ctx, req, ip, &buf, MaxCarveBytes)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(buf.Bytes())
	kept := res.Kept
	now := time.Now().UTC()
	e := &evidence{id: newEvidenceID(), mime: mimePcapng, data: buf.Bytes(), sha256: hex.EncodeToString(sum[:]), packets: &kept, created: now,
		name:  fmt.Sprintf("carve-%s-%s.pcapng", strings.NewReplacer(":", "-", ".", "-").Replace(ip.String()), now.Format("20060102T150405Z")),
		title: fmt.Sprintf("Packets of %s from %s", ip, a.name())}
	e.description = fmt.Sprintf("%d packets to or from %s (and ICMP errors quoting them) carved from %s; pcapng, SHA-256 %s", kept, ip, a.name(), e.sha256)
	ans := &CarveAnswer{IP: ip.String(), URI: e.uri(), Name: e.name, MimeType: e.mime, SizeBytes: int64(len(e.data)), SHA256: e.sha256,
		Packets: kept, RecordsRead: res.Read, FirstTS: res.First, LastTS: res.Last, Files: res.Files, FilesTotal: len(res.Files),
		Duplicates: nonNil(res.Duplicates), Held: fmt.Sprintf("in memory until the server stops, or until %d MiB of newer evidence pushes it out", MaxEvidenceBytes>>20), ev: e}
	ans.Files = ans.Files[:min(len(ans.Files), readFiles)]
	ans.Duplicates = ans.Duplicates[:min(len(ans.Duplicates), readDuplicates)]
	ans.Window, ans.Truncated = res.Window, res.Truncated
	if s.evDir != nil {
		name := strings.TrimSuffix(e.name, ".pcapng") + "-" + e.id[:8] + ".pcapng"
		if err := s.writeEvidence(name, e.data); err != nil {
			return nil, err
		}
		ans.WrittenTo = name
	}
	s.store.put(e)
	return ans, nil
}

// writeEvidence writes data as a new file of the evidence directory,
// synced before it counts as written, and removed if anything fails, so
// no half-written capture is left looking like evidence.
func (s *server) writeEvidence(name string, data []byte) error {
	f, err := s.evDir.Create(name)
	if err != nil {
		return fmt.Errorf("writing the evidence file %s: %w", name, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.evDir.Remove(name)
		return fmt.Errorf("writing the evidence file %s: %w", name, err)
	}
	return nil
}
