package mcp

import (
	"context"
	"fmt"
	"time"

	"porthunter/capture"
	"porthunter/scan"
)

// Source is what a capture tool reads, embedded in each tool's arguments:
// one file (path), a rotated set read as one capture (paths, or a glob
// selecting them), and an optional time window (since, until).
type Source struct {
	Path  string   `json:"path" min:"1" max:"4096" desc:"capture file (pcap, pcapng, optionally gzip-compressed), relative to PORT_HUNTER_ALLOWED_DIR; or give paths or glob instead"`
	Paths []string `json:"paths" max:"1024" desc:"the files of a rotated set, read as one capture in the order of their first packets, frames numbered on across files (instead of path); at most PORT_HUNTER_MAX_SET_FILES"`
	Glob  string   `json:"glob" min:"1" max:"256" desc:"a pattern whose last element has wildcards (* ? [a-z]) selecting a rotated set in one directory, e.g. \"sensor1/cap.pcap*\" (instead of path); list_captures gives each set's glob"`
	Since string   `json:"since" max:"64" desc:"RFC 3339 time, e.g. 2026-03-14T09:27:00Z: only packets at or after it are analysed (frames keep their numbers)"`
	Until string   `json:"until" max:"64" desc:"RFC 3339 time: only packets before it are analysed"`
}

// maxPathLen bounds each element of paths, as path bounds its value.
const maxPathLen = 4096

// given reports whether src names any capture.
func (src Source) given() bool { return src.Path != "" || len(src.Paths) > 0 || src.Glob != "" }

// single reports whether src is one whole file, the case whose answers
// carry no "read" object.
func (src Source) single() bool {
	return src.Path != "" && src.Since == "" && src.Until == ""
}

// name is how answers name what src read: the path, the glob, or the
// first and last files of paths.
func (src Source) name() string {
	switch {
	case src.Path != "":
		return src.Path
	case src.Glob != "":
		return src.Glob
	case len(src.Paths) == 1:
		return src.Paths[0]
	case len(src.Paths) > 1:
		return fmt.Sprintf("%s … %s (%d files)", src.Paths[0], src.Paths[len(src.Paths)-1], len(src.Paths))
	}
	return ""
}

// request turns src into the capture request: exactly one of path, paths
// and glob, and a window whose bounds parse and are in order.
func (s *server) request(src Source) (capture.Request, error) {
	var req capture.Request
	n := 0
	for _, set := range []bool{src.Path != "", len(src.Paths) > 0, src.Glob != ""} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return req, argError("give path (one capture), paths (the files of a rotated set) or glob (a pattern selecting them)")
	case n > 1:
		return req, argError("give only one of path, paths and glob")
	}
	switch {
	case src.Path != "":
		req.Paths = []string{src.Path}
	case src.Glob != "":
		paths, err := capture.GlobCaptures(s.sb, src.Glob, s.cfg.MaxSetFiles)
		if err != nil {
			return req, err
		}
		req.Paths = paths
	default:
		for i, p := range src.Paths {
			if p == "" || len(p) > maxPathLen {
				return req, argError("paths[%d] must be a path of 1 to %d bytes", i, maxPathLen)
			}
		}
		req.Paths = src.Paths
	}
	var err error
	if req.Window.Since, err = parseTime("since", src.Since); err != nil {
		return req, err
	}
	if req.Window.Until, err = parseTime("until", src.Until); err != nil {
		return req, err
	}
	if !req.Window.Ordered() {
		return req, argError("since (%s) must be before until (%s)", src.Since, src.Until)
	}
	return req, nil
}

// parseTime reads an RFC 3339 time ("" is none), converted to UTC.
func parseTime(name, v string) (time.Time, error) {
	t, ok := capture.ParseBound(v)
	if !ok {
		return time.Time{}, argError("%s must be an RFC 3339 time between 1970 and 2262, such as 2026-03-14T09:27:00Z, got %q", name, clip([]byte(fmt.Sprintf("%q", v))))
	}
	return t, nil
}

// openSource reads (or finds cached) the capture a call names, and says
// which files that was.
func (s *server) openSource(ctx context.Context, c *call, src Source) (*capture.Result, capture.Request, error) {
	req, err := s.request(src)
	if err != nil {
		return nil, req, err
	}
	res, err := s.z.AnalyzeSet(ctx, req, s.progressFunc(c))
	return res, req, err
}

// Caps of the read object.
const (
	readFiles      = 8 // files listed
	readDuplicates = 8 // duplicates listed
)

// ReadView says what a call read when it named a rotated set or a time
// window: the files in the order read, the duplicates left out, the
// window and the packets analysed.
type ReadView struct {
	Files           []capture.FileReport      `json:"files" desc:"the files read, in the order read (by first packet), at most 8"`
	FilesTotal      int                       `json:"files_total"`
	Duplicates      []capture.DuplicateReport `json:"duplicates" desc:"files left out because another file of the set is the same, at most 8"`
	DuplicatesTotal int                       `json:"duplicates_total"`
	Window          *capture.WindowReport     `json:"window" desc:"the time window, null when none"`
	Packets         uint64                    `json:"packets" desc:"packets analysed (within the window)"`
	FirstTS         *scan.Time                `json:"first_ts" desc:"first packet analysed"`
	LastTS          *scan.Time                `json:"last_ts" desc:"last packet analysed"`
	Truncated       *capture.TruncationReport `json:"truncated" desc:"where reading stopped when a file was cut or damaged; null when every file was read whole"`
}

// readView is the read object of an answer about res, read for src
// (resolved to req), nil when src is one whole file: its capture report,
// or its path, says it all.
func readView(src Source, req capture.Request, res *capture.Result) *ReadView {
	if src.single() || res == nil {
		return nil
	}
	r := res.Report
	v := &ReadView{Files: r.Files, FilesTotal: len(r.Files), Duplicates: nonNil(r.Duplicates), DuplicatesTotal: len(r.Duplicates),
		Window: r.Window, Packets: r.Stats.TotalPackets, FirstTS: r.Stats.FirstTS, LastTS: r.Stats.LastTS, Truncated: r.Truncated}
	if len(r.Files) == 0 && len(req.Paths) > 0 {
		// A glob or paths naming one file, read whole: it shares the
		// analysis of that file named by path, whose report names no file.
		v.Files = []capture.FileReport{{Name: req.Paths[0], SizeBytes: r.SizeBytes, SHA256: r.SHA256, Format: r.Format,
			Frames: r.Stats.TotalPackets, FirstFrame: 1}}
		if r.Stats.FirstTS != nil {
			v.Files[0].FirstTS = *r.Stats.FirstTS
		}
		v.FilesTotal = 1
	}
	v.Files = v.Files[:min(len(v.Files), readFiles)]
	v.Duplicates = v.Duplicates[:min(len(v.Duplicates), readDuplicates)]
	return v
}
