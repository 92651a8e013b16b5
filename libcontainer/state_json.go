//go:build goexperiment.jsonv2

package libcontainer

import (
	"encoding/json"
	"encoding/json/jsontext"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/oci-rt/oci-rt/libcontainer/rootfs"
)

// Every command reads or writes a State, and encoding/json's first use of
// a type walks all its fields by reflection: about 100 µs of a 3 ms
// `state` for State's. These methods read and write the same JSON as the
// struct tags describe, by hand; encoding/json uses them through json v2's
// MarshalerTo and UnmarshalerFrom. They keep encoding/json's rules for a
// struct: names matched exactly, else regardless of case; unknown names
// skipped; null leaves a string, number, bool or time as it was and
// empties a map, list or pointer; the last of repeated names wins.
// FuzzStateJSONMatchesReflection holds them to the reflective result.

// MarshalJSONTo writes s as encoding/json writes State's fields.
func (s State) MarshalJSONTo(e *jsontext.Encoder) error {
	created, err := s.Created.MarshalJSON()
	if err != nil {
		return err
	}
	w := objectWriter{e: e}
	w.begin()
	w.str("id", s.ID, false)
	w.str("bundle", s.Bundle, false)
	w.str("rootfs", s.Rootfs, false)
	w.raw("created", created)
	w.str("owner", s.Owner, false)
	w.stringMap("annotations", s.Annotations)
	w.boolean("complete", s.Complete, false)
	w.str("cgroupPath", s.CgroupPath, true)
	w.stringMap("cgroupPaths", s.CgroupPaths)
	w.str("systemdUnit", s.SystemdUnit, true)
	w.str("systemdSlice", s.SystemdSlice, true)
	w.boolean("noCgroup", s.NoCgroup, true)
	w.str("cgroupMark", s.CgroupMark, true)
	w.uint("cgroupInode", s.CgroupInode)
	if s.InitPid != 0 {
		w.name("initPid")
		w.token(jsontext.Int(int64(s.InitPid)))
	}
	w.uint("initStartTime", s.InitStartTime)
	w.uint("initPidNs", s.InitPidNS)
	w.str("bootId", s.BootID, false)
	if m := s.HostRootfsMount; m != nil {
		w.name("hostRootfsMount")
		w.begin()
		w.name("id")
		w.token(jsontext.Uint(m.ID))
		w.uint("uniqueId", m.UniqueID)
		w.end()
	}
	if len(s.IntelRdtDirs) > 0 {
		w.name("intelRdtDirs")
		w.token(jsontext.BeginArray)
		for _, d := range s.IntelRdtDirs {
			w.token(jsontext.String(d))
		}
		w.token(jsontext.EndArray)
	}
	if len(s.NetDevices) > 0 {
		w.name("netDevices")
		w.token(jsontext.BeginArray)
		for _, d := range s.NetDevices {
			w.begin()
			w.str("hostName", d.HostName, false)
			w.str("containerName", d.ContainerName, false)
			w.end()
		}
		w.token(jsontext.EndArray)
	}
	w.end()
	return w.err
}

// objectWriter writes an object's members, keeping the first error.
type objectWriter struct {
	e   *jsontext.Encoder
	err error
}

func (w *objectWriter) token(t jsontext.Token) {
	if w.err == nil {
		w.err = w.e.WriteToken(t)
	}
}

func (w *objectWriter) raw(name string, v jsontext.Value) {
	w.name(name)
	if w.err == nil {
		w.err = w.e.WriteValue(v)
	}
}

func (w *objectWriter) begin()           { w.token(jsontext.BeginObject) }
func (w *objectWriter) end()             { w.token(jsontext.EndObject) }
func (w *objectWriter) name(name string) { w.token(jsontext.String(name)) }

func (w *objectWriter) str(name, v string, omitEmpty bool) {
	if v != "" || !omitEmpty {
		w.name(name)
		w.token(jsontext.String(v))
	}
}

func (w *objectWriter) boolean(name string, v, omitEmpty bool) {
	if v || !omitEmpty {
		w.name(name)
		w.token(jsontext.Bool(v))
	}
}

// uint writes a number member left out when zero.
func (w *objectWriter) uint(name string, v uint64) {
	if v != 0 {
		w.name(name)
		w.token(jsontext.Uint(v))
	}
}

// stringMap writes a map member, keys in order, left out when empty.
func (w *objectWriter) stringMap(name string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	w.name(name)
	w.begin()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w.str(k, m[k], false)
	}
	w.end()
}

