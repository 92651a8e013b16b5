package integration

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestExecIntoDeadInit: an exec into a container whose init is dead, or
// dies while the exec sets up, fails as runc's does (exit 255) and says
// that the container is not running, never with an error from the
// plumbing (a broken pipe, an EOF, a failed namespace open). The init is
// killed at staggered moments after the exec starts, so that the tries
// land before, during and after the exec's setup; the last try kills the
// init and waits for its end first, so that at least one exec certainly
// meets a dead init.
func TestExecIntoDeadInit(t *testing.T) {
	r := newRuntime(t)
	const tries = 12
	outcomes := map[int]int{}
	for i := 0; i <= tries; i++ {
		c := r.Create(newBundle(t, withArgs("sleep", "1000")))
		r.Must("start", c.ID)
		cmd := r.Command("exec", c.ID, "true")
		out, errf := tempFile(t), tempFile(t)
		cmd.Stdout, cmd.Stderr = out, errf
		if i == tries {
			if err := unix.Kill(c.Pid, unix.SIGKILL); err != nil {
				t.Fatal(err)
			}
			c.Wait(t, 10*time.Second)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if i < tries {
			time.Sleep(time.Duration(i) * 5 * time.Millisecond)
			if err := unix.Kill(c.Pid, unix.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
		err := cmd.Wait()
		code := exitCode(t, cmd, err)
		stderr := readFile(t, errf.Name())
		outcomes[code]++
		switch {
		case code == 0 && i < tries:
			// The exec finished before the kill.
		case code == 128+9 && i < tries:
			// The process ran and died with the container's pid namespace.
		case code == 255 && strings.Contains(stderr, "container "+c.ID+" is not running"):
		default:
			t.Errorf("try %d: exec into a dying container: exit %d, stderr %q; want exit 255 and %q", i, code, stderr, "container "+c.ID+" is not running")
		}
		if i == tries && code != 255 {
			t.Errorf("exec after the init was reaped: exit %d, want 255", code)
		}
		if i < tries {
			c.Wait(t, 10*time.Second)
		}
		r.Must("delete", c.ID)
	}
	t.Logf("exit statuses of the %d execs: %v", tries+1, outcomes)
}
