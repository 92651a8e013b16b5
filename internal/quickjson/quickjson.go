// Package quickjson decodes and encodes JSON exactly as encoding/json
// does, for the documents a runtime handles in every command (a bundle's
// config, the recorded copy of it, the messages of the sync socket), at a
// fraction of encoding/json's cost in a fresh process.
//
// The first time encoding/json decodes or encodes a struct type it
// analyses the type by reflection and builds a function for each field;
// for a runtime spec that is most of the work (about 0.3 ms of CPU of an
// `exec` or a `create`, processes that handle one config and exit). This
// package keeps a far smaller table per type and handles only the plain
// cases: objects into structs and maps with string keys, arrays into
// slices, strings, booleans, integers, pointers and null. Whatever else
// the document or the type holds (a duplicated or case-folded key, a
// number that is not a plain integer, a type mismatch, invalid JSON, a
// type with codec methods of its own, floats, interfaces, byte slices,
// text encoding/json escapes its own way, ...) makes it give up and hand
// the work to encoding/json: the result, and any error with its words,
// is always encoding/json's.
package quickjson

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// Unmarshal decodes data into v with json.Unmarshal's result: into a zero
// value it decodes the plain cases itself, and passes anything else to
// json.Unmarshal, on v set back to zero.
func Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	// encoding/json decodes into what v holds; only a zero value can be
	// set back to what it was before a decode that gave up.
	if rv.Kind() != reflect.Pointer || rv.IsNil() || !rv.Elem().IsZero() {
		return json.Unmarshal(data, v)
	}
	if decoded(data, rv.Elem()) {
		return nil
	}
	rv.Elem().SetZero()
	return json.Unmarshal(data, v)
}

// decoded reports whether it decoded data into v as encoding/json would;
// false leaves v partly written.
func decoded(data []byte, v reflect.Value) bool {
	d := decoder{data: data}
	if !d.value(v, 0) {
		return false
	}
	d.skipSpace()
	return d.pos == len(d.data)
}

// maxDepth bounds the recursion; deeper documents go to encoding/json.
const maxDepth = 1000

type decoder struct {
	data []byte
	pos  int
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// next skips white space and returns the next byte, 0 at the end.
func (d *decoder) next() byte {
	d.skipSpace()
	if d.pos == len(d.data) {
		return 0
	}
	return d.data[d.pos]
}

// literal consumes word (true, false or null) at the current position.
func (d *decoder) literal(word string) bool {
	if len(d.data)-d.pos < len(word) || string(d.data[d.pos:d.pos+len(word)]) != word {
		return false
	}
	d.pos += len(word)
	return true
}

// ownMethods reports whether t or its pointer has a method of one of
// names: encoding/json calls those of encoding/json (MarshalJSON and
// UnmarshalJSON), of its v2 (MarshalJSONTo and UnmarshalJSONFrom) and of
// encoding (MarshalText and UnmarshalText). Looking for the names, not
// the interfaces, counts any method of such a name, which errs on the
// safe side.
func ownMethods(t reflect.Type, names ...string) bool {
	p := reflect.PointerTo(t)
	if p.NumMethod() == 0 {
		return false
	}
	for _, name := range names {
		if _, ok := p.MethodByName(name); ok {
			return true
		}
	}
	return false
}

// typeInfo is what the decoder knows of a type.
type typeInfo struct {
	// plain: values of the type decode without a method of their own;
	// plainOut: they encode without one.
	plain, plainOut bool
	// fields is a struct type's table, built at its first object; nil
	// for a struct whose fields follow rules left to encoding/json.
	fields *fieldTable
	built  bool
}

var (
	typesMu sync.Mutex
	types   = map[reflect.Type]*typeInfo{}
)

// info returns t's entry. Looking up t's pointer type (to learn its
// methods) costs a search of the binary's type names the first time, so
// it is done once per type.
func info(t reflect.Type) *typeInfo {
	typesMu.Lock()
	defer typesMu.Unlock()
	ti := types[t]
	if ti == nil {
		ti = &typeInfo{
			plain:    !ownMethods(t, "UnmarshalJSON", "UnmarshalJSONFrom", "UnmarshalText"),
			plainOut: !ownMethods(t, "MarshalJSON", "MarshalJSONTo", "MarshalText"),
		}
		types[t] = ti
	}
	return ti
}

// structFields returns the struct type t's table, false where encoding/json
// must decode it.
func structFields(t reflect.Type, ti *typeInfo) (*fieldTable, bool) {
	typesMu.Lock()
	defer typesMu.Unlock()
	if !ti.built {
		ti.fields, ti.built = buildTable(t), true
	}
	return ti.fields, ti.fields != nil
}

// value decodes the next JSON value into v.
func (d *decoder) value(v reflect.Value, depth int) bool {
	if depth > maxDepth {
		return false
	}
	c := d.next()
	if c == 'n' {
		if !d.literal("null") {
			return false
		}
		switch v.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			v.SetZero()
		}
		return info(v.Type()).plain
	}
	t := v.Type()
	ti := info(t)
	if !ti.plain {
		return false
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return d.value(v.Elem(), depth+1)
	case reflect.Struct:
		return c == '{' && d.object(v, ti, depth)
	case reflect.Slice:
		return c == '[' && d.array(v, depth)
	case reflect.Map:
		return c == '{' && d.mapObject(v, depth)
	case reflect.String:
		s, ok := d.str()
		if ok {
			v.SetString(s)
		}
		return ok
	case reflect.Bool:
		switch c {
		case 't':
			v.SetBool(true)
			return d.literal("true")
		case 'f':
			v.SetBool(false)
			return d.literal("false")
		}
		return false
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(d.integer(), 10, 64)
		if err != nil || v.OverflowInt(n) {
			return false
		}
		v.SetInt(n)
		return true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		text := d.integer()
		if strings.HasPrefix(text, "-") {
			return false
		}
		n, err := strconv.ParseUint(text, 10, 64)
		if err != nil || v.OverflowUint(n) {
			return false
		}
		v.SetUint(n)
		return true
	}
	return false
}

