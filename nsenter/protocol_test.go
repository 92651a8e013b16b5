package nsenter

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// connPair is two connected ends of a sync socket; the first has had the
// peer's version already, as after the first message of a conversation.
func connPair(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := NewConn(os.NewFile(uintptr(fds[0]), "a")), NewConn(os.NewFile(uintptr(fds[1]), "b"))
	t.Cleanup(func() {
		a.Close()
		b.Close()
	})
	a.versioned = true
	return a, b
}

func sameFile(t *testing.T, a, b *os.File) bool {
	t.Helper()
	var sa, sb unix.Stat_t
	if err := unix.Fstat(int(a.Fd()), &sa); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fstat(int(b.Fd()), &sb); err != nil {
		t.Fatal(err)
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// Every kind survives the trip as it was sent, with its file when it
// carries one: the file arrives attached to its own frame, and the frame
// after it is read intact.
func TestEveryKindRoundTrips(t *testing.T) {
	recv, send := connPair(t)
	file, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	for _, kind := range []Kind{
		KindUsermap, KindPid, KindAck, KindHooks, KindMountSource, KindBindSource,
		KindIdmap, KindNotify, KindConsole, KindRoot, KindReady, KindPlanError, KindSpawnError,
		KindHookError, KindProcfs, KindFilesystem,
	} {
		// KindError becomes a Go error and KindConfig is the config's
		// frame: each has its own test.
		withFile, known := carriesFile(kind)
		if !known {
			t.Fatalf("%s is not a known kind", kind)
		}
		m := Message{Header: Header{Kind: kind}, Pid: 42, Message: "mount 3", Step: 7, Errno: int(unix.EPERM),
			Index: 1, How: HookExited, Value: 768, Stderr: []byte("broke")}
		if withFile {
			m.File = file
		}
		if err := send.SendMessage(&m); err != nil {
			t.Fatalf("%s: send: %v", kind, err)
		}
		// A second frame right behind: the reader must not take its bytes.
		if err := send.Send(KindAck, ""); err != nil {
			t.Fatal(err)
		}
		got, err := recv.Recv()
		if err != nil {
			t.Fatalf("%s: recv: %v", kind, err)
		}
		if withFile != (got.File != nil) {
			t.Fatalf("%s: file %v, want %v", kind, got.File != nil, withFile)
		}
		if got.File != nil {
			if !sameFile(t, got.File, file) {
				t.Errorf("%s: another file came", kind)
			}
			got.File.Close()
			got.File, m.File = nil, nil
		}
		if !reflect.DeepEqual(*got, m) {
			t.Errorf("%s: got %+v, want %+v", kind, *got, m)
		}
		if _, err := recv.Expect(KindAck); err != nil {
			t.Fatalf("%s: the frame after it: %v", kind, err)
		}
	}
}

// An end in non-blocking mode, as the runtime's own, waits for a frame
// still to come (with its file) through the poller, sends one with a
// file, and stays in that mode.
func TestRecvWaitsOnANonblockingSocket(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		t.Fatal(err)
	}
	recv, send := NewConn(os.NewFile(uintptr(fds[0]), "a")), NewConn(os.NewFile(uintptr(fds[1]), "b"))
	recv.versioned = true
	defer recv.Close()
	defer send.Close()
	file, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	sent := make(chan error, 1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		sent <- send.SendMessage(&Message{Header: Header{Kind: KindProcfs}, File: file})
	}()
	got, err := recv.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if got.Kind != KindProcfs || got.File == nil || !sameFile(t, got.File, file) {
		t.Fatalf("got %+v", got)
	}
	got.File.Close()
	if err := recv.SendMessage(&Message{Header: Header{Kind: KindProcfs}, File: file}); err != nil {
		t.Fatal(err)
	}
	rc, err := recv.File().SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags int
	_ = rc.Control(func(fd uintptr) { flags, err = unix.FcntlInt(fd, unix.F_GETFL, 0) })
	if err != nil || flags&unix.O_NONBLOCK == 0 {
		t.Errorf("the receiving end left non-blocking mode (flags %#x, %v)", flags, err)
	}
}

func TestErrorMessageBecomesAnError(t *testing.T) {
	recv, send := connPair(t)
	if err := send.Send(KindError, "open /x: no such file"); err != nil {
		t.Fatal(err)
	}
	if _, err := recv.Recv(); err == nil || err.Error() != "open /x: no such file" {
		t.Fatalf("got %v, want the peer's text", err)
	}
}

type testConfig struct {
	Header
	Value string `json:"value"`
}

func TestConfigCarriesKindAndVersion(t *testing.T) {
	recv, send := connPair(t)
	recv.versioned = false
	if err := send.SendConfig(&testConfig{Value: "x"}); err != nil {
		t.Fatal(err)
	}
	var got testConfig
	if err := recv.RecvConfig(&got); err != nil {
		t.Fatal(err)
	}
	if got.Value != "x" || got.Kind != KindConfig || got.Version != ProtocolVersion {
		t.Fatalf("got %+v", got)
	}
	// A config of another version is refused.
	if err := send.writeFrame([]byte(`{"type":"config","v":99,"value":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if err := recv.RecvConfig(&got); err == nil || !strings.Contains(err.Error(), "protocol version mismatch") {
		t.Fatalf("config of version 99: %v", err)
	}
}

// The first message from the stage states its version: another, or none,
// is a mismatch, also when the message is an error (whose text is kept).
// Once the version is in, later messages need not repeat it.
func TestFirstMessageMustStateTheVersion(t *testing.T) {
	for _, tc := range []struct{ frame, want string }{
		{`{"type":"pid","v":2,"pid":5}`, "protocol version mismatch: the other side speaks version 2"},
		{`{"type":"pid","pid":5}`, "protocol version mismatch: the other side speaks version 0"},
		{`{"type":"error","v":2,"message":"no"}`, "version 2, this one 1 (runtime and init binaries differ): no"},
	} {
		recv, send := connPair(t)
		recv.versioned = false
		if err := send.writeFrame([]byte(tc.frame)); err != nil {
			t.Fatal(err)
		}
		if _, err := recv.Recv(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.frame, err, tc.want)
		}
	}
	recv, send := connPair(t)
	recv.versioned = false
	for _, frame := range []string{`{"type":"pid","v":1,"pid":5}`, `{"type":"ready"}`} {
		if err := send.writeFrame([]byte(frame)); err != nil {
			t.Fatal(err)
		}
		if _, err := recv.Recv(); err != nil {
			t.Fatalf("%s: %v", frame, err)
		}
	}
}

func TestUnknownKindIsRefused(t *testing.T) {
	recv, send := connPair(t)
	if err := send.writeFrame([]byte(`{"type":"launch"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := recv.Recv(); err == nil || !strings.Contains(err.Error(), `unknown message kind "launch"`) {
		t.Fatalf("got %v", err)
	}
	if err := send.Send("launch", ""); err == nil {
		t.Fatal("sent a message of an unknown kind")
	}
}

// A file must come with the kinds that name one, and with no other.
func TestFileMustMatchTheKind(t *testing.T) {
	recv, send := connPair(t)
	if err := send.writeFrame([]byte(`{"type":"notify"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := recv.Recv(); err == nil || !strings.Contains(err.Error(), "without its file") {
		t.Fatalf("notify without a file: %v", err)
	}
	frame := binary.LittleEndian.AppendUint32(nil, uint32(len(`{"type":"ack"}`)))
	frame = append(frame, `{"type":"ack"}`...)
	if err := unix.Sendmsg(int(send.File().Fd()), frame, unix.UnixRights(0), nil, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := recv.Recv(); err == nil || !strings.Contains(err.Error(), `a file came with "ack"`) {
		t.Fatalf("ack with a file: %v", err)
	}
	if err := send.SendFile(KindAck, "", os.Stdin); err == nil {
		t.Fatal("sent an ack with a file")
	}
	if err := send.Send(KindNotify, ""); err == nil {
		t.Fatal("sent a notify without its file")
	}
}

// A peer that dies in the middle of a frame, or after the header only,
// has gone: nothing of the partial frame is decoded.
func TestTruncatedFrameIsPeerGone(t *testing.T) {
	for _, partial := range [][]byte{
		{10, 0}, // half a header
		append([]byte{20, 0, 0, 0}, `{"type":`...), // half a payload
	} {
		recv, send := connPair(t)
		if _, err := send.File().Write(partial); err != nil {
			t.Fatal(err)
		}
		send.Close()
		if _, err := recv.Recv(); !errors.Is(err, ErrPeerGone) {
			t.Errorf("%q then close: %v, want ErrPeerGone", partial, err)
		}
	}
	// A whole frame whose JSON is cut short is a bad message.
	recv, send := connPair(t)
	if err := send.writeFrame([]byte(`{"type":"ac`)); err != nil {
		t.Fatal(err)
	}
	if _, err := recv.Recv(); err == nil || !strings.Contains(err.Error(), "bad message") {
		t.Fatalf("cut JSON: %v", err)
	}
}

// A peer that exits with our message unread resets the connection; Recv
// must report it as gone (so that create explains how the init died), not
// as a socket error.
func TestRecvPeerGoneWithUnreadData(t *testing.T) {
	ours, theirs := connPair(t)
	if err := ours.Send(KindAck, ""); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	if _, err := ours.Recv(); !errors.Is(err, ErrPeerGone) {
		t.Fatalf("recv after the peer closed with data unread: %v, want ErrPeerGone", err)
	}
}

func TestOversizedFrameIsRefused(t *testing.T) {
	recv, send := connPair(t)
	if _, err := send.File().Write(binary.LittleEndian.AppendUint32(nil, MaxFrame+1)); err != nil {
		t.Fatal(err)
	}
	if _, err := recv.Recv(); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("got %v", err)
	}
}

// The version is the bootstrap's first record, whatever else it holds, so
// that a stage of another version reads nothing before it.
func TestBootstrapStartsWithTheVersion(t *testing.T) {
	for _, b := range []*Bootstrap{{}, {CloneFlags: unix.CLONE_NEWPID, Fork: true, Plan: &Plan{}}} {
		got := b.Encode()
		want := record(recVersion, ProtocolVersion)
		if len(got) < len(want) || string(got[:len(want)]) != string(want) {
			t.Errorf("%+v encodes as % x…, want it to start with % x", b, got[:min(len(got), 16)], want)
		}
	}
}

// Every report a process can leave in the exec fifo arrives as written,
// a hook's stderr to the last byte, whatever its encoding.
func TestReportsRoundTrip(t *testing.T) {
	for _, m := range []Message{
		{Header: Header{Kind: KindError}, Message: "exec /x: no such file or directory"},
		{Header: Header{Kind: KindSpawnError}, Step: SpawnStepExec, Errno: int(unix.ENOENT)},
		{Header: Header{Kind: KindHookError}, Index: 2, How: HookExited, Value: 768, Stderr: []byte("\"q\" \\ \x00\x01 \xc3\xa9 \xff\n")},
		{Header: Header{Kind: KindHookError}, How: HookTimeout, Value: 5},
	} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := NewConn(w).SendMessage(&m); err != nil {
			t.Fatal(err)
		}
		w.Close()
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseReport(data)
		if err != nil || !reflect.DeepEqual(*got, m) {
			t.Errorf("%s report: got %+v, %v; want %+v", m.Kind, got, err, m)
		}
	}
}

// Only one whole frame of a report kind is a report: text, a cut or
// padded frame, or another message is refused with a readable error.
func TestParseReportRefusesWhatIsNoReport(t *testing.T) {
	frame := func(payload string) []byte { return appendFrame(nil, []byte(payload)) }
	whole := frame(`{"type":"error","message":"x"}`)
	for name, data := range map[string][]byte{
		"text":          []byte("exec /x: no such file or directory"),
		"short header":  {1, 0},
		"cut":           whole[:len(whole)-1],
		"padded":        append(append([]byte{}, whole...), '\n'),
		"two frames":    append(append([]byte{}, whole...), whole...),
		"ack":           frame(`{"type":"ack"}`),
		"unknown kind":  frame(`{"type":"boom"}`),
		"needs a file":  frame(`{"type":"notify"}`),
		"not JSON":      frame(`hook 1 1 768`),
		"stderr base64": frame(`{"type":"hookerror","stderr":"%%%"}`),
	} {
		if got, err := ParseReport(data); err == nil || !strings.Contains(err.Error(), "report in the exec fifo is unreadable") {
			t.Errorf("%s: got %+v, %v", name, got, err)
		}
	}
}

// execFifo is a new exec fifo and `start`'s end of it, non-blocking.
func execFifo(t *testing.T) (path string, startEnd int) {
	t.Helper()
	path = t.TempDir() + "/exec.fifo"
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	startEnd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(startEnd) })
	return path, startEnd
}

// initPidfd stands in for the pidfd of an init that has exited, or not:
// a pipe, readable when exited.
func initPidfd(t *testing.T, exited bool) int {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Close(p[0])
		unix.Close(p[1])
	})
	if exited {
		if _, err := unix.Write(p[1], []byte{0}); err != nil {
			t.Fatal(err)
		}
	}
	return p[0]
}

// fifoPair is the exec fifo as `start` and a running init hold it.
func fifoPair(t *testing.T) (startEnd int, initEnd *os.File, done int) {
	t.Helper()
	path, startEnd := execFifo(t)
	initEnd, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { initEnd.Close() })
	return startEnd, initEnd, initPidfd(t, false)
}

