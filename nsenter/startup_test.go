package nsenter

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// childSees starts a child with start and returns the timer slack and the
// CPUs it reports for itself.
func childSees(t *testing.T, start func(*exec.Cmd) error) (slack, cpus string) {
	t.Helper()
	cmd := exec.Command("sh", "-c", "cat /proc/self/timerslack_ns; grep Cpus_allowed_list /proc/self/status")
	var out strings.Builder
	cmd.Stdout = &out
	if err := start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(out.String())
	if len(fields) != 3 {
		t.Fatalf("the child printed %q", out.String())
	}
	return fields[0], fields[2]
}

// threadSees is the calling thread's timer slack and CPUs, the CPUs as
// the kernel lists them (as it lists a child's own in childSees).
func threadSees(t *testing.T) (slack, cpus string) {
	t.Helper()
	n, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strconv.Itoa(n), strings.TrimSpace(v)
		}
	}
	t.Fatalf("no Cpus_allowed_list in /proc/thread-self/status")
	return "", ""
}

// A thread of the runtime has a long timer slack and one CPU, which a
// child started from it directly inherits; through startWith the child
// gets the caller's slack and CPUs, and the thread has its own back.
func TestStartWithGivesTheCallersSlackAndCPUs(t *testing.T) {
	var caller unix.CPUSet
	if err := unix.SchedGetaffinity(0, &caller); err != nil {
		t.Fatal(err)
	}
	if caller.Count() < 2 {
		t.Skip("one CPU: nothing to pin to")
	}
	const callerSlack, relaxed = 222222, 5000000
	done := make(chan struct{})
	go func() {
		defer close(done)
		// This goroutine's thread plays one of the runtime's; it exits
		// with the goroutine, still locked.
		runtime.LockOSThread()
		_, callerCPUs := threadSees(t)
		var one unix.CPUSet // the first of the caller's CPUs
		for cpu := 0; one.Count() == 0; cpu++ {
			if caller.IsSet(cpu) {
				one.Set(cpu)
			}
		}
		if err := unix.SchedSetaffinity(0, &one); err != nil {
			t.Error(err)
			return
		}
		if err := unix.Prctl(unix.PR_SET_TIMERSLACK, relaxed, 0, 0, 0); err != nil {
			t.Error(err)
			return
		}
		ownSlack, ownCPUs := threadSees(t)
		if slack, cpus := childSees(t, (*exec.Cmd).Start); slack != ownSlack || cpus != ownCPUs {
			t.Errorf("started directly, the child has slack %s and CPUs %s, want the thread's %s and %s", slack, cpus, ownSlack, ownCPUs)
		}
		slack, cpus := childSees(t, func(c *exec.Cmd) error { return startWith(callerSlack, &caller, c.Start) })
		if slack != strconv.Itoa(callerSlack) || cpus != callerCPUs {
			t.Errorf("through startWith the child has slack %s and CPUs %s, want the caller's %d and %s", slack, cpus, callerSlack, callerCPUs)
		}
		if slack, cpus := threadSees(t); slack != ownSlack || cpus != ownCPUs {
			t.Errorf("after startWith the thread has slack %s and CPUs %s, want its own %s and %s back", slack, cpus, ownSlack, ownCPUs)
		}
	}()
	<-done
}
