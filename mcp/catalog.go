package mcp

import (
	"context"
	"strings"
	"sync"
	"time"

	"porthunter/capture"
	"porthunter/policy"
	"porthunter/scan"
)

// --- list_captures ---------------------------------------------------------

// ListCapturesArgs are list_captures' arguments.
type ListCapturesArgs struct {
	Dir    string `json:"dir" default:"\".\"" min:"1" max:"4096" desc:"directory to list, relative to PORT_HUNTER_ALLOWED_DIR; its subdirectories are listed too, 8 levels deep"`
	Limit  int    `json:"limit" default:"50" min:"1" max:"1000" desc:"captures per page"`
	Cursor string `json:"cursor" max:"512" desc:"next_cursor of the previous answer, for the next page"`
}

// ListCapturesAnswer is list_captures' answer.
type ListCapturesAnswer struct {
	Envelope
	Dir        string        `json:"dir"`
	Captures   []CaptureItem `json:"captures" desc:"one page of captures, by path"`
	Total      int           `json:"total" desc:"captures found"`
	Truncated  bool          `json:"truncated" desc:"more captures than this page: next_cursor pages on"`
	NextCursor string        `json:"next_cursor,omitempty" desc:"call again with this cursor for the next page"`
	Sets       []SetItem     `json:"sets" desc:"the rotated sets whose first file is on this page"`
	SetsTotal  int           `json:"sets_total" desc:"rotated sets found in all"`
	Walk       WalkView      `json:"walk" desc:"what the listing read, and whether a bound stopped it"`
}

// CaptureItem is one capture of the listing.
type CaptureItem struct {
	Path        string        `json:"path" desc:"relative to PORT_HUNTER_ALLOWED_DIR: the path argument of the other tools"`
	SizeBytes   int64         `json:"size_bytes"`
	Modified    string        `json:"modified" desc:"modification time, UTC, RFC 3339"`
	Format      string        `json:"format" enum:"pcap,pcapng" desc:"by the file's first bytes (through gzip), never its name"`
	Compression string        `json:"compression" enum:"none,gzip"`
	TooLarge    bool          `json:"too_large,omitempty" desc:"larger than PORT_HUNTER_MAX_PCAP_MB: the tools refuse it"`
	Set         string        `json:"set,omitempty" desc:"the rotated set it belongs to (its glob, or its pattern when no glob selects it alone)"`
	Analysed    *AnalysedView `json:"analysed,omitempty" desc:"present when the server has analysed the file and keeps the analysis"`
}

// AnalysedView is what the cached analysis of a listed file says.
type AnalysedView struct {
	Packets   uint64     `json:"packets"`
	FirstTS   *scan.Time `json:"first_ts"`
	LastTS    *scan.Time `json:"last_ts"`
	Truncated bool       `json:"truncated,omitempty" desc:"the file is cut or damaged after some packets"`
}

// SetItem is one rotated set: files named by a rotating writer.
type SetItem struct {
	Glob          string `json:"glob,omitempty" desc:"pass it as glob to read the set as one capture; absent when no simple glob selects exactly these files (then pass paths)"`
	Dir           string `json:"dir"`
	Pattern       string `json:"pattern" desc:"the files' name with the varying digits written #"`
	Kind          string `json:"kind" enum:"tcpdump_count,dumpcap_ring,timestamped,numbered" desc:"tcpdump -C (cap.pcap, cap.pcap1, ...), dumpcap ring (name_00001_YYYYmmddHHMMSS), time-stamped names (tcpdump -G), or numbered names written in order"`
	Files         int    `json:"files"`
	First         string `json:"first" desc:"first file, in rotation order"`
	Last          string `json:"last" desc:"last file"`
	SizeBytes     int64  `json:"size_bytes"`
	FirstModified string `json:"first_modified"`
	LastModified  string `json:"last_modified"`
	TooLarge      bool   `json:"too_large,omitempty" desc:"the files together are larger than PORT_HUNTER_MAX_PCAP_MB, which bounds a set as a whole"`
	TooMany       bool   `json:"too_many,omitempty" desc:"more files than PORT_HUNTER_MAX_SET_FILES: read it in parts (paths)"`
}

