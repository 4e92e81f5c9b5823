package jsonrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParse(t *testing.T) {
	cases := []struct {
		line   string
		method string // request expected
		id     string // raw id of the request or fault; "" = none
		code   int    // fault expected
	}{
		{`{"jsonrpc":"2.0","id":1,"method":"ping"}`, "ping", "1", 0},
		{`{"jsonrpc":"2.0","id":"abc-1","method":"ping"}`, "ping", `"abc-1"`, 0},
		{`{"jsonrpc":"2.0","id":4294967296,"method":"ping"}`, "ping", "4294967296", 0},
		{`{"jsonrpc":"2.0","id":-7,"method":"ping"}`, "ping", "-7", 0},
		{`{"jsonrpc":"2.0","id":0,"method":"ping"}`, "ping", "0", 0},
		{`{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"x"}`, "x", "123456789012345678901234567890", 0},
		{`{"jsonrpc":"2.0","method":"notifications/initialized"}`, "notifications/initialized", "", 0},
		{`{"jsonrpc":"2.0","method":"x","params":null}`, "x", "", 0},
		{` {"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}} `, "tools/list", "2", 0},
		{`not json`, "", "", CodeParseError},
		{`{"jsonrpc":"2.0","id":1,"method":"ping"`, "", "", CodeParseError},
		{`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, "", "", CodeInvalidRequest},
		{`42`, "", "", CodeInvalidRequest},
		{`"ping"`, "", "", CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":null,"method":"ping"}`, "", "", CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":1.5,"method":"ping"}`, "", "", CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":1e3,"method":"ping"}`, "", "", CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":true,"method":"ping"}`, "", "", CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":{},"method":"ping"}`, "", "", CodeInvalidRequest},
		{`{"jsonrpc":"1.0","id":3,"method":"ping"}`, "", "3", CodeInvalidRequest},
		{`{"id":3,"method":"ping"}`, "", "3", CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":4}`, "", "4", CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":5,"method":7}`, "", "5", CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":6,"method":"x","params":[1]}`, "", "6", CodeInvalidParams},
		{`{"jsonrpc":"2.0","id":7,"result":{}}`, "", "", 0},           // stray response: ignored
		{`{"jsonrpc":"2.0","method":"x","params":"junk"}`, "", "", 0}, // bad notification: not answered
	}
	for _, c := range cases {
		req, f := Parse([]byte(c.line))
		switch {
		case c.code != 0:
			if f == nil || f.Err.Code != c.code || string(f.ID) != c.id {
				t.Errorf("%s: got req %+v fault %+v, want code %d id %q", c.line, req, f, c.code, c.id)
			}
		case c.method != "":
			if req == nil || req.Method != c.method || string(req.ID) != c.id || f != nil {
				t.Errorf("%s: got req %+v fault %+v", c.line, req, f)
			}
		default:
			if req != nil || f != nil {
				t.Errorf("%s: want nothing, got %+v %+v", c.line, req, f)
			}
		}
	}
}

func TestReaderLines(t *testing.T) {
	long := `{"jsonrpc":"2.0","id":9,"method":"x","params":{"p":"` + strings.Repeat("a", MaxLineBytes) + `"}}`
	in := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"a"}`,
		``,
		"   \r",
		`{"jsonrpc":"2.0","id":2,"method":"b"}` + "\r",
		long,
		`{"jsonrpc":"2.0","id":3,"method":"c"}`,
		`{"jsonrpc":"2.0","id":4,"method":"d"}`, // no final newline
	}, "\n")
	for name, r := range map[string]io.Reader{
		"plain":   strings.NewReader(in),
		"onebyte": iotest.OneByteReader(strings.NewReader(in)),
		"half":    iotest.HalfReader(strings.NewReader(in)),
		"dataerr": iotest.DataErrReader(strings.NewReader(in)),
	} {
		rd := NewReader(r)
		var got []string
		for {
			req, f, err := rd.Next()
			if err != nil {
				if err != io.EOF {
					t.Fatalf("%s: %v", name, err)
				}
				break
			}
			switch {
			case req != nil:
				got = append(got, req.Method+string(req.ID))
			case f != nil:
				got = append(got, "fault"+string(f.ID))
			}
		}
		want := "a1 b2 fault c3 d4"
		if strings.Join(got, " ") != want {
			t.Errorf("%s: got %q want %q", name, got, want)
		}
	}
}

func TestReaderError(t *testing.T) {
	boom := errors.New("boom")
	rd := NewReader(iotest.ErrReader(boom))
	if _, _, err := rd.Next(); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
}

func TestWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Result(json.RawMessage(`"x"`), map[string]any{"a": "<b>"})
	w.Error(nil, Errorf(CodeParseError, "bad"))
	w.Error(json.RawMessage(`4294967296`), Errorf(CodeMethodNotFound, "nope"))
	w.Notify("notifications/progress", map[string]any{"progress": 1})
	w.Result(json.RawMessage(`1`), nil)
	w.Result(json.RawMessage(`2`), func() {}) // cannot be encoded
	want := `{"jsonrpc":"2.0","id":"x","result":{"a":"<b>"}}
{"jsonrpc":"2.0","error":{"code":-32700,"message":"bad"}}
{"jsonrpc":"2.0","id":4294967296,"error":{"code":-32601,"message":"nope"}}
{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}
{"jsonrpc":"2.0","id":1,"result":{}}
{"jsonrpc":"2.0","id":2,"error":{"code":-32603,"message":"internal error: answer could not be encoded"}}
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

// FuzzParse: no line makes Parse panic; what it accepts has a valid id and
// a method, and what it refuses carries an id only when the id was valid.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"ping"}`, `{"jsonrpc":"2.0","id":null}`, `[1]`, `{`, `{"id":"a\u0000"}`,
		`{"jsonrpc":"2.0","id":-0,"method":"tools/call","params":{"name":"x","arguments":{}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, fault := Parse(line)
		if req != nil && fault != nil {
			t.Fatal("both request and fault")
		}
		if req != nil && req.ID != nil && !validID(req.ID) {
			t.Fatalf("accepted id %q", req.ID)
		}
		if fault != nil && fault.ID != nil && !validID(fault.ID) {
			t.Fatalf("fault echoes invalid id %q", fault.ID)
		}
		if fault != nil {
			var buf bytes.Buffer
			NewWriter(&buf).Error(fault.ID, fault.Err)
			if !json.Valid(buf.Bytes()) || bytes.Contains(buf.Bytes(), []byte(`"id":null`)) {
				t.Fatalf("bad answer %q", buf.String())
			}
		}
	})
}
