package seccomp

import "runtime"

// AUDIT_ARCH_* bits (linux/audit.h): the arch word in seccomp_data tells
// the filter which ABI made the call.
const (
	audit64Bit = 0x80000000
	auditLE    = 0x40000000

	// __X32_SYSCALL_BIT: x32 shares AUDIT_ARCH_X86_64 and is told apart by
	// this bit in the syscall number.
	x32Bit = 0x40000000
)

type archInfo struct {
	audit uint32
	// socketcall/ipc are the multiplexer syscalls of old 32-bit ABIs (0 when
	// absent). libseccomp mirrors a rule on e.g. "socket" onto
	// socketcall(SYS_SOCKET, ...), and we do the same to take the same
	// decisions.
	socketcall, ipc uint32
	// args32: libseccomp treats x32 as a 32-bit ABI and compares only the
	// low half of arguments; we follow it to take the same decisions.
	args32 bool
	// s390 turns an unknown large syscall number into setup(2) (nr 0), so
	// runc's ENOSYS stub answers nr 0 with ENOSYS there.
	enosysZero bool
}

func (a archInfo) is64() bool         { return a.audit&audit64Bit != 0 && !a.args32 }
func (a archInfo) littleEndian() bool { return a.audit&auditLE != 0 }

// archs lists every architecture with a syscall table (ztables.go).
var archs = map[string]archInfo{
	"SCMP_ARCH_X86_64":      {audit: 0xc000003e},
	"SCMP_ARCH_X32":         {audit: 0xc000003e, args32: true},
	"SCMP_ARCH_X86":         {audit: 0x40000003, socketcall: 102, ipc: 117},
	"SCMP_ARCH_AARCH64":     {audit: 0xc00000b7},
	"SCMP_ARCH_ARM":         {audit: 0x40000028},
	"SCMP_ARCH_RISCV64":     {audit: 0xc00000f3},
	"SCMP_ARCH_LOONGARCH64": {audit: 0xc0000102},
	"SCMP_ARCH_PPC":         {audit: 0x00000014, socketcall: 102, ipc: 117},
	"SCMP_ARCH_PPC64":       {audit: 0x80000015, socketcall: 102, ipc: 117},
	"SCMP_ARCH_PPC64LE":     {audit: 0xc0000015, socketcall: 102, ipc: 117},
	"SCMP_ARCH_S390X":       {audit: 0x80000016, socketcall: 102, ipc: 117, enosysZero: true},
	"SCMP_ARCH_MIPS":        {audit: 0x00000008},
	"SCMP_ARCH_MIPSEL":      {audit: 0x40000008},
	"SCMP_ARCH_MIPS64":      {audit: 0x80000008},
	"SCMP_ARCH_MIPSEL64":    {audit: 0xc0000008},
}

// specOnlyArchs are valid in runtime-spec but have no table here.
var specOnlyArchs = map[string]bool{
	"SCMP_ARCH_MIPS64N32":   true,
	"SCMP_ARCH_MIPSEL64N32": true,
	"SCMP_ARCH_S390":        true,
	"SCMP_ARCH_PARISC":      true,
	"SCMP_ARCH_PARISC64":    true,
	"SCMP_ARCH_RISCV32":     true,
	"SCMP_ARCH_M68K":        true,
	"SCMP_ARCH_SH":          true,
	"SCMP_ARCH_SHEB":        true,
}

var goarchToSeccomp = map[string]string{
	"amd64":    "SCMP_ARCH_X86_64",
	"386":      "SCMP_ARCH_X86",
	"arm64":    "SCMP_ARCH_AARCH64",
	"arm":      "SCMP_ARCH_ARM",
	"riscv64":  "SCMP_ARCH_RISCV64",
	"loong64":  "SCMP_ARCH_LOONGARCH64",
	"ppc64":    "SCMP_ARCH_PPC64",
	"ppc64le":  "SCMP_ARCH_PPC64LE",
	"s390x":    "SCMP_ARCH_S390X",
	"mips":     "SCMP_ARCH_MIPS",
	"mipsle":   "SCMP_ARCH_MIPSEL",
	"mips64":   "SCMP_ARCH_MIPS64",
	"mips64le": "SCMP_ARCH_MIPSEL64",
}

// NativeArch is the runtime-spec name of the architecture we run on; like
// libseccomp, every filter covers it even if the profile omits it.
var NativeArch = goarchToSeccomp[runtime.GOARCH]

// Multiplexed call numbers (linux/net.h SYS_*, linux/ipc.h) that
// socketcall(2) and ipc(2) take as their first argument.
var socketcallCodes = map[string]uint64{
	"socket": 1, "bind": 2, "connect": 3, "listen": 4, "accept": 5,
	"getsockname": 6, "getpeername": 7, "socketpair": 8, "send": 9, "recv": 10,
	"sendto": 11, "recvfrom": 12, "shutdown": 13, "setsockopt": 14, "getsockopt": 15,
	"sendmsg": 16, "recvmsg": 17, "accept4": 18, "recvmmsg": 19, "sendmmsg": 20,
}

var ipcCodes = map[string]uint64{
	"semop": 1, "semget": 2, "semctl": 3, "semtimedop": 4,
	"msgsnd": 11, "msgrcv": 12, "msgget": 13, "msgctl": 14,
	"shmat": 21, "shmdt": 22, "shmget": 23, "shmctl": 24,
}
