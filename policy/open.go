package policy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// FileError is a refusal of OpenFile: the path as the user named it, what
// is wrong with it in words, and the error it matches with errors.Is
// (ErrPathNotFound, ErrNotRegularFile, ErrFileTooLarge,
// ErrUnsupportedFileType, or the system error, such as fs.ErrPermission).
// Its text never mentions an allowed directory: OpenFile has none.
type FileError struct {
	Path   string
	Reason string // follows the path: "is a directory", "does not exist"
	Err    error

	// sandbox is the text Sandbox.Open has always given after the quoted
	// path ("is 3 bytes long"), or for a system error the operation that
	// failed ("stat", "read"): MCP answers keep their wording.
	sandbox string
}

func (e *FileError) Error() string { return "policy: " + strconv.Quote(e.Path) + " " + e.Reason }

func (e *FileError) Unwrap() error { return e.Err }

// sandboxError is e as Sandbox.Open words it, naming path.
func (e *FileError) sandboxError(path string) error {
	switch e.Err {
	case ErrNotRegularFile:
		return fmt.Errorf("%w: %q", e.Err, path)
	case ErrFileTooLarge, ErrUnsupportedFileType:
		return fmt.Errorf("%w: %q %s", e.Err, path, e.sandbox)
	}
	return fmt.Errorf("policy: cannot %s %q: %w", e.sandbox, path, e.Err)
}

// OpenFile opens a capture that a user named on a command line, where the
// user's own permissions are the boundary: symbolic links are followed
// wherever they lead (current.pcap, the usual name of a rotating
// capture), and no directory confines the path. Everything else is
// checked as Sandbox.Open checks it: a FIFO, socket or device is refused
// before it is opened (opening some devices has side effects, and a FIFO
// would wait for a writer), the open does not block, and the open
// descriptor must be a regular file of at most maxBytes that starts with
// a pcap, pcapng or gzip magic. A refusal is a *FileError naming path as
// given; File.Name is path.
func OpenFile(path string, maxBytes int64) (*File, error) {
	if maxBytes <= 0 || maxBytes == math.MaxInt64 {
		return nil, fmt.Errorf("policy: file size limit %d out of range", maxBytes)
	}
	if path == "" || strings.IndexByte(path, 0) >= 0 {
		return nil, &FileError{Path: path, Reason: "is not a file name", Err: ErrPathNotFound}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, pathError(path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular(fi.Mode()).named(path)
	}
	// O_NONBLOCK: if the file was replaced by a FIFO after the Stat, the
	// open returns at once instead of waiting for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, pathError(path, err)
	}
	file, fe := inspect(f, maxBytes)
	if fe != nil {
		f.Close()
		return nil, fe.named(path)
	}
	file.Name = path
	return file, nil
}

// named is e naming path.
func (e *FileError) named(path string) *FileError {
	e.Path = path
	return e
}

// pathError is a failed stat or open of path, in words.
func pathError(path string, err error) *FileError {
	err = unwrapPath(err)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &FileError{Path: path, Reason: "does not exist", Err: ErrPathNotFound}
	case errors.Is(err, syscall.ENOTDIR):
		return &FileError{Path: path, Reason: "does not exist (a directory in its path is a file)", Err: ErrPathNotFound}
	case errors.Is(err, syscall.ELOOP):
		return &FileError{Path: path, Reason: "cannot be reached: a loop of symbolic links", Err: ErrPathNotFound}
	case errors.Is(err, syscall.ENXIO), errors.Is(err, syscall.ENODEV):
		return &FileError{Path: path, Reason: "is a socket or device, not a capture file", Err: ErrNotRegularFile}
	}
	return &FileError{Path: path, Reason: "cannot be opened: " + err.Error(), Err: err, sandbox: "open"}
}

// notRegular says what a file that is not a regular file is.
func notRegular(m fs.FileMode) *FileError {
	what := "not a regular file"
	switch {
	case m.IsDir():
		what = "a directory"
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeDevice != 0:
		what = "a device"
	}
	return &FileError{Reason: "is " + what + ", not a capture file", Err: ErrNotRegularFile}
}

// inspect checks an open descriptor as Sandbox.Open and OpenFile accept
// it: a regular file of at most maxBytes whose first bytes are a
// capture's magic. The File it returns has no Name yet; a refusal has no
// Path yet.
func inspect(f *os.File, maxBytes int64) (*File, *FileError) {
	fi, err := f.Stat()
	if err != nil {
		err = unwrapPath(err)
		return nil, &FileError{Reason: "cannot be examined: " + err.Error(), Err: err, sandbox: "stat"}
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular(fi.Mode())
	}
	if fi.Size() > maxBytes {
		return nil, &FileError{Reason: fmt.Sprintf("is %d bytes, over the limit of %d", fi.Size(), maxBytes), Err: ErrFileTooLarge,
			sandbox: fmt.Sprintf("is %d bytes, limit %d", fi.Size(), maxBytes)}
	}
	var magic [MagicLen]byte
	// ReadAt leaves the offset alone; Reader reads from byte 0 anyway.
	n, err := f.ReadAt(magic[:], 0)
	if n < MagicLen {
		if err != nil && err != io.EOF {
			err = unwrapPath(err)
			return nil, &FileError{Reason: "cannot be read: " + err.Error(), Err: err, sandbox: "read"}
		}
		return nil, &FileError{Reason: fmt.Sprintf("is %d bytes long, too short for any capture", n), Err: ErrUnsupportedFileType,
			sandbox: fmt.Sprintf("is %d bytes long", n)}
	}
	kind := kindOf(magic[:])
	if kind == 0 {
		what := magicType(magic[:])
		return nil, &FileError{Reason: "is not a pcap, pcapng or gzip capture by its first bytes: it " + what,
			Err: ErrUnsupportedFileType, sandbox: what}
	}
	file := &File{
		Size:     fi.Size(),
		ModTime:  fi.ModTime(),
		Kind:     kind,
		f:        f,
		maxBytes: maxBytes,
	}
	file.Dev, file.Inode = fileID(fi)
	return file, nil
}
