package intel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// SourceStatus is the load report of one file of the intel directory (or
// one online provider).
type SourceStatus struct {
	Provider string `json:"provider"` // e.g. "ip2asn", "list:spamhaus_drop", "otx"; "" when ignored
	Format   string `json:"format"`   // Format* constant, "online", or "" when ignored
	File     string `json:"file"`     // path inside the intel directory; "" for online providers
	// Status is "loaded", "error", "ignored" (not a format read here, or
	// not a regular file), "refused" (over the memory budget), "enabled"
	// or "disabled".
	Status    string  `json:"status"`
	Entries   int     `json:"entries"`
	Skipped   int     `json:"skipped"`   // unusable lines
	Dropped   int     `json:"dropped"`   // deliberately not stored: special-purpose, not routed, available, expired, duplicate
	Truncated bool    `json:"truncated"` // MaxRowsPerFile reached
	Bytes     int64   `json:"bytes"`     // memory its tables hold (an estimate), counted in the budget
	AsOf      *string `json:"as_of"`
	// Stale: AsOf was older than FreshFor when the file was loaded
	// (StaleAt answers for another time).
	Stale bool    `json:"stale"`
	Error *string `json:"error"`
	// FreshFor is how long after AsOf the dataset counts as current: the
	// refresh interval of its kind (docs/INTEL.md §8.3). 0 for what has
	// no date.
	FreshFor time.Duration `json:"-"`

	asOf time.Time // AsOf, parsed
}

// StaleAt reports whether the loaded dataset is older than its refresh
// interval at now. A dataset without a date is never stale.
func (s SourceStatus) StaleAt(now time.Time) bool {
	return s.Status == "loaded" && s.FreshFor > 0 && !s.asOf.IsZero() && now.Sub(s.asOf) > s.FreshFor
}

// stamp identifies a file version for Refresh.
type stamp struct {
	modTime time.Time
	size    int64
	mode    fs.FileMode
}

type offline struct {
	datasets []*dataset
	groups   []providerGroup // datasets by provider, in answer order
	status   []SourceStatus
	stamps   map[string]stamp
	used     int64 // bytes the loaded datasets hold (the sum of their Bytes)
	limit    int64 // the budget they were loaded under
}

// loadDir loads every recognised file of fsys (see detectFormat) under a
// memory budget of limit bytes. It fails only when ctx ends, with ctx's
// error; nothing of the partial load is kept.
func loadDir(ctx context.Context, fsys fs.FS, now time.Time, limit int64) (*offline, error) {
	off := &offline{stamps: make(map[string]stamp), limit: limit}
	if fsys == nil {
		return off, nil
	}
	ents, stamps, err := listDir(fsys)
	off.stamps = stamps
	if err != nil {
		msg := err.Error()
		off.status = append(off.status, SourceStatus{Status: "error", Error: &msg})
	}
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if e.err != nil { // never opened
			msg := e.err.Error()
			st := SourceStatus{File: e.name, Status: "error", Error: &msg}
			if errors.Is(e.err, ErrNotRegular) {
				st.Status = "ignored"
			}
			off.status = append(off.status, st)
			continue
		}
		ds, st := loadFile(ctx, fsys, e.name, now, limit-off.used)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if ds != nil {
			st.Bytes = ds.size()
			off.used += st.Bytes
			off.datasets = append(off.datasets, ds)
		}
		off.status = append(off.status, st)
	}
	off.groups = groupDatasets(off.datasets)
	return off, nil
}

// dirEntry is one entry of the intel directory; err says why it is not
// read (ErrNotRegular, or its stat failed).
type dirEntry struct {
	name string
	err  error
}

// listDir returns the files up to MaxDirDepth levels down, in lexical
// order, skipping hidden names, at most MaxFiles, with their stamps. Only
// regular files (or symlinks to one) are to be read: the others are listed
// with ErrNotRegular. Nothing is opened but directories.
func listDir(fsys fs.FS) ([]dirEntry, map[string]stamp, error) {
	var ents []dirEntry
	stamps := make(map[string]stamp)
	var tooMany error
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable subdirectory is skipped, the rest loads
		}
		if p == "." {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if strings.Count(p, "/") >= MaxDirDepth {
				return fs.SkipDir
			}
			return nil
		}
		if bundleFile(d.Name()) {
			return nil
		}
		if len(ents) == MaxFiles {
			tooMany = fmt.Errorf("intel: more than %d files; the rest were not read", MaxFiles)
			return fs.SkipAll
		}
		// The type from the directory listing (lstat) is enough for what
		// is not a symlink; a symlink is followed by a stat, never an open.
		var fi fs.FileInfo
		if t := d.Type(); t.IsRegular() || t&fs.ModeSymlink != 0 {
			fi, err = statNoOpen(fsys, p)
		} else {
			fi, err = d.Info()
		}
		if err == nil {
			stamps[p] = stamp{modTime: fi.ModTime(), size: fi.Size(), mode: fi.Mode().Type()}
			if !fi.Mode().IsRegular() {
				err = notRegular(fi.Mode())
			}
		}
		ents = append(ents, dirEntry{name: p, err: err})
		return nil
	})
	if err == nil {
		err = tooMany
	}
	return ents, stamps, err
}

