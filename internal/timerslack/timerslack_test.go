package timerslack

import (
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// childSlack starts a child with start and returns the timer slack it
// reports.
func childSlack(t *testing.T, start func(*exec.Cmd) error) string {
	t.Helper()
	cmd := exec.Command("cat", "/proc/self/timerslack_ns")
	var out strings.Builder
	cmd.Stdout = &out
	if err := start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out.String())
}

// A child started from a relaxed thread inherits the relaxed slack;
// through withSlack it gets the caller's.
func TestWithSlackGivesTheCallersSlack(t *testing.T) {
	const caller, relaxed = 222222, 5000000
	done := make(chan struct{})
	go func() {
		defer close(done)
		// This goroutine's thread plays one the runtime relaxed; it
		// exits with the goroutine, still locked.
		runtime.LockOSThread()
		if err := unix.Prctl(unix.PR_SET_TIMERSLACK, relaxed, 0, 0, 0); err != nil {
			t.Error(err)
			return
		}
		if got := childSlack(t, (*exec.Cmd).Start); got != strconv.Itoa(relaxed) {
			t.Errorf("started directly from a relaxed thread, the child has slack %s, want %d", got, relaxed)
		}
		if got := childSlack(t, func(c *exec.Cmd) error { return withSlack(caller, c.Start) }); got != strconv.Itoa(caller) {
			t.Errorf("through withSlack the child has slack %s, want the caller's %d", got, caller)
		}
	}()
	<-done
}
