package devices

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// compileDeviceFilter builds the program. Semantics (runc's): rules are
// considered in order and the last rule that matches decides; a request
// matched by no rule is denied. A request may carry several access bits
// (open O_RDWR asks for read and write at once); each bit is decided on its
// own, and the request is allowed only if every bit is. So "allow c 1:3 rwm"
// followed by "deny c 1:3 w" permits reading /dev/null but not opening it
// read-write.
//
// Layout, for each access bit: skip the block if the bit is not requested;
// walk the rules that mention the bit from last to first, a matching allow
// jumps to the next bit, a matching deny returns 0; falling through returns 0.
// After all bits, return 1.
func compileDeviceFilter(rules []deviceRule) asm.Instructions {
	const (
		rType   = asm.R2
		rAccess = asm.R3
		rMajor  = asm.R4
		rMinor  = asm.R5
		rTmp    = asm.R6
	)
	insns := asm.Instructions{
		asm.LoadMem(rType, asm.R1, 0, asm.Word),
		asm.Mov.Reg32(rAccess, rType),
		asm.RSh.Imm32(rAccess, 16),
		asm.And.Imm32(rType, 0xffff),
		asm.LoadMem(rMajor, asm.R1, 4, asm.Word),
		asm.LoadMem(rMinor, asm.R1, 8, asm.Word),
	}
	// The verifier rejects unreachable instructions, and jump targets are
	// symbols on the next emitted instruction, so labels are attached lazily.
	pending := ""
	emit := func(ins asm.Instruction) {
		if pending != "" {
			ins = ins.WithSymbol(pending)
			pending = ""
		}
		insns = append(insns, ins)
	}
	for _, bit := range []uint32{accMknod, accRead, accWrite} {
		bitDone := fmt.Sprintf("bit%d_done", bit)
		emit(asm.Mov.Reg32(rTmp, rAccess))
		emit(asm.And.Imm32(rTmp, int32(bit)))
		emit(asm.JEq.Imm32(rTmp, 0, bitDone))
		decided := false
		for i := len(rules) - 1; i >= 0 && !decided; i-- {
			r := rules[i]
			if r.access&bit == 0 {
				continue
			}
			next := fmt.Sprintf("bit%d_rule%d_next", bit, i)
			conditional := false
			cond := func(reg asm.Register, v int64) {
				emit(asm.JNE.Imm32(reg, int32(uint32(v)), next))
				conditional = true
			}
			if r.typ != 0 {
				cond(rType, int64(r.typ))
			}
			if r.major >= 0 {
				cond(rMajor, r.major)
			}
			if r.minor >= 0 {
				cond(rMinor, r.minor)
			}
			if r.allow {
				emit(asm.Ja.Label(bitDone))
			} else {
				emit(asm.Mov.Imm32(asm.R0, 0))
				emit(asm.Return())
			}
			if conditional {
				pending = next
			} else {
				// Every request reaches this rule, so earlier ones are dead.
				decided = true
			}
		}
		if !decided {
			emit(asm.Mov.Imm32(asm.R0, 0))
			emit(asm.Return())
		}
		pending = bitDone
	}
	emit(asm.Mov.Imm32(asm.R0, 1))
	emit(asm.Return())
	return insns
}

// LoadFilter compiles rules into a device program and loads it into the
// kernel; the caller attaches it (Attach) and closes it.
func LoadFilter(rules []specs.LinuxDeviceCgroup) (*ebpf.Program, error) {
	parsed, err := parseDeviceRules(rules)
	if err != nil {
		return nil, err
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "oci_rt_devices",
		Type:         ebpf.CGroupDevice,
		Instructions: compileDeviceFilter(parsed),
		License:      "Apache-2.0",
	})
	if err != nil {
		return nil, fmt.Errorf("load device filter: %w", err)
	}
	return prog, nil
}

// Attach installs prog on the cgroup whose directory is open as cgroupDir
// and removes every device program that was attached to it before. The
// new program is attached first (BPF_F_ALLOW_MULTI: while both are
// attached a request must pass both), so at no moment is the cgroup
// unfiltered. The previous programs are found by asking the kernel, so
// any later process (e.g. a separate `update` invocation) can replace them.
func Attach(cgroupDir int, prog *ebpf.Program) error {
	old, err := link.QueryPrograms(link.QueryOptions{Target: cgroupDir, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		return fmt.Errorf("query device programs: %w", err)
	}
	err = link.RawAttachProgram(link.RawAttachProgramOptions{
		Target:  cgroupDir,
		Program: prog,
		Attach:  ebpf.AttachCGroupDevice,
		Flags:   unix.BPF_F_ALLOW_MULTI,
	})
	if err != nil {
		return fmt.Errorf("attach device filter: %w", err)
	}
	for _, ap := range old.Programs {
		if err := detachProgram(cgroupDir, ap.ID); err != nil {
			return fmt.Errorf("detach old device filter %d: %w", ap.ID, err)
		}
	}
	return nil
}

func detachProgram(target int, id ebpf.ProgramID) error {
	p, err := ebpf.NewProgramFromID(id)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // detached and freed by someone else meanwhile
	}
	if err != nil {
		return err
	}
	defer p.Close()
	return link.RawDetachProgram(link.RawDetachProgramOptions{
		Target:  target,
		Program: p,
		Attach:  ebpf.AttachCGroupDevice,
	})
}

// Attached lists the device programs attached to the cgroup itself.
func Attached(cgroupDir int) ([]ebpf.ProgramID, error) {
	res, err := link.QueryPrograms(link.QueryOptions{Target: cgroupDir, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		return nil, fmt.Errorf("query device programs: %w", err)
	}
	ids := make([]ebpf.ProgramID, len(res.Programs))
	for i, p := range res.Programs {
		ids[i] = p.ID
	}
	return ids, nil
}

// FilterSupported tells whether the kernel runs BPF_PROG_TYPE_CGROUP_DEVICE
// programs.
func FilterSupported() bool {
	return features.HaveProgramType(ebpf.CGroupDevice) == nil
}