// integer consumes a JSON number and returns it if it is an integer
// without fraction or exponent, "" otherwise.
func (d *decoder) integer() string {
	start := d.pos
	if !d.number() {
		return ""
	}
	text := string(d.data[start:d.pos])
	if strings.ContainsAny(text, ".eE") {
		return ""
	}
	return text
}

// number consumes a JSON number, checking its grammar.
func (d *decoder) number() bool {
	digits := func() int {
		n := 0
		for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
			d.pos++
			n++
		}
		return n
	}
	if d.pos < len(d.data) && d.data[d.pos] == '-' {
		d.pos++
	}
	start := d.pos
	if n := digits(); n == 0 || (n > 1 && d.data[start] == '0') {
		return false
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		if digits() == 0 {
			return false
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}

// str consumes a JSON string and returns its text. Invalid UTF-8 and
// unpaired surrogates, which encoding/json replaces, are left to it.
func (d *decoder) str() (string, bool) {
	if d.pos == len(d.data) || d.data[d.pos] != '"' {
		return "", false
	}
	d.pos++
	start := d.pos
	plain := true
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			raw := d.data[start:d.pos]
			d.pos++
			if plain {
				return string(raw), true
			}
			return unescape(raw)
		case c == '\\':
			plain = false
			d.pos += 2
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			plain = false
			d.pos++
		default:
			d.pos++
		}
	}
	return "", false
}

// unescape turns the body of a JSON string with escapes or non-ASCII text
// into its text.
func unescape(raw []byte) (string, bool) {
	if !utf8.Valid(raw) {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(raw) {
			return "", false
		}
		switch raw[i] {
		case '"', '\\', '/':
			b.WriteByte(raw[i])
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := hex4(raw[i+1:])
			if !ok {
				return "", false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if i+2 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
					return "", false
				}
				low, ok := hex4(raw[i+3:])
				r = utf16.DecodeRune(r, low)
				if !ok || r == utf8.RuneError {
					return "", false
				}
				i += 6
			}
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	return b.String(), true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 32)
	return rune(n), err == nil
}

// members walks an object's members: member is called with each key, the
// decoder positioned at the value, and consumes it.
func (d *decoder) members(member func(key string) bool) bool {
	d.pos++ // '{'
	if d.next() == '}' {
		d.pos++
		return true
	}
	for {
		if d.next() != '"' {
			return false
		}
		key, ok := d.str()
		if !ok || d.next() != ':' {
			return false
		}
		d.pos++
		if !member(key) {
			return false
		}
		switch d.next() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return true
		default:
			return false
		}
	}
}

// elements walks an array's elements the same way.
func (d *decoder) elements(element func() bool) bool {
	d.pos++ // '['
	if d.next() == ']' {
		d.pos++
		return true
	}
	for {
		if !element() {
			return false
		}
		switch d.next() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return true
		default:
			return false
		}
	}
}

// object decodes an object into the struct v. A key the struct has no
// field of is skipped, as encoding/json skips it, unless it might match a
// field's name case-insensitively.
func (d *decoder) object(v reflect.Value, ti *typeInfo, depth int) bool {
	fields, ok := structFields(v.Type(), ti)
	if !ok {
		return false
	}
	seen := make([]bool, len(fields.names))
	return d.members(func(key string) bool {
		i := slices.Index(fields.names, key)
		if i < 0 {
			if fields.mightFold(key) {
				return false
			}
			return d.skip(depth + 1)
		}
		if seen[i] {
			// encoding/json merges a repeated key into the value decoded so far.
			return false
		}
		seen[i] = true
		return d.value(v.FieldByIndex(fields.index[i]), depth+1)
	})
}

// array decodes an array into the nil slice v; encoding/json reuses a
// slice's elements, which is left to it.
func (d *decoder) array(v reflect.Value, depth int) bool {
	if !v.IsNil() || v.Type().Elem().Kind() == reflect.Uint8 {
		// encoding/json decodes base64 text into a []byte.
		return false
	}
	v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	return d.elements(func() bool {
		n := v.Len()
		if n == v.Cap() {
			v.Grow(1)
		}
		v.SetLen(n + 1)
		return d.value(v.Index(n), depth+1)
	})
}

