package devices

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"slices"
	"unsafe"

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
func compileDeviceFilter(rules []deviceRule) *assembler {
	const (
		rType   = r2
		rAccess = r3
		rMajor  = r4
		rMinor  = r5
		rTmp    = r6
	)
	a := &assembler{}
	a.loadWord(rType, r1, 0)
	a.movReg32(rAccess, rType)
	a.rshImm32(rAccess, 16)
	a.andImm32(rType, 0xffff)
	a.loadWord(rMajor, r1, 4)
	a.loadWord(rMinor, r1, 8)
	for _, bit := range []uint32{accMknod, accRead, accWrite} {
		bitDone := fmt.Sprintf("bit%d_done", bit)
		a.movReg32(rTmp, rAccess)
		a.andImm32(rTmp, int32(bit))
		a.jumpImm32(jumpIfEqual, rTmp, 0, bitDone)
		decided := false
		for i := len(rules) - 1; i >= 0 && !decided; i-- {
			r := rules[i]
			if r.access&bit == 0 {
				continue
			}
			next := fmt.Sprintf("bit%d_rule%d_next", bit, i)
			conditional := false
			cond := func(reg uint8, v int64) {
				a.jumpImm32(jumpIfNotEqual, reg, int32(uint32(v)), next)
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
				a.jump(bitDone)
			} else {
				a.movImm32(r0, 0)
				a.exit()
			}
			if conditional {
				a.label(next)
			} else {
				// Every request reaches this rule, so earlier ones are dead.
				decided = true
			}
		}
		if !decided {
			a.movImm32(r0, 0)
			a.exit()
		}
		a.label(bitDone)
	}
	a.movImm32(r0, 1)
	a.exit()
	return a
}

// Program is a loaded device program, open as a file descriptor.
type Program struct {
	fd int
}

// FD is the program's file descriptor.
func (p *Program) FD() int { return p.fd }

// Close releases the program; a cgroup it is attached to keeps it.
func (p *Program) Close() error { return unix.Close(p.fd) }

// LoadFilter compiles rules into a device program and returns it loaded,
// shared with the other cgroups whose rules compile to the same program
// where a bpffs allows (see sharedFilterDir); the caller attaches it
// (Attach) and closes it.
func LoadFilter(rules []specs.LinuxDeviceCgroup) (*Program, error) {
	return sharedFilters.loadRules(rules)
}

func (l filterLoader) loadRules(rules []specs.LinuxDeviceCgroup) (*Program, error) {
	parsed, err := parseDeviceRules(rules)
	if err != nil {
		return nil, err
	}
	bytecode, err := compileDeviceFilter(parsed).assemble()
	if err != nil {
		return nil, fmt.Errorf("load device filter: %w", err)
	}
	return l.load(bytecode)
}

const (
	deviceProgramName    = "oci_rt_devices"
	deviceProgramLicense = "Apache-2.0"
)

