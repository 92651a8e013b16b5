package cgroups

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"runtime"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Access bits and device types as the kernel passes them to a
// BPF_PROG_TYPE_CGROUP_DEVICE program in struct bpf_cgroup_dev_ctx:
// access_type = access<<16 | type, then major, then minor (all u32).
const (
	accMknod = 1
	accRead  = 2
	accWrite = 4

	devBlock = 1
	devChar  = 2
)

// deviceRule is a validated linux.resources.devices entry; -1 is a wildcard
// major/minor, typ 0 matches every device type.
type deviceRule struct {
	allow        bool
	typ          uint32
	major, minor int64
	access       uint32
}

func (r deviceRule) String() string {
	t := map[uint32]string{0: "a", devBlock: "b", devChar: "c"}[r.typ]
	num := func(n int64) string {
		if n < 0 {
			return "*"
		}
		return fmt.Sprint(n)
	}
	acc := ""
	for _, a := range []struct {
		bit uint32
		c   string
	}{{accRead, "r"}, {accWrite, "w"}, {accMknod, "m"}} {
		if r.access&a.bit != 0 {
			acc += a.c
		}
	}
	verb := "deny"
	if r.allow {
		verb = "allow"
	}
	return fmt.Sprintf("%s %s %s:%s %s", verb, t, num(r.major), num(r.minor), acc)
}

