//go:build ocirt_testhooks

package main

import (
	"os"
	"syscall"
)

// testPausePoint lets the fault-injection tests stop create at a named
// point (OCIRT_TEST_PAUSE_AT=point) and kill it there. It stops by
// SIGSTOP-ing itself, so that nothing else about create changes. Only
// binaries built with the ocirt_testhooks tag (the integration tests')
// have it, so that no environment can stop a release binary part-way
// through create.
func testPausePoint() func(string) {
	at := os.Getenv("OCIRT_TEST_PAUSE_AT")
	if at == "" {
		return nil
	}
	return func(point string) {
		if point == at {
			p, _ := os.FindProcess(os.Getpid())
			_ = p.Signal(syscall.SIGSTOP)
		}
	}
}