// WalkView says what a listing read.
type WalkView struct {
	Dirs          int  `json:"dirs" desc:"directories read"`
	Entries       int  `json:"entries" desc:"names looked at"`
	OtherFiles    int  `json:"other_files" desc:"regular files that are not captures (by their first bytes)"`
	Skipped       int  `json:"skipped" desc:"names not looked at: links leaving the directory or to directories, FIFOs, devices, unreadable files"`
	MaxDepth      int  `json:"max_depth" desc:"levels read below dir"`
	MaxEntries    int  `json:"max_entries" desc:"names one listing looks at, at most"`
	DepthLimitHit bool `json:"depth_limit_hit" desc:"deeper directories were not read"`
	EntryLimitHit bool `json:"entry_limit_hit" desc:"the listing stopped at max_entries names: list a subdirectory"`
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// catalogItem is the listing's view of one capture.
func (s *server) catalogItem(cat *capture.Catalog, e capture.CatalogEntry) CaptureItem {
	it := CaptureItem{Path: e.Path, SizeBytes: e.Info.Size, Modified: rfc3339(e.Info.ModTime), Format: e.Info.Format(),
		Compression: "none", TooLarge: e.Info.TooLarge}
	if e.Info.Kind == policy.KindGzip {
		it.Compression = "gzip"
	}
	if e.Set >= 0 {
		it.Set = setName(cat.Sets[e.Set])
	}
	if r := s.z.Cached(e.Info); r != nil {
		it.Analysed = &AnalysedView{Packets: r.Report.Stats.TotalPackets, FirstTS: r.Report.Stats.FirstTS, LastTS: r.Report.Stats.LastTS,
			Truncated: r.Report.Truncated != nil}
	}
	return it
}

// setName names a set in the listing: its glob, or its pattern.
func setName(rs capture.RotatedSet) string {
	if rs.Glob != "" {
		return rs.Glob
	}
	if rs.Dir == "." {
		return rs.Pattern
	}
	return rs.Dir + "/" + rs.Pattern
}

func (s *server) setItem(rs capture.RotatedSet) SetItem {
	return SetItem{Glob: rs.Glob, Dir: rs.Dir, Pattern: rs.Pattern, Kind: rs.Kind, Files: len(rs.Files), First: rs.Files[0],
		Last: rs.Files[len(rs.Files)-1], SizeBytes: rs.Size, FirstModified: rfc3339(rs.First), LastModified: rfc3339(rs.Last),
		TooLarge: rs.Size > s.cfg.MaxPcapBytes, TooMany: len(rs.Files) > s.cfg.MaxSetFiles}
}

func walkView(cat *capture.Catalog) WalkView {
	return WalkView{Dirs: cat.Dirs, Entries: cat.Entries, OtherFiles: cat.Other, Skipped: cat.Skipped,
		MaxDepth: capture.MaxCatalogDepth, MaxEntries: capture.MaxCatalogEntries,
		DepthLimitHit: cat.DepthLimitHit, EntryLimitHit: cat.EntryLimitHit}
}

// catalogBinding is what a cursor over a listing binds: the paths
// listed, so a directory that changed between pages is listed again from
// the start rather than paged with items skipped or repeated.
func catalogBinding(kind string, cat *capture.Catalog, args ...any) [12]byte {
	var b strings.Builder
	for _, e := range cat.Captures {
		b.WriteString(e.Path)
		b.WriteByte(0)
	}
	return binding(append([]any{kind, cat.Dir, b.String()}, args...)...)
}

func handleListCaptures(ctx context.Context, s *server, _ *call, a *ListCapturesArgs) (*ListCapturesAnswer, error) {
	cat, err := capture.ListCaptures(ctx, s.sb, a.Dir, capture.MaxCatalogDepth, capture.MaxCatalogEntries)
	if err != nil {
		return nil, err
	}
	bind := catalogBinding("list_captures", cat, a.Limit)
	off, err := readCursor(a.Cursor, bind)
	if err != nil {
		return nil, err
	}
	page, _ := pageOf(cat.Captures, off, a.Limit)
	items := make([]CaptureItem, len(page))
	for i, e := range page {
		items[i] = s.catalogItem(cat, e)
	}
	ans, n := fitPage(len(items), func(n int) *ListCapturesAnswer {
		v := &ListCapturesAnswer{Dir: cat.Dir, Captures: items[:n], Total: len(cat.Captures), Sets: []SetItem{},
			SetsTotal: len(cat.Sets), Walk: walkView(cat)}
		for _, e := range page[:n] {
			if e.Set >= 0 && cat.Sets[e.Set].Files[0] == e.Path {
				v.Sets = append(v.Sets, s.setItem(cat.Sets[e.Set]))
			}
		}
		return v
	})
	if off+n < len(cat.Captures) {
		ans.Truncated, ans.NextCursor = true, makeCursor(off+n, bind)
	}
	return ans, nil
}

// catalogCache keeps the listing of the allowed directory for a moment:
// completion asks for it at each keystroke, and resources/list for each
// page, while a listing costs an open per file.
type catalogCache struct {
	mu  sync.Mutex
	cat *capture.Catalog
	at  time.Time
}

// catalogTTL is how long a listing is reused.
const catalogTTL = 2 * time.Second

// catalog is the listing of the whole allowed directory, at most
// catalogTTL old.
func (s *server) catalog(ctx context.Context) (*capture.Catalog, error) {
	s.cats.mu.Lock()
	defer s.cats.mu.Unlock()
	if s.cats.cat != nil && time.Since(s.cats.at) < catalogTTL {
		return s.cats.cat, nil
	}
	cat, err := capture.ListCaptures(ctx, s.sb, ".", capture.MaxCatalogDepth, capture.MaxCatalogEntries)
	if err != nil {
		return nil, err
	}
	s.cats.cat, s.cats.at = cat, time.Now()
	return cat, nil
}
