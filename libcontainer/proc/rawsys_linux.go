package proc

import "golang.org/x/sys/unix"

// From the container's rlimits on to execve, init makes raw system calls
// only (SwitchIdentity, NoNewPrivileges, seccomp's Install). A regular one
// lets the Go runtime hand the thread's P to another thread when the call
// takes a moment; with the single P init runs with, that starts a thread,
// and a thread that the new rlimits (RLIMIT_AS, RLIMIT_NPROC) or the new
// user forbid aborts the whole process: "pthread_create failed".

// rawPrctl is prctl(2) with the result, without entering the scheduler.
func rawPrctl(option int, arg2, arg3 uintptr) (int, error) {
	r, _, errno := unix.RawSyscall6(unix.SYS_PRCTL, uintptr(option), arg2, arg3, 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

// rawSetresuid and rawSetresgid change the calling thread's ids only (the
// set*id wrappers of the syscall package change every thread of the
// process, through the scheduler); init execs from this thread, and the
// others end with execve without running anything of the container's.
func rawSetresuid(uid uint32) error {
	if _, _, errno := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid)); errno != 0 {
		return errno
	}
	return nil
}

func rawSetresgid(gid uint32) error {
	if _, _, errno := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid)); errno != 0 {
		return errno
	}
	return nil
}