var stateNames = []string{
	"id", "bundle", "rootfs", "created", "owner", "annotations", "complete",
	"cgroupPath", "cgroupPaths", "systemdUnit", "systemdSlice", "noCgroup",
	"cgroupMark", "cgroupInode", "initPid", "initStartTime", "initPidNs",
	"bootId", "hostRootfsMount", "intelRdtDirs", "netDevices",
}

// UnmarshalJSONFrom reads s as encoding/json reads State's fields.
func (s *State) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	r := reader{d: d}
	return r.object("", reflect.TypeFor[State](), func(name string) error {
		switch name = matchName(name, stateNames); name {
		case "id":
			return r.str(name, &s.ID)
		case "bundle":
			return r.str(name, &s.Bundle)
		case "rootfs":
			return r.str(name, &s.Rootfs)
		case "created":
			v, err := d.ReadValue()
			if err != nil {
				return err
			}
			return s.Created.UnmarshalJSON(v)
		case "owner":
			return r.str(name, &s.Owner)
		case "annotations":
			return r.stringMap(name, &s.Annotations)
		case "complete":
			return r.boolean(name, &s.Complete)
		case "cgroupPath":
			return r.str(name, &s.CgroupPath)
		case "cgroupPaths":
			return r.stringMap(name, &s.CgroupPaths)
		case "systemdUnit":
			return r.str(name, &s.SystemdUnit)
		case "systemdSlice":
			return r.str(name, &s.SystemdSlice)
		case "noCgroup":
			return r.boolean(name, &s.NoCgroup)
		case "cgroupMark":
			return r.str(name, &s.CgroupMark)
		case "cgroupInode":
			return r.uint(name, &s.CgroupInode)
		case "initPid":
			return r.int(name, &s.InitPid)
		case "initStartTime":
			return r.uint(name, &s.InitStartTime)
		case "initPidNs":
			return r.uint(name, &s.InitPidNS)
		case "bootId":
			return r.str(name, &s.BootID)
		case "hostRootfsMount":
			return r.hostRootMount(name, &s.HostRootfsMount)
		case "intelRdtDirs":
			return r.strings(name, &s.IntelRdtDirs)
		case "netDevices":
			return r.netDevices(name, &s.NetDevices)
		}
		return d.SkipValue()
	})
}

// matchName is the name of names that name stands for: the same, else
// the same regardless of case; "" for none.
func matchName(name string, names []string) string {
	if slices.Contains(names, name) {
		return name
	}
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return n
		}
	}
	return ""
}

// reader reads values into State's fields, as reflection would.
type reader struct {
	d *jsontext.Decoder
}

// typeError is encoding/json's error for a JSON value of kind k that does
// not fit field, of type t.
func typeError(k jsontext.Kind, t reflect.Type, field string) error {
	what := map[jsontext.Kind]string{'"': "string", '0': "number", 't': "bool", 'f': "bool", '[': "array", '{': "object"}[k]
	return &json.UnmarshalTypeError{Value: what, Type: t, Field: field}
}

// nullOrObject tells whether the next value is null, which it reads; an
// object is left to read, any other value is a type error for field, of
// type t.
func (r reader) nullOrObject(field string, t reflect.Type) (bool, error) {
	switch r.d.PeekKind() {
	case 'n':
		_, err := r.d.ReadToken()
		return true, err
	case '{':
		return false, nil
	}
	tok, err := r.d.ReadToken()
	if err != nil {
		return false, err
	}
	return false, typeError(tok.Kind(), t, field)
}

// scalar reads the next value, which must be of kind want ('t' for either
// bool) unless it is null (then ok is false), for field of type t.
func (r reader) scalar(field string, t reflect.Type, want jsontext.Kind) (tok jsontext.Token, ok bool, err error) {
	tok, err = r.d.ReadToken()
	if err != nil {
		return tok, false, err
	}
	switch k := tok.Kind(); {
	case k == 'n':
		return tok, false, nil
	case k == want, want == 't' && k == 'f':
		return tok, true, nil
	default:
		// The error ends the decode: the rest of an array or object
		// is left unread.
		return tok, false, typeError(k, t, field)
	}
}

func (r reader) str(field string, v *string) error {
	tok, ok, err := r.scalar(field, reflect.TypeFor[string](), '"')
	if ok {
		*v = tok.String()
	}
	return err
}

func (r reader) boolean(field string, v *bool) error {
	tok, ok, err := r.scalar(field, reflect.TypeFor[bool](), 't')
	if ok {
		*v = tok.Bool()
	}
	return err
}

