package nsenter

// #include "startup.h"
import "C"

import (
	"os/exec"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A command's start-up (startup.c) pins it to one CPU and gives it a long
// timer slack before the Go runtime starts a thread, so that every thread
// of the runtime has both for the whole command. The main thread gets the
// caller's slack back at once (its children would otherwise inherit
// ours); whatever the runtime starts gets the caller's slack and CPUs
// through StartChild.

// callerTimerSlack is the main thread's timer slack at start when the
// start-up raised it for the Go runtime's threads, 0 otherwise.
var callerTimerSlack uint64

// callerCPUs is the mask the process started with when its start-up
// pinned it to one CPU, nil otherwise.
var callerCPUs *unix.CPUSet

func init() {
	// Package initialisation runs on the main thread, the one the
	// start-up changed; the threads the runtime started meanwhile keep
	// the raised slack.
	if slack := uint64(C.ocirt_startup_slack()); slack != 0 {
		callerTimerSlack = slack
		_ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(slack), 0, 0, 0)
	}
	var mask unix.CPUSet
	if C.ocirt_startup_mask(unsafe.Pointer(&mask), C.size_t(unsafe.Sizeof(mask))) != 0 {
		callerCPUs = &mask
	}
}

// StartupCPUs reports how many CPUs the mask the process started with
// has, when its start-up pinned it to one of them (the Go runtime then
// started with one P); 0 when it did not.
func StartupCPUs() int {
	if callerCPUs == nil {
		return 0
	}
	return callerCPUs.Count()
}

// StartChild runs start, which starts a child process from the calling
// thread (os/exec and syscall.ForkExec do), on a thread with the caller's
// timer slack and CPUs, which the child inherits: the container's
// processes, the hooks and the runtime's helpers must not run with the
// runtime's. The thread has its own back afterwards.
func StartChild(start func() error) error {
	return startWith(callerTimerSlack, callerCPUs, start)
}

// RunChild runs cmd as cmd.Run does, started by StartChild.
func RunChild(cmd *exec.Cmd) error {
	if err := StartChild(cmd.Start); err != nil {
		return err
	}
	return cmd.Wait()
}

// startWith runs start on a thread whose timer slack is slack and whose
// CPUs are cpus for the while; 0 and nil leave the thread's own.
func startWith(slack uint64, cpus *unix.CPUSet, start func() error) error {
	if slack == 0 && cpus == nil {
		return start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if slack != 0 {
		own, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
		if err != nil {
			return err
		}
		if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(slack), 0, 0, 0); err != nil {
			return err
		}
		defer func() { _ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(own), 0, 0, 0) }()
	}
	// A mask none of whose CPUs the process's cpuset still allows is
	// refused; the child then starts on the thread's CPU rather than not
	// at all.
	var own unix.CPUSet
	if cpus != nil && unix.SchedGetaffinity(0, &own) == nil && unix.SchedSetaffinity(0, cpus) == nil {
		defer func() { _ = unix.SchedSetaffinity(0, &own) }()
	}
	return start()
}