// Names of the files a bundle carries beside the data (docs/INTEL.md §8.4):
// the manifest that `porthunter intel fetch` writes, its checksum list, and
// notes. They are not intel, so they are neither read nor reported.
const (
	ManifestName = "MANIFEST.json"
	SumsName     = "SHA256SUMS"
)

// bundleFile reports whether a directory entry is one of a bundle's own
// files rather than data.
func bundleFile(name string) bool {
	return name == ManifestName || name == SumsName || strings.EqualFold(path.Ext(name), ".md")
}

// loadFile loads one file; allow is what the memory budget leaves it. It
// never fails: what went wrong is in the status.
func loadFile(ctx context.Context, fsys fs.FS, name string, now time.Time, allow int64) (*dataset, SourceStatus) {
	st := SourceStatus{File: name, Status: "error"}
	fail := func(err error) (*dataset, SourceStatus) {
		var fe *FormatError
		if errors.As(err, &fe) && fe.File == "" {
			fe.File = name
		}
		if errors.Is(err, ErrOverBudget) {
			st.Status = "refused"
		}
		msg := err.Error()
		st.Error = &msg
		return nil, st
	}
	if allow <= 0 {
		return fail(fmt.Errorf("%w: the files before it hold all of it", ErrOverBudget))
	}
	o, err := openFile(ctx, fsys, name, MaxFileBytes)
	if err != nil {
		if errors.Is(err, ErrNotRegular) {
			st.Status = "ignored"
		}
		return fail(err)
	}
	defer o.Close()
	if len(o.head) == 0 {
		// A download cut to nothing, or a placeholder: never a dataset.
		return fail(fmt.Errorf("%w: the file is empty", ErrNoEntries))
	}
	base := strings.ToLower(path.Base(name))
	base = strings.TrimSuffix(base, ".gz")
	format := detectFormat(base, o.head)
	var buf []byte
	if format == "" && looksBinary(o.head) {
		// Possibly an MMDB under another name: only its tail tells.
		if buf, err = readHeld(o, allow); err != nil {
			return fail(err)
		}
		if isMMDB(buf) {
			format = FormatMMDB
		}
	}
	if format == "" && buf == nil && noDataLine(o.head) {
		// Nothing but comments in the head: a list that lists nothing now
		// (Feodo Tracker's between campaigns, Spamhaus's EDROP stub since
		// its merge into DROP), or one whose header is longer than the
		// head. The list loader decides; a file with lines it cannot use
		// is still unrecognised.
		format = FormatList
	}
	st.Format = format
	if format == "" {
		st.Status = "ignored"
		msg := ErrUnrecognised.Error()
		st.Error = &msg
		return nil, st
	}
	ds := &dataset{format: format, file: name, asOf: o.modTime.UTC(), staleAfter: FreshFor(format), stats: loadStats{allow: allow}}
	lr := &lineReader{r: o.r}
	switch format {
	case FormatIP2ASN:
		ds.provider, ds.license = "ip2asn", licensePDDL
		ds.asn, err = loadIP2ASN(ctx, lr, &ds.stats)
	case FormatRIR:
		ds.provider = "rir_delegated"
		var asOf time.Time
		ds.rir, asOf, err = loadRIR(ctx, lr, &ds.stats)
		if !asOf.IsZero() {
			ds.asOf = asOf
		}
	case FormatDBIP:
		ds.provider, ds.license, ds.attribution = "dbip_csv", licenseCCBY, attributionDBIP
		ds.geo, ds.asn, err = loadDBIP(ctx, lr, &ds.stats)
		if t := dbipAsOf(base); !t.IsZero() {
			ds.asOf = t
		}
	case FormatList:
		ds.provider = "list:" + listName(base)
		var res listResult
		res, err = loadList(ctx, lr, &ds.stats)
		if errors.Is(err, ErrNoEntries) && ds.stats.skipped == 0 {
			// Only comments and entries dropped on purpose: a list that
			// is empty today, loaded as such (every lookup misses).
			res.table, err = &listTable{}, nil
		}
		if errors.Is(err, ErrNoEntries) && st.Format == FormatList && noDataLine(o.head) {
			st.Format, st.Status = "", "ignored" // taken for a list on its comments alone; it is not one
			msg := ErrUnrecognised.Error()
			st.Error = &msg
			return nil, st
		}
		ds.list = res.table
		if !res.asOf.IsZero() {
			ds.asOf = res.asOf
		}
		if res.spamhaus || strings.HasPrefix(ds.provider, "list:spamhaus") {
			ds.license, ds.attribution = licenseSpamhaus, attributionSpamhs
		}
	case FormatOTXImport:
		ds.provider = "otx_import"
		ds.otx, err = loadOTXImport(ctx, o.r, now, &ds.stats)
	case FormatGreyNoiseImport:
		ds.provider = "greynoise_import"
		ds.gn, err = loadGreyNoiseImport(lr, &ds.stats)
	case FormatMMDB:
		ds.provider = "mmdb:" + path.Base(name)
		if buf == nil {
			if buf, err = readHeld(o, allow); err != nil {
				st.Provider = ds.provider
				return fail(err)
			}
		}
		ds.mmdb, err = openMMDB(buf)
		if err == nil {
			ds.stats.entries = int(ds.mmdb.nodeCount)
			if t := ds.mmdb.asOf(); !t.IsZero() {
				ds.asOf = t
			}
			ds.license, ds.attribution = mmdbLicence(ds.mmdb.dbType)
		}
	}
	st.Provider = ds.provider
	st.Entries, st.Skipped, st.Dropped, st.Truncated = ds.stats.entries, ds.stats.skipped, ds.stats.dropped, ds.stats.truncated
	if !ds.asOf.IsZero() {
		s := ds.asOf.Format(time.RFC3339)
		st.AsOf, st.asOf = &s, ds.asOf
	}
	st.FreshFor = ds.staleAfter
	if err != nil {
		return fail(err)
	}
	if n := ds.size(); n > allow { // the estimate while loading was below the tables' size
		return fail(fmt.Errorf("%w: its tables hold %d bytes, %d are left", ErrOverBudget, n, allow))
	}
	st.Status = "loaded"
	st.Stale = st.StaleAt(now)
	return ds, st
}