func (r reader) uint(field string, v *uint64) error {
	return readNumber(r, field, v, func(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) })
}

func (r reader) int(field string, v *int) error {
	return readNumber(r, field, v, func(s string) (int, error) {
		n, err := strconv.ParseInt(s, 10, strconv.IntSize)
		return int(n), err
	})
}

// readNumber reads a number for field, of type T, with parse: an integer
// in its range, or a type error as for any other JSON value.
func readNumber[T any](r reader, field string, v *T, parse func(string) (T, error)) error {
	t := reflect.TypeFor[T]()
	tok, ok, err := r.scalar(field, t, '0')
	if !ok {
		return err
	}
	n, err := parse(tok.String())
	if err != nil {
		return typeError('0', t, field)
	}
	*v = n
	return nil
}

// object reads an object for field of type t, calling member for each
// name with the decoder at its value; null reads nothing.
func (r reader) object(field string, t reflect.Type, member func(name string) error) error {
	tok, err := r.d.ReadToken()
	if err != nil {
		return err
	}
	switch k := tok.Kind(); k {
	case 'n':
		return nil
	case '{':
	default:
		return typeError(k, t, field)
	}
	for r.d.PeekKind() != '}' {
		tok, err := r.d.ReadToken()
		if err != nil {
			return err
		}
		if err := member(tok.String()); err != nil {
			return err
		}
	}
	_, err = r.d.ReadToken()
	return err
}

// array reads a list, calling elem for each element; null reads nothing
// and is reported as such.
func (r reader) array(field string, t reflect.Type, elem func() error) (null bool, err error) {
	tok, err := r.d.ReadToken()
	if err != nil {
		return false, err
	}
	switch k := tok.Kind(); k {
	case 'n':
		return true, nil
	case '[':
	default:
		return false, typeError(k, t, field)
	}
	for r.d.PeekKind() != ']' {
		if err := elem(); err != nil {
			return false, err
		}
	}
	_, err = r.d.ReadToken()
	return false, err
}

func (r reader) stringMap(field string, m *map[string]string) error {
	t := reflect.TypeFor[map[string]string]()
	if null, err := r.nullOrObject(field, t); null || err != nil {
		if null {
			*m = nil
		}
		return err
	}
	if *m == nil {
		*m = map[string]string{}
	}
	return r.object(field, t, func(key string) error {
		var v string
		if err := r.str(field, &v); err != nil {
			return err
		}
		(*m)[key] = v
		return nil
	})
}

func (r reader) strings(field string, v *[]string) error {
	list := (*v)[:0]
	null, err := r.array(field, reflect.TypeFor[[]string](), func() error {
		var s string
		err := r.str(field, &s)
		list = append(list, s)
		return err
	})
	*v = listOrNil(list, null)
	return err
}

// listOrNil is what a list read into list becomes: nil for null, else
// the list, empty but not nil when the JSON array was.
func listOrNil[T any](list []T, null bool) []T {
	if null {
		return nil
	}
	if list == nil {
		return []T{}
	}
	return list
}

func (r reader) hostRootMount(field string, v **rootfs.HostRootMount) error {
	t := reflect.TypeFor[rootfs.HostRootMount]()
	if null, err := r.nullOrObject(field, t); null || err != nil {
		if null {
			*v = nil
		}
		return err
	}
	if *v == nil {
		*v = &rootfs.HostRootMount{}
	}
	m := *v
	return r.object(field, t, func(name string) error {
		switch name = matchName(name, []string{"id", "uniqueId"}); name {
		case "id":
			return r.uint(field+"."+name, &m.ID)
		case "uniqueId":
			return r.uint(field+"."+name, &m.UniqueID)
		}
		return r.d.SkipValue()
	})
}

func (r reader) netDevices(field string, v *[]NetDevice) error {
	list := (*v)[:0]
	null, err := r.array(field, reflect.TypeFor[[]NetDevice](), func() error {
		var dev NetDevice
		err := r.object(field, reflect.TypeFor[NetDevice](), func(name string) error {
			switch name = matchName(name, []string{"hostName", "containerName"}); name {
			case "hostName":
				return r.str(field+"."+name, &dev.HostName)
			case "containerName":
				return r.str(field+"."+name, &dev.ContainerName)
			}
			return r.d.SkipValue()
		})
		list = append(list, dev)
		return err
	})
	*v = listOrNil(list, null)
	return err
}
