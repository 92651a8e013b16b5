package seccomp

import (
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
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
