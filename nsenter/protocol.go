package nsenter

/*
#include "protocol.h"
*/
import "C"

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/oci-rt/oci-rt/internal/quickjson"
)

// The parent↔init protocol. This comment is its one definition; nsenter.c,
// plan.c and libcontainer follow it.
//
// Transport: the sync socket, a SOCK_STREAM socketpair whose child end
// the init finds in SyncFDEnv. Everything on it is a frame: a
// little-endian uint32 length, then that many bytes (at most MaxFrame).
// A file descriptor travels only attached (SCM_RIGHTS) to the frame of
// the message that names it, sent in one sendmsg with that frame; Conn
// receives it together with the frame's header, so no byte and no fd
// ever crosses the socket outside a frame.
//
// Version: the first message each way carries ProtocolVersion. The
// parent's first frame is the bootstrap (Bootstrap.Encode: binary
// records, the version record first), which the stage checks before it
// acts on anything; the stage's first message states the version it
// speaks, which Conn checks; the Go init checks the version in its config
// frame. A runtime and an init built from different sources thus fail
// with a plain "protocol version mismatch" instead of misreading each
// other.
//
// Messages: apart from the bootstrap, every frame is one JSON object
// whose "type" is a Kind (Message). The conversation, in order:
//
//	parent → stage    bootstrap
//	stage → parent    usermap (when it creates a user namespace) ← ack
//	stage → parent    pid (the process that goes on) [← ack when the
//	                  stage entered the container's cgroup]
//	then either the Go init:
//	parent → init     config (the init config; kind and version inline)
//	init → parent     hooks ← ack | mountsource ← bindsource+fd |
//	                  idmap+fd ← ack | notify+fd | console+fd, in any
//	                  number, then ready ← ack
//	or an exec plan carried out in C (plan.go):
//	plan → parent     notify+fd, then ready ← ack, or planerror
//	or, for a create the runtime sets up from outside
//	(Bootstrap.SetUpByParent), a plan it sends once it has:
//	stage → parent    procfs+fd, as many as the bootstrap asked for
//	parent → stage    filesystem requests (filesystem.go), any number,
//	                  each answered by filesystem+fd or planerror, and
//	                  the hooks request (hooks.go), answered by ack or
//	                  hookerror
//	parent → stage    plan (a frame whose payload is Plan.Encode's),
//	                  then console+fd if the plan takes a terminal
//	plan → parent     as an exec plan's, the socket closing at its end
//	and at the end of an exec (SpawnAndExit, C): spawnerror, or the
//	socket closes and the exit name reports (below).
//
// Either side may send error instead of an answer or a request: the
// other side gives up and shows its text.
//
// The exec fifo: a created container's process that fails after `start`
// opened the fifo writes one frame into it before it exits (an execve
// that succeeds closes the fifo with nothing written): error (the Go
// init's text), or from C spawnerror or hookerror. `start` reads the
// fifo to end of file and decodes it with ParseReport. A Go writer sends
// its report with a Conn on the fifo, as on the socket.
//
// One report cannot be a frame: the name an exec init exits with once it
// has started the process ("started PID" or "failed STEP ERRNO", see
// ReadExitReport). Its writer no longer holds the socket, and a process
// name holds 15 bytes.

// ProtocolVersion is the version of the parent↔init protocol.
const ProtocolVersion = C.OCIRT_PROTOCOL_VERSION

// MaxFrame bounds a frame on the sync socket so that a confused peer cannot
// make the other side allocate without limit.
const MaxFrame = 64 << 20

// Kind is the type of a message.
type Kind string

