package devices

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"unsafe"

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

// LoadFilter compiles rules into a device program and returns it loaded,
// shared with the other cgroups whose rules compile to the same program
// where a bpffs allows (see sharedFilterDir); the caller attaches it
// (Attach) and closes it.
func LoadFilter(rules []specs.LinuxDeviceCgroup) (*ebpf.Program, error) {
	return sharedFilters.loadRules(rules)
}

func (l filterLoader) loadRules(rules []specs.LinuxDeviceCgroup) (*ebpf.Program, error) {
	parsed, err := parseDeviceRules(rules)
	if err != nil {
		return nil, err
	}
	return l.load(compileDeviceFilter(parsed))
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

// marshalProgram encodes insns as the kernel reads them.
func marshalProgram(insns asm.Instructions) ([]byte, error) {
	var code bytes.Buffer
	if err := insns.Marshal(&code, nativeByteOrder()); err != nil {
		return nil, err
	}
	return code.Bytes(), nil
}

// loadProgram loads insns, encoded as bytecode, as a device program.
func loadProgram(insns asm.Instructions, bytecode []byte) (*ebpf.Program, error) {
	prog, err := loadDeviceProgram(bytecode)
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

// loadDeviceProgram loads bytecode with a single bpf(BPF_PROG_LOAD). The
// library's loader first probes the kernel, in every new process, for
// object names (two maps) and BTF line info (a program), none of which a
// device program uses: names came with the program type (Linux 4.15), and
// it has no BTF. Those probes and the library's first-use work cost each
// create about as much as loading the program itself.
func loadDeviceProgram(bytecode []byte) (*ebpf.Program, error) {
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

// objGetAttr is the kernel's bpf_attr for BPF_OBJ_GET, without path_fd.
type objGetAttr struct {
	pathname  uint64
	bpfFd     uint32
	fileFlags uint32
}

// objGet opens the program pinned at path. The library's LoadPinnedProgram
// would also probe the kernel for object names (creating a map) in every
// new process.
func objGet(path string) (int, error) {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return -1, err
	}
	attr := objGetAttr{pathname: uint64(uintptr(unsafe.Pointer(p)))}
	fd, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_OBJ_GET, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(p)
	if errno != 0 {
		return -1, errno
	}
	// A pinned map would answer BPF_OBJ_GET_INFO_BY_FD with a map's info.
	kind, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err == nil && kind != "anon_inode:bpf-prog" {
		err = fmt.Errorf("not a program but %s", kind)
	}
	if err != nil {
		unix.Close(int(fd))
		return -1, err
	}
	return int(fd), nil
}

// progInfo is the head of the kernel's struct bpf_prog_info, up to
// nr_map_ids; the kernel fills in no more than the size given.
type progInfo struct {
	typ             uint32
	id              uint32
	tag             [unix.BPF_TAG_SIZE]byte
	jitedProgLen    uint32
	xlatedProgLen   uint32
	jitedProgInsns  uint64
	xlatedProgInsns uint64
	loadTime        uint64
	createdByUID    uint32
	nrMapIDs        uint32
}

type objInfoAttr struct {
	bpfFd   uint32
	infoLen uint32
	info    uint64
}

// programInfo reads what identifies the program open as fd. The library's
// Program.Info also reads its fdinfo and translated instructions and, in
// every new process, loads a program to probe for map IDs.
func programInfo(fd int) (progInfo, error) {
	var info progInfo
	attr := objInfoAttr{bpfFd: uint32(fd), infoLen: uint32(unsafe.Sizeof(info)), info: uint64(uintptr(unsafe.Pointer(&info)))}
	_, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_OBJ_GET_INFO_BY_FD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(&info)
	if errno != 0 {
		return progInfo{}, fmt.Errorf("program info: %w", errno)
	}
	return info, nil
}

// matches tells whether the program described is the one bytecode
// loads: a cgroup device program without maps whose kernel tag is that of
// bytecode. A map-free program's instructions are all of its behaviour.
func (info progInfo) matches(bytecode []byte) error {
	if info.typ != unix.BPF_PROG_TYPE_CGROUP_DEVICE {
		return fmt.Errorf("program type %d, not a cgroup device program", info.typ)
	}
	if info.nrMapIDs != 0 {
		return fmt.Errorf("program uses %d maps", info.nrMapIDs)
	}
	if !slices.Contains(programTags(bytecode), info.tag) {
		return fmt.Errorf("program tag %x is not the device filter's", info.tag)
	}
	return nil
}

// programTags are the tags a kernel gives a map-free program of bytecode:
// the head of its SHA-1 hash up to Linux 6.17, of its SHA-256 hash since.
// (The library's Instructions.HasTag hashes instructions one by one,
// without resolving jump labels, so it gives these only for instructions
// that have been marshalled before.)
func programTags(bytecode []byte) [][unix.BPF_TAG_SIZE]byte {
	s1, s256 := sha1.Sum(bytecode), sha256.Sum256(bytecode)
	return [][unix.BPF_TAG_SIZE]byte{[unix.BPF_TAG_SIZE]byte(s1[:]), [unix.BPF_TAG_SIZE]byte(s256[:])}
}

// Attach installs prog on the cgroup whose directory is open as cgroupDir
// and removes every device program that was attached to it before. The
// new program is attached first (BPF_F_ALLOW_MULTI: while both are
// attached a request must pass both), so at no moment is the cgroup
// unfiltered. The previous programs are found by asking the kernel, so
// any later process (e.g. a separate `update` invocation) can replace them.
// Programs are shared (see LoadFilter), so prog may be attached already,
// when the rules have not changed: the kernel refuses to attach a program
// twice to one cgroup, so it is then kept and only the others go.
func Attach(cgroupDir int, prog *ebpf.Program) error {
	old, err := link.QueryPrograms(link.QueryOptions{Target: cgroupDir, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		return fmt.Errorf("query device programs: %w", err)
	}
	var id ebpf.ProgramID
	if len(old.Programs) > 0 {
		info, err := programInfo(prog.FD())
		if err != nil {
			return fmt.Errorf("attach device filter: %w", err)
		}
		id = ebpf.ProgramID(info.id)
	}
	if !slices.ContainsFunc(old.Programs, func(p link.AttachedProgram) bool { return p.ID == id }) {
		err = link.RawAttachProgram(link.RawAttachProgramOptions{
			Target:  cgroupDir,
			Program: prog,
			Attach:  ebpf.AttachCGroupDevice,
			Flags:   unix.BPF_F_ALLOW_MULTI,
		})
		if err != nil {
			return fmt.Errorf("attach device filter: %w", err)
		}
	}
	for _, ap := range old.Programs {
		if ap.ID == id {
			continue
		}
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
