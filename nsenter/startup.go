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

// startupCPUs is the mask the process started with when its start-up
// pinned it to one CPU (see startup.c), nil otherwise.
var startupCPUs *unix.CPUSet

func init() {
	var mask unix.CPUSet
	if C.ocirt_startup_mask(unsafe.Pointer(&mask), C.size_t(unsafe.Sizeof(mask))) == 0 {
		return
	}
	startupCPUs = &mask
	restoreCPUs(&mask)
}

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
