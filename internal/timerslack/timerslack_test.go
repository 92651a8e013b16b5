package timerslack

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func slackOf(t *testing.T, tid int) int {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/timerslack_ns")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

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
// through ForChild it gets the caller's.
func TestForChildGivesTheCallersSlack(t *testing.T) {
	const caller = 222222
	callerSlack.Store(caller)
	t.Cleanup(func() { callerSlack.Store(0) })
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
		if got := childSlack(t, func(c *exec.Cmd) error { return ForChild(c.Start) }); got != strconv.Itoa(caller) {
			t.Errorf("through ForChild the child has slack %s, want the caller's %d", got, caller)
		}
	}()
	<-done
}

// Relax raises every other thread's slack and keeps the caller's for
// the calling thread, which it records.
func TestRelax(t *testing.T) {
	if unix.Geteuid() != 0 {
		t.Skip("changing another thread's timer slack needs CAP_SYS_NICE: run as root")
	}
	t.Cleanup(func() { callerSlack.Store(0) })
	other := make(chan int)
	release := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		other <- unix.Gettid()
		<-release
	}()
	tid := <-other
	defer close(release)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := slackOf(t, unix.Gettid())
	Relax()
	if got := slackOf(t, unix.Gettid()); got != before {
		t.Errorf("the calling thread's slack went from %d to %d", before, got)
	}
	if got := slackOf(t, tid); got != relaxed {
		t.Errorf("another thread's slack is %d, want %d", got, relaxed)
	}
	if got := callerSlack.Load(); got != uint64(before) {
		t.Errorf("recorded caller's slack %d, want %d", got, before)
	}
}
