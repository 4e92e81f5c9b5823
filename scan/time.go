package scan

import (
	"strconv"
	"strings"
	"time"
)

// MaxPrecision is the finest timestamp precision printed: nanoseconds,
// the resolution of the int64 timestamps the reader produces.
const MaxPrecision = 9

// Time is a packet timestamp: nanoseconds since the Unix epoch (UTC) and
// the number of fractional digits the capture resolves. It marshals to
// RFC 3339 in UTC with exactly that many digits, so a microsecond capture
// prints "2026-03-14T09:26:55.591027Z" and a nanosecond one nine digits.
type Time struct {
	NS     int64 // nanoseconds since 1970-01-01T00:00:00Z
	Digits uint8 // fractional digits printed, at most MaxPrecision
}

// String formats t as RFC 3339 UTC with t.Digits fractional digits.
func (t Time) String() string {
	return string(t.appendTo(nil))
}

// MarshalJSON writes t as a JSON string (see String).
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 40)
	b = append(b, '"')
	b = t.appendTo(b)
	return append(b, '"'), nil
}

// UnmarshalJSON reads an RFC 3339 string back, keeping the digits it has,
// so answers can be decoded by tests and by callers.
func (t *Time) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	t.NS = v.UnixNano()
	t.Digits = 0
	if i := strings.IndexByte(s, '.'); i >= 0 {
		n := 0
		for _, c := range s[i+1:] {
			if c < '0' || c > '9' {
				break
			}
			n++
		}
		t.Digits = uint8(min(n, MaxPrecision))
	}
	return nil
}

func (t Time) appendTo(b []byte) []byte {
	d := int(min(t.Digits, MaxPrecision))
	v := time.Unix(0, t.NS).UTC()
	b = v.AppendFormat(b, "2006-01-02T15:04:05")
	if d > 0 {
		// The fraction is cut (not rounded) to d digits: a capture of
		// microsecond resolution holds whole microseconds anyway.
		frac := int64(v.Nanosecond())
		var buf [MaxPrecision]byte
		for i := MaxPrecision - 1; i >= 0; i-- {
			buf[i] = byte('0' + frac%10)
			frac /= 10
		}
		b = append(b, '.')
		b = append(b, buf[:d]...)
	}
	return append(b, 'Z')
}

// JSONSchema says how Time is written in answers (mcp.SchemaDefiner).
func (Time) JSONSchema() map[string]any {
	return map[string]any{"type": "string", "description": "UTC, RFC 3339, with the capture's own precision"}
}
