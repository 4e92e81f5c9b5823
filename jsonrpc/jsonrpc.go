// Package jsonrpc reads and writes newline-delimited JSON-RPC 2.0 messages,
// the framing of the MCP stdio transport: one message per line, no batches,
// ids echoed byte for byte, and no "id": null ever written.
//
// Input is untrusted. Every line is bounded (MaxLineBytes); a bad line is
// answered with the matching error and the reader goes on with the next one.
package jsonrpc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// MaxLineBytes bounds one message. MCP messages of this server are small
// (the largest request is a correlate call with 1000 addresses, about
// 50 KiB); 1 MiB leaves room for clients that send large _meta while
// bounding what one line can make the server hold.
const MaxLineBytes = 1 << 20

// readBufferBytes is the bufio buffer of the reader; longer lines are
// assembled from several reads, up to MaxLineBytes.
const readBufferBytes = 64 << 10

// JSON-RPC and MCP error codes.
const (
	CodeParseError     = -32700 // the line is not JSON
	CodeInvalidRequest = -32600 // JSON, but not a valid request object
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
	// CodeUnsupportedProtocolVersion is MCP 2026-07-28's answer to a
	// request whose _meta names a revision the server does not speak.
	CodeUnsupportedProtocolVersion = -32022
)

// Error is a JSON-RPC error object.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("jsonrpc %d: %s", e.Code, e.Message) }

// Errorf builds an *Error with a formatted message.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Request is a request or a notification. ID holds the id's JSON bytes
// exactly as received (a string or an integer), nil for a notification.
type Request struct {
	ID     json.RawMessage
	Method string
	Params json.RawMessage // nil when absent; otherwise a JSON object
}

// IsNotification reports whether the message expects no answer.
func (r *Request) IsNotification() bool { return r.ID == nil }

// Fault is a line that cannot be served: the error to answer and the id to
// answer it with (nil when the id could not be read, and then the answer
// carries no id at all).
type Fault struct {
	ID  json.RawMessage
	Err *Error
}

// Reader reads one message per line.
type Reader struct {
	br   *bufio.Reader
	line []byte
}

// NewReader reads messages from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, readBufferBytes)}
}

// Next returns the next message: a request (or notification), or a fault
// to answer, or nothing for lines that need no answer (blank lines and
// responses, since this server sends no requests). err is io.EOF at the
// end of input, or the transport's read error.
func (r *Reader) Next() (req *Request, fault *Fault, err error) {
	for {
		line, tooLong, err := r.readLine()
		if tooLong {
			return nil, &Fault{Err: Errorf(CodeInvalidRequest, "message longer than %d bytes", MaxLineBytes)}, nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			if err != nil {
				return nil, nil, err
			}
			continue
		}
		req, fault := Parse(line)
		if req == nil && fault == nil {
			if err != nil {
				return nil, nil, err
			}
			continue
		}
		// A final line without a newline is still served; the error
		// (io.EOF) comes on the next call.
		return req, fault, nil
	}
}

// readLine returns one line without its terminator. A line over
// MaxLineBytes is consumed to its end and reported as tooLong.
func (r *Reader) readLine() (line []byte, tooLong bool, err error) {
	r.line = r.line[:0]
	for {
		chunk, e := r.br.ReadSlice('\n')
		if !tooLong {
			if len(r.line)+len(chunk) > MaxLineBytes+2 { // +2: the "\r\n" is not part of the message
				tooLong = true
				r.line = r.line[:0]
			} else {
				r.line = append(r.line, chunk...)
			}
		}
		switch {
		case e == nil:
			return trimEOL(r.line), tooLong, nil
		case errors.Is(e, bufio.ErrBufferFull):
			continue
		default:
			return trimEOL(r.line), tooLong, e
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// wireMessage has every member a JSON-RPC message can carry, raw, so that
// absent and null can be told apart.
type wireMessage struct {
	JSONRPC json.RawMessage
	ID      json.RawMessage
	Method  json.RawMessage
	Params  json.RawMessage
	Result  json.RawMessage
	Error   json.RawMessage
}

// Parse validates one line. It returns a request, or a fault to answer, or
// neither for a response (this server sends no requests, so a response is
// stray and needs no answer).
//
// Member names are matched exactly and the envelope's members (jsonrpc,
// id, method, params) may each appear once: encoding/json would match
// "Method" as method and let the last duplicate win, so a proxy reading
// the line another way could see one method while the server runs
// another.
func Parse(line []byte) (*Request, *Fault) {
	line = bytes.TrimSpace(line)
	if !json.Valid(line) {
		return nil, &Fault{Err: Errorf(CodeParseError, "parse error: the line is not valid JSON")}
	}
	if line[0] != '{' {
		if line[0] == '[' {
			return nil, &Fault{Err: Errorf(CodeInvalidRequest, "batches are not supported: send one message per line")}
		}
		return nil, &Fault{Err: Errorf(CodeInvalidRequest, "a message must be a JSON object")}
	}
	m, dup, err := readEnvelope(line)
	if err != nil {
		return nil, &Fault{Err: Errorf(CodeInvalidRequest, "invalid message: %v", err)}
	}
	var id json.RawMessage
	if m.ID != nil && dup != "id" {
		if !validID(m.ID) {
			return nil, &Fault{Err: Errorf(CodeInvalidRequest, "id must be a string or an integer")}
		}
		id = m.ID
	}
	if dup != "" {
		return nil, &Fault{ID: id, Err: Errorf(CodeInvalidRequest, "member %q appears more than once: each member of a message must be named once", dup)}
	}
	if m.Method == nil {
		if id != nil && (m.Result != nil || m.Error != nil) {
			return nil, nil // a response to nothing we sent
		}
		return nil, &Fault{ID: id, Err: Errorf(CodeInvalidRequest, "missing method")}
	}
	if string(m.JSONRPC) != `"2.0"` {
		return nil, &Fault{ID: id, Err: Errorf(CodeInvalidRequest, `jsonrpc must be "2.0"`)}
	}
	var method string
	if err := json.Unmarshal(m.Method, &method); err != nil || m.Method[0] != '"' {
		return nil, &Fault{ID: id, Err: Errorf(CodeInvalidRequest, "method must be a string")}
	}
	req := &Request{ID: id, Method: method}
	if m.Params != nil && string(m.Params) != "null" {
		if m.Params[0] != '{' {
			if id == nil {
				return nil, nil // a notification is never answered, not even with an error
			}
			return nil, &Fault{ID: id, Err: Errorf(CodeInvalidParams, "params must be an object")}
		}
		req.Params = m.Params
	}
	return req, nil
}

// readEnvelope walks the members of the top-level object of line (valid
// JSON, an object) and keeps the raw values of those named exactly like a
// JSON-RPC member; other members are skipped. dup is the first envelope
// member (jsonrpc, id, method, params) found twice. The walk reads each
// byte a bounded number of times, so its cost is linear in the line; the
// values kept are copies, not views of line.
func readEnvelope(line []byte) (m wireMessage, dup string, err error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	if _, err := dec.Token(); err != nil { // the opening brace
		return m, "", err
	}
	var scratch json.RawMessage // the value of a member that is not kept, reused
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return m, "", err
		}
		key, _ := tok.(string)
		var dst *json.RawMessage
		envelope := true
		switch key {
		case "jsonrpc":
			dst = &m.JSONRPC
		case "id":
			dst = &m.ID
		case "method":
			dst = &m.Method
		case "params":
			dst = &m.Params
		case "result":
			dst, envelope = &m.Result, false
		case "error":
			dst, envelope = &m.Error, false
		}
		if dst == nil || *dst != nil {
			if dst != nil && envelope && dup == "" {
				dup = key
			}
			scratch = scratch[:0]
			if err := dec.Decode(&scratch); err != nil {
				return m, "", err
			}
			continue
		}
		if err := dec.Decode(dst); err != nil {
			return m, "", err
		}
	}
	return m, dup, nil
}

// validID accepts what MCP allows: a JSON string or an integer (any size;
// kept as text). null, fractions, exponents, booleans, arrays and objects
// are refused.
func validID(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return false
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		return json.Unmarshal(raw, &s) == nil
	case c == '-' || (c >= '0' && c <= '9'):
		return !bytes.ContainsAny(raw, ".eE")
	}
	return false
}

