package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EvidenceMode is the permission of the files written into
// PORT_HUNTER_EVIDENCE_DIR (before the umask): the owner writes, the
// owner's group (the SOC's analysts) reads, nobody else.
const EvidenceMode = 0o640

// EvidenceDir is PORT_HUNTER_EVIDENCE_DIR opened for writing. It is the
// only place the server writes to, and it only creates new files there:
// a name that exists (a file, or a link planted in its place) is refused,
// never overwritten or followed.
type EvidenceDir struct {
	root *os.Root
	Path string // absolute, symbolic links resolved
}

// OpenEvidenceDir checks dir against the allowed directory and opens it.
// It must be an existing directory inside the allowed directory or beside
// it (a sibling: the same parent), and never the allowed directory itself,
// so that evidence can be kept next to the captures without mixing with
// them, and nothing can be written anywhere else on the host. Errors
// wrap ErrConfig and name the variable.
func OpenEvidenceDir(allowedDir, dir string) (*EvidenceDir, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s=%q %s", ErrConfig, EnvEvidenceDir, dir, fmt.Sprintf(format, a...))
	}
	ev, err := realAbs(dir)
	if err != nil {
		return nil, bad("cannot be resolved: %v", unwrapPath(err))
	}
	allowed, err := realAbs(allowedDir)
	if err != nil {
		return nil, bad("cannot be checked: the allowed directory cannot be resolved: %v", unwrapPath(err))
	}
	fi, err := os.Stat(ev)
	if err != nil {
		return nil, bad("cannot be opened: %v", unwrapPath(err))
	}
	if !fi.IsDir() {
		return nil, bad("is not a directory")
	}
	_, inside := insideOf([]string{allowed}, ev)
	switch {
	case ev == allowed:
		return nil, bad("is the allowed directory itself; give a directory inside it or beside it")
	case !inside && filepath.Dir(ev) != filepath.Dir(allowed):
		return nil, bad("is neither inside %s nor beside it", EnvAllowedDir)
	}
	root, err := os.OpenRoot(ev)
	if err != nil {
		return nil, bad("cannot be opened: %v", unwrapPath(err))
	}
	return &EvidenceDir{root: root, Path: ev}, nil
}

// realAbs is path made absolute with its symbolic links resolved.
func realAbs(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// errEvidenceName refuses a name that is not one plain file name.
var errEvidenceName = errors.New("policy: evidence file name must be one plain name")

// Create creates the file name in the directory for writing, with mode
// EvidenceMode. An existing name is refused (os.ErrExist), whatever it is:
// O_EXCL does not follow a link planted there.
func (d *EvidenceDir) Create(name string) (*os.File, error) {
	if name == "" || name != filepath.Base(name) || strings.ContainsAny(name, "/\\\x00") || name == "." || name == ".." {
		return nil, fmt.Errorf("%w: %q", errEvidenceName, name)
	}
	return d.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, EvidenceMode)
}

// Remove removes name, a file Create made that is not to be kept.
func (d *EvidenceDir) Remove(name string) error { return d.root.Remove(name) }

// Close releases the directory's descriptor.
func (d *EvidenceDir) Close() error { return d.root.Close() }
