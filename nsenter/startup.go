package nsenter

// #include "startup.h"
import "C"

import (
	"slices"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/internal/sysfile"
)

// callerTimerSlack is the main thread's timer slack at start when the
// start-up raised it for the Go runtime's threads (see startup.c), 0
// otherwise.
var callerTimerSlack uint64

// startupCPUs is the mask the process started with when its start-up
// pinned it to one CPU (see startup.c), nil otherwise.
var startupCPUs *unix.CPUSet

func init() {
	restoreTimerSlack()
	var mask unix.CPUSet
	if C.ocirt_startup_mask(unsafe.Pointer(&mask), C.size_t(unsafe.Sizeof(mask))) == 0 {
		return
	}
	startupCPUs = &mask
	restoreCPUs(&mask)
}

// restoreTimerSlack gives the main thread the caller's timer slack back.
// Package initialisation runs on the main thread, the one the start-up
// raised; the threads the Go runtime started meanwhile keep the raised
// slack.
func restoreTimerSlack() {
	slack := uint64(C.ocirt_startup_slack())
	if slack == 0 {
		return
	}
	callerTimerSlack = slack
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(slack), 0, 0, 0)
}

// CallerTimerSlack is the timer slack the process was started with, for
// the processes it starts, when its start-up gave the Go runtime's
// threads a longer one; 0 when it did not.
func CallerTimerSlack() uint64 { return callerTimerSlack }

// restoreCPUs gives every thread of the process the mask back. The
// threads the Go runtime started so far were started pinned, and one of
// them may start another meanwhile: the listing repeats until it shows
// no thread it has not seen. (Each thread is set once: where the mask no
// longer fits the process's cpuset the kernel narrows it.)
func restoreCPUs(mask *unix.CPUSet) {
	var seen []string
	for fresh := true; fresh; {
		fresh = false
		for _, tid := range sysfile.OwnThreads() {
			if slices.Contains(seen, tid) {
				continue
			}
			seen, fresh = append(seen, tid), true
			if n, err := strconv.Atoi(tid); err == nil {
				// A thread that has exited meanwhile has nothing to restore.
				_ = unix.SchedSetaffinity(n, mask)
			}
		}
	}
}

// StartupCPUs reports how many CPUs the mask the process started with
// has, when its start-up pinned it to one of them (the Go runtime then
// started with one P); 0 when it did not.
func StartupCPUs() int {
	if startupCPUs == nil {
		return 0
	}
	return startupCPUs.Count()
}
