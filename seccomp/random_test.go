//go:build libseccomp

package seccomp

import (
	"math/rand"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var (
	randActions = []specs.LinuxSeccompAction{specs.ActKill, specs.ActKillProcess, specs.ActKillThread,
		specs.ActTrap, specs.ActErrno, specs.ActTrace, specs.ActAllow, specs.ActLog, specs.ActNotify}
	randOps = []specs.LinuxSeccompOperator{specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual,
		specs.OpEqualTo, specs.OpGreaterEqual, specs.OpGreaterThan, specs.OpMaskedEqual}
	randValues = []uint64{0, 1, 2, 7, 0x80, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
		1 << 32, 1<<32 | 5, 0xdeadbeef00000000, 1 << 63, ^uint64(0)}
	// Names from across the tables, including multiplexed socket and ipc
	// calls, per-ABI ones (ARM's private set_tls and breakpoint) and one
	// nobody knows.
	randNames = []string{"read", "write", "open", "openat", "close", "mmap", "mmap2", "clone", "clone3",
		"socket", "bind", "connect", "accept4", "recv", "send", "sendmsg", "semop", "shmget", "msgctl",
		"personality", "ioctl", "prctl", "unshare", "mount", "keyctl", "ptrace", "arch_prctl",
		"rt_sigaction", "io_uring_setup", "pidfd_open", "getpid", "futex",
		"no_such_syscall", "set_tls", "breakpoint", "_llseek", "fstatat64", "newfstatat", "preadv2", "kexec_load"}
	randArchSets = append(archSets, []string{"SCMP_ARCH_X86"}, []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X32"},
		[]string{"SCMP_ARCH_PPC64"}, []string{"SCMP_ARCH_MIPS"}, []string{"SCMP_ARCH_ARM"},
		[]string{"SCMP_ARCH_S390X"}, []string{"SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS"})
)

// randomProfile builds a profile from seed. Every name appears in one entry
// only: rules with different actions that overlap have no defined winner
// in libseccomp. Two libseccomp 2.5.4 code-generation bugs are kept out,
// each shown on a minimal profile by TestLibseccompQuirks: ORed ordered
// comparisons of one argument only use 32-bit values (quirk "stale high
// half"), and names libseccomp resolves to a pseudo-syscall on one of the
// profile's ABIs are left out (quirk "pseudo-syscall first").
func randomProfile(seed int64) (*specs.LinuxSeccomp, []string) {
	rng := rand.New(rand.NewSource(seed))
	pick := func(n int) int { return rng.Intn(n) }
	errno := func() *uint {
		if pick(2) == 0 {
			return nil
		}
		v := uint(1 + pick(200))
		return &v
	}
	arches := randArchSets[pick(len(randArchSets))]
	def := randActions[pick(len(randActions)-1)] // NOTIFY is no default
	// A notifying rule needs an agent to hand the listener to; compiling
	// never contacts it.
	cfg := &specs.LinuxSeccomp{DefaultAction: def, DefaultErrnoRet: errno(), ListenerPath: "/run/seccomp-agent.sock"}
	used := map[string]bool{}
	for range 1 + pick(12) {
		sc := specs.LinuxSyscall{Action: randActions[pick(len(randActions))], ErrnoRet: errno()}
		for range 1 + pick(3) {
			n := randNames[pick(len(randNames))]
			if _, ok := used[n]; ok || pseudoSomewhere(n, arches) {
				continue
			}
			if sc.Action == specs.ActNotify && n == "write" {
				continue
			}
			used[n] = true
			sc.Names = append(sc.Names, n)
		}
		if len(sc.Names) == 0 {
			continue
		}
		ored := false // several rules: split arguments or a multiplexed name
		for _, n := range sc.Names {
			_, sock := socketcallCodes[n]
			_, ipc := ipcCodes[n]
			ored = ored || sock || ipc
		}
		idx := map[uint]bool{}
		for range pick(4) {
			i := uint(pick(6))
			ored = ored || idx[i]
			idx[i] = true
			sc.Args = append(sc.Args, specs.LinuxSeccompArg{Index: i})
		}
		for j := range sc.Args {
			a := &sc.Args[j]
			a.Op = randOps[pick(len(randOps))]
			a.Value = randValues[pick(len(randValues))]
			switch a.Op {
			case specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpLessThan, specs.OpLessEqual:
				if ored {
					a.Value = uint64(uint32(a.Value))
				}
			}
			if a.Op == specs.OpMaskedEqual {
				a.ValueTwo = randValues[pick(len(randValues))] & a.Value
			}
		}
		cfg.Syscalls = append(cfg.Syscalls, sc)
	}
	return cfg, arches
}

// TestDifferentialRandom compares both compilers on a fixed sweep of
// generated profiles, so that every "go test" run covers the same few
// hundred profiles across all ABI sets; FuzzDifferential explores further.
func TestDifferentialRandom(t *testing.T) {
	const seeds = 400
	rejected := 0
	for seed := range int64(seeds) {
		cfg, arches := randomProfile(seed)
		if differential(t, cfg, arches, seed, true) < 0 {
			rejected++
		}
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
	// libseccomp may refuse a profile (e.g. NOTIFY on an old kernel API);
	// a sweep that compared almost nothing would prove nothing.
	if rejected > seeds/10 {
		t.Fatalf("libseccomp refused %d of %d profiles", rejected, seeds)
	}
	t.Logf("%d profiles compared, %d refused by libseccomp", seeds-rejected, rejected)
}

func FuzzDifferential(f *testing.F) {
	f.Add(uint64(1))
	f.Add(uint64(42))
	f.Fuzz(func(t *testing.T, seed uint64) {
		cfg, arches := randomProfile(int64(seed))
		differential(t, cfg, arches, int64(seed), true)
	})
}

// pseudoSomewhere reports whether libseccomp resolves name to one of its
// negative pseudo-syscall numbers on an ABI of arches (e.g. fstatat64 on
// aarch64).
func pseudoSomewhere(name string, arches []string) bool {
	for _, a := range arches {
		if nr, err := libseccompNr(name, a); err == nil && nr < 0 {
			return true
		}
	}
	return false
}