// The message kinds, with their payload (the Message fields they set) and
// direction.
const (
	// KindUsermap, stage → parent: write the uid and gid maps of the new
	// user namespace of process Pid; answered by KindAck.
	KindUsermap Kind = "usermap"
	// KindPid, stage → parent: Pid is the process that goes on (into Go
	// or into the plan). Also the outcome of SpawnAndExit read from an
	// exit name: Pid is the started process.
	KindPid Kind = "pid"
	// KindError, either way: the sender gives up; Message says why, and
	// Errno, where set, is the system error that stopped it (Err).
	KindError Kind = "error"
	// KindAck, parent → init: done what was asked, go on. C compares it
	// byte for byte (OCIRT_MSG_ACK). Also stage → parent: the hooks of a
	// hooks request ran (hooks.go).
	KindAck Kind = "ack"
	// KindConfig, parent → Go init: the init config (libcontainer's
	// initConfig, which carries Header inline). Only as the init's first
	// frame.
	KindConfig Kind = "config"
	// KindHooks, init → parent: the mounts are done, run the prestart
	// and createRuntime hooks; answered by KindAck.
	KindHooks Kind = "hooks"
	// KindMountSource, init → parent: Message is the decimal index of a
	// bind mount in the config whose source the parent opens; answered
	// by KindBindSource or KindError.
	KindMountSource Kind = "mountsource"
	// KindBindSource, parent → init: File is the requested source
	// (O_PATH).
	KindBindSource Kind = "bindsource"
	// KindIdmap, init → parent: File is the detached bind of the mount
	// whose index Message is, to idmap; answered by KindAck or KindError.
	KindIdmap Kind = "idmap"
	// KindNotify, init or plan → parent: File is the seccomp listener,
	// for the agent. No answer.
	KindNotify Kind = "notify"
	// KindConsole, a setup-only init → parent, or parent → a plan that
	// takes its terminal from the parent: File is the pty slave of the
	// container's terminal, for the process. No answer. C compares it
	// byte for byte (OCIRT_MSG_CONSOLE).
	KindConsole Kind = "console"
	// KindRoot, parent → a plan that takes its root from the parent: File
	// is the container's root (O_PATH), where the switch of root moved
	// only the setup thread's (--no-pivot). No answer. C compares it byte
	// for byte (OCIRT_MSG_ROOT).
	KindRoot Kind = "root"
	// KindProcfs, stage → parent: File is an fsopen("proc") context made
	// in the container's pid namespace (Bootstrap.SetUpByParent). No
	// answer.
	KindProcfs Kind = "procfs"
	// KindFilesystem, a stage set up by its parent → parent: File is the
	// filesystem context a filesystem request asked for (filesystem.go),
	// created unless Errno says why its setting Step failed. C fills it in
	// (OCIRT_MSG_FILESYSTEM).
	KindFilesystem Kind = "filesystem"
	// KindReady, init or plan → parent: set up; waits for KindAck.
	KindReady Kind = "ready"
	// KindPlanError, plan → parent: step Step of the plan failed with
	// Errno (see Plan.Err).
	KindPlanError Kind = "planerror"
	// KindSpawnError, SpawnAndExit → parent (or an exit name or the exec
	// fifo): starting the process failed at step Step with Errno.
	KindSpawnError Kind = "spawnerror"
	// KindHookError, into the exec fifo: the startContainer hook Index
	// of the config failed; or stage → parent, in answer to a hooks
	// request (hooks.go): its hook Index failed. How (HookExited, ...)
	// and Value say how, Stderr holds what it wrote to stderr (its first
	// bytes).
	KindHookError Kind = "hookerror"
)

// carriesFile tells whether a message of kind k carries a file, and
// whether k is a kind at all. (A switch rather than a map: nothing to
// build when the process starts.)
func carriesFile(k Kind) (withFile, known bool) {
	switch k {
	case KindBindSource, KindIdmap, KindNotify, KindConsole, KindRoot, KindProcfs, KindFilesystem:
		return true, true
	case KindUsermap, KindPid, KindError, KindAck, KindConfig, KindHooks,
		KindMountSource, KindReady, KindPlanError, KindSpawnError, KindHookError:
		return false, true
	}
	return false, false
}

// Header is what every message starts with: its kind and, on the first
// message of each side, the protocol version.
type Header struct {
	Kind    Kind `json:"type"`
	Version int  `json:"v,omitempty"`
}

// ProtocolHeader returns the header of a message that embeds it.
func (h *Header) ProtocolHeader() *Header { return h }

// CheckVersion fails unless the header states this protocol's version.
func (h *Header) CheckVersion() error {
	if h.Version != ProtocolVersion {
		return fmt.Errorf("protocol version mismatch: the other side speaks version %d, this one %d (runtime and init binaries differ)", h.Version, ProtocolVersion)
	}
	return nil
}

