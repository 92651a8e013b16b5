package integration

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// callerSlack is a timer slack no process gets by default.
const callerSlack = 1234567

// relaxedSlack is what the runtime gives its own Go threads.
const relaxedSlack = 5000000

// asCaller runs f on a thread whose timer slack is callerSlack: the
// runtime commands f starts inherit it.
func asCaller(t *testing.T, f func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	must(t, err)
	must(t, unix.Prctl(unix.PR_SET_TIMERSLACK, callerSlack, 0, 0, 0))
	defer func() { _ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0) }()
	f()
}

func timerSlackOf(t *testing.T, pid int) string {
	t.Helper()
	return strings.TrimSpace(readFile(t, "/proc/"+strconv.Itoa(pid)+"/timerslack_ns"))
}

// The runtime's own threads sleep with a long timer slack (its monitor
// thread would otherwise wake every 20 µs), its main thread keeps the
// caller's, and whatever it starts gets the caller's back, as under
// runc: the container's init, an exec'd process, and the hooks.
func TestChildrenKeepTheCallersTimerSlack(t *testing.T) {
	r := newRuntime(t)
	hookLog := filepath.Join(t.TempDir(), "hooks")
	b := newBundle(t, withArgs("sleep", "100"), withLoggingHooks("cat /proc/self/timerslack_ns", hookLog))
	var c *Container
	asCaller(t, func() {
		c = r.Create(b)
		r.Must("start", c.ID)
	})
	if got := timerSlackOf(t, c.Pid); got != strconv.Itoa(callerSlack) {
		t.Errorf("the container's init has timer slack %s, want the caller's %d", got, callerSlack)
	}

	out := tempFile(t)
	cmd := r.Command("exec", c.ID, "sh", "-c", "cat /proc/self/timerslack_ns; sleep 2")
	cmd.Stdout = out
	asCaller(t, func() { must(t, cmd.Start()) })
	cli := cmd.Process.Pid
	relaxed := false
	waitFor(t, 5*time.Second, "the exec'd process to start", func() bool {
		fi, err := out.Stat()
		return err == nil && fi.Size() > 0
	})
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(cli) + "/task")
	must(t, err)
	for _, task := range tasks {
		tid, _ := strconv.Atoi(task.Name())
		relaxed = relaxed || timerSlackOf(t, tid) == strconv.Itoa(relaxedSlack)
	}
	if !relaxed {
		t.Errorf("no thread of the runtime's exec (%d threads) has the relaxed timer slack %d", len(tasks), relaxedSlack)
	}
	if got := timerSlackOf(t, cli); got != strconv.Itoa(callerSlack) {
		t.Errorf("the runtime's main thread has timer slack %s, want the caller's %d", got, callerSlack)
	}
	must(t, cmd.Wait())
	if got := strings.TrimSpace(readFile(t, out.Name())); got != strconv.Itoa(callerSlack) {
		t.Errorf("the exec'd process has timer slack %q, want the caller's %d", got, callerSlack)
	}

	r.Must("kill", c.ID, "KILL")
	c.Wait(t, 10*time.Second)
	r.Must("delete", c.ID)
	if got := strings.Fields(readFile(t, hookLog)); len(got) != 2 || got[0] != strconv.Itoa(callerSlack) || got[1] != got[0] {
		t.Errorf("the hooks had timer slack %v, want the caller's %d", got, callerSlack)
	}
}