// mapObject decodes an object into the map v, whose keys are strings.
func (d *decoder) mapObject(v reflect.Value, depth int) bool {
	t := v.Type()
	if t.Key().Kind() != reflect.String || !info(t.Key()).plain {
		return false
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(t))
	}
	return d.members(func(key string) bool {
		elem := reflect.New(t.Elem()).Elem()
		if !d.value(elem, depth+1) {
			return false
		}
		v.SetMapIndex(reflect.ValueOf(key).Convert(t.Key()), elem)
		return true
	})
}

// skip consumes a value no field takes, checking its grammar.
func (d *decoder) skip(depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch c := d.next(); c {
	case '{':
		return d.members(func(string) bool { return d.skip(depth + 1) })
	case '[':
		return d.elements(func() bool { return d.skip(depth + 1) })
	case '"':
		_, ok := d.str()
		return ok
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	case 0:
		return false
	default:
		return (c == '-' || c >= '0' && c <= '9') && d.number()
	}
}

// fieldTable is what the decoder knows of a struct type: its fields' JSON
// names and places in the struct (paths through embedded structs). A
// type has a few dozen fields at most: a slice searched in order costs
// less to build and about as much to search as a map.
type fieldTable struct {
	// In the order encoding/json writes them: by their places.
	names     []string
	index     [][]int
	omitEmpty []bool
	// folded holds the names folded as mightFold folds keys, made at
	// the first key that is no field's name.
	folded []string
}

// mightFold reports whether key might name a field under encoding/json's
// case-insensitive matching, which is then left to it. It folds more
// loosely than encoding/json (ASCII case, '-' and '_' dropped; any
// non-ASCII key counts), so that no match is missed.
func (t *fieldTable) mightFold(key string) bool {
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			return true
		}
	}
	typesMu.Lock()
	defer typesMu.Unlock()
	if t.folded == nil {
		t.folded = make([]string, len(t.names))
		for i, name := range t.names {
			t.folded[i] = fold(name)
		}
	}
	return slices.Contains(t.folded, fold(key))
}

func fold(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == '_':
			return -1
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, name)
}

// buildTable lists t's fields under encoding/json's rules: exported
// fields by their tag's name or their own; an untagged embedded struct's
// fields as if they were t's, where a shallower field hides deeper ones
// of its name. Fields of one name at one depth (which encoding/json
// settles by their tags or drops), tag options that change decoding and
// embedded pointers make it return nil.
func buildTable(t reflect.Type) *fieldTable {
	table := &fieldTable{}
	var walk func(t reflect.Type, index []int) bool
	walk = func(t reflect.Type, index []int) bool {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			omitEmpty := false
			for opts != "" {
				var opt string
				opt, opts, _ = strings.Cut(opts, ",")
				switch opt {
				case "":
				case "omitempty":
					omitEmpty = true
				default:
					// omitzero too: whether a value is zero may be a
					// method's answer.
					return false
				}
			}
			at := append(index[:len(index):len(index)], i)
			if sf.Anonymous && name == "" {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					return false
				}
				if ft.Kind() == reflect.Struct {
					if !walk(ft, at) {
						return false
					}
					continue
				}
			}
			if !sf.IsExported() {
				if sf.Anonymous && name != "" {
					// encoding/json takes a tagged embedded struct even
					// when it is unexported.
					return false
				}
				continue
			}
			if !validName(name) {
				return false
			}
			if name == "" {
				name = sf.Name
			}
			if prev := slices.Index(table.names, name); prev >= 0 {
				switch depth := len(table.index[prev]); {
				case depth < len(at):
					continue
				case depth == len(at):
					return false
				}
				// Embedded structs are walked depth first, so a
				// shallower field may come after a deeper one of its
				// name, which it hides.
				table.index[prev] = at
				table.omitEmpty[prev] = omitEmpty
				continue
			}
			table.names = append(table.names, name)
			table.index = append(table.index, at)
			table.omitEmpty = append(table.omitEmpty, omitEmpty)
		}
		return true
	}
	if !walk(t, nil) {
		return nil
	}
	table.sort()
	return table
}

// sort puts the fields in the order of their places, as encoding/json
// writes them: a field that hid a deeper one of its name took that one's
// entry, wherever it sits.
func (t *fieldTable) sort() {
	order := make([]int, len(t.names))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return slices.Compare(t.index[a], t.index[b]) })
	names, index, omit := t.names, t.index, t.omitEmpty
	t.names, t.index, t.omitEmpty = make([]string, len(order)), make([][]int, len(order)), make([]bool, len(order))
	for i, j := range order {
		t.names[i], t.index[i], t.omitEmpty[i] = names[j], index[j], omit[j]
	}
}

// validName accepts the tag names this package takes as they are: ASCII
// letters, digits and a few marks. encoding/json falls back to the Go
// name for some others.
func validName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}