// Message is one message of the protocol; which fields a kind sets is
// documented at the kind.
type Message struct {
	Header
	Pid     int    `json:"pid,omitempty"`
	Message string `json:"message,omitempty"`
	Step    int    `json:"step,omitempty"`
	Errno   int    `json:"errno,omitempty"`
	Index   int    `json:"index,omitempty"`
	How     int    `json:"how,omitempty"`
	Value   int    `json:"value,omitempty"`
	// Stderr travels as base64, so that C passes on every byte a hook
	// wrote, as Go's own hook runner does, whatever its encoding.
	Stderr []byte `json:"stderr,omitempty"`
	// File is the fd the message carries (kinds that name one), attached
	// to its frame.
	File *os.File `json:"-"`
}

// ErrPeerGone is what reading gives once the other side closed the socket
// or died (a reset counts).
var ErrPeerGone = errors.New("the other end of the sync socket went away")

// Conn is one end of the sync socket: the one reader and writer of the
// protocol.
type Conn struct {
	f *os.File
	// versioned: the peer's first message, with its version, is in.
	versioned bool
}

// NewConn wraps the socket f.
func NewConn(f *os.File) *Conn { return &Conn{f: f} }

// File is the socket.
func (c *Conn) File() *os.File { return c.f }

// Close closes the socket.
func (c *Conn) Close() error { return c.f.Close() }

// Send sends a message without payload of kind k, or with text msg.
func (c *Conn) Send(k Kind, msg string) error {
	return c.SendMessage(&Message{Header: Header{Kind: k}, Message: msg})
}

// SendFile sends a message of kind k, which must be one that carries a
// file, with text msg and f attached.
func (c *Conn) SendFile(k Kind, msg string, f *os.File) error {
	return c.SendMessage(&Message{Header: Header{Kind: k}, Message: msg, File: f})
}

// SendMessage sends m, with its file attached when its kind carries one.
func (c *Conn) SendMessage(m *Message) error {
	withFile, known := carriesFile(m.Kind)
	if !known || withFile != (m.File != nil) {
		return fmt.Errorf("sync: cannot send %q with file %v", m.Kind, m.File != nil)
	}
	data, err := quickjson.Marshal(m)
	if err != nil {
		return err
	}
	if m.File == nil {
		return c.writeFrame(data)
	}
	frame := appendFrame(nil, data)
	rights := unix.UnixRights(int(m.File.Fd()))
	var n int
	err = c.onSocket(true, func(fd int) (err error) {
		n, err = unix.SendmsgN(fd, frame, rights, nil, 0)
		return err
	})
	if err == nil && n != len(frame) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("sync: send %s: %w", m.Kind, err)
	}
	return nil
}

// SendBootstrap sends the stage its bootstrap, the parent's first frame.
func (c *Conn) SendBootstrap(b *Bootstrap) error {
	return c.writeFrame(b.Encode())
}

// SendPlan sends the plan a stage set up by the parent waits for.
func (c *Conn) SendPlan(p *Plan) error {
	return c.writeFrame(p.Encode())
}

// SendConfig sends the Go init its config: v embeds a Header, which is
// filled in here.
func (c *Conn) SendConfig(v interface{ ProtocolHeader() *Header }) error {
	*v.ProtocolHeader() = Header{Kind: KindConfig, Version: ProtocolVersion}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.writeFrame(data)
}

// RecvConfig receives the config into v and checks its kind and version.
func (c *Conn) RecvConfig(v interface{ ProtocolHeader() *Header }) error {
	data, f, err := c.readFrame()
	if err != nil {
		return err
	}
	if f != nil {
		f.Close()
		return errors.New("sync: a file came with the config")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("sync: bad config: %w", err)
	}
	h := v.ProtocolHeader()
	if err := h.CheckVersion(); err != nil {
		return err
	}
	if h.Kind != KindConfig {
		return fmt.Errorf("sync: got %q, want %q", h.Kind, KindConfig)
	}
	c.versioned = true
	return nil
}

