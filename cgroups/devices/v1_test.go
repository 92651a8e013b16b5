package devices

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/oci-rt/oci-rt/cgroups/internal/cgtest"
)

// applyDevWrite is the kernel's handling of one devices.allow/deny write,
// for the exact-key rules devTransition emits.
func applyDevWrite(st devState, w V1Write) devState {
	rules, err := parseDeviceRules([]specs.LinuxDeviceCgroup{ruleFromLine(w)})
	if err != nil {
		panic(err)
	}
	r := rules[0]
	if r.typ == 0 && r.major < 0 && r.minor < 0 {
		return newDevState(r.allow)
	}
	out := devState{allowDefault: st.allowDefault, exceptions: maps.Clone(st.exceptions), order: slices.Clone(st.order)}
	k := devKey{typ: typeLetter(r.typ), major: r.major, minor: r.minor}
	if r.allow != out.allowDefault {
		out.grant(k, r.access)
	} else {
		out.revoke(k, r.access)
	}
	return out
}

func ruleFromLine(w V1Write) specs.LinuxDeviceCgroup {
	d := specs.LinuxDeviceCgroup{Allow: w.File == "devices.allow", Type: "a"}
	f := strings.Fields(w.Rule)
	if len(f) == 3 {
		d.Type, d.Access = f[0], f[2]
		maj, minor, _ := strings.Cut(f[1], ":")
		for _, n := range []struct {
			s   string
			dst **int64
		}{{maj, &d.Major}, {minor, &d.Minor}} {
			if n.s != "*" {
				v, _ := strconv.ParseInt(n.s, 10, 64)
				*n.dst = &v
			}
		}
	}
	return d
}

// allowed reports whether st permits access acc to the device.
func (st devState) allowed(typ byte, major, minor int64, acc uint32) bool {
	for k, a := range st.exceptions {
		if k.typ == typ && (k.major < 0 || k.major == major) && (k.minor < 0 || k.minor == minor) && a&acc == acc {
			return !st.allowDefault
		}
	}
	return st.allowDefault
}

// An update is a sequence of writes, each live at once: at no step may the
// container hold a device both the old and the new rules deny, nor lack one
// both allow.
func TestDevTransitionHasNoWindow(t *testing.T) {
	base := append([]specs.LinuxDeviceCgroup{cgtest.Rule(false, "a", -1, -1, "rwm")}, DefaultAllowedDevices()...)
	withFuse := append(slices.Clone(base), cgtest.Rule(true, "c", 10, 229, "rwm"))
	fuseReadOnly := append(slices.Clone(base), cgtest.Rule(true, "c", 10, 229, "r"))
	noNull := append(slices.Clone(base), cgtest.Rule(false, "c", 1, 3, "w"))
	sets := [][]specs.LinuxDeviceCgroup{base, withFuse, fuseReadOnly, noNull}
	probes := []devKey{{'c', 1, 3}, {'c', 1, 5}, {'c', 10, 229}, {'c', 136, 4}, {'b', 8, 0}, {'c', 4, 1}}
	for i, from := range sets {
		for j, to := range sets {
			fr, _ := parseDeviceRules(from)
			tr, _ := parseDeviceRules(to)
			cur, target := targetDevState(fr), targetDevState(tr)
			st := cur
			for _, w := range devTransition(cur, target) {
				st = applyDevWrite(st, w)
				for _, p := range probes {
					for _, acc := range []uint32{accRead, accWrite, accMknod} {
						a, b, now := cur.allowed(p.typ, p.major, p.minor, acc), target.allowed(p.typ, p.major, p.minor, acc), st.allowed(p.typ, p.major, p.minor, acc)
						if a && b && !now || !a && !b && now {
							t.Errorf("set %d -> %d: after %v, %v access %d is %t", i, j, w, p, acc, now)
						}
					}
				}
			}
			if !maps.Equal(st.exceptions, target.exceptions) || st.allowDefault != target.allowDefault {
				t.Errorf("set %d -> %d: ends at %+v, want %+v", i, j, st, target)
			}
		}
	}
}

func TestDevTransitionFromFreshCgroup(t *testing.T) {
	fresh, err := parseDevicesList("a *:* rwm\n")
	if err != nil || !fresh.allowDefault {
		t.Fatalf("fresh: %+v, %v", fresh, err)
	}
	// The config's order is kept (devices.list shows it so).
	rules, _ := parseDeviceRules([]specs.LinuxDeviceCgroup{cgtest.Rule(false, "a", -1, -1, "rwm"), cgtest.Rule(true, "c", 10, 229, "rwm"), cgtest.Rule(true, "b", 8, 20, "rw"), cgtest.Rule(true, "c", 1, 3, "rwm"), cgtest.Rule(true, "c", 1, 3, "rw")})
	got := devTransition(fresh, targetDevState(rules))
	want := []V1Write{{"devices.deny", "a"}, {"devices.allow", "c 10:229 rwm"}, {"devices.allow", "b 8:20 rw"}, {"devices.allow", "c 1:3 rwm"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	listed, err := parseDevicesList("c 1:3 rwm\nc 136:* rw\nb *:* m\n")
	if err != nil || listed.allowDefault || len(listed.exceptions) != 3 || listed.exceptions[devKey{'c', 136, -1}] != accRead|accWrite {
		t.Errorf("parse list: %+v, %v", listed, err)
	}
}
