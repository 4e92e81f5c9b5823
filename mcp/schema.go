package mcp

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Schemas are derived from the Go types of the arguments and answers, so
// that what tools/list declares and what a call returns cannot drift
// apart: a field added to an answer is in its schema, with its type.
//
// Only keywords that mean the same in JSON Schema draft-07 and 2020-12
// are written (docs/MCP.md §12: the 1.x TypeScript client compiles schemas as
// draft-07 and ignores $schema): type (with "null" in a type array for a
// pointer), properties, required, additionalProperties, items, enum,
// minimum, maximum, minLength, maxLength, minItems, maxItems, default,
// description. No $ref, no composition.
//
// Struct tags read besides json:
//
//	desc:"..."       the property's description
//	default:"20"     its default (a JSON literal: 20, 5.0, "summary")
//	min:"1" max:"9"  numeric bounds (inclusive), or length bounds of a
//	                 string, or item bounds of an array
//	enum:"a,b"       the allowed strings
//
// A type that encodes itself (json.Marshaler) must say how, with a
// JSONSchema() map[string]any method; one that implements
// encoding.TextMarshaler is a string.

// SchemaDefiner is a type that marshals itself and says as what.
type SchemaDefiner interface {
	JSONSchema() map[string]any
}

var (
	definerType = reflect.TypeFor[SchemaDefiner]()
	marshalType = reflect.TypeFor[json.Marshaler]()
	textType    = reflect.TypeFor[encoding.TextMarshaler]()
)

// Schema is the JSON Schema of values of type t as encoding/json writes
// them. It panics on a type it cannot describe (a channel, a function, a
// json.Marshaler without JSONSchema): a programming error, which the
// tests of the tool table find before any release.
func Schema(t reflect.Type) map[string]any {
	return schemaOf(t, 0)
}

// maxSchemaDepth bounds the recursion: answer types are a few levels
// deep, and a recursive type would otherwise never end.
const maxSchemaDepth = 12

func schemaOf(t reflect.Type, depth int) map[string]any {
	if depth > maxSchemaDepth {
		panic(fmt.Sprintf("mcp: %v nests deeper than %d levels (a recursive type?)", t, maxSchemaDepth))
	}
	if t.Kind() == reflect.Pointer {
		s := schemaOf(t.Elem(), depth+1)
		return nullable(s)
	}
	if t.Implements(definerType) {
		return reflect.Zero(t).Interface().(SchemaDefiner).JSONSchema()
	}
	if t.Implements(marshalType) || reflect.PointerTo(t).Implements(marshalType) {
		panic(fmt.Sprintf("mcp: %v marshals itself but has no JSONSchema method", t))
	}
	if t.Implements(textType) {
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return map[string]any{"type": "string"} // []byte is base64
		}
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), depth+1)}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			panic(fmt.Sprintf("mcp: %v: map keys must be strings", t))
		}
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), depth+1)}
	case reflect.Interface:
		return map[string]any{} // any JSON value
	case reflect.Struct:
		return structSchema(t, depth)
	}
	panic(fmt.Sprintf("mcp: cannot describe %v in JSON Schema", t))
}

// nullable lets s also be null.
func nullable(s map[string]any) map[string]any {
	out := make(map[string]any, len(s))
	for k, v := range s {
		out[k] = v
	}
	switch ty := s["type"].(type) {
	case string:
		out["type"] = []any{ty, "null"}
	case []any:
		out["type"] = append(append([]any{}, ty...), "null")
	}
	return out
}

// Field is one JSON member of a struct, as encoding/json names it.
type Field struct {
	Name      string
	Index     []int
	Type      reflect.Type
	OmitEmpty bool
	Tag       reflect.StructTag
}

// Fields lists t's JSON members in declaration order, embedded structs
// inlined, as encoding/json encodes them.
func Fields(t reflect.Type) []Field {
	var out []Field
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for _, sub := range Fields(f.Type) {
				sub.Index = append([]int{i}, sub.Index...)
				out = append(out, sub)
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, Field{Name: name, Index: []int{i}, Type: f.Type, OmitEmpty: hasOpt(opts, "omitempty") || hasOpt(opts, "omitzero"), Tag: f.Tag})
	}
	return out
}

func hasOpt(opts, o string) bool {
	for _, x := range strings.Split(opts, ",") {
		if x == o {
			return true
		}
	}
	return false
}

// structSchema is an object with t's members; those without omitempty
// are required, and no other member is allowed.
func structSchema(t reflect.Type, depth int) map[string]any {
	props := map[string]any{}
	required := []string{}
	for _, f := range Fields(t) {
		s := schemaOf(f.Type, depth+1)
		s = annotate(s, f)
		props[f.Name] = s
		if !f.OmitEmpty {
			required = append(required, f.Name)
		}
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// annotate adds the tags of f (desc, default, bounds, enum) to s.
func annotate(s map[string]any, f Field) map[string]any {
	if d := f.Tag.Get("desc"); d != "" {
		s["description"] = d
	}
	if d := f.Tag.Get("default"); d != "" {
		var v any
		if err := json.Unmarshal([]byte(d), &v); err != nil {
			panic(fmt.Sprintf("mcp: field %s: default %q is not JSON", f.Name, d))
		}
		s["default"] = v
	}
	if e := f.Tag.Get("enum"); e != "" {
		var vals []any
		for _, x := range strings.Split(e, ",") {
			vals = append(vals, x)
		}
		s["enum"] = vals
	}
	for _, b := range []struct{ tag, num, str, arr string }{
		{"min", "minimum", "minLength", "minItems"},
		{"max", "maximum", "maxLength", "maxItems"},
	} {
		v := f.Tag.Get(b.tag)
		if v == "" {
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			panic(fmt.Sprintf("mcp: field %s: %s %q is not a number", f.Name, b.tag, v))
		}
		base := f.Type
		if base.Kind() == reflect.Pointer {
			base = base.Elem()
		}
		switch base.Kind() {
		case reflect.String:
			s[b.str] = int(x)
		case reflect.Slice, reflect.Array:
			s[b.arr] = int(x)
		default:
			s[b.num] = x
		}
	}
	return s
}