// Recv reads the next message, with the file it carries. The peer's error
// message becomes a Go error with its text; a closed socket ErrPeerGone.
func (c *Conn) Recv() (*Message, error) {
	data, f, err := c.readFrame()
	if err != nil {
		return nil, err
	}
	m, err := decodeMessage(data, f)
	if err != nil {
		return nil, err
	}
	if !c.versioned {
		if err := m.CheckVersion(); err != nil {
			if m.Kind == KindError {
				err = fmt.Errorf("%w: %w", err, m.Err())
			}
			return nil, err
		}
		c.versioned = true
	}
	if m.Kind == KindError {
		return nil, m.Err()
	}
	return m, nil
}

// Err is the error an error message reports: its text, wrapping the
// system error its Errno names, as Plan.Err does for a failed step. The C
// side sends the errno as a number and Go words it, so that an error reads
// the same whichever C library the runtime was built with, and as Go's
// own errors do.
func (m *Message) Err() error {
	if m.Errno == 0 {
		return errors.New(m.Message)
	}
	return fmt.Errorf("%s: %w", m.Message, unix.Errno(m.Errno))
}

// Expect reads the next message and checks its kind.
func (c *Conn) Expect(k Kind) (*Message, error) {
	m, err := c.Recv()
	if err != nil {
		return nil, err
	}
	if m.Kind != k {
		return nil, unexpected(m, k)
	}
	return m, nil
}

// unexpected is the error for m, received where one of want was due; it
// closes the fd m carried, which nobody will take.
func unexpected(m *Message, want ...Kind) error {
	if m.File != nil {
		m.File.Close()
	}
	quoted := make([]string, len(want))
	for i, k := range want {
		quoted[i] = strconv.Quote(string(k))
	}
	return fmt.Errorf("sync: got %q, want %s", m.Kind, strings.Join(quoted, " or "))
}

// WaitClosed returns once the peer has closed its end (or died): read
// gives end of file then. Nothing more is expected from it.
func (c *Conn) WaitClosed() {
	var b [1]byte
	for {
		n, err := c.f.Read(b[:])
		if n == 0 || err != nil {
			return
		}
	}
}

// decodeMessage decodes a frame and checks that a file came with it
// exactly when its kind carries one.
func decodeMessage(data []byte, f *os.File) (*Message, error) {
	var m Message
	if err := quickjson.Unmarshal(data, &m); err != nil {
		if f != nil {
			f.Close()
		}
		return nil, fmt.Errorf("sync: bad message: %w", err)
	}
	withFile, known := carriesFile(m.Kind)
	switch {
	case !known:
		err := fmt.Errorf("sync: unknown message kind %q", m.Kind)
		if f != nil {
			f.Close()
		}
		return nil, err
	case withFile && f == nil:
		return nil, fmt.Errorf("sync: %q came without its file", m.Kind)
	case !withFile && f != nil:
		f.Close()
		return nil, fmt.Errorf("sync: a file came with %q", m.Kind)
	}
	m.File = f
	return &m, nil
}

// maxReport bounds what `start` reads from the exec fifo: a report is a
// line of text or a hook's first bytes of stderr, and whatever else
// writes there must not make `start` allocate without limit.
const maxReport = 64 << 10

// ReadReport reads the exec fifo fd, opened O_NONBLOCK by `start`, to
// end of file, and returns the report in it, or nil when the process
// wrote none (its execve succeeded). done is the init's pidfd: when the
// init exits without ever opening its end, no end of file would come.
func ReadReport(fd, done int) (*Message, error) {
	var data []byte
	buf := make([]byte, 4096)
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(done), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return nil, fmt.Errorf("wait for container init: %w", err)
		}
		if fds[0].Revents&(unix.POLLIN|unix.POLLHUP) != 0 {
			n, err := unix.Read(fd, buf)
			if n > 0 {
				if data = append(data, buf[:n]...); len(data) > maxReport {
					return nil, fmt.Errorf("the container's process wrote more than %d bytes into the exec fifo", maxReport)
				}
				continue
			}
			if err == nil || !errors.Is(err, unix.EAGAIN) {
				break
			}
		}
		// Until the init opens its end, a read gives end of file at once
		// and POLLHUP comes only once a writer has come and gone.
		if fds[1].Revents&unix.POLLIN != 0 && fds[0].Revents == 0 {
			return nil, errors.New("container init exited before start")
		}
	}
	if len(data) == 0 {
		return nil, nil
	}
	return ParseReport(data)
}

