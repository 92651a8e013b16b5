//go:build libseccomp

package seccomp

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// seccompData mirrors struct seccomp_data.
type seccompData struct {
	nr   uint32
	arch uint32
	ip   uint64
	args [6]uint64
}

// encode lays the data out as a kernel of the given byte order would.
func (d seccompData) encode(bo binary.ByteOrder) []byte {
	b := make([]byte, 64)
	bo.PutUint32(b[0:], d.nr)
	bo.PutUint32(b[4:], d.arch)
	bo.PutUint64(b[8:], d.ip)
	for i, a := range d.args {
		bo.PutUint64(b[16+8*i:], a)
	}
	return b
}

func byteOrderOf(audit uint32) binary.ByteOrder {
	if audit&auditLE != 0 {
		return binary.LittleEndian
	}
	return binary.BigEndian
}

// runBPF is a classic-BPF interpreter restricted to what seccomp allows and
// what both compilers emit. It returns the verdict and the number of
// instructions executed.
func runBPF(prog []unix.SockFilter, d seccompData) (uint32, int, error) {
	bo := byteOrderOf(d.arch)
	mem := d.encode(bo)
	var acc uint32
	steps := 0
	for pc := 0; pc < len(prog); pc++ {
		steps++
		in := prog[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			if in.K%4 != 0 || in.K+4 > uint32(len(mem)) {
				return 0, steps, fmt.Errorf("pc %d: bad load offset %d", pc, in.K)
			}
			acc = bo.Uint32(mem[in.K:])
		case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K:
			acc &= in.K
		case unix.BPF_JMP | unix.BPF_JA:
			pc += int(in.K)
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K,
			unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			var ok bool
			switch in.Code & 0xf0 {
			case unix.BPF_JEQ:
				ok = acc == in.K
			case unix.BPF_JGT:
				ok = acc > in.K
			case unix.BPF_JGE:
				ok = acc >= in.K
			case unix.BPF_JSET:
				ok = acc&in.K != 0
			}
			if ok {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case unix.BPF_RET | unix.BPF_K:
			return in.K, steps, nil
		default:
			return 0, steps, fmt.Errorf("pc %d: unsupported opcode %#x", pc, in.Code)
		}
	}
	return 0, steps, fmt.Errorf("fell off the end of the program")
}
