// Package hugeheap backs the start of the Go heap of every runtime process
// (the CLI and the container's Go init) with one transparent huge page.
//
// A runtime process lives for milliseconds, and much of its CPU time goes
// to the first touch of fresh heap pages: every 4 KiB page is a page fault,
// and where the hypervisor keeps the guest's page tables a fault costs
// 12–17 µs (hundreds of them in each `run`). When the first package init
// runs, the Go runtime has touched only the beginning of its heap; making
// the 2 MiB region around it one huge page turns the faults of the rest of
// that region into none. The price is up to 2 MiB more resident memory for
// the life of the process, charged where the process then is: a
// container's init joins the container's cgroup only later, and a process
// that starts inside it does without (see Env).
//
// The package imports only syscall and unsafe, so that its init runs
// before every other package's but the standard library's first few.
//
// The host's policy is honoured: nothing is done when
// /sys/kernel/mm/transparent_hugepage/enabled says never (a collapse
// itself would ignore that setting). Only the CLI reads the file. An init
// may already be inside the container's mount namespace, whose /sys the
// container controls (a fifo there would block the open): the runtime
// passes its answer in every init's environment (EnvVar), and a process
// that has EnvVar never reads the file.
package hugeheap

import (
	"syscall"
	"unsafe"
)

// EnvVar carries the CLI's answer ("1" or "0") to the processes it starts.
const EnvVar = "_OCIRT_HUGE_HEAP"

// settingPath is the host's policy for transparent huge pages.
const settingPath = "/sys/kernel/mm/transparent_hugepage/enabled"

const (
	regionSize = 2 << 20
	// madvCollapse is MADV_COLLAPSE (Linux 6.1): package syscall, the only
	// one this package may import, predates it.
	madvCollapse = 25
)

var (
	// allowed: this process may use huge pages, and so may those it starts
	// outside the container's cgroup (Env).
	allowed bool
	// region is the 2 MiB region that was collapsed (or 0), and
	// collapseErrno the kernel's answer, for the tests.
	region        uintptr
	collapseErrno syscall.Errno
)

func init() {
	env, fromParent := syscall.Getenv(EnvVar)
	allowed = decide(env, fromParent, readSetting)
	if !allowed {
		return
	}
	region = uintptr(unsafe.Pointer(heapObject())) &^ (regionSize - 1)
	// A kernel without MADV_COLLAPSE, a region the heap shares with
	// another mapping, or no huge page free: the process runs as before.
	_, _, collapseErrno = syscall.Syscall(syscall.SYS_MADVISE, region, regionSize, madvCollapse)
}

// Env is EnvVar for a process this one starts. permit is false for a
// process that starts in the container's cgroup, where the huge page
// would be charged to the container and could make it reclaim its own
// memory.
func Env(permit bool) string {
	if allowed && permit {
		return EnvVar + "=1"
	}
	return EnvVar + "=0"
}

// decide takes the answer from the environment when the parent gave one,
// and reads the host's setting otherwise.
func decide(env string, fromParent bool, read func() string) bool {
	if fromParent {
		return env == "1"
	}
	return allowedBySetting(read())
}

// heapObject is a fresh heap object: it lies where the heap now grows.
//
//go:noinline
func heapObject() *[64]byte {
	return new([64]byte)
}

func readSetting() string {
	fd, err := syscall.Open(settingPath, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	defer syscall.Close(fd)
	var buf [128]byte
	n, err := syscall.Read(fd, buf[:])
	if err != nil || n <= 0 {
		return ""
	}
	return string(buf[:n])
}

// allowedBySetting reads the host's policy ("always [madvise] never"): a
// missing file means a kernel without transparent huge pages. (Package
// strings would initialise unicode's tables before this package.)
func allowedBySetting(setting string) bool {
	return contains(setting, "[always]") || contains(setting, "[madvise]")
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
