package quickjson

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Marshal encodes v as json.Marshal does, byte for byte: it encodes the
// plain cases itself (structs without methods of their own, slices,
// maps with string keys, pointers, strings, booleans and integers) and
// passes anything else to json.Marshal. Encoding a type costs
// encoding/json the same analysis as decoding it.
func Marshal(v any) ([]byte, error) {
	e := encoder{buf: make([]byte, 0, 4096)}
	if e.value(reflect.ValueOf(v), 0) {
		return e.buf, nil
	}
	return json.Marshal(v)
}

type encoder struct{ buf []byte }

func (e *encoder) null() bool {
	e.buf = append(e.buf, "null"...)
	return true
}

// value appends v's encoding; false where encoding/json must write it
// (the buffer is then of no use).
func (e *encoder) value(v reflect.Value, depth int) bool {
	if depth > maxDepth {
		// A cycle, which encoding/json reports.
		return false
	}
	if !v.IsValid() {
		return e.null()
	}
	ti := info(v.Type())
	if !ti.plainOut {
		return false
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return e.null()
		}
		return e.value(v.Elem(), depth+1)
	case reflect.Struct:
		return e.object(v, ti, depth)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			// encoding/json writes a []byte as base64 text.
			return false
		}
		if v.IsNil() {
			return e.null()
		}
		e.buf = append(e.buf, '[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if !e.value(v.Index(i), depth+1) {
				return false
			}
		}
		e.buf = append(e.buf, ']')
		return true
	case reflect.Map:
		return e.mapObject(v, depth)
	case reflect.String:
		return e.str(v.String())
	case reflect.Bool:
		e.buf = strconv.AppendBool(e.buf, v.Bool())
		return true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf = strconv.AppendInt(e.buf, v.Int(), 10)
		return true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		e.buf = strconv.AppendUint(e.buf, v.Uint(), 10)
		return true
	}
	return false
}

// object writes the struct v's fields in their order, leaving out the
// empty ones marked omitempty.
func (e *encoder) object(v reflect.Value, ti *typeInfo, depth int) bool {
	fields, ok := structFields(v.Type(), ti)
	if !ok {
		return false
	}
	e.buf = append(e.buf, '{')
	first := true
	for i, at := range fields.index {
		fv := v.FieldByIndex(at)
		if fields.omitEmpty[i] && empty(fv) {
			continue
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		if !e.str(fields.names[i]) {
			return false
		}
		e.buf = append(e.buf, ':')
		if !e.value(fv, depth+1) {
			return false
		}
	}
	e.buf = append(e.buf, '}')
	return true
}

// empty is encoding/json's test for omitempty: a struct is never empty.
func empty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// mapObject writes a map with string keys, its keys sorted.
func (e *encoder) mapObject(v reflect.Value, depth int) bool {
	t := v.Type()
	if t.Key().Kind() != reflect.String || !info(t.Key()).plainOut {
		return false
	}
	if v.IsNil() {
		return e.null()
	}
	keys := v.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int {
		switch x, y := a.String(), b.String(); {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	e.buf = append(e.buf, '{')
	for i, k := range keys {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if !e.str(k.String()) {
			return false
		}
		e.buf = append(e.buf, ':')
		if !e.value(v.MapIndex(k), depth+1) {
			return false
		}
	}
	e.buf = append(e.buf, '}')
	return true
}

// str writes s quoted. Text encoding/json escapes in ways of its own
// (control characters but tab and newlines, the HTML characters <, > and
// &, invalid UTF-8, the JavaScript line separators) is left to it.
func (e *encoder) str(s string) bool {
	e.buf = append(e.buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			e.buf = append(e.buf, '\\', c)
		case c == '\n':
			e.buf = append(e.buf, '\\', 'n')
		case c == '\r':
			e.buf = append(e.buf, '\\', 'r')
		case c == '\t':
			e.buf = append(e.buf, '\\', 't')
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			return false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
				return false
			}
			e.buf = append(e.buf, s[i:i+size]...)
			i += size
			continue
		default:
			e.buf = append(e.buf, c)
		}
		i++
	}
	e.buf = append(e.buf, '"')
	return true
}
