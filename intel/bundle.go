package intel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// Checking a bundle (docs/INTEL.md §8.5): `porthunter intel verify DIR`
// on the air-gapped host after the copy, `porthunter intel status` for
// the directory the server reads. Both read the directory as the server
// would (Inspect) and, when it has a MANIFEST.json, compare every file
// with it. The manifest is hostile input like the data: it is capped,
// and its file names must be plain names of the directory.

// ReadManifest reads MANIFEST.json of fsys. The error wraps
// fs.ErrNotExist when there is none.
func ReadManifest(fsys fs.FS) (*Manifest, error) {
	b, err := readSmall(fsys, ManifestName, MaxManifestBytes)
	if err != nil {
		return nil, err
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("intel: %s: %w", ManifestName, err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("intel: %s: format %q, want %q", ManifestName, cleanText(m.Format), ManifestFormat)
	}
	seen := map[string]bool{}
	for i, f := range m.Files {
		sum, err := hex.DecodeString(f.SHA256)
		switch {
		case f.File == "" || f.File != path.Base(f.File) || strings.HasPrefix(f.File, ".") || strings.ContainsAny(f.File, `\:`) || bundleFile(f.File):
			return nil, fmt.Errorf("intel: %s: entry %d: %q is not a plain file name of the bundle", ManifestName, i, cleanText(f.File))
		case seen[f.File]:
			return nil, fmt.Errorf("intel: %s: %s is listed twice", ManifestName, f.File)
		case err != nil || len(sum) != sha256.Size:
			return nil, fmt.Errorf("intel: %s: %s: sha256 %q is not 64 hex digits", ManifestName, f.File, cleanText(f.SHA256))
		case f.Bytes < 0:
			return nil, fmt.Errorf("intel: %s: %s: negative size", ManifestName, f.File)
		}
		seen[f.File] = true
	}
	return &m, nil
}

// readSmall reads a regular file of fsys of at most limit bytes, checking
// its type before opening it (a FIFO is never opened).
func readSmall(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := openRegular(fsys, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, over, err := readAllMax(f, limit)
	if err != nil {
		return nil, err
	}
	if over {
		return nil, fmt.Errorf("intel: %s: %w: more than %d bytes", name, ErrFileTooLarge, limit)
	}
	return b, nil
}

// openRegular opens a regular file of fsys, its type checked by a stat
// before the open and again on the open handle.
func openRegular(fsys fs.FS, name string) (fs.File, error) {
	fi, err := statNoOpen(fsys, name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular(fi.Mode())
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = notRegular(fi.Mode())
		}
		return nil, err
	}
	return f, nil
}

// fileSHA256 is the SHA-256 (hex) and size of a regular file of fsys. The
// file streams through the hash (not readAllMax: a dataset is up to
// MaxFileBytes, never held for a checksum).
func fileSHA256(fsys fs.FS, name string) (string, int64, error) {
	f, err := openRegular(fsys, name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return "", n, err
	}
	if n > MaxFileBytes {
		return "", n, fmt.Errorf("intel: %s: %w", name, ErrFileTooLarge)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func marshalIndent(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	return append(b, '\n'), err
}

// BundleFile is one file of a checked directory: its load report, its
// manifest entry, and what is wrong with it.
type BundleFile struct {
	SourceStatus
	// Manifest is the file's entry in MANIFEST.json, nil when not listed.
	Manifest *ManifestFile `json:"manifest"`
	// SumOK: the file's SHA-256 and size are the manifest's (nil when not
	// listed).
	SumOK *bool `json:"sha256_ok"`
	// Problems are errors: the file does not load, is missing, or is not
	// what the manifest says.
	Problems []string `json:"problems"`
	// Notes are warnings: stale, not listed, not read.
	Notes []string `json:"notes"`
}

// BundleReport is the check of an intel directory.
type BundleReport struct {
	Manifest      *Manifest    `json:"-"`
	ManifestError string       `json:"manifest_error,omitempty"` // why MANIFEST.json was not used
	DirErrors     []string     `json:"dir_errors,omitempty"`     // the directory's own (listing) errors
	Files         []BundleFile `json:"files"`
	Loaded        int          `json:"loaded"`
	Stale         int          `json:"stale"`
	Errors        int          `json:"errors"`
	Warnings      int          `json:"warnings"`
}

// CheckBundle checks the intel directory fsys at the clock now: every
// file must load (as the server would load it), and when the directory
// has a MANIFEST.json (or needManifest says it must), every listed file
// must be there with the listed size, SHA-256 and format. Stale files and
// files the manifest does not list are warnings. The error is ctx's.
func CheckBundle(ctx context.Context, fsys fs.FS, now time.Time, needManifest bool) (*BundleReport, error) {
	sts, err := Inspect(ctx, fsys, now)
	if err != nil {
		return nil, err
	}
	r := &BundleReport{}
	man, merr := ReadManifest(fsys)
	switch {
	case merr == nil:
		r.Manifest = man
	case errors.Is(merr, fs.ErrNotExist) && !needManifest:
		r.ManifestError = "no " + ManifestName + ": not a bundle made by porthunter intel fetch, so no checksum is checked"
		r.Warnings++
	case errors.Is(merr, fs.ErrNotExist):
		r.ManifestError = "no " + ManifestName + " (porthunter intel fetch writes it)"
		r.Errors++
	default:
		r.ManifestError = merr.Error()
		r.Errors++
	}
	listed := map[string]*ManifestFile{}
	if man != nil {
		for i := range man.Files {
			listed[man.Files[i].File] = &man.Files[i]
		}
	}
	seen := map[string]bool{}
	for _, st := range sts {
		if st.File == "" {
			r.DirErrors = append(r.DirErrors, errText(st.Error))
			r.Errors++
			continue
		}
		seen[st.File] = true
		bf := BundleFile{SourceStatus: st, Manifest: listed[st.File]}
		switch st.Status {
		case "loaded":
			r.Loaded++
			if st.Stale {
				r.Stale++
				bf.Notes = append(bf.Notes, "stale: "+staleReason(st))
			}
		case "ignored":
			if bf.Manifest != nil {
				bf.Problems = append(bf.Problems, "listed in "+ManifestName+" but not read: "+errText(st.Error))
			} else {
				bf.Notes = append(bf.Notes, "not read: "+errText(st.Error))
			}
		default:
			bf.Problems = append(bf.Problems, errText(st.Error))
		}
		if m := bf.Manifest; m != nil {
			bf.Problems = append(bf.Problems, checkListed(fsys, st, m, &bf)...)
		} else if man != nil {
			bf.Notes = append(bf.Notes, "not in "+ManifestName)
		}
		r.add(bf)
	}
	if man != nil {
		for i := range man.Files {
			m := &man.Files[i]
			if !seen[m.File] {
				r.add(BundleFile{SourceStatus: SourceStatus{File: m.File, Provider: "", Format: m.Format, Status: "missing"}, Manifest: m,
					Problems: []string{"listed in " + ManifestName + " but not in the directory"}})
			}
		}
	}
	if len(r.Files) == 0 && len(r.DirErrors) == 0 {
		r.DirErrors = append(r.DirErrors, "no intel file in the directory")
		r.Errors++
	}
	return r, nil
}

func (r *BundleReport) add(bf BundleFile) {
	r.Errors += len(bf.Problems)
	r.Warnings += len(bf.Notes)
	r.Files = append(r.Files, bf)
}

// checkListed compares a file with its manifest entry.
func checkListed(fsys fs.FS, st SourceStatus, m *ManifestFile, bf *BundleFile) []string {
	var out []string
	sum, n, err := fileSHA256(fsys, st.File)
	ok := err == nil && sum == m.SHA256 && n == m.Bytes
	bf.SumOK = &ok
	switch {
	case err != nil:
		out = append(out, "cannot read it to check its SHA-256: "+err.Error())
	case n != m.Bytes:
		out = append(out, fmt.Sprintf("%d bytes, %s says %d: the copy is cut or the file was replaced", n, ManifestName, m.Bytes))
	case sum != m.SHA256:
		out = append(out, "SHA-256 differs from "+ManifestName+": the copy is damaged or the file was replaced")
	}
	if st.Status == "loaded" && m.Format != "" && st.Format != m.Format {
		out = append(out, fmt.Sprintf("loads as %s, %s says %s", st.Format, ManifestName, cleanText(m.Format)))
	}
	return out
}
