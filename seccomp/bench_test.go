//go:build libseccomp

package seccomp

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestBenchmarkFigures compiles Docker's default profile with both compilers
// and prints compile time, program length and instructions executed per
// syscall number of the native ABI.
func TestBenchmarkFigures(t *testing.T) {
	cfg := knownToLibseccomp(dockerDefault(t))
	arches := []string{NativeArch}
	for _, a := range cfg.Architectures {
		if string(a) != NativeArch {
			arches = append(arches, string(a))
		}
	}
	const rounds = 20
	start := time.Now()
	var ours *Filter
	for range rounds {
		var err error
		if ours, err = compile(cfg, NativeArch); err != nil {
			t.Fatal(err)
		}
	}
	oursTime := time.Since(start) / rounds
	start = time.Now()
	var ref []unix.SockFilter
	for range rounds {
		lf, err := libseccompFilter(cfg, arches, true)
		if err != nil {
			t.Fatal(err)
		}
		if ref, err = exportBPF(lf, byteOrderOf(archs[arches[0]].audit)); err != nil {
			t.Fatal(err)
		}
		lf.Release()
	}
	libTime := time.Since(start) / rounds
	stub := newRuncStub(cfg, arches)
	for _, abi := range []string{NativeArch, "SCMP_ARCH_X86"} {
		var top uint32
		for _, nr := range syscallTable(abi) {
			top = max(top, nr)
		}
		var sumO, sumL, maxO, maxL int
		for nr := uint32(0); nr <= top; nr++ {
			d := seccompData{nr: nr, arch: archs[abi].audit}
			_, o, err := runBPF(ours.prog, d)
			if err != nil {
				t.Fatal(err)
			}
			// runc's stub runs first: its cost is the arch dispatch and one
			// or two comparisons, charged as 4 instructions (jset/jgt/ja
			// included) on top of libseccomp's program.
			_, l, err := runBPF(ref, d)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := stub.verdict(d); ok {
				l = 0
			}
			l += 4
			sumO += o
			sumL += l
			maxO, maxL = max(maxO, o), max(maxL, l)
		}
		n := float64(top + 1)
		t.Logf("%s: oci-rt mean %.2f max %d insns/syscall; libseccomp(+runc stub) mean %.2f max %d", abi, float64(sumO)/n, maxO, float64(sumL)/n, maxL)
	}
	t.Logf("compile: oci-rt %v, libseccomp %v; program length: oci-rt %d, libseccomp %d (+runc stub)", oursTime, libTime, len(ours.prog), len(ref))
}