func TestReadReport(t *testing.T) {
	t.Run("report", func(t *testing.T) {
		start, init, done := fifoPair(t)
		want := Message{Header: Header{Kind: KindError}, Message: "seccomp: installing filter: invalid argument"}
		go func() {
			_ = NewConn(init).SendMessage(&want)
			init.Close()
		}()
		got, err := ReadReport(start, done)
		if err != nil || got == nil || !reflect.DeepEqual(*got, want) {
			t.Errorf("got %+v, %v; want %+v", got, err, want)
		}
	})
	t.Run("exec succeeded", func(t *testing.T) {
		start, init, done := fifoPair(t)
		init.Close()
		if got, err := ReadReport(start, done); got != nil || err != nil {
			t.Errorf("a fifo closed with nothing written: %+v, %v", got, err)
		}
	})
	t.Run("endless", func(t *testing.T) {
		start, init, done := fifoPair(t)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			defer init.Close()
			junk := make([]byte, 4096)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := init.Write(junk); err != nil {
					return
				}
			}
		}()
		if got, err := ReadReport(start, done); err == nil || !strings.Contains(err.Error(), "more than") {
			t.Errorf("endless writes: %+v, %v", got, err)
		}
	})
}

// An init that dies before it opens its end of the fifo leaves no writer
// to close it: the pidfd ends the wait.
func TestReadReportInitExitedBeforeStart(t *testing.T) {
	_, start := execFifo(t)
	if got, err := ReadReport(start, initPidfd(t, true)); err == nil || err.Error() != "container init exited before start" {
		t.Errorf("got %+v, %v", got, err)
	}
}

// A message where another kind was due is worded with the kinds that
// were, and the fd it carried is closed.
func TestUnexpectedMessage(t *testing.T) {
	for _, tc := range []struct {
		want []Kind
		msg  string
	}{
		{[]Kind{KindFilesystem}, `sync: got "error", want "filesystem"`},
		{[]Kind{KindAck, KindHookError}, `sync: got "error", want "ack" or "hookerror"`},
	} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		if err := unexpected(&Message{Header: Header{Kind: KindError}, File: r}, tc.want...); err == nil || err.Error() != tc.msg {
			t.Errorf("unexpected(%v) = %v, want %q", tc.want, err, tc.msg)
		}
		if err := r.Close(); !errors.Is(err, os.ErrClosed) {
			t.Errorf("the message's fd was left open (closing it again: %v)", err)
		}
	}
}