// ParseReport decodes what a process wrote into the exec fifo: exactly
// one frame of kind error, spawnerror or hookerror.
func ParseReport(data []byte) (*Message, error) {
	fail := func(why string) (*Message, error) {
		return nil, fmt.Errorf("the container's process failed, but its report in the exec fifo is unreadable: %s", why)
	}
	if len(data) < 4 {
		return fail("short frame")
	}
	size := binary.LittleEndian.Uint32(data)
	if uint64(size) != uint64(len(data)-4) {
		return fail(fmt.Sprintf("frame of %d bytes in %d", size, len(data)-4))
	}
	m, err := decodeMessage(data[4:], nil)
	if err != nil {
		return fail(err.Error())
	}
	switch m.Kind {
	case KindError, KindSpawnError, KindHookError:
		return m, nil
	}
	return fail("kind " + string(m.Kind))
}

func appendFrame(buf, payload []byte) []byte {
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(payload)))
	return append(buf, payload...)
}

func (c *Conn) writeFrame(payload []byte) error {
	if len(payload) > MaxFrame {
		return fmt.Errorf("sync frame of %d bytes is too large", len(payload))
	}
	_, err := c.f.Write(appendFrame(make([]byte, 0, 4+len(payload)), payload))
	return err
}

// onSocket runs op on the socket's fd, through the runtime's poller when
// the socket is in non-blocking mode: an op that would block waits for
// the socket and runs again. (The file's Fd would put it back into
// blocking mode.)
func (c *Conn) onSocket(write bool, op func(fd int) error) error {
	rc, err := c.f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	run := func(fd uintptr) bool {
		for {
			if opErr = op(int(fd)); opErr != unix.EINTR {
				return opErr != unix.EAGAIN
			}
		}
	}
	if write {
		err = rc.Write(run)
	} else {
		err = rc.Read(run)
	}
	if err != nil {
		return err
	}
	return opErr
}

// readFrame reads one frame, and the fd attached to it, if any: the
// header is read with recvmsg, as an fd arrives with the first byte of
// the frame it was sent with. A peer that closed or reset the socket,
// between frames or in one, is ErrPeerGone.
func (c *Conn) readFrame() ([]byte, *os.File, error) {
	var h [4]byte
	oob := make([]byte, unix.CmsgSpace(4*2))
	var n, oobn, flags int
	err := c.onSocket(false, func(fd int) (err error) {
		n, oobn, flags, _, err = unix.Recvmsg(fd, h[:], oob, unix.MSG_CMSG_CLOEXEC)
		return err
	})
	if err != nil {
		return nil, nil, peerGone(err)
	}
	if n == 0 {
		return nil, nil, ErrPeerGone
	}
	f, err := attachedFile(oob[:oobn], flags)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) ([]byte, *os.File, error) {
		if f != nil {
			f.Close()
		}
		return nil, nil, err
	}
	if n < len(h) {
		if _, err := io.ReadFull(c.f, h[n:]); err != nil {
			return fail(peerGone(err))
		}
	}
	size := binary.LittleEndian.Uint32(h[:])
	if size > MaxFrame {
		return fail(fmt.Errorf("sync frame of %d bytes is too large", size))
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(c.f, buf); err != nil {
		return fail(peerGone(err))
	}
	return buf, f, nil
}

// attachedFile is the one fd in a frame's control data, or nil.
func attachedFile(oob []byte, flags int) (*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("sync: control data: %w", err)
	}
	var fds []int
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		if err == nil {
			fds = append(fds, got...)
		}
	}
	if len(fds) != 1 || flags&unix.MSG_CTRUNC != 0 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("sync: a frame came with %d fds, want one", len(fds))
	}
	return os.NewFile(uintptr(fds[0]), "sync-fd"), nil
}

func peerGone(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, unix.ECONNRESET) {
		return ErrPeerGone
	}
	return err
}
