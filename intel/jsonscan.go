package intel

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// jsonScanner reads one JSON value token by token, for the OTX export,
// which may be hundreds of MiB. json.Decoder.Token would do, but it
// allocates about six times per token (3.5 times slower than decoding the
// file whole, which is what its memory cost ruled out); this one keeps no
// more than one scalar (MaxJSONToken) and the open containers
// (MaxJSONDepth), allocates only for a string with escapes or invalid
// UTF-8 (decoded by encoding/json, so text comes out as it would there),
// and checks the grammar as encoding/json does (FuzzJSONScan compares the
// two).
type jsonScanner struct {
	r     *bufio.Reader
	buf   []byte    // the last key, string, number or literal, as written (escapes kept)
	esc   bool      // buf holds a backslash escape
	stack []byte    // the open containers, '{' or '['
	state scanState // what the grammar allows next
}

type jsonKind uint8

const (
	jsonObject jsonKind = iota + 1
	jsonObjectEnd
	jsonArray
	jsonArrayEnd
	jsonKey    // an object key (text in buf)
	jsonString // a string value (text in buf)
	jsonNumber // in buf, as written
	jsonTrue
	jsonFalse
	jsonNull
)

type scanState uint8

const (
	scanValue      scanState = iota // a value
	scanValueOrEnd                  // after '[': a value or ']'
	scanKeyOrEnd                    // after '{': a key or '}'
	scanKey                         // after ',' in an object
	scanColon                       // after a key
	scanCommaOrEnd                  // after a value in a container
	scanDone                        // the value is complete
)

var errJSONSyntax = errors.New("intel: malformed JSON")

func newJSONScanner(r *bufio.Reader) *jsonScanner { return &jsonScanner{r: r} }

func (s *jsonScanner) syntax(c byte) error {
	return fmt.Errorf("%w: unexpected %q", errJSONSyntax, c)
}

// depth is the number of open containers.
func (s *jsonScanner) depth() int { return len(s.stack) }

// next reads the next token. After the last one of the value it returns
// io.EOF; a value cut short is io.ErrUnexpectedEOF.
func (s *jsonScanner) next() (jsonKind, error) {
	for {
		if s.state == scanDone {
			return 0, io.EOF
		}
		c, err := s.nonSpace()
		if err != nil {
			return 0, err
		}
		switch s.state {
		case scanColon:
			if c != ':' {
				return 0, s.syntax(c)
			}
			s.state = scanValue
			continue
		case scanCommaOrEnd:
			top := s.stack[len(s.stack)-1]
			switch {
			case c == ',' && top == '{':
				s.state = scanKey
				continue
			case c == ',':
				s.state = scanValue
				continue
			case c == '}' && top == '{':
				s.pop()
				return jsonObjectEnd, nil
			case c == ']' && top == '[':
				s.pop()
				return jsonArrayEnd, nil
			}
			return 0, s.syntax(c)
		case scanKeyOrEnd, scanKey:
			if c == '}' && s.state == scanKeyOrEnd {
				s.pop()
				return jsonObjectEnd, nil
			}
			if c != '"' {
				return 0, s.syntax(c)
			}
			if err := s.readString(); err != nil {
				return 0, err
			}
			if s.esc { // keys are compared decoded, once
				s.buf, s.esc = append(s.buf[:0], s.text()...), false
			}
			s.state = scanColon
			return jsonKey, nil
		}
		// scanValue or scanValueOrEnd
		if c == ']' && s.state == scanValueOrEnd {
			s.pop()
			return jsonArrayEnd, nil
		}
		return s.value(c)
	}
}

// value reads a value whose first byte c was just read.
func (s *jsonScanner) value(c byte) (jsonKind, error) {
	switch c {
	case '{', '[':
		if len(s.stack) == MaxJSONDepth {
			return 0, fmt.Errorf("intel: JSON nested deeper than %d", MaxJSONDepth)
		}
		s.stack = append(s.stack, c)
		if c == '{' {
			s.state = scanKeyOrEnd
			return jsonObject, nil
		}
		s.state = scanValueOrEnd
		return jsonArray, nil
	case '"':
		if err := s.readString(); err != nil {
			return 0, err
		}
		s.ended()
		return jsonString, nil
	case 't', 'f', 'n':
		kind, err := s.readLiteral(c)
		s.ended()
		return kind, err
	}
	if c == '-' || (c >= '0' && c <= '9') {
		err := s.readNumber(c)
		s.ended()
		return jsonNumber, err
	}
	return 0, s.syntax(c)
}

