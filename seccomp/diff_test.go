//go:build libseccomp

package seccomp

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
)

// knownToLibseccomp drops names the installed libseccomp cannot resolve:
// runc would skip them while our newer tables honour them, which is the one
// intended difference.
func knownToLibseccomp(cfg *specs.LinuxSeccomp) *specs.LinuxSeccomp {
	out := *cfg
	out.Syscalls = nil
	for _, sc := range cfg.Syscalls {
		var names []string
		for _, n := range sc.Names {
			if _, err := libseccomp.GetSyscallFromName(n); err == nil {
				names = append(names, n)
			}
		}
		if len(names) > 0 {
			sc.Names = names
			out.Syscalls = append(out.Syscalls, sc)
		}
	}
	return &out
}

func argCandidates(cfg *specs.LinuxSeccomp) []uint64 {
	set := map[uint64]bool{0: true, ^uint64(0): true, 1 << 32: true, 0xffffffff: true, 1: true}
	for _, sc := range cfg.Syscalls {
		for _, a := range sc.Args {
			for _, v := range []uint64{a.Value, a.ValueTwo} {
				for _, c := range []uint64{v - 1, v, v + 1, v ^ 1<<32, v | 1<<63, uint64(uint32(v)), v + 1<<32, v - 1<<32, v &^ 1} {
					set[c] = true
				}
			}
		}
	}
	var out []uint64
	for v := range set {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// differential compiles cfg for arches (the first one native) with both
// compilers and compares verdicts over every syscall number of each ABI and
// argument values around every constant. It returns the number of checks,
// or -1 if libseccomp refuses the profile and mayReject is set.
func differential(t testing.TB, cfg *specs.LinuxSeccomp, arches []string, seed int64, mayReject bool) int {
	t.Helper()
	cfg = knownToLibseccomp(cfg)
	cfg.Architectures = nil
	for _, a := range arches {
		cfg.Architectures = append(cfg.Architectures, specs.Arch(a))
	}
	ours, err := compile(cfg, arches[0])
	if err != nil {
		t.Fatalf("oci-rt: %v", err)
	}
	lf, err := libseccompFilter(cfg, arches, true)
	if err != nil {
		if mayReject {
			return -1
		}
		t.Fatalf("libseccomp rejects the profile: %v", err)
	}
	defer lf.Release()
	ref, err := exportBPF(lf, byteOrderOf(archs[arches[0]].audit))
	if err != nil {
		t.Fatal(err)
	}
	stub := newRuncStub(cfg, arches)
	cands := argCandidates(cfg)
	rng := rand.New(rand.NewSource(seed))

	checks, failures := 0, 0
	check := func(d seccompData) {
		checks++
		got, _, err := runBPF(ours.prog, d)
		if err != nil {
			t.Fatalf("oci-rt program: %v", err)
		}
		want, ok := stub.verdict(d)
		if !ok {
			if want, _, err = runBPF(ref, d); err != nil {
				t.Fatalf("libseccomp program: %v", err)
			}
		}
		if got != want {
			failures++
			if failures <= 10 {
				t.Errorf("arch %#x nr %d (%#x) args %#x: oci-rt %#x, libseccomp+runc %#x", d.arch, d.nr, d.nr, d.args, got, want)
			}
		}
	}

	for _, a := range arches {
		info := archs[a]
		var top uint32
		for _, nr := range syscallTable(a) {
			top = max(top, nr)
		}
		lo := uint32(0)
		if a == "SCMP_ARCH_X32" {
			lo = x32Bit
		}
		if a == "SCMP_ARCH_ARM" {
			// ARM's private syscalls sit at 0xf0000+; sweep them separately.
			for nr := uint32(0xf0000); nr < 0xf0010; nr++ {
				check(seccompData{nr: nr, arch: info.audit})
			}
			top = 1024
		}
		for nr := lo; nr <= top+64; nr++ {
			check(seccompData{nr: nr, arch: info.audit})
		}
		for _, nr := range []uint32{x32Bit - 1, x32Bit, 0x7fffffff, 0x80000000, 0xbfffffff, 0xc0000000, 0xc0000001, 0xffffffff} {
			check(seccompData{nr: nr, arch: info.audit})
		}
		// Argument sweeps for every syscall that has conditions.
		table := syscallTable(a)
		nrs := map[uint32]bool{}
		for _, sc := range cfg.Syscalls {
			if len(sc.Args) == 0 {
				continue
			}
			for _, n := range sc.Names {
				if nr, ok := table[n]; ok {
					nrs[nr] = true
				}
				if mux, _, ok := multiplexed(info, n); ok {
					nrs[mux] = true
				}
			}
		}
		for nr := range nrs {
			for i := range 6 {
				for _, c := range cands {
					d := seccompData{nr: nr, arch: info.audit}
					d.args[i] = c
					check(d)
				}
			}
			for range 300 {
				d := seccompData{nr: nr, arch: info.audit}
				for i := range d.args {
					d.args[i] = cands[rng.Intn(len(cands))]
				}
				check(d)
			}
		}
	}
	// An ABI outside the filter.
	check(seccompData{nr: 1, arch: 0x12345678})
	if failures > 0 {
		js, _ := json.Marshal(cfg)
		t.Fatalf("%d of %d verdicts differ; profile %s", failures, checks, js)
	}
	return checks
}

// archSets are the ABI combinations compared with libseccomp on Docker's
// profile. Big-endian ABIs are only in the random sweep: libseccomp 2.5.4
// exports some return values of a long foreign-endian program in host
// order (Docker's 352-name ALLOW entry alone on s390x yields "ret 0xff7f"),
// an export artefact that says nothing about the filter a big-endian host
// would build.
var archSets = [][]string{
	{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"},
	{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"},
	{"SCMP_ARCH_RISCV64"},
	{"SCMP_ARCH_PPC64LE"},
	{"SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL"},
	{"SCMP_ARCH_X86_64"},
	{"SCMP_ARCH_X32"},
}

func TestDifferentialDocker(t *testing.T) {
	for _, set := range archSets {
		t.Run(fmt.Sprint(set), func(t *testing.T) {
			n := differential(t, dockerDefault(t), set, 1, false)
			t.Logf("%d verdicts agree", n)
		})
	}
}

func TestDifferentialPodman(t *testing.T) {
	for _, set := range archSets[:2] {
		t.Run(fmt.Sprint(set), func(t *testing.T) {
			n := differential(t, podmanStyle(t), set, 2, false)
			t.Logf("%d verdicts agree", n)
		})
	}
}
