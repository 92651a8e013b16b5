package seccomp

import (
	"testing"

	"github.com/oci-rt/oci-rt/tests/seccompprofile"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// dockerDefault is Docker's default profile as the engine hands it to the
// runtime for a container without extra capabilities.
func dockerDefault(t testing.TB) *specs.LinuxSeccomp {
	t.Helper()
	p, err := seccompprofile.DockerDefault()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// podmanStyle follows containers/common's default: unknown syscalls get
// ENOSYS, and dangerous known ones are listed explicitly with EPERM.
func podmanStyle(t testing.TB) *specs.LinuxSeccomp {
	p := dockerDefault(t)
	enosys := uint(unix.ENOSYS)
	eperm := uint(unix.EPERM)
	p.DefaultAction = specs.ActErrno
	p.DefaultErrnoRet = &enosys
	p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{
		Names: []string{"bdflush", "create_module", "delete_module", "get_kernel_syms", "init_module",
			"kexec_load", "mount", "umount2", "unshare", "keyctl", "add_key", "request_key",
			"pivot_root", "reboot", "swapon", "swapoff", "setns", "ptrace", "quotactl", "personality"},
		Action: specs.ActErrno, ErrnoRet: &eperm,
	})
	return p
}
