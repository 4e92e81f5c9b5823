package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Bounds of resolveLinks, so that a chain or loop of symbolic links, or
// links to very long paths, cost a bounded number of system calls.
const (
	// maxSymlinks is how many symbolic links one path may go through: 40,
	// as Linux's MAXSYMLINKS. Past it the path is not found ("too many
	// symbolic links", as ELOOP is reported).
	maxSymlinks = 40
	// maxResolveSteps bounds the path components looked at while
	// resolving one path, the links' targets included: far above any real
	// path (a few dozen), and each step costs one os.Root lookup of at
	// most that depth, so resolving stays within milliseconds.
	maxResolveSteps = 1024
)

// errEscapes and errTooManyLinks are resolveLinks' refusals; callers map
// them to ErrPathOutsideAllowedDir and ErrPathNotFound.
var (
	errEscapes      = errors.New("resolves outside the directory")
	errTooManyLinks = fmt.Errorf("more than %d symbolic links or %d path components", maxSymlinks, maxResolveSteps)
)

// resolveLinks rewrites rel, a local path below root that os.Root refused
// as leaving it, into a path without symbolic links, or says why not.
// os.Root refuses every symbolic link with an absolute target, even one
// pointing inside the directory; here such a target is accepted when it
// lies inside one of dirs (the directory's absolute spellings, as
// Sandbox.inside compares them) and taken relative to it. Relative
// targets are followed component by component, ".." against the
// components resolved so far, so nothing above root is ever looked at.
//
// The rewritten path is then opened through root as any other: os.Root
// stays the guard, and a link swapped after resolveLinks looked at it can
// at worst make that open fail. A link is read by its absolute name
// (Root.Readlink needs Go 1.25): every component before it was checked
// through root not to be a link.
func resolveLinks(root *os.Root, dirs []string, rel string) (string, error) {
	var done []string // resolved components, none of them a link
	todo := splitPath(rel)
	links, steps := 0, 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		if steps++; steps > maxResolveSteps {
			return "", errTooManyLinks
		}
		switch c {
		case ".":
			continue
		case "..":
			if len(done) == 0 {
				return "", errEscapes
			}
			done = done[:len(done)-1]
			continue
		}
		cur := filepath.Join(append(done, c)...)
		fi, err := root.Lstat(cur)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, c)
			continue
		}
		if links++; links > maxSymlinks {
			return "", errTooManyLinks
		}
		target, err := os.Readlink(filepath.Join(dirs[0], cur))
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			r, ok := insideOf(dirs, filepath.Clean(target))
			if !ok {
				return "", errEscapes
			}
			done, target = done[:0], r
		}
		todo = append(splitPath(target), todo...)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return filepath.Join(done...), nil
}

// splitPath splits a relative path into its components, empty ones
// (doubled separators) left out.
func splitPath(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r < 0x80 && os.IsPathSeparator(uint8(r)) })
}

// insideOf returns abs relative to the first of dirs it lies in. The
// prefix is compared with a trailing separator so that a sibling such as
// "/data2" is not taken for a child of "/data".
func insideOf(dirs []string, abs string) (string, bool) {
	for _, d := range dirs {
		if abs == d {
			return ".", true
		}
		prefix := d
		if !strings.HasSuffix(prefix, string(filepath.Separator)) {
			prefix += string(filepath.Separator)
		}
		if r, ok := strings.CutPrefix(abs, prefix); ok {
			return r, true
		}
	}
	return "", false
}

// escapes reports whether err is os.Root's refusal of a path that leaves
// it (escapeErr, captured by NewSandbox).
func escapes(err, escapeErr error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && errors.Is(pe.Err, escapeErr)
}

// linkFS is an os.Root's file system that also follows symbolic links
// with an absolute target inside it (see resolveLinks), as Sandbox.Open
// does: DirFS's answer.
type linkFS struct {
	fsys      fs.FS
	root      *os.Root
	dirs      []string
	escapeErr error
}

func (l *linkFS) Open(name string) (fs.File, error) {
	f, err := l.fsys.Open(name)
	if err == nil || !escapes(err, l.escapeErr) {
		return f, err
	}
	rel, rerr := resolveLinks(l.root, l.dirs, filepath.FromSlash(name))
	if rerr != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: rerr}
	}
	return l.fsys.Open(filepath.ToSlash(rel))
}

// Stat stats name without opening it (the intel loader must learn that a
// name is a FIFO before an open could wait for a writer), following an
// absolute link inside the root as Open does.
func (l *linkFS) Stat(name string) (fs.FileInfo, error) {
	fi, err := fs.Stat(l.fsys, name)
	if err == nil || !escapes(err, l.escapeErr) {
		return fi, err
	}
	rel, rerr := resolveLinks(l.root, l.dirs, filepath.FromSlash(name))
	if rerr != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: rerr}
	}
	return fs.Stat(l.fsys, filepath.ToSlash(rel))
}

// ReadDir lists a directory of the root.
func (l *linkFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(l.fsys, name) }
