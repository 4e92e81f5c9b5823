package mcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// ErrInvalidArgument is wrapped by every error of DecodeArgs.
var ErrInvalidArgument = errors.New("invalid argument")

// argError is an invalid argument, with the sentence that says how to fix
// the call.
func argError(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidArgument, fmt.Sprintf(format, a...))
}

// DecodeArgs fills dst, a pointer to an arguments struct, from raw, a
// call's arguments object, by the same tags its schema is derived from:
// a member dst does not declare is refused (a misspelt threshold must not
// silently fall back to its default), so is a member of the wrong type or
// out of bounds; a missing one takes its default, and one tagged
// required:"true" must be there. skip names members checked elsewhere
// (auth_token). The error says what to change.
func DecodeArgs(raw json.RawMessage, dst any, skip ...string) error {
	v := reflect.ValueOf(dst).Elem()
	fields := Fields(v.Type())
	members := map[string]json.RawMessage{}
	if t := bytes.TrimSpace(raw); len(t) > 0 && string(t) != "null" {
		if t[0] != '{' || json.Unmarshal(t, &members) != nil {
			return argError("arguments must be a JSON object")
		}
	}
	var unknown []string
	for k := range members {
		if !slices.Contains(skip, k) && !slices.ContainsFunc(fields, func(f Field) bool { return f.Name == k }) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		var known []string
		for _, f := range fields {
			known = append(known, f.Name)
		}
		return argError("unknown argument %s; this tool takes %s", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	for _, f := range fields {
		fv := v.FieldByIndex(f.Index)
		m, ok := members[f.Name]
		if !ok || string(bytes.TrimSpace(m)) == "null" {
			if f.Tag.Get("required") == "true" {
				return argError("%s is required (%s)", f.Name, describe(f))
			}
			if d := f.Tag.Get("default"); d != "" {
				if err := json.Unmarshal([]byte(d), fv.Addr().Interface()); err != nil {
					panic(fmt.Sprintf("mcp: default of %s: %v", f.Name, err))
				}
			}
			continue
		}
		if err := decodeField(m, fv, f); err != nil {
			return err
		}
	}
	return nil
}

// describe says in words what f accepts, for error messages.
func describe(f Field) string {
	t := f.Type
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	lo, hi := f.Tag.Get("min"), f.Tag.Get("max")
	var s string
	switch t.Kind() {
	case reflect.String:
		s = "a string"
		if e := f.Tag.Get("enum"); e != "" {
			return "one of " + strings.ReplaceAll(e, ",", ", ")
		}
		if lo != "" && hi != "" {
			s += fmt.Sprintf(" of %s to %s bytes", lo, hi)
		}
		return s
	case reflect.Slice:
		s = "an array"
		if t.Elem().Kind() == reflect.String {
			s = "an array of strings"
		}
		if hi != "" {
			s += " of at most " + hi
		}
		return s
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		s = "a number"
	default:
		s = "an integer"
	}
	switch {
	case lo != "" && hi != "":
		s += fmt.Sprintf(" from %s to %s", lo, hi)
	case lo != "":
		s += " of at least " + lo
	}
	if d := f.Tag.Get("default"); d != "" {
		s += ", default " + d
	}
	return s
}

// decodeField decodes one member into fv and checks f's bounds.
func decodeField(m json.RawMessage, fv reflect.Value, f Field) error {
	t := f.Type
	if t.Kind() == reflect.Pointer {
		fv.Set(reflect.New(t.Elem()))
		fv, t = fv.Elem(), t.Elem()
	}
	bad := func() error {
		return argError("%s must be %s, got %s", f.Name, describe(f), clip(m))
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64:
		var x float64
		if json.Unmarshal(m, &x) != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return bad()
		}
		if t.Kind() != reflect.Float64 && x != math.Trunc(x) {
			return bad()
		}
		if lo, ok := tagNum(f, "min"); ok && x < lo {
			return bad()
		}
		if hi, ok := tagNum(f, "max"); ok && x > hi {
			return bad()
		}
		if t.Kind() == reflect.Float64 {
			fv.SetFloat(x)
		} else {
			fv.SetInt(int64(x))
		}
	case reflect.String:
		var x string
		if json.Unmarshal(m, &x) != nil {
			return bad()
		}
		if e := f.Tag.Get("enum"); e != "" && !slices.Contains(strings.Split(e, ","), x) {
			return bad()
		}
		if lo, ok := tagNum(f, "min"); ok && float64(len(x)) < lo {
			return bad()
		}
		if hi, ok := tagNum(f, "max"); ok && float64(len(x)) > hi {
			return bad()
		}
		fv.SetString(x)
	case reflect.Bool:
		var x bool
		if json.Unmarshal(m, &x) != nil {
			return bad()
		}
		fv.SetBool(x)
	case reflect.Slice:
		if t.Elem().Kind() != reflect.String {
			panic(fmt.Sprintf("mcp: argument %s: only arrays of strings are supported", f.Name))
		}
		var xs []json.RawMessage
		if json.Unmarshal(m, &xs) != nil {
			return bad()
		}
		if hi, ok := tagNum(f, "max"); ok && float64(len(xs)) > hi {
			return bad()
		}
		out := make([]string, len(xs))
		for i, x := range xs {
			if json.Unmarshal(x, &out[i]) != nil {
				return argError("%s[%d] must be a string, got %s", f.Name, i, clip(x))
			}
		}
		fv.Set(reflect.ValueOf(out))
	default:
		panic(fmt.Sprintf("mcp: argument %s: unsupported type %v", f.Name, t))
	}
	return nil
}

func tagNum(f Field, tag string) (float64, bool) {
	v := f.Tag.Get(tag)
	if v == "" {
		return 0, false
	}
	x, err := strconv.ParseFloat(v, 64)
	return x, err == nil
}

// maxEcho bounds how much of a bad value an error message quotes.
const maxEcho = 40

// clip is a bad value as the error quotes it: at most maxEcho bytes.
func clip(m json.RawMessage) string {
	s := string(bytes.TrimSpace(m))
	if len(s) > maxEcho {
		s = strings.ToValidUTF8(s[:maxEcho], "") + "…"
	}
	return s
}

// Defaults is an arguments struct with every member at its default, as
// DecodeArgs fills it from an empty call: the CLI's flags take their
// defaults from here, so a default is written once, in the type's tags.
func Defaults[A any]() A {
	var a A
	v := reflect.ValueOf(&a).Elem()
	for _, f := range Fields(v.Type()) {
		if d := f.Tag.Get("default"); d != "" {
			if err := json.Unmarshal([]byte(d), v.FieldByIndex(f.Index).Addr().Interface()); err != nil {
				panic(fmt.Sprintf("mcp: default of %s: %v", f.Name, err))
			}
		}
	}
	return a
}