func parseDeviceRules(in []specs.LinuxDeviceCgroup) ([]deviceRule, error) {
	out := make([]deviceRule, 0, len(in))
	for i, d := range in {
		r := deviceRule{allow: d.Allow, major: -1, minor: -1}
		switch d.Type {
		case "", "a":
		case "b":
			r.typ = devBlock
		case "c":
			r.typ = devChar
		default:
			return nil, fmt.Errorf("device rule %d: type %q is not a, b or c", i, d.Type)
		}
		for _, n := range []struct {
			p   *int64
			dst *int64
		}{{d.Major, &r.major}, {d.Minor, &r.minor}} {
			if n.p == nil || *n.p == -1 {
				continue
			}
			if *n.p < 0 || *n.p > math.MaxUint32 {
				return nil, fmt.Errorf("device rule %d: device number %d out of range", i, *n.p)
			}
			*n.dst = *n.p
		}
		access := d.Access
		// As in the v1 devices.allow syntax, no access letters means all of them.
		if access == "" {
			access = "rwm"
		}
		for _, c := range access {
			switch c {
			case 'r':
				r.access |= accRead
			case 'w':
				r.access |= accWrite
			case 'm':
				r.access |= accMknod
			default:
				return nil, fmt.Errorf("device rule %d: access %q is not a combination of r, w and m", i, d.Access)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

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

func loadDeviceFilter(rules []specs.LinuxDeviceCgroup) (*ebpf.Program, error) {
	parsed, err := parseDeviceRules(rules)
	if err != nil {
		return nil, err
	}
	insns := compileDeviceFilter(parsed)
	prog, err := loadDeviceProgram(insns)
	if err == nil {
		return prog, nil
	}
	// The kernel refused it: load it again through the library, whose
	// error carries the verifier's log.
	if prog, err = ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         deviceProgramName,
		Type:         ebpf.CGroupDevice,
		Instructions: insns,
		License:      deviceProgramLicense,
	}); err != nil {
		return nil, fmt.Errorf("load device filter: %w", err)
	}
	return prog, nil
}

const (
	deviceProgramName    = "oci_rt_devices"
	deviceProgramLicense = "Apache-2.0"
)

// nativeByteOrder is the order the kernel reads instructions in: ours.
func nativeByteOrder() binary.ByteOrder {
	one := uint16(1)
	if *(*byte)(unsafe.Pointer(&one)) == 1 {
		return binary.LittleEndian
	}
	return binary.BigEndian
}

// progLoadAttr is the head of the kernel's union bpf_attr for
// BPF_PROG_LOAD, up to expected_attach_type; the kernel zero-extends a
// shorter attr.
type progLoadAttr struct {
	progType           uint32
	insnCnt            uint32
	insns              uint64
	license            uint64
	logLevel           uint32
	logSize            uint32
	logBuf             uint64
	kernVersion        uint32
	progFlags          uint32
	progName           [unix.BPF_OBJ_NAME_LEN]byte
	progIfindex        uint32
	expectedAttachType uint32
}

// loadDeviceProgram loads insns with a single bpf(BPF_PROG_LOAD). The
// library's loader first probes the kernel, in every new process, for
// object names (two maps) and BTF line info (a program), none of which a
// device program uses: names came with the program type (Linux 4.15), and
// it has no BTF. Those probes and the library's first-use work cost each
// create about as much as loading the program itself.
func loadDeviceProgram(insns asm.Instructions) (*ebpf.Program, error) {
	var code bytes.Buffer
	if err := insns.Marshal(&code, nativeByteOrder()); err != nil {
		return nil, fmt.Errorf("load device filter: %w", err)
	}
	bytecode := code.Bytes()
	license := []byte(deviceProgramLicense + "\x00")
	attr := progLoadAttr{
		progType: unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		insnCnt:  uint32(len(bytecode) / asm.InstructionSize),
		insns:    uint64(uintptr(unsafe.Pointer(&bytecode[0]))),
		license:  uint64(uintptr(unsafe.Pointer(&license[0]))),
	}
	copy(attr.progName[:], deviceProgramName)
	fd, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(bytecode)
	runtime.KeepAlive(license)
	if errno != 0 {
		return nil, fmt.Errorf("load device filter: %w", errno)
	}
	// The library owns the fd from here, and closes it on error.
	prog, err := ebpf.NewProgramFromFD(int(fd))
	if err != nil {
		return nil, fmt.Errorf("load device filter: %w", err)
	}
	return prog, nil
}

// SetDevices installs a device filter built from rules on the cgroup and
// removes every device program that was attached to it before. The new
// program is attached first (BPF_F_ALLOW_MULTI: while both are attached a
// request must pass both), so at no moment is the cgroup unfiltered. The
// previous programs are found by asking the kernel, so any later process
// (e.g. a separate `update` invocation) can replace them.
func (m *Unified) SetDevices(rules []specs.LinuxDeviceCgroup) error {
	prog, err := loadDeviceFilter(rules)
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", m.path, err)
	}
	defer prog.Close()
	dir, err := m.OpenDir()
	if err != nil {
		return err
	}
	defer dir.Close()
	target := int(dir.Fd())
	old, err := link.QueryPrograms(link.QueryOptions{Target: target, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		return fmt.Errorf("cgroup %s: query device programs: %w", m.path, err)
	}
	err = link.RawAttachProgram(link.RawAttachProgramOptions{
		Target:  target,
		Program: prog,
		Attach:  ebpf.AttachCGroupDevice,
		Flags:   unix.BPF_F_ALLOW_MULTI,
	})
	if err != nil {
		return fmt.Errorf("cgroup %s: attach device filter: %w", m.path, err)
	}
	for _, ap := range old.Programs {
		if err := detachDeviceProgram(target, ap.ID); err != nil {
			return fmt.Errorf("cgroup %s: detach old device filter %d: %w", m.path, ap.ID, err)
		}
	}
	return nil
}

func detachDeviceProgram(target int, id ebpf.ProgramID) error {
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

// DeviceFilterIDs lists the device programs attached to the cgroup itself.
func (m *Unified) DeviceFilterIDs() ([]ebpf.ProgramID, error) {
	dir, err := m.OpenDir()
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	res, err := link.QueryPrograms(link.QueryOptions{Target: int(dir.Fd()), Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: query device programs: %w", m.path, err)
	}
	ids := make([]ebpf.ProgramID, len(res.Programs))
	for i, p := range res.Programs {
		ids[i] = p.ID
	}
	return ids, nil
}

// DefaultAllowedDevices returns the rules every container gets on top of its
// configuration, as runc does: mknod of any device node (access to it is
// still filtered), and the standard nodes /dev/null, zero, full, random,
// urandom, tty, console, ptmx and /dev/pts/*. Append them after the
// configuration's rules (the last matching rule wins, so they cannot be
// denied by accident). Each call returns a fresh slice.
func DefaultAllowedDevices() []specs.LinuxDeviceCgroup {
	dev := func(typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
		d := specs.LinuxDeviceCgroup{Allow: true, Type: typ, Access: access}
		if major >= 0 {
			d.Major = &major
		}
		if minor >= 0 {
			d.Minor = &minor
		}
		return d
	}
	return []specs.LinuxDeviceCgroup{
		dev("c", -1, -1, "m"),
		dev("b", -1, -1, "m"),
		dev("c", 1, 3, "rwm"),    // /dev/null
		dev("c", 1, 5, "rwm"),    // /dev/zero
		dev("c", 1, 7, "rwm"),    // /dev/full
		dev("c", 1, 8, "rwm"),    // /dev/random
		dev("c", 1, 9, "rwm"),    // /dev/urandom
		dev("c", 5, 0, "rwm"),    // /dev/tty
		dev("c", 5, 1, "rwm"),    // /dev/console
		dev("c", 5, 2, "rwm"),    // /dev/ptmx
		dev("c", 136, -1, "rwm"), // /dev/pts/*
	}
}
