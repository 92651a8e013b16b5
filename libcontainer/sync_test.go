package libcontainer

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// A peer that exits with our message unread resets the connection; recv
// must report it as gone (so that create explains how the init died), not
// as a socket error.
func TestRecvPeerGoneWithUnreadData(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours := &syncConn{f: os.NewFile(uintptr(fds[0]), "ours")}
	defer ours.f.Close()
	if err := ours.send(msgAck, ""); err != nil {
		t.Fatal(err)
	}
	unix.Close(fds[1])
	if _, err := ours.recv(); !errors.Is(err, errPeerGone) {
		t.Fatalf("recv after the peer closed with data unread: %v, want errPeerGone", err)
	}
}