// nativeByteOrder is the order the kernel reads instructions in: ours.
func nativeByteOrder() binary.AppendByteOrder {
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

// maxLoadAttempts bounds the loads interrupted by a signal.
const maxLoadAttempts = 10

// verifierLogSize bounds the verifier's explanation of a refused program.
const verifierLogSize = 64 << 10

// loadProgram loads bytecode as a device program. When the kernel refuses
// it, it loads it once more with the verifier's log, which the error then
// carries.
func loadProgram(bytecode []byte) (*Program, error) {
	fd, err := loadDeviceProgram(bytecode, nil)
	if err == nil {
		return &Program{fd: fd}, nil
	}
	log := make([]byte, verifierLogSize)
	if _, again := loadDeviceProgram(bytecode, log); again != nil {
		if text := string(bytes.TrimRight(bytes.TrimRight(log, "\x00"), "\n")); text != "" {
			return nil, fmt.Errorf("load device filter: %w: verifier log: %s", err, text)
		}
	}
	return nil, fmt.Errorf("load device filter: %w", err)
}

// loadDeviceProgram loads bytecode with a single bpf(BPF_PROG_LOAD), with
// the verifier's log in log when it is given, and returns the program's
// fd.
func loadDeviceProgram(bytecode, log []byte) (int, error) {
	license := []byte(deviceProgramLicense + "\x00")
	attr := progLoadAttr{
		progType: unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		insnCnt:  uint32(len(bytecode) / instructionSize),
		insns:    uint64(uintptr(unsafe.Pointer(&bytecode[0]))),
		license:  uint64(uintptr(unsafe.Pointer(&license[0]))),
	}
	if len(log) > 0 {
		attr.logLevel, attr.logSize, attr.logBuf = 1, uint32(len(log)), uint64(uintptr(unsafe.Pointer(&log[0])))
	}
	copy(attr.progName[:], deviceProgramName)
	var fd uintptr
	var errno unix.Errno
	// The kernel gives up verifying with EAGAIN when a signal arrives
	// meanwhile, which the Go runtime's preemption signals do.
	for range maxLoadAttempts {
		fd, _, errno = unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
		if errno != unix.EAGAIN && errno != unix.EINTR {
			break
		}
	}
	runtime.KeepAlive(bytecode)
	runtime.KeepAlive(license)
	runtime.KeepAlive(log)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// objPathAttr is the kernel's bpf_attr for BPF_OBJ_PIN and BPF_OBJ_GET,
// without path_fd.
type objPathAttr struct {
	pathname  uint64
	bpfFd     uint32
	fileFlags uint32
}

// objPath runs cmd, BPF_OBJ_PIN or BPF_OBJ_GET, on the bpffs path, with
// fd as the object to pin, and returns what the kernel returns: for
// BPF_OBJ_GET the object's new fd.
func objPath(cmd uintptr, path string, fd int) (uintptr, error) {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return 0, err
	}
	attr := objPathAttr{pathname: uint64(uintptr(unsafe.Pointer(p))), bpfFd: uint32(fd)}
	ret, _, errno := unix.Syscall(unix.SYS_BPF, cmd, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(p)
	if errno != 0 {
		return 0, errno
	}
	return ret, nil
}

// objPin pins the program open as fd at path, on a bpffs.
func objPin(fd int, path string) error {
	if _, err := objPath(unix.BPF_OBJ_PIN, path, fd); err != nil {
		return fmt.Errorf("pin %s: %w", path, err)
	}
	return nil
}

// objGet opens the program pinned at path.
func objGet(path string) (int, error) {
	fd, err := objPath(unix.BPF_OBJ_GET, path, 0)
	if err != nil {
		return -1, err
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

// programInfo reads what identifies the program open as fd.
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
func Attach(cgroupDir int, prog *Program) error {
	old, err := Attached(cgroupDir)
	if err != nil {
		return err
	}
	var id uint32
	if len(old) > 0 {
		info, err := programInfo(prog.fd)
		if err != nil {
			return fmt.Errorf("attach device filter: %w", err)
		}
		id = info.id
	}
	if !slices.Contains(old, id) {
		if err := attachProgram(unix.BPF_PROG_ATTACH, cgroupDir, prog.fd, unix.BPF_F_ALLOW_MULTI); err != nil {
			return fmt.Errorf("attach device filter: %w", err)
		}
	}
	for _, other := range old {
		if other == id {
			continue
		}
		if err := detachProgram(cgroupDir, other); err != nil {
			return fmt.Errorf("detach old device filter %d: %w", other, err)
		}
	}
	return nil
}

// attachAttr is the kernel's bpf_attr for BPF_PROG_ATTACH and
// BPF_PROG_DETACH, up to replace_bpf_fd.
type attachAttr struct {
	targetFd     uint32
	attachBpfFd  uint32
	attachType   uint32
	attachFlags  uint32
	replaceBpfFd uint32
}

// attachProgram attaches (BPF_PROG_ATTACH) or detaches (BPF_PROG_DETACH)
// the device program open as progFd on the cgroup open as cgroupDir.
func attachProgram(cmd, cgroupDir, progFd int, flags uint32) error {
	attr := attachAttr{targetFd: uint32(cgroupDir), attachBpfFd: uint32(progFd), attachType: unix.BPF_CGROUP_DEVICE, attachFlags: flags}
	_, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	if errno != 0 {
		return errno
	}
	return nil
}

// getFdByIDAttr is the kernel's bpf_attr for BPF_PROG_GET_FD_BY_ID.
type getFdByIDAttr struct {
	progID    uint32
	nextID    uint32
	openFlags uint32
}

func detachProgram(target int, id uint32) error {
	attr := getFdByIDAttr{progID: id}
	fd, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_GET_FD_BY_ID, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	if errno == unix.ENOENT {
		return nil // detached and freed by someone else meanwhile
	}
	if errno != 0 {
		return fmt.Errorf("open program %d: %w", id, errno)
	}
	defer unix.Close(int(fd))
	return attachProgram(unix.BPF_PROG_DETACH, target, int(fd), 0)
}

// queryAttr is the kernel's bpf_attr for BPF_PROG_QUERY, up to prog_cnt.
type queryAttr struct {
	targetFd    uint32
	attachType  uint32
	queryFlags  uint32
	attachFlags uint32
	progIDs     uint64
	progCnt     uint32
	_           uint32
}

// Attached lists the device programs attached to the cgroup itself.
func Attached(cgroupDir int) ([]uint32, error) {
	// A cgroup holds at most 64 programs per attach type.
	ids := make([]uint32, 64)
	attr := queryAttr{
		targetFd:   uint32(cgroupDir),
		attachType: unix.BPF_CGROUP_DEVICE,
		progIDs:    uint64(uintptr(unsafe.Pointer(&ids[0]))),
		progCnt:    uint32(len(ids)),
	}
	_, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_QUERY, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(ids)
	if errno != 0 {
		return nil, fmt.Errorf("query device programs: %w", errno)
	}
	return ids[:attr.progCnt], nil
}

// FilterSupported tells whether the kernel runs BPF_PROG_TYPE_CGROUP_DEVICE
// programs: whether it loads the smallest one, "return 0".
func FilterSupported() bool {
	a := &assembler{}
	a.movImm32(r0, 0)
	a.exit()
	bytecode, err := a.assemble()
	if err != nil {
		return false
	}
	fd, err := loadDeviceProgram(bytecode, nil)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}
