package policy

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadAllMax(t *testing.T) {
	broken := errors.New("broken")
	cases := []struct {
		name    string
		in      string
		max     int64
		want    string
		wantErr error  // nil: no error
		text    string // the error's text, when wantErr is set
	}{
		{"empty", "", 4, "", nil, ""},
		{"under", "abc", 4, "abc", nil, ""},
		{"at the limit", "abcd", 4, "abcd", nil, ""},
		{"one over", "abcde", 4, "", ErrFileTooLarge, "larger than 4 bytes"},
		{"far over", strings.Repeat("x", 1<<20), 4, "", ErrFileTooLarge, "larger than 4 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// One byte a read: the limit holds however the reader splits its input.
			b, err := ReadAllMax(iotest.OneByteReader(strings.NewReader(c.in)), c.max)
			if c.wantErr == nil {
				if err != nil || string(b) != c.want {
					t.Errorf("ReadAllMax(%q, %d) = %q, %v; want %q", c.in, c.max, b, err, c.want)
				}
				return
			}
			var te *TooLargeError
			if !errors.Is(err, c.wantErr) || !errors.As(err, &te) || te.Max != c.max || err.Error() != c.text || b != nil {
				t.Errorf("ReadAllMax(%.10q…, %d) = %q, %v; want nil, %q matching %v", c.in, c.max, b, err, c.text, c.wantErr)
			}
		})
	}
	if b, err := ReadAllMax(iotest.ErrReader(broken), 4); !errors.Is(err, broken) || b != nil {
		t.Errorf("ReadAllMax(a failing reader) = %q, %v; want its error", b, err)
	}
}
