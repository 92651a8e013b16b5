package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/nsenter"
)

// Messages between the runtime and the container's init after the
// namespace stage. They share the frame format and message type of that
// stage (nsenter.Reply), so one reader serves the whole conversation.
const (
	msgHooks  = "hooks"  // init → parent: mounts done, run prestart/createRuntime hooks
	msgReady  = "ready"  // init → parent: set up, about to wait for start
	msgAck    = "ack"    // parent → init: go on
	msgError  = "error"  // either way: the other side must give up; Message says why
	msgNotify = "notify" // init → parent: a seccomp listener fd follows (SCM_RIGHTS)
	// init → parent: the source of bind mount N, please; the parent
	// answers with this type and the source's fd (SCM_RIGHTS).
	msgMountSource = "mountsource"
	msgIdmap       = "idmap" // init → parent: idmap the detached mount of mount N that follows (SCM_RIGHTS)
	// SetupOnly init → parent: the pty slave of the container's terminal
	// follows (SCM_RIGHTS), for the process that create starts.
	msgConsole = "console"
	// The exec init's last word, from nsenter.SpawnAndExit (a frame, or
	// the name it exits with): the exec'd process runs (past execve) with
	// host pid Pid, a child of the parent; or msgSpawnError, the step at
	// which it failed and errno.
	msgPid        = "pid"
	msgSpawnError = "spawnerror"
)

// syncConn is one side of the sync socket.
type syncConn struct {
	f *os.File
}

func (c *syncConn) send(typ, message string) error {
	data, err := json.Marshal(nsenter.Reply{Type: typ, Message: message})
	if err != nil {
		return err
	}
	return nsenter.WriteFrame(c.f, data)
}

// sendValue sends an arbitrary JSON value as one frame (the init config).
func (c *syncConn) sendValue(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return nsenter.WriteFrame(c.f, data)
}

func (c *syncConn) recvValue(v any) error {
	frame, err := nsenter.ReadFrame(c.f)
	if err != nil {
		return err
	}
	return json.Unmarshal(frame, v)
}

// recv reads the next message. An error message from the peer becomes a Go
// error carrying the peer's text; a closed socket becomes errPeerGone. A
// peer that dies (OOM-killed, say) before it read what we sent resets the
// connection instead of closing it: that is gone too.
func (c *syncConn) recv() (*nsenter.Reply, error) {
	rep, err := nsenter.ReadReply(c.f)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, unix.ECONNRESET) {
			return nil, errPeerGone
		}
		return nil, err
	}
	if rep.Type == msgError {
		return nil, errors.New(rep.Message)
	}
	return rep, nil
}

// expect reads the next message and checks its type.
func (c *syncConn) expect(typ string) (*nsenter.Reply, error) {
	rep, err := c.recv()
	if err != nil {
		return nil, err
	}
	if rep.Type != typ {
		return nil, fmt.Errorf("sync: got %q, want %q", rep.Type, typ)
	}
	return rep, nil
}

// receiveFD reads one message into payload that must carry exactly one fd
// (SCM_RIGHTS); what names the fd in errors.
func receiveFD(sock *os.File, payload []byte, what string) (*os.File, error) {
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), payload, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("receive %s: %w", what, err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("receive %s: no fd in the message", what)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("receive %s: want exactly one fd", what)
	}
	return os.NewFile(uintptr(fds[0]), what), nil
}

var errPeerGone = errors.New("the other end of the sync socket went away")

// waitClosed returns once the peer has closed its end (or died): read
// gives end of file then. Nothing more is expected from it.
func (c *syncConn) waitClosed() {
	var b [1]byte
	for {
		n, err := c.f.Read(b[:])
		if n == 0 || err != nil {
			return
		}
	}
}
