package seccomp

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Classic BPF opcodes (linux/filter.h) used by the generated programs.
const (
	opLdAbsW = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	opAndK   = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
	opJa     = unix.BPF_JMP | unix.BPF_JA
	opJeq    = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	opJgt    = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
	opJge    = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	opRetK   = unix.BPF_RET | unix.BPF_K

	// BPF_MAXINSNS: the kernel refuses longer programs.
	maxInsns = 4096
)

type label int

// item is an instruction whose jump targets are labels, or (mark >= 0) the
// position of a label. Conditional jumps name both targets explicitly so
// that trampolines can be inserted after them without changing meaning.
type item struct {
	code   uint16
	k      uint32
	jt, jf label
	mark   label
}

type asm struct {
	items  []item
	labels int
}

func (a *asm) newLabel() label { a.labels++; return label(a.labels) }

func (a *asm) mark(l label) { a.items = append(a.items, item{mark: l}) }

func (a *asm) op(code uint16, k uint32) {
	a.items = append(a.items, item{code: code, k: k, mark: -1})
}

func (a *asm) jump(code uint16, k uint32, jt, jf label) {
	a.items = append(a.items, item{code: code, k: k, jt: jt, jf: jf, mark: -1})
}

func (a *asm) ret(k uint32) { a.op(opRetK, k) }

func isCond(code uint16) bool {
	return code&0x07 == unix.BPF_JMP && code&0xf0 != unix.BPF_JA
}

// assemble resolves labels. A conditional jump reaches at most 255
// instructions ahead; a farther target gets an unconditional "ja"
// trampoline placed right behind the jump, which costs one instruction on
// that path only. Inserting trampolines moves code, so repeat until stable.
func (a *asm) assemble() ([]unix.SockFilter, error) {
	for {
		pos := make(map[label]int, a.labels)
		n := 0
		for _, it := range a.items {
			if it.mark >= 0 {
				pos[it.mark] = n
			} else {
				n++
			}
		}
		var out []item
		far := false
		pc := 0
		for _, it := range a.items {
			out = append(out, it)
			if it.mark >= 0 {
				continue
			}
			if isCond(it.code) {
				for _, t := range []*label{&it.jt, &it.jf} {
					if pos[*t]-(pc+1) > 255 {
						far = true
						tl := a.newLabel()
						orig := *t
						*t = tl
						out[len(out)-1] = it
						out = append(out, item{mark: tl}, item{code: opJa, jt: orig, mark: -1})
					}
				}
			}
			pc++
		}
		a.items = out
		if far {
			continue
		}
		prog := make([]unix.SockFilter, 0, n)
		for _, it := range a.items {
			if it.mark >= 0 {
				continue
			}
			ins := unix.SockFilter{Code: it.code, K: it.k}
			here := len(prog) + 1
			switch {
			case it.code == opJa:
				ins.K = uint32(pos[it.jt] - here)
			case isCond(it.code):
				ins.Jt = uint8(pos[it.jt] - here)
				ins.Jf = uint8(pos[it.jf] - here)
			}
			prog = append(prog, ins)
		}
		if len(prog) > maxInsns {
			return nil, fmt.Errorf("seccomp: program has %d instructions, the kernel allows %d", len(prog), maxInsns)
		}
		return prog, nil
	}
}
