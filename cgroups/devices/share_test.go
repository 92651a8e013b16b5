package devices

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups/internal/cgtest"
)

func bytecodeOf(t *testing.T, rules []specs.LinuxDeviceCgroup) []byte {
	t.Helper()
	parsed, err := parseDeviceRules(rules)
	if err != nil {
		t.Fatal(err)
	}
	b, err := compileDeviceFilter(parsed).assemble()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Rule sets share a pin exactly when they compile to the same program,
// and the name is one bpffs accepts (it refuses names with a dot).
func TestPinNameFollowsProgram(t *testing.T) {
	code := map[string][]byte{}
	for set, rules := range deviceRuleSets {
		code[set] = bytecodeOf(t, rules)
		name := pinName(code[set])
		if name != pinName(bytecodeOf(t, rules)) {
			t.Errorf("%s: two names for one rule set", set)
		}
		if strings.ContainsAny(name, "./") || len(name) > 255 {
			t.Errorf("%s: %q is no bpffs file name", set, name)
		}
	}
	for x := range code {
		for y := range code {
			if same := pinName(code[x]) == pinName(code[y]); same != bytes.Equal(code[x], code[y]) {
				t.Errorf("%s and %s: same name %t, same program %t", x, y, same, !same)
			}
		}
	}
	// A rule that an unconditional later one overrides compiles to
	// nothing, so these two sets are one program and share a pin.
	allowAll := []specs.LinuxDeviceCgroup{cgtest.Rule(true, "a", -2, -2, "rwm")}
	shadowed := append([]specs.LinuxDeviceCgroup{cgtest.Rule(false, "c", 1, 3, "rwm")}, allowAll...)
	if pinName(bytecodeOf(t, allowAll)) != pinName(bytecodeOf(t, shadowed)) {
		t.Error("rule sets compiling to one program have two names")
	}
}

// A pinned program is used only if it is a map-free cgroup device program
// with the tag of the program the rules compile to, whichever hash the
// kernel takes the tag from.
func TestPinnedProgramMatches(t *testing.T) {
	code := bytecodeOf(t, deviceRuleSets["runc-default"])
	other := bytecodeOf(t, deviceRuleSets["allow-null-rw"])
	s1, s256, o1 := sha1.Sum(code), sha256.Sum256(code), sha1.Sum(other)
	dev := uint32(unix.BPF_PROG_TYPE_CGROUP_DEVICE)
	for _, tc := range []struct {
		name string
		info progInfo
		ok   bool
	}{
		{"sha1 tag", progInfo{typ: dev, tag: [8]byte(s1[:])}, true},
		{"sha256 tag", progInfo{typ: dev, tag: [8]byte(s256[:])}, true},
		{"another rule set's program", progInfo{typ: dev, tag: [8]byte(o1[:])}, false},
		{"no tag", progInfo{typ: dev}, false},
		{"socket filter with the tag", progInfo{typ: unix.BPF_PROG_TYPE_SOCKET_FILTER, tag: [8]byte(s1[:])}, false},
		{"program with a map", progInfo{typ: dev, tag: [8]byte(s1[:]), nrMapIDs: 1}, false},
	} {
		if err := tc.info.matches(code); (err == nil) != tc.ok {
			t.Errorf("%s: matches gave %v, want ok=%t", tc.name, err, tc.ok)
		}
	}
}

// Pins go only into a directory on a bpffs that the runtime's user owns
// and no one else can write to.
func TestPinDirTrusted(t *testing.T) {
	dir := func(mode, uid uint32) *unix.Stat_t { return &unix.Stat_t{Mode: unix.S_IFDIR | mode, Uid: uid} }
	for _, tc := range []struct {
		name  string
		fs    int64
		st    *unix.Stat_t
		euid  int
		trust bool
	}{
		{"root-only", unix.BPF_FS_MAGIC, dir(0o700, 0), 0, true},
		{"others may read", unix.BPF_FS_MAGIC, dir(0o755, 0), 0, true},
		{"not a bpffs", unix.TMPFS_MAGIC, dir(0o700, 0), 0, false},
		{"a user's", unix.BPF_FS_MAGIC, dir(0o700, 1000), 0, false},
		{"group-writable", unix.BPF_FS_MAGIC, dir(0o770, 0), 0, false},
		{"world-writable sticky", unix.BPF_FS_MAGIC, dir(0o1777, 0), 0, false},
		{"a file", unix.BPF_FS_MAGIC, &unix.Stat_t{Mode: unix.S_IFREG | 0o600}, 0, false},
	} {
		if err := pinDirTrusted(tc.fs, tc.st, tc.euid); (err == nil) != tc.trust {
			t.Errorf("%s: %v, want trusted=%t", tc.name, err, tc.trust)
		}
	}
}

// sharingLoader is a loader sharing programs in a fresh directory of the
// bpffs at /sys/fs/bpf, which it creates itself; the directory goes at
// the end of the test.
func sharingLoader(t testing.TB) filterLoader {
	t.Helper()
	cgtest.RequireRoot(t)
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/bpf", &st); err != nil || st.Type != unix.BPF_FS_MAGIC {
		t.Skip("no bpffs at /sys/fs/bpf (the v2 VM has one)")
	}
	dir := fmt.Sprintf("/sys/fs/bpf/oci-rt-test-%d-%d", os.Getpid(), cgtest.Seq())
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filterLoader{pinDir: dir}
}