// FreshFor is how long a dataset of format stays current after its date
// (docs/INTEL.md §8.3): the publisher's update rhythm with room for an
// air-gapped host's copying.
func FreshFor(format string) time.Duration {
	switch format {
	case FormatIP2ASN:
		return staleASN
	case FormatRIR:
		return staleRIR
	case FormatDBIP, FormatMMDB:
		return staleDBIP
	case FormatList, FormatOTXImport, FormatGreyNoiseImport:
		return staleBlocklist
	}
	return 0
}

// heldChunk is the step in which a gzip'd file kept whole is read: its
// size is known only at its end, and chunks joined once cost twice the
// file where a doubling buffer costs four times.
const heldChunk = 1 << 20

// readHeld reads the rest of a file that is kept whole in memory (an
// MMDB), refusing it once it passes allow bytes. A plain file's size is
// known: one too big is refused before it is read, and the buffer is
// allocated once. It is not readAllMax, whose growing buffer costs up to
// four times the file (heldChunk) on files of up to MaxFileBytes.
func readHeld(o *opened, allow int64) ([]byte, error) {
	over := fmt.Errorf("%w: it is held whole, and more than the %d bytes left", ErrOverBudget, allow)
	r := io.LimitReader(o.r, allow+1)
	if !o.gz {
		if o.size > allow {
			return nil, over
		}
		b := bytes.NewBuffer(make([]byte, 0, o.size+bytes.MinRead))
		if _, err := b.ReadFrom(r); err != nil {
			return nil, err
		}
		if int64(b.Len()) > allow { // it grew while read
			return nil, over
		}
		return b.Bytes(), nil
	}
	var chunks [][]byte
	total := 0
	for {
		c := make([]byte, heldChunk)
		n, err := io.ReadFull(r, c)
		chunks, total = append(chunks, c[:n]), total+n
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if int64(total) > allow {
		return nil, over
	}
	return bytes.Join(chunks, nil), nil
}

func mmdbLicence(dbType string) (license, attribution string) {
	switch {
	case strings.HasPrefix(dbType, "DBIP"), strings.HasPrefix(dbType, "DB-IP"):
		return licenseCCBY, attributionDBIP
	case strings.HasPrefix(dbType, "GeoLite2"):
		return "MaxMind GeoLite2 EULA", "This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com"
	}
	return "", ""
}

// detectFormat identifies a file by its name first (the names the
// publishers use) and otherwise by its first data line. base is the
// lower-case file name without ".gz".
func detectFormat(base string, head []byte) string {
	ext := path.Ext(base)
	switch {
	case ext == ".mmdb":
		return FormatMMDB
	case strings.HasPrefix(base, "ip2asn"):
		return FormatIP2ASN
	case strings.HasPrefix(base, "delegated-"):
		return FormatRIR
	case strings.HasPrefix(base, "dbip-") && ext == ".csv":
		return FormatDBIP
	case (strings.HasPrefix(base, "otx") || strings.Contains(base, "pulses")) && ext == ".json":
		return FormatOTXImport
	case strings.HasPrefix(base, "greynoise") && (ext == ".jsonl" || ext == ".ndjson" || ext == ".json"):
		return FormatGreyNoiseImport
	}
	return sniffFormat(head)
}

// sniffFormat looks at the first line that is not blank or a comment.
func sniffFormat(head []byte) string {
	if looksBinary(head) {
		return ""
	}
	trimmed := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	if len(trimmed) > 0 && (trimmed[0] == '[' || trimmed[0] == '{') && bytes.Contains(head, []byte(`"indicators"`)) {
		return FormatOTXImport
	}
	var line []byte
	rest := head
	for len(rest) > 0 {
		var l []byte
		l, rest, _ = bytes.Cut(rest, []byte("\n"))
		l = bytes.TrimSpace(l)
		if len(l) == 0 || (isComment(l) && !bytes.Contains(l, []byte("dst_ip"))) {
			continue
		}
		line = l
		break
	}
	if line == nil {
		return ""
	}
	if line[0] == '{' {
		if bytes.Contains(line, []byte(`"noise"`)) || bytes.Contains(line, []byte(`"riot"`)) {
			return FormatGreyNoiseImport
		}
		return FormatList
	}
	if bytes.Count(line, []byte("\t")) >= 4 {
		if _, _, _, ok := parseIP2ASNLine(line); ok {
			return FormatIP2ASN
		}
	}
	if f := splitPipes(line, nil); len(f) >= 6 && rirLineKind(f) != rirBad {
		return FormatRIR
	}
	if f, ok := splitCSV(line, nil); ok && len(f) >= 3 && dbipShape(f) != dbipUnknown {
		_, ok1 := parseRangeAddr([]byte(f[0]))
		_, ok2 := parseRangeAddr([]byte(f[1]))
		if ok1 && ok2 {
			return FormatDBIP
		}
	}
	if bytes.Contains(line, []byte("dst_ip")) {
		return FormatList
	}
	if text, _ := firstToken(line); text != "" {
		if _, ok := parseListEntry(text); ok {
			return FormatList
		}
	}
	return ""
}

func looksBinary(head []byte) bool { return bytes.IndexByte(head, 0) >= 0 }

// noDataLine reports whether head is text holding comments and blank
// lines only, at least one comment.
func noDataLine(head []byte) bool {
	if looksBinary(head) {
		return false
	}
	comments := 0
	for rest := head; len(rest) > 0; {
		var l []byte
		l, rest, _ = bytes.Cut(rest, []byte("\n"))
		l = bytes.TrimSpace(bytes.TrimPrefix(l, []byte("\xef\xbb\xbf")))
		switch {
		case isComment(l):
			comments++
		case len(l) > 0:
			return false
		}
	}
	return comments > 0
}

// listName is the list's name: the file stem, except for the well-known
// feeds whose files are named after their variant (drop_v4.json and
// drop_v6.txt are both the Spamhaus DROP list).
func listName(base string) string {
	stem := base
	for {
		ext := path.Ext(stem)
		switch ext {
		case ".txt", ".json", ".jsonl", ".ndjson", ".csv", ".netset", ".ipset", ".lst", ".list":
			stem = strings.TrimSuffix(stem, ext)
			continue
		}
		break
	}
	switch {
	case stem == "drop" || stem == "drop_v4" || stem == "drop_v6" || stem == "dropv6":
		return "spamhaus_drop"
	case stem == "edrop":
		return "spamhaus_edrop"
	case strings.HasPrefix(stem, "ipblocklist"):
		return "feodo"
	case strings.HasPrefix(stem, "greynoise"):
		return "greynoise_block"
	}
	var b strings.Builder
	for _, r := range stem {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 64 {
			break
		}
	}
	if b.Len() == 0 {
		return "list"
	}
	return b.String()
}
