package capture

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"porthunter/policy"
)

// The catalog: the captures of the allowed directory, found by their
// first bytes (never by their names), and the rotated sets their names
// form. Directory names and file names are untrusted, and a directory may
// hold millions of them, so a listing reads at most MaxCatalogEntries
// names, MaxCatalogDepth levels deep, and says when it stopped.

// Limits of a listing and of a glob.
const (
	// MaxCatalogDepth is how many directory levels below the listed one
	// are read: captures are kept by sensor and by day, a few levels.
	MaxCatalogDepth = 8
	// MaxCatalogEntries bounds the names (files and directories of every
	// level) one listing looks at, and the names of the directory a glob
	// is matched in: each capture found costs an open and a read of its
	// first bytes, so the bound keeps a listing within about a second.
	MaxCatalogEntries = 10_000
	// MaxGlobLen bounds a glob pattern, in bytes: path.Match costs at most
	// the product of the pattern's and a name's lengths.
	MaxGlobLen = 256
)

// CatalogEntry is one capture of a listing.
type CatalogEntry struct {
	Path string // relative to the allowed directory, slash-separated
	Info policy.Info
	Set  int // index in Catalog.Sets of the rotated set it belongs to, -1 when none
}

// RotatedSet is files whose names differ only by a rotation counter or
// time stamp, in the order they were written.
type RotatedSet struct {
	Dir string
	// Pattern is the files' name with the varying digits written "#".
	Pattern string
	// Kind names the naming scheme: tcpdump_count (tcpdump -C: cap.pcap,
	// cap.pcap1, ...), dumpcap_ring (dumpcap -b: name_00001_YYYYmmddHHMMSS.pcapng),
	// timestamped (strftime names, tcpdump -G) or numbered (other
	// numbered names whose modification times follow their numbers).
	Kind string
	// Glob is a pattern (directory included) matching exactly these files
	// among the captures of Dir, for the glob argument of the tools; ""
	// when no simple one does.
	Glob  string
	Files []string // paths, in rotation order
	Size  int64
	// First and Last are the earliest and latest modification times.
	First, Last time.Time
}

// Catalog is a listing of the captures beneath one directory.
type Catalog struct {
	Dir      string
	Captures []CatalogEntry // by path
	Sets     []RotatedSet   // by directory, then pattern
	// Dirs counts the directories read, Entries the names looked at,
	// Other the regular files that are not captures, Skipped the names
	// that could not be looked at (links leaving the directory or to a
	// directory, special files, unreadable files).
	Dirs, Entries, Other, Skipped int
	DepthLimitHit, EntryLimitHit  bool
}

// ListCaptures lists the captures beneath dir (relative to the allowed
// directory), looking at each regular file's first bytes (and through
// gzip), reading at most maxEntries names and maxDepth levels below dir.
// Links are followed to files inside the allowed directory, never to
// directories (a loop of links cannot make the walk endless). It stops
// with ctx's error.
func ListCaptures(ctx context.Context, sb *policy.Sandbox, dir string, maxDepth, maxEntries int) (*Catalog, error) {
	if dir == "" {
		dir = "."
	}
	root := path.Clean(strings.ReplaceAll(dir, "\\", "/"))
	c := &Catalog{Dir: root}
	type level struct {
		dir   string
		depth int
	}
	queue := []level{{root, 0}}
	for len(queue) > 0 {
		lv := queue[0]
		queue = queue[1:]
		room := maxEntries - c.Entries
		if room <= 0 {
			c.EntryLimitHit = true
			break
		}
		entries, more, err := sb.ReadDir(lv.dir, room)
		if err != nil {
			if lv.depth == 0 {
				return nil, err
			}
			c.Skipped++
			continue
		}
		c.Dirs++
		c.EntryLimitHit = c.EntryLimitHit || more
		slices.SortFunc(entries, func(a, b policy.Entry) int { return strings.Compare(a.Name, b.Name) })
		for i, e := range entries {
			if i%256 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			c.Entries++
			p := joinRel(lv.dir, e.Name)
			switch {
			case e.Type.IsDir():
				if lv.depth >= maxDepth {
					c.DepthLimitHit = true
					continue
				}
				queue = append(queue, level{p, lv.depth + 1})
				continue
			case e.Type&^fs.ModeSymlink != 0: // a FIFO, socket or device: never opened
				c.Skipped++
				continue
			}
			info, err := sb.Peek(p)
			switch {
			case errors.Is(err, policy.ErrUnsupportedFileType):
				c.Other++
			case err != nil:
				c.Skipped++
			case info.Format() == "":
				c.Other++ // gzip, but not of a capture
			default:
				c.Captures = append(c.Captures, CatalogEntry{Path: p, Info: info, Set: -1})
			}
		}
	}
	slices.SortFunc(c.Captures, func(a, b CatalogEntry) int { return strings.Compare(a.Path, b.Path) })
	c.Sets = groupSets(c.Captures)
	return c, nil
}