// ended moves past a complete value.
func (s *jsonScanner) ended() {
	if len(s.stack) == 0 {
		s.state = scanDone
	} else {
		s.state = scanCommaOrEnd
	}
}

func (s *jsonScanner) pop() {
	s.stack = s.stack[:len(s.stack)-1]
	s.ended()
}

// nonSpace returns the next byte that is not JSON white space.
func (s *jsonScanner) nonSpace() (byte, error) {
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c, nil
		}
	}
}

// keep appends to buf, failing past MaxJSONToken.
func (s *jsonScanner) keep(b ...byte) error {
	if len(s.buf)+len(b) > MaxJSONToken {
		return fmt.Errorf("intel: a JSON value longer than %d bytes", MaxJSONToken)
	}
	s.buf = append(s.buf, b...)
	return nil
}

// readString reads a string whose opening quote was read into buf, as
// written; escapes are checked, not decoded.
func (s *jsonScanner) readString() error {
	s.buf, s.esc = s.buf[:0], false
	for {
		// Take the run up to the next quote, backslash or control byte
		// from the reader's buffer at once.
		chunk, _ := s.r.Peek(max(1, s.r.Buffered()))
		n := 0
		for n < len(chunk) && chunk[n] != '"' && chunk[n] != '\\' && chunk[n] >= 0x20 {
			n++
		}
		if n > 0 {
			if err := s.keep(chunk[:n]...); err != nil {
				return err
			}
			s.r.Discard(n)
			continue
		}
		c, err := s.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		switch {
		case c == '"':
			return nil
		case c < 0x20:
			return s.syntax(c)
		}
		// A backslash: one of "\/bfnrt, or u and four hex digits.
		e, err := s.r.ReadByte()
		if err != nil {
			return io.ErrUnexpectedEOF
		}
		s.esc = true
		if err := s.keep('\\', e); err != nil {
			return err
		}
		switch e {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			continue
		case 'u':
			for range 4 {
				h, err := s.r.ReadByte()
				if err != nil {
					return io.ErrUnexpectedEOF
				}
				if !isHex(h) {
					return s.syntax(h)
				}
				if err := s.keep(h); err != nil {
					return err
				}
			}
			continue
		}
		return s.syntax(e)
	}
}

func isHex(c byte) bool { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }

// readNumber reads a number whose first byte c was read, checking the
// grammar: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?
func (s *jsonScanner) readNumber(c byte) error {
	s.buf = append(s.buf[:0], c)
	for {
		b, err := s.r.Peek(1)
		if err != nil || !(isDigit(b[0]) || b[0] == '.' || b[0] == 'e' || b[0] == 'E' || b[0] == '+' || b[0] == '-') {
			break
		}
		if err := s.keep(b[0]); err != nil {
			return err
		}
		s.r.Discard(1)
	}
	if !validNumber(s.buf) {
		return fmt.Errorf("%w: number %q", errJSONSyntax, s.buf)
	}
	return nil
}

func validNumber(b []byte) bool {
	i := 0
	digits := func() bool {
		start := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		return i > start
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(b)
}

// readLiteral reads true, false or null, whose first byte c was read.
func (s *jsonScanner) readLiteral(c byte) (jsonKind, error) {
	s.buf = append(s.buf[:0], c)
	for len(s.buf) < len("false") {
		b, err := s.r.Peek(1)
		if err != nil || b[0] < 'a' || b[0] > 'z' {
			break
		}
		s.buf = append(s.buf, b[0])
		s.r.Discard(1)
	}
	switch string(s.buf) {
	case "true":
		return jsonTrue, nil
	case "false":
		return jsonFalse, nil
	case "null":
		return jsonNull, nil
	}
	return 0, fmt.Errorf("%w: %q", errJSONSyntax, s.buf)
}

// text is the last key or string decoded: as is when it has no escape and
// is valid UTF-8, else by encoding/json (escapes decoded, an invalid byte
// replaced by U+FFFD).
func (s *jsonScanner) text() string {
	if !s.esc && utf8.Valid(s.buf) {
		return string(s.buf)
	}
	q := make([]byte, 0, len(s.buf)+2)
	q = append(append(append(q, '"'), s.buf...), '"')
	var out string
	if json.Unmarshal(q, &out) != nil {
		return "" // not reached: the escapes were checked
	}
	return out
}

// keyIs reports whether the last key is name, without regard to case as
// encoding/json matches struct fields.
func (s *jsonScanner) keyIs(name string) bool { return bytes.EqualFold(s.buf, []byte(name)) }
