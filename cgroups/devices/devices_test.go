package devices

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/cgroups/internal/cgtest"
)

// referenceAllowed is the rule semantics written as plainly as possible,
// independent of the compiler: for each requested access bit, the last rule
// that matches the device and mentions the bit decides; no match denies.
func referenceAllowed(rules []deviceRule, typ, major, minor, access uint32) bool {
	for _, bit := range []uint32{accMknod, accRead, accWrite} {
		if access&bit == 0 {
			continue
		}
		ok := false
		for _, r := range rules {
			if r.access&bit != 0 &&
				(r.typ == 0 || r.typ == typ) &&
				(r.major < 0 || uint32(r.major) == major) &&
				(r.minor < 0 || uint32(r.minor) == minor) {
				ok = r.allow
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// -2 in these tables means "field omitted" (nil), -1 the explicit wildcard.
var deviceRuleSets = map[string][]specs.LinuxDeviceCgroup{
	"empty":        nil,
	"runc-default": append([]specs.LinuxDeviceCgroup{cgtest.Rule(false, "a", -2, -2, "rwm")}, DefaultAllowedDevices()...),
	"allow-null-rw": {
		cgtest.Rule(false, "a", -2, -2, "rwm"),
		cgtest.Rule(true, "c", 1, 3, "rw"),
	},
	"allow-all-deny-zero-write": {
		cgtest.Rule(true, "a", -2, -2, "rwm"),
		cgtest.Rule(false, "c", 1, 5, "w"),
	},
	"partial-deny": {
		cgtest.Rule(true, "c", 1, 3, "rwm"),
		cgtest.Rule(false, "c", 1, 3, "w"),
	},
	"minor-wildcard-read": {cgtest.Rule(true, "c", 1, -1, "r")},
	"major-wildcard":      {cgtest.Rule(true, "c", -1, 5, "rw")},
	"split-bits":          {cgtest.Rule(true, "c", 1, 3, "r"), cgtest.Rule(true, "c", 1, 3, "w")},
	"type-a-numbered":     {cgtest.Rule(true, "", 1, 7, "")},
	"deny-last-wins":      {cgtest.Rule(true, "c", 1, 3, "rwm"), cgtest.Rule(true, "b", 7, 0, "rwm"), cgtest.Rule(false, "a", -1, -1, "rwm")},
	"block-mknod":         {cgtest.Rule(true, "b", -2, -2, "m")},
	"block-only":          {cgtest.Rule(true, "b", 7, -1, "rwm"), cgtest.Rule(false, "c", -1, -1, "rwm")},
}

func TestParseDeviceRules(t *testing.T) {
	for name, tc := range map[string]struct {
		in   specs.LinuxDeviceCgroup
		want string
		err  string
	}{
		"defaults":      {in: specs.LinuxDeviceCgroup{Allow: true}, want: "allow a *:* rwm"},
		"char":          {in: cgtest.Rule(false, "c", 1, 3, "rw"), want: "deny c 1:3 rw"},
		"explicit-star": {in: cgtest.Rule(true, "b", -1, -1, "m"), want: "allow b *:* m"},
		"bad-type":      {in: cgtest.Rule(true, "p", 1, 3, "r"), err: "type"},
		"bad-access":    {in: cgtest.Rule(true, "c", 1, 3, "rx"), err: "access"},
		"neg-major":     {in: cgtest.Rule(true, "c", -5, 3, "r"), err: "out of range"},
		"huge-minor":    {in: cgtest.Rule(true, "c", 1, 1<<33, "r"), err: "out of range"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := parseDeviceRules([]specs.LinuxDeviceCgroup{tc.in})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := got[0].String(); s != tc.want {
				t.Errorf("got %q, want %q", s, tc.want)
			}
		})
	}
}

// The reference evaluator itself must encode the documented semantics.
func TestReferenceSemantics(t *testing.T) {
	rules := func(name string) []deviceRule {
		r, err := parseDeviceRules(deviceRuleSets[name])
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tc := range []struct {
		set                string
		typ, maj, min, acc uint32
		want               bool
	}{
		{"empty", devChar, 1, 3, accRead, false},
		{"runc-default", devChar, 1, 3, accRead | accWrite, true},
		{"runc-default", devChar, 10, 200, accRead, false},
		{"runc-default", devChar, 10, 200, accMknod, true},
		{"runc-default", devChar, 136, 7, accRead | accWrite, true},
		{"partial-deny", devChar, 1, 3, accRead, true},
		{"partial-deny", devChar, 1, 3, accRead | accWrite, false},
		{"split-bits", devChar, 1, 3, accRead | accWrite, true},
		{"deny-last-wins", devChar, 1, 3, accRead, false},
		{"allow-all-deny-zero-write", devBlock, 8, 0, accWrite, true},
		{"allow-all-deny-zero-write", devChar, 1, 5, accWrite, false},
	} {
		if got := referenceAllowed(rules(tc.set), tc.typ, tc.maj, tc.min, tc.acc); got != tc.want {
			t.Errorf("%s: %d %d:%d acc %d: got %t", tc.set, tc.typ, tc.maj, tc.min, tc.acc, got)
		}
	}
}

// Every rule set must load: the verifier rejects unreachable code and bad
// jumps, which the lazy labels in the compiler must avoid.
func TestDeviceFilterLoads(t *testing.T) {
	cgtest.RequireRoot(t)
	for name, rules := range deviceRuleSets {
		prog, err := filterLoader{}.loadRules(rules)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		prog.Close()
	}
}

// deviceProbes returns probes for nodes created in dir (by this unfiltered
// process) plus mknod attempts, covering both types and all access modes.
func deviceProbes(t *testing.T, dir string) []probe {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Flags&unix.ST_NODEV != 0 {
		// Opening would fail with EACCES before the filter is consulted.
		t.Skipf("%s is on a nodev mount; point TMPDIR elsewhere", dir)
	}
	var probes []probe
	for _, n := range []struct {
		typ          string
		major, minor uint32
	}{{"c", 1, 3}, {"c", 1, 5}, {"c", 1, 7}, {"c", 1, 9}, {"b", 7, 0}} {
		path := filepath.Join(dir, n.typ+"-"+strings.ReplaceAll(probe{Major: n.major, Minor: n.minor}.String()[3:], ":", "-"))
		mode := uint32(unix.S_IFCHR)
		if n.typ == "b" {
			mode = unix.S_IFBLK
		}
		if err := unix.Mknod(path, mode|0o666, int(unix.Mkdev(n.major, n.minor))); err != nil {
			t.Fatal(err)
		}
		accs := []string{"r", "w", "rw"}
		if n.typ == "b" {
			accs = []string{"r"} // never open a block device for writing
		}
		for _, a := range accs {
			probes = append(probes, probe{Path: path, Type: n.typ, Major: n.major, Minor: n.minor, Acc: a})
		}
	}
	for _, n := range []probe{{Type: "c", Major: 1, Minor: 3}, {Type: "c", Major: 10, Minor: 200}, {Type: "c", Major: 136, Minor: 4}, {Type: "b", Major: 7, Minor: 0}, {Type: "b", Major: 8, Minor: 16}} {
		n.Acc = "m"
		probes = append(probes, n)
	}
	return probes
}

func (p probe) request() (typ, access uint32) {
	typ = devChar
	if p.Type == "b" {
		typ = devBlock
	}
	switch p.Acc {
	case "r":
		access = accRead
	case "w":
		access = accWrite
	case "rw":
		access = accRead | accWrite
	case "m":
		access = accMknod
	}
	return typ, access
}

// TestDeviceFilterDecisions attaches each rule set's program to a real
// cgroup and checks every probe made from a process inside it against the
// reference evaluator. (BPF_PROG_TEST_RUN does not support cgroup device
// programs, so the kernel's own enforcement is the oracle.)
func TestDeviceFilterDecisions(t *testing.T) {
	dir := filterCgroup(t, "devices")
	nodes := t.TempDir()
	probes := deviceProbes(t, nodes)
	scratch := t.TempDir()
	for name, rules := range deviceRuleSets {
		t.Run(name, func(t *testing.T) {
			if err := setFilter(dir, rules); err != nil {
				t.Fatal(err)
			}
			parsed, _ := parseDeviceRules(rules)
			cmd := cgtest.HelperCmd(dir, "probe", "SCRATCH="+scratch)
			in, _ := json.Marshal(probes)
			cmd.Stdin = strings.NewReader(string(in))
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("helper: %v", err)
			}
			var results []string
			if err := json.Unmarshal(out, &results); err != nil {
				t.Fatalf("helper output %q: %v", out, err)
			}
			allowed, denied := 0, 0
			for i, p := range probes {
				typ, acc := p.request()
				want := referenceAllowed(parsed, typ, p.Major, p.Minor, acc)
				// The filter only ever answers EPERM; anything else (ok, or
				// e.g. ENXIO from the driver) means it let the access through.
				got := results[i] != "EPERM"
				if got != want {
					t.Errorf("%s: %s gave %s, reference says allowed=%t", name, p, results[i], want)
				}
				if want {
					allowed++
				} else {
					denied++
				}
			}
			t.Logf("%d allowed, %d denied as expected", allowed, denied)
		})
	}
	if ids := attached(t, dir); len(ids) != 1 {
		t.Errorf("after %d replacements %d programs are attached, want 1", len(deviceRuleSets), len(ids))
	}
}

// TestDeviceFilterTestRunUnsupported documents why the decisions test uses
// a real attach: if a kernel ever runs cgroup device programs under
// BPF_PROG_TEST_RUN, this fails and the cheaper route can be taken.
func TestDeviceFilterTestRunUnsupported(t *testing.T) {
	cgtest.RequireRoot(t)
	prog, err := filterLoader{}.loadRules(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	lib, err := libraryProgram(prog)
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	if _, err := lib.Run(&ebpf.RunOptions{Context: make([]byte, 12)}); err == nil {
		t.Fatal("BPF_PROG_TEST_RUN works for cgroup device programs here; test decisions with it")
	}
}

// TestDeviceFilterUpdateHasNoGap swaps between two rule sets many times while
// a process in the cgroup keeps opening devices: one allowed by both sets
// must never fail, one denied by both must never succeed, and one that the
// sets disagree on must be seen both ways (the updates take effect).
func TestDeviceFilterUpdateHasNoGap(t *testing.T) {
	dir := filterCgroup(t, "devices-update")
	nodes := t.TempDir()
	all := deviceProbes(t, nodes)
	pick := func(typ string, major, minor uint32, acc string) probe {
		for _, p := range all {
			if p.Type == typ && p.Major == major && p.Minor == minor && p.Acc == acc && p.Path != "" {
				return p
			}
		}
		t.Fatalf("no probe %s %d:%d %s", typ, major, minor, acc)
		return probe{}
	}
	probes := []probe{pick("c", 1, 3, "rw"), pick("c", 1, 7, "rw"), pick("c", 1, 5, "r")}
	base := []specs.LinuxDeviceCgroup{cgtest.Rule(false, "a", -2, -2, "rwm"), cgtest.Rule(true, "c", 1, 3, "rwm")}
	setA := append(append([]specs.LinuxDeviceCgroup{}, base...), cgtest.Rule(true, "c", 1, 5, "r"))
	setB := append(append([]specs.LinuxDeviceCgroup{}, base...), cgtest.Rule(false, "c", 1, 5, "r"))
	if err := setFilter(dir, setA); err != nil {
		t.Fatal(err)
	}
	enc, _ := json.Marshal(probes)
	cmd := cgtest.HelperCmd(dir, "loop", "PROBES="+string(enc))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	if line, err := r.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("helper: %q %v", line, err)
	}
	const updates = 200
	for i := 0; i < updates; i++ {
		set := setA
		if i%2 == 0 {
			set = setB
		}
		if err := setFilter(dir, set); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Microsecond)
	}
	stdin.Close()
	var res loopResult
	if err := json.NewDecoder(r).Decode(&res); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d loop iterations during %d updates: %+v", res.Iterations, updates, res)
	if res.Iterations < 10 {
		t.Fatalf("only %d iterations: the loop did not overlap the updates", res.Iterations)
	}
	if res.EPERM[0] != 0 || res.OK[0] != res.Iterations {
		t.Errorf("/dev/null (allowed by both sets) failed %d times", res.Iterations-res.OK[0])
	}
	if res.OK[1] != 0 || res.EPERM[1] != res.Iterations {
		t.Errorf("/dev/full (denied by both sets) opened %d times", res.OK[1])
	}
	if res.OK[2] == 0 || res.EPERM[2] == 0 {
		t.Errorf("/dev/zero (allowed by one set only): %d ok, %d EPERM; want both", res.OK[2], res.EPERM[2])
	}
	if ids := attached(t, dir); len(ids) != 1 {
		t.Errorf("%d programs attached after the updates, want 1", len(ids))
	}
}

// BenchmarkDeviceFilterLoad is what every container's device filter costs
// to build, load and verify (the default rules). Figures for make bench.
func BenchmarkDeviceFilterLoad(b *testing.B) {
	cgtest.RequireRoot(b)
	rules := DefaultAllowedDevices()
	for b.Loop() {
		prog, err := filterLoader{}.loadRules(rules)
		if err != nil {
			b.Fatal(err)
		}
		prog.Close()
	}
}

// The kernel must get from our loader the program the library's loader
// gives it for the same instructions: the kernel's tag (a hash of the
// instructions), name and type agree, for every rule set.
func TestDeviceProgramLoaderMatchesLibrary(t *testing.T) {
	cgtest.RequireRoot(t)
	for name, rules := range deviceRuleSets {
		a := compiled(t, rules)
		bytecode, err := a.assemble()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		fd, err := loadDeviceProgram(bytecode, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ours, err := libraryProgram(&Program{fd: fd})
		unix.Close(fd)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		lib, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: deviceProgramName, Type: ebpf.CGroupDevice, Instructions: libraryInstructions(t, a), License: deviceProgramLicense})
		if err != nil {
			ours.Close()
			t.Fatalf("%s: library: %v", name, err)
		}
		oi, err1 := ours.Info()
		li, err2 := lib.Info()
		ours.Close()
		lib.Close()
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: info: %v, %v", name, err1, err2)
		}
		if oi.Tag != li.Tag || oi.Name != li.Name || oi.Type != li.Type {
			t.Errorf("%s: ours %s %q %v, library's %s %q %v", name, oi.Tag, oi.Name, oi.Type, li.Tag, li.Name, li.Type)
		}
	}
}

