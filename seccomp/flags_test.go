package seccomp

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// WAIT_KILLABLE_RECV is refused by the kernel (EINVAL) without
// NEW_LISTENER: a profile listing it with no notify rule must still load,
// as it does through libseccomp.
func TestWaitKillableRecvOnlyWithListener(t *testing.T) {
	profile := func(action specs.LinuxSeccompAction) *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			ListenerPath:  "/run/seccomp-agent.sock",
			Flags:         []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv},
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"getcpu"}, Action: action}},
		}
	}
	cases := []struct {
		action specs.LinuxSeccompAction
		want   uintptr
	}{
		{specs.ActErrno, 0},
		{specs.ActNotify, flagNewListener | flagWaitKillableRecv},
	}
	for _, c := range cases {
		f, err := Compile(profile(c.action))
		if err != nil {
			t.Fatalf("%s: %v", c.action, err)
		}
		if got := f.Flags(); got != c.want {
			t.Errorf("%s rule: flags %#x, want %#x", c.action, got, c.want)
		}
	}
}
