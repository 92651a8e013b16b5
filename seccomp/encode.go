package seccomp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// A compiled filter is kept beside the container's state so that every
// exec installs the program create compiled, instead of compiling the
// profile again: several milliseconds for Docker's default profile, in
// each exec a health probe runs. The encoding is the filter as Install
// uses it: a magic naming this layout, the seccomp(2) flags, whether the
// profile has notify rules, then the instructions in the kernel's
// sock_filter layout, little-endian.
const filterMagic = "oci-rt seccomp 1"

// maxInstructions is the kernel's BPF_MAXINSNS: no longer program installs.
const maxInstructions = 4096

const headerSize = len(filterMagic) + 8 + 1

// MarshalBinary encodes the filter for UnmarshalFilter.
func (f *Filter) MarshalBinary() ([]byte, error) {
	buf := make([]byte, 0, headerSize+8*len(f.prog))
	buf = append(buf, filterMagic...)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(f.flags))
	notify := byte(0)
	if f.notify {
		notify = 1
	}
	buf = append(buf, notify)
	for _, ins := range f.prog {
		buf = binary.LittleEndian.AppendUint16(buf, ins.Code)
		buf = append(buf, ins.Jt, ins.Jf)
		buf = binary.LittleEndian.AppendUint32(buf, ins.K)
	}
	return buf, nil
}

// UnmarshalFilter decodes what MarshalBinary wrote and refuses anything
// else: another layout, a cut or padded program, an impossible length.
func UnmarshalFilter(data []byte) (*Filter, error) {
	if !bytes.HasPrefix(data, []byte(filterMagic)) {
		return nil, errors.New("seccomp: not a compiled filter of this version")
	}
	if len(data) < headerSize || (len(data)-headerSize)%8 != 0 {
		return nil, fmt.Errorf("seccomp: compiled filter of %d bytes is cut short", len(data))
	}
	n := (len(data) - headerSize) / 8
	if n == 0 || n > maxInstructions {
		return nil, fmt.Errorf("seccomp: compiled filter has %d instructions (1 to %d)", n, maxInstructions)
	}
	rest := data[len(filterMagic):]
	f := &Filter{flags: uintptr(binary.LittleEndian.Uint64(rest)), prog: make([]unix.SockFilter, n)}
	switch rest[8] {
	case 0:
	case 1:
		f.notify = true
	default:
		return nil, fmt.Errorf("seccomp: compiled filter has a bad notify byte %d", rest[8])
	}
	rest = rest[9:]
	for i := range f.prog {
		f.prog[i] = unix.SockFilter{Code: binary.LittleEndian.Uint16(rest), Jt: rest[2], Jf: rest[3], K: binary.LittleEndian.Uint32(rest[4:])}
		rest = rest[8:]
	}
	return f, nil
}

// Notifies tells whether the profile has notify rules: installing the
// filter then yields a listener, which must reach the agent.
func (f *Filter) Notifies() bool { return f.notify }
