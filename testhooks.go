//go:build ocirt_testhooks

package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// testPausePoint lets the fault-injection tests stop create at a named
// point (OCIRT_TEST_PAUSE_AT=point) and kill it there. There it says so
// on stderr and waits in pause(2) until it is killed, so that nothing
// else about create changes. Stopping itself with SIGSTOP would hold it
// only until the next SIGCONT, which anyone may send and the test does not
// control: in the systemd VM, creates told to stop at a point have run on
// to a successful end. Only binaries built with the ocirt_testhooks tag
// (the integration tests') have it, so that no environment can stop a
// release binary part-way through create.
func testPausePoint() func(string) {
	at := os.Getenv("OCIRT_TEST_PAUSE_AT")
	if at == "" {
		return nil
	}
	return func(point string) {
		if point != at {
			return
		}
		fmt.Fprintf(os.Stderr, "create paused at %s\n", point)
		for {
			_ = unix.Pause() // returns after each handled signal
		}
	}
}

// signalCatcherDisabled lets the signal differential test run a
// foreground run or exec with every signal caught through os/signal
// (OCIRT_TEST_SIGNALS_GO_PATH=1), to compare it with the C catcher.
func signalCatcherDisabled() bool {
	return os.Getenv("OCIRT_TEST_SIGNALS_GO_PATH") != ""
}
