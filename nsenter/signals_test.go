package nsenter

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCatchSignals: each caught signal sent to the process arrives on the
// pipe as its number, a standard and a real-time one alike, as often as
// it is sent; a signal the C library keeps for itself is refused with an
// error that names it.
func TestCatchSignals(t *testing.T) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	if err := CatchSignals(fds[1], []unix.Signal{unix.SIGUSR1, 40}); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []unix.Signal{unix.SIGUSR1, 40, unix.SIGUSR1} {
		if err := unix.Kill(unix.Getpid(), sig); err != nil {
			t.Fatal(err)
		}
		if err := waitReadable(fds[0], 5000); err != nil {
			t.Fatalf("signal %d: %v", sig, err)
		}
		var got [8]byte
		n, err := unix.Read(fds[0], got[:])
		if err != nil || n != 1 || got[0] != byte(sig) {
			t.Fatalf("signal %d: read %v (%d bytes, %v), want the one byte %d", sig, got[:n], n, err, sig)
		}
	}
	err := CatchSignals(fds[1], []unix.Signal{32})
	if err == nil || !strings.Contains(err.Error(), "catch signal 32:") {
		t.Errorf("catching signal 32: %v, want the C library's refusal naming it", err)
	}
}

// TestCatchSignalsDropsOwnSIGPIPE: the SIGPIPE the kernel sends for a
// write of the process's own into a pipe without a reader does not
// arrive on the pipe (the write fails with EPIPE); one another process
// sends does.
func TestCatchSignalsDropsOwnSIGPIPE(t *testing.T) {
	var caught, broken [2]int
	if err := unix.Pipe2(caught[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(caught[0])
	if err := CatchSignals(caught[1], []unix.Signal{unix.SIGPIPE}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Pipe2(broken[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	unix.Close(broken[0])
	defer unix.Close(broken[1])
	// The signal is handled before the write returns, on this thread.
	runtime.LockOSThread()
	_, err := unix.Write(broken[1], []byte("x"))
	runtime.UnlockOSThread()
	if err != unix.EPIPE {
		t.Fatalf("write into a pipe without a reader: %v, want EPIPE", err)
	}
	var got [8]byte
	if n, _ := unix.Read(caught[0], got[:]); n > 0 {
		t.Fatalf("the SIGPIPE of our own write arrived: %v", got[:n])
	}
	if out, err := exec.Command("/bin/kill", "-PIPE", strconv.Itoa(unix.Getpid())).CombinedOutput(); err != nil {
		t.Fatalf("kill -PIPE: %v %s", err, out)
	}
	if err := waitReadable(caught[0], 5000); err != nil {
		t.Fatalf("the SIGPIPE another process sent: %v", err)
	}
	if n, err := unix.Read(caught[0], got[:]); err != nil || n != 1 || got[0] != byte(unix.SIGPIPE) {
		t.Fatalf("read %v (%d bytes, %v), want the one byte %d", got[:n], n, err, unix.SIGPIPE)
	}
}

// waitReadable waits up to timeout ms for fd to have data. The signals
// the tests send may land on the polling thread and interrupt the poll,
// which is then taken up again.
func waitReadable(fd, timeout int) error {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(pfd, timeout)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return err
		case n != 1:
			return fmt.Errorf("nothing on the pipe after %d ms", timeout)
		}
		return nil
	}
}
