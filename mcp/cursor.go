package mcp

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
)

// A cursor is where the next page starts, bound to the call it came from:
// the tool, the capture (its hash and size) and the arguments that shape
// the list. A cursor given to another call, or after the capture changed,
// is refused instead of paging a different list. It is opaque to the
// caller: base64url of the offset and 12 bytes of that binding's hash.

const cursorLen = 8 + 12 // offset, binding hash

// binding is the hash of what a list depends on.
func binding(parts ...any) [12]byte {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%v\x00", p)
	}
	var b [12]byte
	copy(b[:], h.Sum(nil))
	return b
}

// makeCursor is the cursor of the page at offset.
func makeCursor(offset int, bind [12]byte) string {
	var b [cursorLen]byte
	binary.BigEndian.PutUint64(b[:8], uint64(offset))
	copy(b[8:], bind[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// readCursor is the offset of cursor c ("" is the first page).
func readCursor(c string, bind [12]byte) (int, error) {
	if c == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(c))
	if err != nil || len(b) != cursorLen {
		return 0, argError("cursor is not one this server issued; pass next_cursor from the previous answer unchanged, or omit cursor for the first page")
	}
	if [12]byte(b[8:]) != bind {
		return 0, argError("cursor belongs to another call or to an earlier version of the capture; repeat the call with the same other arguments, or omit cursor to start over")
	}
	off := binary.BigEndian.Uint64(b[:8])
	if off > 1<<31 {
		return 0, argError("cursor is out of range; omit cursor to start over")
	}
	return int(off), nil
}
