package nsenter

/*
#include "signals.h"
*/
import "C"

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// CatchSignals makes each of sigs, once delivered to this process, write
// its number as one byte to fd, instead of reaching the Go runtime.
//
// Go catches a signal only through os/signal, whose first subscription to
// each one is a round trip to the runtime's signal thread (two thread
// switches and their wake-ups): for every signal a caller may send, 2 to
// 4 ms of CPU in each foreground run or exec here. A C handler costs one
// sigaction per signal.
//
// From here on the Go runtime never sees sigs: the caller leaves out the
// signals it must keep handling itself (SIGURG, SIGPROF, the faults) and
// any it subscribes to through os/signal. A SIGPIPE the kernel sends for
// one of the process's own writes is dropped: it is no signal to pass on,
// and the write fails with EPIPE all the same. fd is the
// non-blocking write end of a pipe that stays open while the process
// lives. The runtime gives a child it starts the default handlers back
// before the child executes, as it does for its own.
func CatchSignals(fd int, sigs []unix.Signal) error {
	for _, sig := range sigs {
		if r, err := C.ocirt_catch_signal(C.int(sig), C.int(fd)); r != 0 {
			return fmt.Errorf("catch signal %d: %w", sig, err)
		}
	}
	return nil
}
