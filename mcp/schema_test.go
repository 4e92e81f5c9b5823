package mcp

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// validate checks v, a decoded JSON value, against s, a schema made of
// the keywords Schema writes: the tests' independent reading of what a
// client's validator does with those keywords.
func validate(s map[string]any, v any, at string) error {
	if ty, ok := s["type"]; ok {
		var types []string
		switch ty := ty.(type) {
		case string:
			types = []string{ty}
		case []any:
			for _, x := range ty {
				types = append(types, x.(string))
			}
		}
		if !slices.ContainsFunc(types, func(t string) bool { return hasType(v, t) }) {
			return fmt.Errorf("%s: %s is not of type %v", at, clipAny(v), types)
		}
	}
	if e, ok := s["enum"].([]any); ok && !slices.Contains(e, v) {
		return fmt.Errorf("%s: %v not in %v", at, v, e)
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asStrings(s["required"]) {
			if _, ok := v[r]; !ok {
				return fmt.Errorf("%s: required member %q missing", at, r)
			}
		}
		for k, x := range v {
			if ps, ok := props[k].(map[string]any); ok {
				if err := validate(ps, x, at+"."+k); err != nil {
					return err
				}
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					return fmt.Errorf("%s: member %q not allowed", at, k)
				}
			case map[string]any:
				if err := validate(ap, x, at+"."+k); err != nil {
					return err
				}
			}
		}
	case []any:
		if it, ok := s["items"].(map[string]any); ok {
			for i, x := range v {
				if err := validate(it, x, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	case float64:
		if lo, ok := s["minimum"].(float64); ok && v < lo {
			return fmt.Errorf("%s: %v < %v", at, v, lo)
		}
		if hi, ok := s["maximum"].(float64); ok && v > hi {
			return fmt.Errorf("%s: %v > %v", at, v, hi)
		}
	}
	return nil
}

func hasType(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

func asStrings(v any) []string {
	switch v := v.(type) {
	case []string:
		return v
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

func clipAny(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		b = append(b[:60], "..."...)
	}
	return string(b)
}

// Validate is validate through JSON, as a client sees the schema and the
// value: both are encoded and decoded first.
func Validate(t *testing.T, schema map[string]any, value any) error {
	t.Helper()
	var s map[string]any
	b, err := json.Marshal(schema)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	var v any
	b, err = json.Marshal(value)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return validate(s, v, "$")
}

type selfString struct{ x int }

func (selfString) MarshalJSON() ([]byte, error) { return []byte(`"x"`), nil }
func (selfString) JSONSchema() map[string]any   { return map[string]any{"type": "string"} }

type inner struct {
	N   int      `json:"n" desc:"a count"`
	Opt *float64 `json:"opt"`
}

type sample struct {
	A    string         `json:"a" enum:"x,y"`
	B    []inner        `json:"b"`
	C    *inner         `json:"c"`
	D    map[string]int `json:"d"`
	E    netip.Addr     `json:"e"`
	F    selfString     `json:"f"`
	G    bool           `json:"g,omitempty"`
	H    any            `json:"h"`
	Skip int            `json:"-"`
	inner
}

// TestSchemaOfTypes: the schema of a struct lists its members with their
// types, marks pointers nullable and omitempty members optional, and
// every value of the type validates while wrong ones do not.
func TestSchemaOfTypes(t *testing.T) {
	s := Schema(reflect.TypeFor[sample]())
	b, _ := json.Marshal(s)
	for _, want := range []string{`"a":{"enum":["x","y"],"type":"string"}`, `"c":{"additionalProperties":false`,
		`"type":["object","null"]`, `"e":{"type":"string"}`, `"f":{"type":"string"}`, `"n":{"description":"a count","type":"integer"}`,
		`"opt":{"type":["number","null"]}`, `"h":{}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("schema lacks %s:\n%s", want, b)
		}
	}
	if req := s["required"].([]string); slices.Contains(req, "g") || !slices.Contains(req, "a") || !slices.Contains(req, "n") || slices.Contains(req, "Skip") {
		t.Errorf("required = %v", req)
	}
	one := 1.5
	good := sample{A: "x", B: []inner{{N: 1, Opt: &one}}, D: map[string]int{"k": 2}, E: netip.MustParseAddr("::1"), H: []int{1}}
	if err := Validate(t, s, good); err != nil {
		t.Errorf("valid value refused: %v", err)
	}
	for _, bad := range []string{`"a":"z"`, `"n":1.5`, `"d":{"k":"v"}`, `"zz":1`} {
		var v map[string]any
		b, _ := json.Marshal(good)
		json.Unmarshal(b, &v)
		k, val, _ := strings.Cut(bad, ":")
		var x any
		json.Unmarshal([]byte(val), &x)
		v[strings.Trim(k, `"`)] = x
		var sch map[string]any
		sb, _ := json.Marshal(s)
		json.Unmarshal(sb, &sch)
		if err := validate(sch, v, "$"); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestSchemaRefusesOpaqueMarshaler: a type that encodes itself without
// saying as what cannot get a schema by accident.
func TestSchemaRefusesOpaqueMarshaler(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a json.Marshaler without JSONSchema was described")
		}
	}()
	Schema(reflect.TypeFor[struct {
		X json.RawMessage `json:"x"`
	}]())
}

type args struct {
	Path  string   `json:"path" required:"true" min:"1" max:"10"`
	TopK  int      `json:"top_k" default:"20" min:"1" max:"1000"`
	Win   float64  `json:"time_window_s" default:"60" min:"0.001"`
	Mode  string   `json:"detail" default:"\"summary\"" enum:"summary,full"`
	IPs   []string `json:"ips" max:"3"`
	Limit *int     `json:"limit" min:"1"`
}

// TestDecodeArgs: defaults fill what is missing; every wrong member is
// refused with a sentence naming it and what it takes.
func TestDecodeArgs(t *testing.T) {
	var a args
	if err := DecodeArgs(json.RawMessage(`{"path":"x.pcap","auth_token":"t"}`), &a, "auth_token"); err != nil {
		t.Fatal(err)
	}
	if a.TopK != 20 || a.Win != 60 || a.Mode != "summary" || a.Limit != nil || a.Path != "x.pcap" {
		t.Errorf("decoded %+v", a)
	}
	for raw, want := range map[string]string{
		`{}`:                                   "path is required",
		`[1]`:                                  "arguments must be a JSON object",
		`{"path":"x","top_k":0}`:               "top_k must be an integer from 1 to 1000, default 20, got 0",
		`{"path":"x","top_k":2.5}`:             "top_k must be an integer",
		`{"path":"x","time_window_s":0}`:       "time_window_s must be a number of at least 0.001",
		`{"path":"x","detail":"all"}`:          "detail must be one of summary, full, got \"all\"",
		`{"path":"x","ips":["a","b","c","d"]}`: "ips must be an array of strings of at most 3",
		`{"path":"x","ips":[1]}`:               "ips[0] must be a string",
		`{"path":"x","topk":3}`:                "unknown argument topk; this tool takes path, top_k, time_window_s, detail, ips, limit",
		`{"path":"01234567890"}`:               "path must be a string of 1 to 10 bytes",
		`{"path":"x","limit":0}`:               "limit must be an integer of at least 1",
	} {
		var a args
		err := DecodeArgs(json.RawMessage(raw), &a)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", raw, err, want)
		}
	}
	var b args
	if err := DecodeArgs(json.RawMessage(`{"path":"x","limit":3}`), &b); err != nil || b.Limit == nil || *b.Limit != 3 {
		t.Errorf("limit: %v %v", err, b.Limit)
	}
}
