package seccomp

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Install loads the filter into the calling thread with seccomp(2). The
// caller holds the OS thread locked and has set no_new_privs or holds
// CAP_SYS_ADMIN. listenerFd is the SECCOMP_FILTER_FLAG_NEW_LISTENER fd when
// the profile has a NOTIFY rule, else -1.
func (f *Filter) Install() (listenerFd int, err error) {
	if len(f.prog) == 0 {
		return -1, fmt.Errorf("seccomp: empty filter")
	}
	fprog := unix.SockFprog{Len: uint16(len(f.prog)), Filter: &f.prog[0]}
	r, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, f.flags, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(f.prog)
	if errno != 0 {
		return -1, fmt.Errorf("seccomp: installing filter (flags %#x): %w", f.flags, errno)
	}
	if !f.notify {
		return -1, nil
	}
	return int(r), nil
}
