// Package timerslack gives every child of a runtime command the caller's
// timer slack back.
//
// The command's start-up gives the Go runtime's own threads a long timer
// slack, so that its monitor thread wakes a few times per command instead
// of every 20 µs (see nsenter's startup.c). Children inherit the slack of
// the thread that starts them, and the container's processes, hooks and
// helpers must not run with the runtime's: ForChild starts them from a
// thread with the caller's slack.
package timerslack

import (
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/nsenter"
)

// Run runs cmd as cmd.Run does, started by ForChild.
func Run(cmd *exec.Cmd) error {
	if err := ForChild(cmd.Start); err != nil {
		return err
	}
	return cmd.Wait()
}

// ForChild runs start, which starts a child process from the calling
// thread (os/exec and syscall.ForkExec do), on a thread with the caller's
// timer slack, which the child inherits.
func ForChild(start func() error) error {
	return withSlack(nsenter.CallerTimerSlack(), start)
}

// withSlack runs start on a thread whose timer slack is slack; with slack
// 0 (nothing to give back), on the calling thread as it is.
func withSlack(slack uint64, start func() error) error {
	if slack == 0 {
		return start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(slack), 0, 0, 0); err != nil {
		return err
	}
	return start()
}