// Our encoder writes, byte for byte, what the library's writes for the same
// instructions and labels, for every rule set and for the probe program.
func TestAssemblerMatchesLibrary(t *testing.T) {
	probe := &assembler{}
	probe.movImm32(r0, 0)
	probe.exit()
	programs := map[string]*assembler{"probe": probe}
	for name, rules := range deviceRuleSets {
		programs[name] = compiled(t, rules)
	}
	for name, a := range programs {
		ours, err := a.assemble()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var lib bytes.Buffer
		if err := libraryInstructions(t, a).Marshal(&lib, nativeByteOrder().(binary.ByteOrder)); err != nil {
			t.Fatalf("%s: library: %v", name, err)
		}
		if !bytes.Equal(ours, lib.Bytes()) {
			t.Errorf("%s: our bytecode\n%x\nthe library's\n%x", name, ours, lib.Bytes())
		}
	}
}

// A jump to a label nobody set is refused, not encoded as some offset.
func TestAssemblerRefusesUndefinedLabel(t *testing.T) {
	a := &assembler{}
	a.jump("nowhere")
	if _, err := a.assemble(); err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("assemble: %v, want an error naming the label", err)
	}
}

func compiled(t *testing.T, rules []specs.LinuxDeviceCgroup) *assembler {
	t.Helper()
	parsed, err := parseDeviceRules(rules)
	if err != nil {
		t.Fatal(err)
	}
	return compileDeviceFilter(parsed)
}

// libraryInstructions writes a's program with the library's instruction
// types: jumps by reference to symbols the library resolves itself.
func libraryInstructions(t *testing.T, a *assembler) asm.Instructions {
	t.Helper()
	symbols := map[int]string{}
	for name, at := range a.labels {
		if other, ok := symbols[at]; ok {
			t.Fatalf("labels %q and %q on one instruction: the library allows one", other, name)
		}
		symbols[at] = name
	}
	insns := make(asm.Instructions, len(a.insns))
	for i, ins := range a.insns {
		li := asm.Instruction{OpCode: asm.OpCode(ins.opcode), Dst: asm.Register(ins.dst), Src: asm.Register(ins.src), Offset: ins.offset, Constant: int64(ins.imm)}
		if ins.target != "" {
			li = li.WithReference(ins.target)
			li.Offset = -1
		}
		if name, ok := symbols[i]; ok {
			li = li.WithSymbol(name)
		}
		insns[i] = li
	}
	return insns
}

// libraryProgram is prog as the library's type, on a copy of its fd.
func libraryProgram(prog *Program) (*ebpf.Program, error) {
	fd, err := unix.FcntlInt(uintptr(prog.FD()), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, err
	}
	return ebpf.NewProgramFromFD(fd)
}
