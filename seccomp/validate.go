// Package seccomp compiles runtime-spec seccomp profiles into classic BPF
// programs without libseccomp, installs them, and hands notify listeners
// to seccomp agents.
package seccomp

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// SECCOMP_RET_* values (linux/seccomp.h).
const (
	retKillProcess = 0x80000000
	retKillThread  = 0x00000000
	retTrap        = 0x00030000
	retErrno       = 0x00050000
	retUserNotif   = 0x7fc00000
	retTrace       = 0x7ff00000
	retLog         = 0x7ffc0000
	retAllow       = 0x7fff0000
	retDataMask    = 0x0000ffff
)

// seccomp(2) filter flags.
const (
	flagTsync            = 1 << 0
	flagLog              = 1 << 1
	flagSpecAllow        = 1 << 2
	flagNewListener      = 1 << 3
	flagTsyncESRCH       = 1 << 4
	flagWaitKillableRecv = 1 << 5
)

var specFlags = map[specs.LinuxSeccompFlag]uintptr{
	"SECCOMP_FILTER_FLAG_TSYNC":            flagTsync,
	specs.LinuxSeccompFlagLog:              flagLog,
	specs.LinuxSeccompFlagSpecAllow:        flagSpecAllow,
	specs.LinuxSeccompFlagWaitKillableRecv: flagWaitKillableRecv,
}

// action returns the SECCOMP_RET_* value runc's libseccomp setup would use.
// ERRNO and TRACE default their data to EPERM as runc does.
func action(a specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	data := uint32(unix.EPERM)
	if errnoRet != nil {
		if *errnoRet > retDataMask {
			return 0, fmt.Errorf("errnoRet %d does not fit in 16 bits", *errnoRet)
		}
		data = uint32(*errnoRet)
	}
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return retKillThread, nil
	case specs.ActKillProcess:
		return retKillProcess, nil
	case specs.ActTrap:
		return retTrap, nil
	case specs.ActErrno:
		return retErrno | data, nil
	case specs.ActTrace:
		return retTrace | data, nil
	case specs.ActAllow:
		return retAllow, nil
	case specs.ActLog:
		return retLog, nil
	case specs.ActNotify:
		return retUserNotif, nil
	}
	return 0, fmt.Errorf("unknown action %q", a)
}

var ops = map[specs.LinuxSeccompOperator]bool{
	specs.OpNotEqual: true, specs.OpLessThan: true, specs.OpLessEqual: true,
	specs.OpEqualTo: true, specs.OpGreaterEqual: true, specs.OpGreaterThan: true,
	specs.OpMaskedEqual: true,
}

// Validate checks a profile for values Compile would reject, cheaply enough
// for create time. A nil profile is valid (no filter).
func Validate(cfg *specs.LinuxSeccomp) error {
	if cfg == nil {
		return nil
	}
	if _, err := action(cfg.DefaultAction, cfg.DefaultErrnoRet); err != nil {
		return fmt.Errorf("seccomp: defaultAction: %w", err)
	}
	// The listener would only exist after the filter already intercepts
	// every syscall the runtime needs to hand it over.
	if cfg.DefaultAction == specs.ActNotify {
		return errors.New("seccomp: defaultAction SCMP_ACT_NOTIFY is not supported")
	}
	for _, a := range cfg.Architectures {
		if _, ok := archs[string(a)]; ok {
			continue
		}
		if specOnlyArchs[string(a)] {
			return fmt.Errorf("seccomp: architecture %q: no syscall table", a)
		}
		return fmt.Errorf("seccomp: unknown architecture %q", a)
	}
	for _, f := range cfg.Flags {
		if _, ok := specFlags[f]; !ok {
			return fmt.Errorf("seccomp: unknown flag %q", f)
		}
	}
	for i, sc := range cfg.Syscalls {
		if _, err := action(sc.Action, sc.ErrnoRet); err != nil {
			return fmt.Errorf("seccomp: syscalls[%d] %q: %w", i, sc.Names, err)
		}
		if len(sc.Names) == 0 {
			return fmt.Errorf("seccomp: syscalls[%d]: no names", i)
		}
		for _, n := range sc.Names {
			if n == "" {
				return fmt.Errorf("seccomp: syscalls[%d]: empty syscall name", i)
			}
			// The runtime itself writes to its sync pipe after installing
			// the filter and before the agent could answer.
			if n == "write" && sc.Action == specs.ActNotify {
				return errors.New(`seccomp: syscall "write": SCMP_ACT_NOTIFY is not supported for write`)
			}
		}
		for _, a := range sc.Args {
			if a.Index >= 6 {
				return fmt.Errorf("seccomp: syscall %q: argument index %d out of range", sc.Names[0], a.Index)
			}
			if !ops[a.Op] {
				return fmt.Errorf("seccomp: syscall %q: unknown operator %q", sc.Names[0], a.Op)
			}
		}
	}
	// Without an agent to hand the listener to, every notifying syscall
	// would block forever: refused at create, in runc's words.
	if cfg.ListenerPath == "" && UsesNotify(cfg) {
		return errors.New("seccomp: SCMP_ACT_NOTIFY is used but listenerPath is not set")
	}
	if cfg.ListenerPath != "" && len(cfg.ListenerPath) >= len(unix.RawSockaddrUnix{}.Path) {
		return fmt.Errorf("seccomp: listenerPath %q is too long for a unix socket", cfg.ListenerPath)
	}
	return nil
}

// UsesNotify reports whether any rule of the profile notifies an agent.
func UsesNotify(cfg *specs.LinuxSeccomp) bool {
	for _, sc := range cfg.Syscalls {
		if sc.Action == specs.ActNotify {
			return true
		}
	}
	return cfg.DefaultAction == specs.ActNotify
}
