package policy

import (
	"crypto/sha256"
	"crypto/subtle"
)

// CheckToken reports whether got matches want, returning ErrUnauthorized
// when got is empty or different.
//
// Both tokens are hashed first so the comparison runs over 32 bytes whatever
// their lengths: subtle.ConstantTimeCompare returns early on a length
// mismatch, which would leak the expected token's length.
func CheckToken(want, got string) error {
	if got == "" {
		return ErrUnauthorized
	}
	w := sha256.Sum256([]byte(want))
	g := sha256.Sum256([]byte(got))
	if subtle.ConstantTimeCompare(w[:], g[:]) != 1 {
		return ErrUnauthorized
	}
	return nil
}
