package devices

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The v1 devices controller keeps a default (allow or deny everything) and
// a list of exceptions to it; devices.list shows the exceptions of a
// deny-default cgroup, or "a *:* rwm" for an allow-default one. Rules are
// applied by writing them one by one to devices.allow or devices.deny, each
// write changing the live state at once. To move a running container from
// one rule set to another without a moment in which it lacks a device it
// keeps, or has one it loses, the target state is computed first and only
// the difference is written, removals before additions.

// devKey identifies an exception: type 'a', 'b' or 'c' and numbers, -1
// being the wildcard.
type devKey struct {
	typ          byte
	major, minor int64
}

func (k devKey) String() string {
	if k.typ == 'a' {
		return "a"
	}
	num := func(n int64) string {
		if n < 0 {
			return "*"
		}
		return strconv.FormatInt(n, 10)
	}
	return fmt.Sprintf("%c %s:%s", k.typ, num(k.major), num(k.minor))
}

// devState is a v1 devices cgroup's state: the default and its exceptions.
type devState struct {
	allowDefault bool
	exceptions   map[devKey]uint32 // access bits
	// order is the exceptions' order of first appearance: the kernel keeps
	// them in the order they were added, devices.list shows them so, and
	// readers (the OCI validation suite) expect the config's order.
	order []devKey
}

func newDevState(allowDefault bool) devState {
	return devState{allowDefault: allowDefault, exceptions: map[devKey]uint32{}}
}

// grant adds access bits to k's exception.
func (st *devState) grant(k devKey, acc uint32) {
	if _, ok := st.exceptions[k]; !ok {
		st.order = append(st.order, k)
	}
	st.exceptions[k] |= acc
}

// revoke takes access bits from k's exception, dropping it when empty.
func (st *devState) revoke(k devKey, acc uint32) {
	rest := st.exceptions[k] &^ acc
	if rest != 0 {
		st.exceptions[k] = rest
		return
	}
	delete(st.exceptions, k)
	st.order = slices.DeleteFunc(st.order, func(o devKey) bool { return o == k })
}

func accessString(a uint32) string {
	s := ""
	for _, b := range []struct {
		bit uint32
		c   string
	}{{accRead, "r"}, {accWrite, "w"}, {accMknod, "m"}} {
		if a&b.bit != 0 {
			s += b.c
		}
	}
	return s
}

// targetDevState runs the rules the way the kernel would, starting from
// deny-all (a container never inherits a permissive default). A rule for
// every device ("a") resets the default; any other rule adds to or takes
// from the exceptions.
func targetDevState(rules []deviceRule) devState {
	st := newDevState(false)
	for _, r := range rules {
		if r.typ == 0 && r.major < 0 && r.minor < 0 {
			st = newDevState(r.allow)
			continue
		}
		types := []byte{typeLetter(r.typ)}
		if r.typ == 0 {
			types = []byte{'b', 'c'}
		}
		for _, t := range types {
			k := devKey{typ: t, major: r.major, minor: r.minor}
			// An exception lists what differs from the default: in a
			// deny-default state allows add, denies remove; and the
			// other way round.
			if r.allow != st.allowDefault {
				st.grant(k, r.access)
			} else {
				st.revoke(k, r.access)
			}
		}
	}
	return st
}

func typeLetter(typ uint32) byte {
	switch typ {
	case devBlock:
		return 'b'
	case devChar:
		return 'c'
	}
	return 'a'
}

// parseDevicesList reads devices.list.
func parseDevicesList(s string) (devState, error) {
	st := newDevState(false)
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 || len(f[0]) != 1 {
			return st, fmt.Errorf("devices.list: malformed line %q", line)
		}
		if f[0] == "a" {
			// Only an allow-default cgroup shows this line (its deny
			// exceptions stay invisible).
			return newDevState(true), nil
		}
		majS, minS, ok := strings.Cut(f[1], ":")
		if !ok {
			return st, fmt.Errorf("devices.list: malformed line %q", line)
		}
		num := func(s string) (int64, error) {
			if s == "*" {
				return -1, nil
			}
			return strconv.ParseInt(s, 10, 64)
		}
		major, err1 := num(majS)
		minor, err2 := num(minS)
		if err1 != nil || err2 != nil {
			return st, fmt.Errorf("devices.list: malformed line %q", line)
		}
		var acc uint32
		for _, c := range f[2] {
			acc |= map[rune]uint32{'r': accRead, 'w': accWrite, 'm': accMknod}[c]
		}
		st.grant(devKey{typ: f[0][0], major: major, minor: minor}, acc)
	}
	return st, nil
}

// V1Write is one line (Rule) for devices.allow or devices.deny (File).
type V1Write struct {
	File, Rule string
}

// devTransition lists the writes that take a cgroup from cur to target.
// With the same deny default, only changed exceptions are written, denials
// first, so that no device is ever allowed that either state denies, and
// none denied that both allow. A different default cannot be reached that
// way: the cgroup is reset and rebuilt, which happens at create, before the
// container's process is in it. Exceptions are written in target's order.
func devTransition(cur, target devState) []V1Write {
	var out []V1Write
	keys := func(st devState) []devKey { return st.order }
	if cur.allowDefault || target.allowDefault {
		reset, except := "devices.deny", "devices.allow"
		if target.allowDefault {
			reset, except = "devices.allow", "devices.deny"
		}
		out = append(out, V1Write{reset, "a"})
		for _, k := range keys(target) {
			out = append(out, V1Write{except, k.String() + " " + accessString(target.exceptions[k])})
		}
		return out
	}
	for _, k := range keys(cur) {
		if gone := cur.exceptions[k] &^ target.exceptions[k]; gone != 0 {
			out = append(out, V1Write{"devices.deny", k.String() + " " + accessString(gone)})
		}
	}
	for _, k := range keys(target) {
		if added := target.exceptions[k] &^ cur.exceptions[k]; added != 0 {
			out = append(out, V1Write{"devices.allow", k.String() + " " + accessString(added)})
		}
	}
	return out
}

// V1Target is the state a v1 devices cgroup is to reach.
type V1Target struct{ st devState }

// ParseV1Target validates rules and computes the state they describe.
func ParseV1Target(rules []specs.LinuxDeviceCgroup) (V1Target, error) {
	parsed, err := parseDeviceRules(rules)
	if err != nil {
		return V1Target{}, err
	}
	return V1Target{targetDevState(parsed)}, nil
}

// Writes lists the writes that take a cgroup whose devices.list reads
// list to the target, in order.
func (t V1Target) Writes(list string) ([]V1Write, error) {
	cur, err := parseDevicesList(list)
	if err != nil {
		return nil, err
	}
	return devTransition(cur, t.st), nil
}