func progID(t *testing.T, p *Program) uint32 {
	t.Helper()
	info, err := programInfo(p.FD())
	if err != nil {
		t.Fatal(err)
	}
	return info.id
}

func mustLoad(t testing.TB, l filterLoader, rules []specs.LinuxDeviceCgroup) *Program {
	t.Helper()
	p, err := l.loadRules(rules)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// The kernel's tag of a loaded filter is one of the tags it is checked
// against, so that a valid pin is actually reused.
func TestLoadedFilterMatchesItsTag(t *testing.T) {
	cgtest.RequireRoot(t)
	for name, rules := range deviceRuleSets {
		p := mustLoad(t, filterLoader{}, rules)
		info, err := programInfo(p.FD())
		if err != nil {
			t.Fatal(err)
		}
		if err := info.matches(bytecodeOf(t, rules)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Cgroups with the same rules get one program, attached to each; other
// rules get their own. The pin directory is created root-only.
func TestSharedFilterReuse(t *testing.T) {
	l := sharingLoader(t)
	a := deviceRuleSets["runc-default"]
	b := deviceRuleSets["allow-null-rw"]
	cgA1, cgA2, cgB := filterCgroup(t, "a1"), filterCgroup(t, "a2"), filterCgroup(t, "b")
	for _, c := range []struct {
		dir   *os.File
		rules []specs.LinuxDeviceCgroup
	}{{cgA1, a}, {cgA2, a}, {cgB, b}} {
		if err := Attach(int(c.dir.Fd()), mustLoad(t, l, c.rules)); err != nil {
			t.Fatal(err)
		}
	}
	a1, a2, b1 := attached(t, cgA1), attached(t, cgA2), attached(t, cgB)
	if len(a1) != 1 || len(a2) != 1 || len(b1) != 1 {
		t.Fatalf("attached programs %v %v %v, want one each", a1, a2, b1)
	}
	if a1[0] != a2[0] {
		t.Errorf("same rules, programs %d and %d: not shared", a1[0], a2[0])
	}
	if b1[0] == a1[0] {
		t.Errorf("other rules got the shared program %d", b1[0])
	}
	var st unix.Stat_t
	if err := unix.Stat(l.pinDir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o777 != 0o700 || st.Uid != 0 {
		t.Errorf("pin directory mode %#o uid %d, want 0700 root", st.Mode&0o777, st.Uid)
	}
	if names, _ := filepath.Glob(filepath.Join(l.pinDir, "*")); len(names) != 2 {
		t.Errorf("pins %v, want one per rule set", names)
	}
}

// Whatever else sits under a program's pin name (another program, a map)
// is not attached: the rules' own program is loaded, and replaces it.
func TestSharedFilterRefusesForeignPin(t *testing.T) {
	l := sharingLoader(t)
	a := deviceRuleSets["runc-default"]
	path := filepath.Join(l.pinDir, pinName(bytecodeOf(t, a)))
	if err := os.Mkdir(l.pinDir, 0o700); err != nil {
		t.Fatal(err)
	}
	foreignProg := mustLoad(t, filterLoader{}, deviceRuleSets["allow-all-deny-zero-write"])
	foreignMap, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer foreignMap.Close()
	for name, pin := range map[string]func() error{
		"program": func() error { return objPin(foreignProg.FD(), path) },
		"map":     func() error { return foreignMap.Pin(path) },
	} {
		if err := pin(); err != nil {
			t.Fatal(err)
		}
		p := mustLoad(t, l, a)
		info, err := programInfo(p.FD())
		if err != nil {
			t.Fatal(err)
		}
		if err := info.matches(bytecodeOf(t, a)); err != nil {
			t.Errorf("with a foreign %s pinned: got a program that is not the rules': %v", name, err)
		}
		if again := mustLoad(t, l, a); progID(t, again) != info.id {
			t.Errorf("with a foreign %s pinned: the rules' program was not pinned in its place", name)
		}
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

// The pins are bounded: a new one past the bound replaces them all.
func TestSharedFiltersBounded(t *testing.T) {
	l := sharingLoader(t)
	filler := mustLoad(t, filterLoader{}, nil)
	if err := os.Mkdir(l.pinDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < maxSharedFilters; i++ {
		if err := objPin(filler.FD(), filepath.Join(l.pinDir, fmt.Sprintf("filler_%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if names, _ := filepath.Glob(filepath.Join(l.pinDir, "*")); len(names) != maxSharedFilters {
		t.Fatalf("%d pins made, want %d", len(names), maxSharedFilters)
	}
	mustLoad(t, l, deviceRuleSets["runc-default"])
	names, err := filepath.Glob(filepath.Join(l.pinDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(l.pinDir, pinName(bytecodeOf(t, deviceRuleSets["runc-default"]))); len(names) != 1 || names[0] != want {
		t.Errorf("pins after passing the bound: %d, want only %s", len(names), want)
	}
}

// Attaching the program a cgroup already has (an update that keeps the
// rules, now that programs are shared) keeps it, alone.
func TestAttachAttachedProgram(t *testing.T) {
	dir := filterCgroup(t, "again")
	p := mustLoad(t, filterLoader{}, deviceRuleSets["runc-default"])
	q := mustLoad(t, filterLoader{}, deviceRuleSets["allow-null-rw"])
	for _, step := range []struct {
		prog *Program
		name string
	}{{p, "first"}, {p, "same again"}, {q, "other"}, {p, "back"}, {p, "back again"}} {
		if err := Attach(int(dir.Fd()), step.prog); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if ids := attached(t, dir); len(ids) != 1 || ids[0] != progID(t, step.prog) {
			t.Errorf("%s: attached %v, want only %d", step.name, ids, progID(t, step.prog))
		}
	}
}

// BenchmarkDeviceFilterShared is what a create pays for its device program
// when another container with the same rules has pinned it: compile,
// find the pin and check it (against BenchmarkDeviceFilterLoad's
// verification). Figures for make bench.
func BenchmarkDeviceFilterShared(b *testing.B) {
	l := sharingLoader(b)
	rules := DefaultAllowedDevices()
	mustLoad(b, l, rules)
	for b.Loop() {
		prog, err := l.loadRules(rules)
		if err != nil {
			b.Fatal(err)
		}
		prog.Close()
	}
}
