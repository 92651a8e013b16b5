package proc

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParseCapabilitiesMasks(t *testing.T) {
	sets, err := ParseCapabilities(&specs.LinuxCapabilities{
		Bounding:    []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
		Effective:   []string{"CAP_CHOWN"},
		Inheritable: []string{"CAP_NET_BIND_SERVICE"},
		Permitted:   []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
		Ambient:     []string{"CAP_NET_BIND_SERVICE"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := CapSets{
		Bounding:    1<<unix.CAP_CHOWN | 1<<unix.CAP_KILL | 1<<unix.CAP_NET_BIND_SERVICE,
		Effective:   1 << unix.CAP_CHOWN,
		Inheritable: 1 << unix.CAP_NET_BIND_SERVICE,
		Permitted:   1<<unix.CAP_CHOWN | 1<<unix.CAP_NET_BIND_SERVICE,
		Ambient:     1 << unix.CAP_NET_BIND_SERVICE,
	}
	if *sets != want {
		t.Fatalf("got %+v, want %+v", *sets, want)
	}
}

func TestParseCapabilitiesIgnoresCase(t *testing.T) {
	sets, err := ParseCapabilities(&specs.LinuxCapabilities{Bounding: []string{"cap_sys_admin", "Cap_Chown"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(1<<unix.CAP_SYS_ADMIN | 1<<unix.CAP_CHOWN); sets.Bounding != want {
		t.Fatalf("bounding %#x, want %#x", sets.Bounding, want)
	}
}

func TestParseCapabilitiesRejectsUnknownNames(t *testing.T) {
	for _, name := range []string{"CAP_TEST", "SYS_ADMIN", "", "CAP_SYS_ADMIN ", "CAP_CHOWN\x00"} {
		_, err := ParseCapabilities(&specs.LinuxCapabilities{Permitted: []string{"CAP_KILL", name}})
		if err == nil {
			t.Errorf("%q: accepted", name)
			continue
		}
		if want := `permitted capabilities: unknown capability "` + strings.ReplaceAll(name, "\x00", `\x00`) + `"` + " (refused deliberately, where runc ignores it with a warning)"; err.Error() != want {
			t.Errorf("%q: error %q, want %q", name, err, want)
		}
	}
}

func TestParseCapabilitiesNilKeepsNothing(t *testing.T) {
	sets, err := ParseCapabilities(nil)
	if err != nil {
		t.Fatal(err)
	}
	if *sets != (CapSets{}) {
		t.Fatalf("got %+v, want all empty", *sets)
	}
}

func TestParseCapabilitiesDropsAmbientOutsidePermittedAndInheritable(t *testing.T) {
	sets, err := ParseCapabilities(&specs.LinuxCapabilities{
		Permitted:   []string{"CAP_KILL", "CAP_CHOWN"},
		Inheritable: []string{"CAP_CHOWN"},
		Ambient:     []string{"CAP_KILL", "CAP_CHOWN"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(1) << unix.CAP_CHOWN; sets.Ambient != want {
		t.Fatalf("ambient = %#x, want only CAP_CHOWN (%#x)", sets.Ambient, want)
	}
}

func TestKnownCapabilitiesMatchKernel(t *testing.T) {
	known := KnownCapabilities()
	// The kernel's own count, read independently of the PR_CAPBSET_READ probe.
	last := readCapLastCap(t)
	if len(known) != last+1 {
		t.Fatalf("%d names for cap_last_cap %d: %v", len(known), last, known)
	}
	if known[0] != "CAP_CHOWN" || !slices.Contains(known, "CAP_SYS_ADMIN") {
		t.Fatalf("unexpected list %v", known)
	}
}

func TestWithExecCapsLeavesInheritableAlone(t *testing.T) {
	base := &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}, Permitted: []string{"CAP_KILL"}}
	got := WithExecCaps(base, []string{"CAP_NET_ADMIN"})
	if len(got.Inheritable) != 0 {
		t.Fatalf("inheritable %v, want empty", got.Inheritable)
	}
	for set, names := range map[string][]string{"bounding": got.Bounding, "effective": got.Effective, "permitted": got.Permitted, "ambient": got.Ambient} {
		if !slices.Contains(names, "CAP_NET_ADMIN") {
			t.Errorf("%s %v lacks CAP_NET_ADMIN", set, names)
		}
	}
	if len(base.Bounding) != 1 {
		t.Fatalf("the base config was modified: %v", base.Bounding)
	}
}

func TestCapabilityName(t *testing.T) {
	if got := capabilityName(unix.CAP_SYS_ADMIN); got != "CAP_SYS_ADMIN" {
		t.Errorf("got %q", got)
	}
	if got := capabilityName(63); got != "capability 63" {
		t.Errorf("a number newer than the table: got %q", got)
	}
}

func TestLastKnownFindsTheLastOfAnyRun(t *testing.T) {
	for want := uint(0); want < 64; want++ {
		asked := 0
		got := lastKnown(func(c uint) bool { asked++; return c <= want })
		if got != want || asked > 6 {
			t.Errorf("lastKnown with 0..%d known = %d after %d questions", want, got, asked)
		}
	}
}

// The kernel's answer, as the plain scan of every number finds it.
func TestLastKernelCapIsTheKernels(t *testing.T) {
	want := uint(0)
	for c := uint(1); c < 64 && rawPrctl(unix.PR_CAPBSET_READ, uintptr(c), 0) == nil; c++ {
		want = c
	}
	if got := lastKernelCap(); got != want {
		t.Fatalf("lastKernelCap() = %d, the kernel knows 0..%d", got, want)
	}
}
