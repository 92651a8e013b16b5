package seccomp

import (
	"errors"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Support lists what profiles this package compiles, for `oci-rt features`.
type Support struct {
	Actions, Operators, Archs, Flags []string
}

// Supported reports the actions, operators, architectures and flags that
// Validate accepts.
func Supported() Support {
	var s Support
	for _, a := range []specs.LinuxSeccompAction{
		specs.ActKill, specs.ActKillProcess, specs.ActKillThread, specs.ActTrap,
		specs.ActErrno, specs.ActTrace, specs.ActAllow, specs.ActLog, specs.ActNotify,
	} {
		if _, err := action(a, nil); err == nil {
			s.Actions = append(s.Actions, string(a))
		}
	}
	for op := range ops {
		s.Operators = append(s.Operators, string(op))
	}
	for a := range archs {
		s.Archs = append(s.Archs, a)
	}
	for f := range specFlags {
		s.Flags = append(s.Flags, string(f))
	}
	for _, l := range [][]string{s.Operators, s.Archs, s.Flags} {
		sort.Strings(l)
	}
	return s
}

// KernelFlags lists the flags of Supported that this kernel accepts. With
// no program, seccomp(2) fails with EFAULT once the flags pass and with
// EINVAL for a flag it does not know, so nothing is installed (libseccomp
// probes the same way). WAIT_KILLABLE_RECV is only valid with a listener.
func KernelFlags() []string {
	var known []string
	for _, name := range Supported().Flags {
		bits := specFlags[specs.LinuxSeccompFlag(name)]
		if bits&flagWaitKillableRecv != 0 {
			bits |= flagNewListener
		}
		_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, bits, 0)
		if errors.Is(errno, unix.EFAULT) {
			known = append(known, name)
		}
	}
	return known
}