// Writer writes messages, one per line, from any number of goroutines.
type Writer struct {
	mu     sync.Mutex
	w      *bufio.Writer
	err    error
	closed atomic.Bool
	redact func(string) string
}

// ErrClosed is what a write returns once the Writer is closed.
var ErrClosed = errors.New("jsonrpc: writer closed")

// Close ends the output: every message not yet being written is dropped
// (its write returns ErrClosed). It does not wait for a write in
// progress, which a reader that stopped reading can block for ever. The
// underlying writer is not closed.
func (w *Writer) Close() { w.closed.Store(true) }

// SetRedact makes the writer pass the message and every string value of
// the data of each error it writes through f before encoding them: error
// messages quote the input (an unknown method or tool, a bad params
// value), and the caller's input may hold a secret. Set it before the
// first write.
func (w *Writer) SetRedact(f func(string) string) { w.redact = f }

// NewWriter writes to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriter(w)} }

type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Result  any             `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

type notification struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  any    `json:"params,omitempty"`
}

// Result answers id with result (which must marshal to a JSON object).
func (w *Writer) Result(id json.RawMessage, result any) error {
	if result == nil {
		result = struct{}{}
	}
	return w.write(response{JSONRPC: "2.0", ID: id, Result: result})
}

// Error answers id (nil: no id member) with e.
func (w *Writer) Error(id json.RawMessage, e *Error) error {
	if w.redact != nil && e != nil {
		e = &Error{Code: e.Code, Message: w.redact(e.Message), Data: redactData(e.Data, w.redact)}
	}
	return w.write(response{JSONRPC: "2.0", ID: id, Error: e})
}

// redactData returns data with f applied to every string value in it (not
// to member names, so the data keeps its shape). Error data is small; it
// is taken through its JSON form so that any Go value is covered.
func redactData(data any, f func(string) string) any {
	if data == nil {
		return nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		return data // write answers with an internal error
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return data
	}
	return mapStrings(v, f)
}

// mapStrings applies f to every string value of v, a decoded JSON value.
func mapStrings(v any, f func(string) string) any {
	switch v := v.(type) {
	case string:
		return f(v)
	case []any:
		for i := range v {
			v[i] = mapStrings(v[i], f)
		}
	case map[string]any:
		for k := range v {
			v[k] = mapStrings(v[k], f)
		}
	}
	return v
}

// Notify sends a notification.
func (w *Writer) Notify(method string, params any) error {
	return w.write(notification{JSONRPC: "2.0", Method: method, Params: params})
}

// write marshals first, so a value that cannot be encoded never leaves a
// partial line, then writes the line and flushes under the lock.
func (w *Writer) write(v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // Encode appends the '\n'
		r, ok := v.(response)
		if !ok {
			return err // a notification that cannot be encoded is dropped
		}
		b, _ := json.Marshal(response{JSONRPC: "2.0", ID: r.ID, Error: Errorf(CodeInternalError, "internal error: answer could not be encoded")})
		buf.Reset()
		buf.Write(append(b, '\n'))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed.Load() {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	if _, err := w.w.Write(buf.Bytes()); err != nil {
		w.err = err
		return err
	}
	w.err = w.w.Flush()
	return w.err
}