func joinRel(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// Names of rotated captures. Go's regexp runs in time linear in the name.
var (
	// dumpcap -b files: prefix, ring number (5 digits), start time.
	dumpcapName = regexp.MustCompile(`^(.+)_([0-9]{5,})_([0-9]{14})(\.[A-Za-z0-9]+(?:\.gz)?)$`)
	// tcpdump -C: the first file is NAME, then NAME1, NAME2 (or NAME00,
	// NAME01 with -W); -z gzip appends .gz to each.
	countName = regexp.MustCompile(`^(.+\.(?:pcap|pcapng|cap|dmp))([0-9]+)(\.gz)?$`)
	countBase = regexp.MustCompile(`^(.+\.(?:pcap|pcapng|cap|dmp))(\.gz)?$`)
	digitRun  = regexp.MustCompile(`[0-9]+`)
)

// setMember is one capture's place in a candidate set.
type setMember struct {
	entry int      // index in Catalog.Captures
	seq   []string // the name's numbers, compared numerically in order
}

// groupSets finds the rotated sets among captures (sorted by path) and
// marks their members. A group of two or more names that differ only by
// digits is a set when its scheme is known (tcpdump -C, dumpcap, time
// stamps of eight digits or more); other numbered names form a set only
// when their modification times follow their numbers, as a rotation
// writes them, so that scan1.pcap and scan2.pcap made apart are not taken
// for one capture.
func groupSets(captures []CatalogEntry) []RotatedSet {
	type group struct {
		dir, pattern, kind string
		members            []setMember
	}
	groups := map[string]*group{}
	var order []string
	add := func(key, dir, pattern, kind string, m setMember) {
		g := groups[key]
		if g == nil {
			g = &group{dir: dir, pattern: pattern, kind: kind}
			groups[key] = g
			order = append(order, key)
		}
		g.members = append(g.members, m)
	}
	var bare []int // NAME.pcap files that may start a tcpdump -C set
	for i, c := range captures {
		dir, name := path.Split(c.Path)
		switch m := dumpcapName.FindStringSubmatch(name); {
		case m != nil:
			add(dir+"\x00d\x00"+m[1]+m[4], dir, m[1]+"_#_#"+m[4], "dumpcap_ring", setMember{i, []string{m[2], m[3]}})
		case countName.MatchString(name):
			m := countName.FindStringSubmatch(name)
			add(dir+"\x00c\x00"+m[1]+m[3], dir, m[1]+"#"+m[3], "tcpdump_count", setMember{i, []string{"1", m[2]}})
		case countBase.MatchString(name):
			bare = append(bare, i)
		default:
			addNumbered(add, dir, name, i)
		}
	}
	for _, i := range bare {
		dir, name := path.Split(captures[i].Path)
		m := countBase.FindStringSubmatch(name)
		if key := dir + "\x00c\x00" + m[1] + m[2]; groups[key] != nil {
			groups[key].members = append(groups[key].members, setMember{i, []string{"0"}}) // the first file
			continue
		}
		addNumbered(add, dir, name, i)
	}
	var sets []RotatedSet
	for _, key := range order {
		g := groups[key]
		if len(g.members) < 2 {
			continue
		}
		slices.SortStableFunc(g.members, func(a, b setMember) int { return compareSeq(a.seq, b.seq) })
		if g.kind == "numbered" && !mtimesFollow(captures, g.members) {
			continue
		}
		s := RotatedSet{Dir: strings.TrimSuffix(g.dir, "/"), Pattern: g.pattern, Kind: g.kind}
		if s.Dir == "" {
			s.Dir = "."
		}
		for _, m := range g.members {
			c := captures[m.entry]
			s.Files = append(s.Files, c.Path)
			s.Size += c.Info.Size
			if t := c.Info.ModTime; s.First.IsZero() || t.Before(s.First) {
				s.First = t
			}
			if t := c.Info.ModTime; t.After(s.Last) {
				s.Last = t
			}
		}
		s.Glob = setGlob(captures, g.dir, s)
		sets = append(sets, s)
	}
	slices.SortFunc(sets, func(a, b RotatedSet) int {
		return cmp.Or(strings.Compare(a.Dir, b.Dir), strings.Compare(a.Pattern, b.Pattern))
	})
	for i := range captures {
		captures[i].Set = -1
	}
	for si, s := range sets {
		for _, f := range s.Files {
			j, _ := slices.BinarySearchFunc(captures, f, func(c CatalogEntry, p string) int { return strings.Compare(c.Path, p) })
			captures[j].Set = si
		}
	}
	return sets
}

// addNumbered files name under the names that differ from it only by
// digits, if it has digits.
func addNumbered(add func(key, dir, pattern, kind string, m setMember), dir, name string, i int) {
	runs := digitRun.FindAllString(name, -1)
	if len(runs) == 0 {
		return
	}
	digits := 0
	for _, r := range runs {
		digits += len(r)
	}
	kind := "numbered"
	if digits >= 8 { // a date at least: YYYYmmdd
		kind = "timestamped"
	}
	pattern := digitRun.ReplaceAllString(name, "#")
	add(dir+"\x00n\x00"+pattern, dir, pattern, kind, setMember{i, runs})
}

// compareSeq compares two names' numbers, each numerically.
func compareSeq(a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := strings.TrimLeft(a[i], "0"), strings.TrimLeft(b[i], "0")
		if c := cmp.Or(cmp.Compare(len(x), len(y)), strings.Compare(x, y)); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// mtimesFollow reports whether the members' modification times never go
// back in their numbers' order.
func mtimesFollow(captures []CatalogEntry, ms []setMember) bool {
	for i := 1; i < len(ms); i++ {
		if captures[ms[i].entry].Info.ModTime.Before(captures[ms[i-1].entry].Info.ModTime) {
			return false
		}
	}
	return true
}

// setGlob is a glob selecting exactly s's files among the captures of its
// directory: the pattern with each run of "#" as "*", checked.
func setGlob(captures []CatalogEntry, dir string, s RotatedSet) string {
	base := strings.ReplaceAll(s.Pattern, "#", "*")
	if s.Kind == "dumpcap_ring" {
		base = strings.Replace(s.Pattern, "_#_#", "_*_*", 1)
	}
	for strings.Contains(base, "**") {
		base = strings.ReplaceAll(base, "**", "*")
	}
	if strings.ContainsAny(strings.ReplaceAll(base, "*", ""), "?[\\") || len(dir)+len(base) > MaxGlobLen {
		return "" // a name with metacharacters of its own
	}
	n := 0
	for _, c := range captures {
		d, name := path.Split(c.Path)
		if d != dir {
			continue
		}
		if ok, _ := path.Match(base, name); ok {
			if !slices.Contains(s.Files, c.Path) {
				return ""
			}
			n++
		}
	}
	if n != len(s.Files) {
		return ""
	}
	return dir + base
}

// GlobCaptures returns the captures (by their first bytes, through gzip)
// that pattern matches, sorted: pattern is a path relative to the allowed
// directory whose last element is a path.Match pattern (*, ?, [a-z]);
// the directories before it are written literally. At most MaxCatalogEntries
// names of the directory are looked at and maxMatches captures returned:
// past either, the error wraps ErrTooManyFiles. A pattern longer than
// MaxGlobLen, with wildcards in a directory, or malformed wraps
// ErrBadGlob; one that matches no capture wraps policy.ErrPathNotFound.
func GlobCaptures(sb *policy.Sandbox, pattern string, maxMatches int) ([]string, error) {
	switch {
	case len(pattern) > MaxGlobLen:
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrBadGlob, len(pattern), MaxGlobLen)
	case strings.IndexByte(pattern, 0) >= 0 || strings.Contains(pattern, "\\"):
		return nil, fmt.Errorf("%w: a NUL byte or a backslash in the pattern", ErrBadGlob)
	}
	dir, base := path.Split(pattern)
	if strings.ContainsAny(dir, "*?[") {
		return nil, fmt.Errorf("%w: only the last element of the path may have wildcards", ErrBadGlob)
	}
	if base == "" {
		return nil, fmt.Errorf("%w: the pattern ends with a slash", ErrBadGlob)
	}
	if _, err := path.Match(base, ""); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadGlob, err)
	}
	entries, more, err := sb.ReadDir(strings.TrimSuffix(dir, "/"), MaxCatalogEntries)
	if err != nil {
		return nil, err
	}
	if more {
		return nil, fmt.Errorf("%w: the directory holds more than %d names; give paths instead", ErrTooManyFiles, MaxCatalogEntries)
	}
	var out []string
	for _, e := range entries {
		if ok, _ := path.Match(base, e.Name); !ok || e.Type.IsDir() || e.Type&^fs.ModeSymlink != 0 {
			continue
		}
		p := dir + e.Name
		if info, err := sb.Peek(p); err != nil || info.Format() == "" {
			continue // not a capture (or a link leaving the directory): not selected
		}
		if len(out) == maxMatches {
			return nil, fmt.Errorf("%w: the glob matches more than %d captures (PORT_HUNTER_MAX_SET_FILES)", ErrTooManyFiles, maxMatches)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the glob %q matches no capture", policy.ErrPathNotFound, pattern)
	}
	slices.Sort(out)
	return out, nil
}
