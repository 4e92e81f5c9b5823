package jsonrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"
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
		// Member names are exact, and the envelope's members are named once.
		{`{"jsonrpc":"2.0","id":1,"method":"tools/list","Method":"tools/call"}`, "tools/list", "1", 0},
		{`{"jsonrpc":"2.0","id":1,"Method":"tools/call","method":"tools/list"}`, "tools/list", "1", 0},
		{`{"jsonrpc":"2.0","id":2,"METHOD":"ping"}`, "", "2", CodeInvalidRequest},
		{`{"JSONRPC":"2.0","id":3,"method":"ping"}`, "", "3", CodeInvalidRequest},
		{`{"jsonrpc":"2.0","ID":4,"method":"ping"}`, "ping", "", 0}, // no "id": a notification
		{`{"jsonrpc":"2.0","id":5,"method":"ping","Params":{"a":1}}`, "ping", "5", 0},
		{`{"jsonrpc":"2.0","id":6,"method":"tools/list","method":"tools/call"}`, "", "6", CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":7,"method":"ping","\u006dethod":"tools/call"}`, "", "7", CodeInvalidRequest},
		{`{"jsonrpc":"2.0","jsonrpc":"2.0","id":8,"method":"ping"}`, "", "8", CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":9,"method":"ping","params":{},"params":{"a":1}}`, "", "9", CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":10,"id":11,"method":"ping"}`, "", "", CodeInvalidRequest}, // which id? none
		{`{"jsonrpc":"2.0","id":12,"id":12,"method":"ping"}`, "", "", CodeInvalidRequest},
		{`{"jsonrpc":"2.0","method":"ping","method":"x"}`, "", "", CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":13,"method":"ping","x":1,"x":2,"result":1,"result":2}`, "ping", "13", 0},
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

// TestParseCost: reading the envelope member by member costs time and
// memory linear in the line, whatever its shape: a line of 1 MiB of tiny
// members, one long string, deep nesting. The bounds are a few times the
// measured cost (under -race: 12 bytes allocated per byte of the line,
// 0.35 s), far below what a walk that rescans the line per member takes.
func TestParseCost(t *testing.T) {
	// scannerStacks is what encoding/json's scanners take for the nesting
	// depth, at most 10000 levels deep: about 0.9 MB measured at 9000.
	const scannerStacks = 2 << 20
	members := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"jsonrpc":"2.0","id":1,"method":"ping"`)
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, `,"m%d":[0]`, i)
		}
		return b.String() + "}"
	}
	for _, c := range []struct {
		name string
		line string
	}{
		{"members", members(MaxLineBytes / 12)},
		{"string", `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"` + strings.Repeat("a", MaxLineBytes-100) + `"}}`},
		{"nesting", `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + `}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			line := []byte(c.line)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			req, f := Parse(line)
			el := time.Since(start)
			runtime.ReadMemStats(&after)
			if req == nil || req.Method != "ping" || f != nil {
				t.Fatalf("got %+v %+v", req, f)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32*uint64(len(line))+scannerStacks {
				t.Errorf("%d bytes allocated for a %d-byte line", alloc, len(line))
			}
			if el > 2*time.Second {
				t.Errorf("%v for a %d-byte line", el, len(line))
			}
		})
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

// TestWriterClose: nothing is written after Close.
func TestWriterClose(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Result(json.RawMessage(`1`), nil)
	w.Close()
	if err := w.Result(json.RawMessage(`2`), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close: %v", err)
	}
	w.Notify("x", nil)
	if buf.String() != `{"jsonrpc":"2.0","id":1,"result":{}}`+"\n" {
		t.Errorf("got %q", buf.String())
	}
}

// TestWriterRedact: error messages and every string of error data pass
// through the redaction function before they are encoded; ids, member
// names and numbers do not.
func TestWriterRedact(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.SetRedact(func(s string) string { return strings.ReplaceAll(s, `s<"\>`, "[redacted]") })
	w.Error(json.RawMessage(`"s<\"\\>"`), &Error{Code: 1, Message: `unknown tool: s<"\>`,
		Data: map[string]any{`s<"\>`: []any{`x s<"\> y`, 2.5, json.RawMessage(`{"a":"s\u003c\"\\>"}`)}}})
	w.Result(json.RawMessage(`1`), map[string]any{"a": `s<"\>`}) // results are the server's to redact
	want := `{"jsonrpc":"2.0","id":"s<\"\\>","error":{"code":1,"message":"unknown tool: [redacted]","data":{"s<\"\\>":["x [redacted] y",2.5,{"a":"[redacted]"}]}}}
{"jsonrpc":"2.0","id":1,"result":{"a":"s<\"\\>"}}
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
		`{"jsonrpc":"2.0","id":1,"method":"tools/list","Method":"tools/call"}`,
		`{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}`,
		`{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":1,"method":"x","params":{},"params":{}}`,
		`{"jsonrpc":"2.0","id":1,"\u006dethod":"x","method":"y"}`,
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
