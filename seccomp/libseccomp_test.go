//go:build libseccomp

package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// This file is the reference side of the differential tests: the profile is
// loaded into libseccomp the way runc does it, and runc's ENOSYS stub is
// modelled from libseccomp's own syscall tables.

func libAction(a specs.LinuxSeccompAction, errnoRet *uint) libseccomp.ScmpAction {
	code := int16(unix.EPERM)
	if errnoRet != nil {
		code = int16(*errnoRet)
	}
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return libseccomp.ActKillThread
	case specs.ActKillProcess:
		return libseccomp.ActKillProcess
	case specs.ActTrap:
		return libseccomp.ActTrap
	case specs.ActErrno:
		return libseccomp.ActErrno.SetReturnCode(code)
	case specs.ActTrace:
		return libseccomp.ActTrace.SetReturnCode(code)
	case specs.ActAllow:
		return libseccomp.ActAllow
	case specs.ActLog:
		return libseccomp.ActLog
	case specs.ActNotify:
		return libseccomp.ActNotify
	}
	panic("unknown action " + a)
}

var libOps = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual: libseccomp.CompareNotEqual, specs.OpLessThan: libseccomp.CompareLess,
	specs.OpLessEqual: libseccomp.CompareLessOrEqual, specs.OpEqualTo: libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual, specs.OpGreaterThan: libseccomp.CompareGreater,
	specs.OpMaskedEqual: libseccomp.CompareMaskedEqual,
}

// libseccompFilter builds the profile like runc's InitSeccomp for the
// architectures arches (the first one playing the native role).
func libseccompFilter(cfg *specs.LinuxSeccomp, arches []string, optimize bool) (*libseccomp.ScmpFilter, error) {
	def := libAction(cfg.DefaultAction, cfg.DefaultErrnoRet)
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, err
	}
	// The native ABI goes first when another plays its role: libseccomp
	// refuses (EDOM) to mix byte orders in one filter.
	if nat, _ := libseccomp.GetNativeArch(); nat.String() != mustLibArch(arches[0]).String() {
		if err := f.RemoveArch(nat); err != nil {
			return nil, err
		}
	}
	for _, a := range arches {
		sa := mustLibArch(a)
		if err := f.AddArch(sa); err != nil {
			return nil, err
		}
	}
	if optimize && len(cfg.Syscalls) > 32 {
		if err := f.SetOptimize(2); err != nil {
			return nil, err
		}
	}
	if err := f.SetNoNewPrivsBit(false); err != nil {
		return nil, err
	}
	for _, sc := range cfg.Syscalls {
		act := libAction(sc.Action, sc.ErrnoRet)
		if act == def {
			continue
		}
		var conds []libseccomp.ScmpCondition
		perArg := map[uint]int{}
		for _, a := range sc.Args {
			c, err := libseccomp.MakeCondition(a.Index, libOps[a.Op], a.Value, a.ValueTwo)
			if err != nil {
				return nil, err
			}
			perArg[a.Index]++
			conds = append(conds, c)
		}
		split := false
		for _, n := range perArg {
			split = split || n > 1
		}
		for _, name := range sc.Names {
			nr, err := libseccomp.GetSyscallFromName(name)
			if err != nil {
				continue
			}
			switch {
			case len(conds) == 0:
				err = f.AddRule(nr, act)
			case split:
				for _, c := range conds {
					if err = f.AddRuleConditional(nr, act, []libseccomp.ScmpCondition{c}); err != nil {
						break
					}
				}
			default:
				err = f.AddRuleConditional(nr, act, conds)
			}
			if err != nil {
				return nil, fmt.Errorf("libseccomp: syscall %q: %w", name, err)
			}
		}
	}
	return f, nil
}

func mustLibArch(a string) libseccomp.ScmpArch {
	sa, err := libseccomp.GetArchFromString(strings.ToLower(strings.TrimPrefix(a, "SCMP_ARCH_")))
	if err != nil {
		panic(err)
	}
	return sa
}

// exportBPF returns f's program, which libseccomp writes in the byte order
// of the filter's ABIs (big-endian for a MIPS or PPC64 filter).
func exportBPF(f *libseccomp.ScmpFilter, bo binary.ByteOrder) ([]unix.SockFilter, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		done <- b
	}()
	err = f.ExportBPF(w)
	w.Close()
	raw := <-done
	if err != nil {
		return nil, err
	}
	if len(raw)%8 != 0 {
		return nil, errors.New("truncated BPF export")
	}
	prog := make([]unix.SockFilter, len(raw)/8)
	for i := range prog {
		b := raw[8*i:]
		prog[i] = unix.SockFilter{
			Code: bo.Uint16(b), Jt: b[2], Jf: b[3],
			K: bo.Uint32(b[4:]),
		}
	}
	return prog, nil
}

// runcStub models runc's patchbpf ENOSYS stub: per ABI, the largest syscall
// number any profile entry names, resolved through libseccomp.
type runcStub struct {
	enabled bool
	max     map[string]uint32
}

func newRuncStub(cfg *specs.LinuxSeccomp, arches []string) runcStub {
	s := runcStub{enabled: !isPermissive(cfg.DefaultAction), max: map[string]uint32{}}
	for _, a := range arches {
		var m int32
		for _, sc := range cfg.Syscalls {
			for _, name := range sc.Names {
				nr, err := libseccomp.GetSyscallFromNameByArch(name, mustLibArch(a))
				if err == nil && int32(nr) > m {
					m = int32(nr)
				}
			}
		}
		if m > 0 {
			s.max[a] = uint32(m)
		}
	}
	return s
}

// verdict returns the stub's answer for d, if it gives one.
func (s runcStub) verdict(d seccompData) (uint32, bool) {
	if !s.enabled {
		return 0, false
	}
	var abi string
	for a := range s.max {
		if archs[a].audit != d.arch {
			continue
		}
		switch a {
		case "SCMP_ARCH_X86_64":
			if d.nr&x32Bit != 0 {
				continue
			}
		case "SCMP_ARCH_X32":
			if d.nr&x32Bit == 0 {
				continue
			}
		}
		abi = a
	}
	if abi == "" {
		return 0, false
	}
	enosys := uint32(retErrno | unix.ENOSYS)
	if archs[abi].enosysZero && d.nr == 0 {
		return enosys, true
	}
	if d.nr > s.max[abi] {
		return enosys, true
	}
	return 0, false
}

func libseccompNr(name, arch string) (int32, error) {
	nr, err := libseccomp.GetSyscallFromNameByArch(name, mustLibArch(arch))
	return int32(nr), err
}
