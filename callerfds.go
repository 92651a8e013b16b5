package main

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// checkCallerFDs makes sure that the caller's fds 3 … 3+n-1, which
// --preserve-fds (and LISTEN_FDS) hand on to the container, are open. It
// must run before the runtime opens anything: a number the caller left
// free would otherwise hold one of the runtime's own files by the time the
// fds are passed on (a host cgroup directory, a sync or console socket)
// and that file would reach the container.
func checkCallerFDs(n int) error {
	if n < 0 {
		return errors.New("--preserve-fds must not be negative")
	}
	for fd := 3; fd < 3+n; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return fmt.Errorf("--preserve-fds: fd %d is not open in the caller: %w", fd, err)
		}
	}
	return nil
}
