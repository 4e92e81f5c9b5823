package policy

import "io"

// ReadAllMax reads r to its end and returns what it held, or, once r holds
// more than max bytes (it reads max+1), a *TooLargeError. It is for the
// small files read whole, such as the known-scanners file, whose size is
// what was read rather than a stat that a file growing meanwhile
// outdates. Captures are never read whole: File.Reader streams them and
// fails the same way past its limit.
func ReadAllMax(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, &TooLargeError{Max: max}
	}
	return b, nil
}
