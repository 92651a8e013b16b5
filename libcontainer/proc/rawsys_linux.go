package proc

import "golang.org/x/sys/unix"

// From the container's rlimits on to execve, init makes raw system calls
// only (SwitchIdentity, NoNewPrivileges, seccomp's Install). A regular one
// lets the Go runtime hand the thread's P to another thread when the call
// takes a moment; with the single P init runs with, that starts a thread,
// and a thread that the new rlimits (RLIMIT_AS, RLIMIT_NPROC) or the new
// user forbid aborts the whole process: "pthread_create failed".

// rawPrctl is prctl(2) without entering the scheduler.
func rawPrctl(option int, arg2, arg3 uintptr) error {
	if _, _, errno := unix.RawSyscall6(unix.SYS_PRCTL, uintptr(option), arg2, arg3, 0, 0, 0); errno != 0 {
		return errno
	}
	return nil
}

// rawSetresid is setresuid(2) or setresgid(2) (trap) with all three ids
// set to id, on the calling thread only (the set*id wrappers of the
// syscall package change every thread of the process, through the
// scheduler); init execs from this thread, and the others end with execve
// without running anything of the container's.
func rawSetresid(trap uintptr, id uint32) error {
	if _, _, errno := unix.RawSyscall(trap, uintptr(id), uintptr(id), uintptr(id)); errno != 0 {
		return errno
	}
	return nil
}
