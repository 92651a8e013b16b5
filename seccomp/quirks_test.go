//go:build libseccomp

package seccomp

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestLibseccompQuirks is the evidence for the two libseccomp 2.5.4
// code-generation bugs randomProfile steers clear of: on a minimal profile
// each, libseccomp's exported program takes a verdict its own pseudo filter
// code (seccomp_export_pfc) contradicts, while oci-rt takes the right one.
// If a libseccomp upgrade fixes one, this test fails and the generator's
// restriction should go.
func TestLibseccompQuirks(t *testing.T) {
	eperm := uint32(retErrno | unix.EPERM)
	cases := []struct {
		name    string
		arches  []string
		cfg     specs.LinuxSeccomp
		data    seccompData
		want    uint32 // the right verdict, taken by oci-rt
		libWant uint32 // libseccomp's wrong one
	}{{
		// ioctl(a4 >= 2^32 || a4 <= 2^31) with a4 = 0x80000001: neither
		// holds. libseccomp's program loads a4's low half for the second
		// test of the first rule, then runs the second rule's
		// "hi32 > 1" on it without reloading the high half.
		name:   "stale high half",
		arches: []string{"SCMP_ARCH_AARCH64"},
		cfg: specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{
			Names: []string{"ioctl"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{
				{Index: 4, Value: 1 << 32, Op: specs.OpGreaterEqual},
				{Index: 4, Value: 1 << 31, Op: specs.OpLessEqual},
			},
		}}},
		data:    seccompData{nr: 29, arch: archs["SCMP_ARCH_AARCH64"].audit, args: [6]uint64{4: 0x80000001}},
		want:    retAllow,
		libWant: eperm,
	}, {
		// fstatat64 does not exist on aarch64; libseccomp keeps it as a
		// pseudo-syscall (-10011) that sorts before the conditional close
		// rule. The program generator skips the pseudo-syscall and with it
		// the "ld [0]" of the syscall number, so "close" is compared with
		// the arch word and never matches.
		name:   "pseudo-syscall first",
		arches: []string{"SCMP_ARCH_AARCH64"},
		cfg: specs.LinuxSeccomp{DefaultAction: specs.ActLog, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"close"}, Action: specs.ActTrap,
				Args: []specs.LinuxSeccompArg{{Index: 3, Value: 5, Op: specs.OpNotEqual}}},
			{Names: []string{"fstatat64"}, Action: specs.ActKill},
		}},
		data:    seccompData{nr: 57, arch: archs["SCMP_ARCH_AARCH64"].audit},
		want:    retTrap,
		libWant: retLog,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, a := range c.arches {
				c.cfg.Architectures = append(c.cfg.Architectures, specs.Arch(a))
			}
			ours, err := compile(&c.cfg, c.arches[0])
			if err != nil {
				t.Fatal(err)
			}
			if got, _, err := runBPF(ours.prog, c.data); err != nil || got != c.want {
				t.Fatalf("oci-rt: verdict %#x (%v), want %#x", got, err, c.want)
			}
			lf, err := libseccompFilter(&c.cfg, c.arches, false)
			if err != nil {
				t.Fatal(err)
			}
			defer lf.Release()
			ref, err := exportBPF(lf, byteOrderOf(c.data.arch))
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := runBPF(ref, c.data)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.libWant {
				t.Fatalf("libseccomp now answers %#x (bug gave %#x, right is %#x): quirk fixed?", got, c.libWant, c.want)
			}
			t.Logf("libseccomp answers %#x instead of %#x; its program:\n%s", got, c.want, disassemble(ref))
		})
	}
}
