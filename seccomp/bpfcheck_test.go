package seccomp

import (
	"fmt"
	"strings"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// seccompDataSize is sizeof(struct seccomp_data): nr, arch, ip, args[6].
const seccompDataSize = 64

// checkProgram applies, without a kernel, the rules the kernel checks
// before it accepts a seccomp filter (the classic-BPF checker and
// seccomp's own list of permitted instructions). A program that fails them
// would be refused with EINVAL at install time, inside the container's
// init, far from the profile that caused it. Scratch-memory instructions,
// which the kernel allows after a data-flow check, are refused outright:
// the compiler never emits them, and this check does not model that flow.
func checkProgram(prog []unix.SockFilter) error {
	if len(prog) == 0 || len(prog) > maxInsns {
		return fmt.Errorf("program has %d instructions, the kernel takes 1 to %d", len(prog), maxInsns)
	}
	for pc, in := range prog {
		if err := checkInstruction(in, len(prog)-pc-1); err != nil {
			return fmt.Errorf("pc %d (%#04x jt %d jf %d k %#x): %w", pc, in.Code, in.Jt, in.Jf, in.K, err)
		}
	}
	if last := prog[len(prog)-1]; last.Code&0x07 != unix.BPF_RET {
		return fmt.Errorf("the last instruction (%#04x) is not a return", last.Code)
	}
	return nil
}

// checkInstruction checks one instruction, followed by `after` more.
func checkInstruction(in unix.SockFilter, after int) error {
	const (
		alu  = unix.BPF_ALU
		jmp  = unix.BPF_JMP
		k, x = unix.BPF_K, unix.BPF_X
	)
	switch in.Code {
	case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
		if in.K >= seccompDataSize || in.K%4 != 0 {
			return fmt.Errorf("load at offset %d: not an aligned word of seccomp_data", in.K)
		}
	case unix.BPF_LD | unix.BPF_W | unix.BPF_LEN, unix.BPF_LDX | unix.BPF_W | unix.BPF_LEN,
		unix.BPF_LD | unix.BPF_IMM, unix.BPF_LDX | unix.BPF_IMM,
		unix.BPF_MISC | unix.BPF_TAX, unix.BPF_MISC | unix.BPF_TXA,
		unix.BPF_RET | k, unix.BPF_RET | unix.BPF_A,
		alu | unix.BPF_NEG,
		alu | unix.BPF_ADD | k, alu | unix.BPF_ADD | x, alu | unix.BPF_SUB | k, alu | unix.BPF_SUB | x,
		alu | unix.BPF_MUL | k, alu | unix.BPF_MUL | x, alu | unix.BPF_DIV | x,
		alu | unix.BPF_AND | k, alu | unix.BPF_AND | x, alu | unix.BPF_OR | k, alu | unix.BPF_OR | x,
		alu | unix.BPF_XOR | k, alu | unix.BPF_XOR | x, alu | unix.BPF_LSH | x, alu | unix.BPF_RSH | x:
	case alu | unix.BPF_DIV | k:
		if in.K == 0 {
			return fmt.Errorf("division by the constant 0")
		}
	case alu | unix.BPF_LSH | k, alu | unix.BPF_RSH | k:
		if in.K >= 32 {
			return fmt.Errorf("shift by %d", in.K)
		}
	case jmp | unix.BPF_JA:
		if int64(in.K) >= int64(after) {
			return fmt.Errorf("jump of %d leaves the program (%d instructions follow)", in.K, after)
		}
	case jmp | unix.BPF_JEQ | k, jmp | unix.BPF_JEQ | x, jmp | unix.BPF_JGE | k, jmp | unix.BPF_JGE | x,
		jmp | unix.BPF_JGT | k, jmp | unix.BPF_JGT | x, jmp | unix.BPF_JSET | k, jmp | unix.BPF_JSET | x:
		if int(in.Jt) >= after || int(in.Jf) >= after {
			return fmt.Errorf("branch of %d/%d leaves the program (%d instructions follow)", in.Jt, in.Jf, after)
		}
	default:
		return fmt.Errorf("opcode not permitted in a seccomp filter")
	}
	return nil
}

// knownVerdict reports whether ret is a SECCOMP_RET_* action this package
// emits; the kernel treats anything else as KILL_PROCESS.
func knownVerdict(ret uint32) bool {
	switch ret &^ retDataMask {
	case retKillProcess, retKillThread, retTrap, retErrno, retUserNotif, retTrace, retLog, retAllow:
		return true
	}
	return false
}

// disassemble lists a program one instruction a line, for failure messages.
func disassemble(prog []unix.SockFilter) string {
	var b strings.Builder
	for i, in := range prog {
		ri := bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
		fmt.Fprintf(&b, "%4d: %s\n", i, ri.Disassemble())
	}
	return b.String()
}
