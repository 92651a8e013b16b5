package devices

import (
	"encoding/binary"
	"fmt"
)

// The device filter needs a dozen eBPF instruction forms and a handful of
// bpf(2) commands. They are written here rather than taken from
// github.com/cilium/ebpf because every process of the runtime, the
// container's init included, would pay for linking that library at start:
// its package inits and the code they touch cost about 1 ms of CPU and 45
// page faults per process start on the development host, on every command,
// whether or not it ever filters a device. The tests check this encoder
// against the library's, byte for byte.

// Registers of the eBPF machine the filter uses.
const (
	r0 uint8 = iota
	r1
	r2
	r3
	r4
	r5
	r6
)

// Opcode parts (linux/bpf_common.h, linux/bpf.h).
const (
	classLDX   = 0x01
	classALU   = 0x04
	classJMP   = 0x05
	classJMP32 = 0x06

	sizeWord = 0x00
	modeMem  = 0x60

	srcImm = 0x00
	srcReg = 0x08

	aluAnd = 0x50
	aluRsh = 0x70
	aluMov = 0xb0

	jumpAlways     = 0x00
	jumpIfEqual    = 0x10
	jumpIfNotEqual = 0x50
	jumpExit       = 0x90
)

// instructionSize is the size of one encoded instruction.
const instructionSize = 8

// instruction is one eBPF instruction; target, when set, names the label
// a jump goes to, resolved into offset by assemble.
type instruction struct {
	opcode   uint8
	dst, src uint8
	offset   int16
	imm      int32
	target   string
}

// assembler collects instructions and the labels that name positions in
// them.
type assembler struct {
	insns  []instruction
	labels map[string]int
}

func (a *assembler) emit(ins instruction) { a.insns = append(a.insns, ins) }

// label names the position of the next instruction.
func (a *assembler) label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	a.labels[name] = len(a.insns)
}

// loadWord: dst = *(u32 *)(src + offset).
func (a *assembler) loadWord(dst, src uint8, offset int16) {
	a.emit(instruction{opcode: classLDX | modeMem | sizeWord, dst: dst, src: src, offset: offset})
}

// movReg32: dst = (u32)src.
func (a *assembler) movReg32(dst, src uint8) {
	a.emit(instruction{opcode: classALU | aluMov | srcReg, dst: dst, src: src})
}

// movImm32: dst = (u32)imm.
func (a *assembler) movImm32(dst uint8, imm int32) {
	a.emit(instruction{opcode: classALU | aluMov | srcImm, dst: dst, imm: imm})
}

// rshImm32: dst = (u32)dst >> imm.
func (a *assembler) rshImm32(dst uint8, imm int32) {
	a.emit(instruction{opcode: classALU | aluRsh | srcImm, dst: dst, imm: imm})
}

// andImm32: dst = (u32)dst & imm.
func (a *assembler) andImm32(dst uint8, imm int32) {
	a.emit(instruction{opcode: classALU | aluAnd | srcImm, dst: dst, imm: imm})
}

// jumpImm32 jumps to target when (u32)dst compares to imm as op says.
func (a *assembler) jumpImm32(op uint8, dst uint8, imm int32, target string) {
	a.emit(instruction{opcode: classJMP32 | op | srcImm, dst: dst, imm: imm, target: target})
}

// jump jumps to target.
func (a *assembler) jump(target string) {
	a.emit(instruction{opcode: classJMP | jumpAlways, target: target})
}

// exit returns r0.
func (a *assembler) exit() {
	a.emit(instruction{opcode: classJMP | jumpExit})
}

// assemble encodes the instructions in the kernel's layout and byte order
// (the host's), with every jump resolved.
func (a *assembler) assemble() ([]byte, error) {
	order := nativeByteOrder()
	out := make([]byte, 0, len(a.insns)*instructionSize)
	for i, ins := range a.insns {
		if ins.target != "" {
			to, ok := a.labels[ins.target]
			if !ok {
				return nil, fmt.Errorf("jump to undefined label %q", ins.target)
			}
			ins.offset = int16(to - i - 1)
		}
		regs := ins.src<<4 | ins.dst
		if order == binary.AppendByteOrder(binary.BigEndian) {
			regs = ins.dst<<4 | ins.src
		}
		out = append(out, ins.opcode, regs)
		out = order.AppendUint16(out, uint16(ins.offset))
		out = order.AppendUint32(out, uint32(ins.imm))
	}
	return out, nil
}
