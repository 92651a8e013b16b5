package nsenter

import (
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
		pfd := []unix.PollFd{{Fd: int32(fds[0]), Events: unix.POLLIN}}
		if n, err := unix.Poll(pfd, 5000); n != 1 {
			t.Fatalf("signal %d: nothing on the pipe after 5 s (%v)", sig, err)
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
