package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"porthunter/pcapng"
	"porthunter/policy"
)

// The terminal commands open the files their user names. On the command
// line the user's own permissions are the boundary, not the server's
// allowed directory: symbolic links are followed wherever they lead
// (current.pcap, the usual name of a rotating capture), and any readable
// regular file that starts like a capture is read. FIFOs, sockets and
// devices are refused, without being opened, in plain words
// (policy.OpenFile).

// cliMaxBytes is the file limit of the terminal commands: the analyst
// names the file on the command line, so no configured limit applies.
const cliMaxBytes = math.MaxInt64 - 1

// Lengths of the headers a capture starts with, for the refusal of a file
// cut inside its header: it says how long the file is and what it needed,
// where the reader can only say its input ended.
const (
	// pcapHeaderLen is libpcap's file header: magic, version (2+2),
	// thiszone, sigfigs, snaplen and link type (4 each).
	pcapHeaderLen = 24
	// pcapngSHBMinLen is a pcapng Section Header Block without options
	// (draft-ietf-opsawg-pcapng §4.1): block type, length, byte-order
	// magic (4 each), version (2+2), section length (8), length again (4).
	pcapngSHBMinLen = 28
)

// openCaptureCLI opens a capture named on the command line
// (policy.OpenFile), refusing a pcap or pcapng file too short for its
// header with its length and the header's.
func openCaptureCLI(name string) (*policy.File, error) {
	f, err := policy.OpenFile(name, cliMaxBytes)
	if err != nil {
		return nil, err
	}
	if need, what := headerNeed(f); f.Size < int64(need) {
		f.Close()
		return nil, &shortFileError{name: name, size: f.Size, what: what, need: need}
	}
	return f, nil
}

// headerNeed is how many bytes f's header takes, by its format: a pcap
// file header, or the pcapng Section Header Block its length field
// announces (at least pcapngSHBMinLen). A gzip file is checked by the
// reader, after decompression.
func headerNeed(f *policy.File) (need int, what string) {
	switch f.Kind {
	case policy.KindPCAP:
		return pcapHeaderLen, "a pcap header"
	case policy.KindPCAPNG:
		var b [12]byte
		if _, err := io.ReadFull(f.Reader(), b[:]); err != nil {
			return pcapngSHBMinLen, "a pcapng section header"
		}
		// The byte-order magic (bytes 8-11) decides how the length
		// (bytes 4-7) reads; a length the reader would refuse is left
		// to the reader's own message.
		n := binary.LittleEndian.Uint32(b[4:])
		if binary.BigEndian.Uint32(b[8:]) == pcapngByteOrderMagic {
			n = binary.BigEndian.Uint32(b[4:])
		}
		if n >= pcapngSHBMinLen && n <= pcapng.MaxBlockLen {
			return int(n), "its pcapng section header block"
		}
		return pcapngSHBMinLen, "a pcapng section header"
	}
	return 0, ""
}

// pcapngByteOrderMagic is the Section Header Block's byte-order magic as
// a big-endian writer writes it.
const pcapngByteOrderMagic = 0x1a2b3c4d

// shortFileError is a capture cut inside its header.
type shortFileError struct {
	name string
	size int64
	what string
	need int
}

func (e *shortFileError) Error() string {
	return fmt.Sprintf("%s: file is %d bytes; %s needs %d", e.name, e.size, e.what, e.need)
}

// cliMessage is an error as one line for the person at the terminal: a
// refused file as its name and what is wrong with it, other errors
// without the package prefixes the library's messages carry (a terminal
// user has no use for "pcapng:" or for the server's error codes).
func cliMessage(err error) string {
	var fe *policy.FileError
	if errors.As(err, &fe) {
		return fe.Path + " " + fe.Reason
	}
	s := err.Error()
	for _, p := range []string{"policy: ", "pcapng: ", "capture: "} {
		s = strings.TrimPrefix(s, p)
		s = strings.ReplaceAll(s, ": "+p, ": ")
	}
	return s
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
