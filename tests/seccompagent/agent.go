// Package seccompagent is a minimal seccomp notify agent for tests: it
// receives what a runtime sends to a listenerPath socket and answers one
// notification with a made-up return value.
package seccompagent

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// notif and notifResp are struct seccomp_notif and seccomp_notif_resp
// (linux/seccomp.h); x/sys/unix does not define them.
type notif struct {
	id    uint64
	pid   uint32
	flags uint32
	nr    int32
	arch  uint32
	ip    uint64
	args  [6]uint64
}

type notifResp struct {
	id    uint64
	val   int64
	error int32
	flags uint32
}

// Receive accepts one connection on ln and returns the container process
// state and the listener fd it carries, checking the message is shaped as
// runtime-spec says (one fd, named "seccompFd" in state.fds).
func Receive(ln *net.UnixListener) (specs.ContainerProcessState, int, error) {
	var state specs.ContainerProcessState
	conn, err := ln.AcceptUnix()
	if err != nil {
		return state, -1, fmt.Errorf("accepting the runtime's connection: %w", err)
	}
	defer conn.Close()
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return state, -1, fmt.Errorf("reading the state message: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return state, -1, fmt.Errorf("want one control message, got %d (%v)", len(msgs), err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil {
		return state, -1, fmt.Errorf("parsing SCM_RIGHTS: %w", err)
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return state, -1, fmt.Errorf("want one fd, got %d", len(fds))
	}
	if err := json.Unmarshal(buf[:n], &state); err != nil {
		unix.Close(fds[0])
		return state, -1, fmt.Errorf("decoding state %q: %w", buf[:n], err)
	}
	if !slices.Equal(state.Fds, []string{specs.SeccompFdName}) {
		unix.Close(fds[0])
		return state, -1, fmt.Errorf("state.fds is %q, want [%q]", state.Fds, specs.SeccompFdName)
	}
	return state, fds[0], nil
}

// Answer waits for one notification on the listener fd, checks it is
// syscall nr, and makes that syscall return val without running it. It
// returns the pid the kernel reports for the caller.
func Answer(listener int, nr int32, val int64) (pid uint32, err error) {
	var req notif
	if err := ioctl(listener, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&req)); err != nil {
		return 0, fmt.Errorf("SECCOMP_IOCTL_NOTIF_RECV: %w", err)
	}
	if req.nr != nr {
		return req.pid, fmt.Errorf("notified of syscall %d, want %d", req.nr, nr)
	}
	resp := notifResp{id: req.id, val: val}
	if err := ioctl(listener, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp)); err != nil {
		return req.pid, fmt.Errorf("SECCOMP_IOCTL_NOTIF_SEND: %w", err)
	}
	return req.pid, nil
}

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}
