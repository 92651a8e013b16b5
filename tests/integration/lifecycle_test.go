package integration

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestCreateStartOutput: create leaves the init blocked before execve (its
// output is empty), start runs the process, whose stdout is the file create
// was given (fds 0-2 pass through unchanged without a terminal).
func TestCreateStartOutput(t *testing.T) {
	r := newRuntime(t)
	c := r.Create(newBundle(t, shell("echo hello from $$")))
	if st := r.State(c.ID); st.Status != "created" || st.Pid != c.Pid {
		t.Fatalf("after create: %+v, want created with pid %d", st, c.Pid)
	}
	if out := c.ReadOutput(t); out != "" {
		t.Fatalf("process ran before start: %q", out)
	}
	r.Must("start", c.ID)
	if ws := c.Wait(t, 10*time.Second); ws.ExitStatus() != 0 {
		t.Fatalf("process exit status %d", ws.ExitStatus())
	}
	if out := c.ReadOutput(t); strings.TrimSpace(out) != "hello from 1" {
		t.Fatalf("output %q, want the process as pid 1 of its namespace", out)
	}
	if st := r.State(c.ID); st.Status != "stopped" || st.Pid != 0 {
		t.Fatalf("after exit: %+v, want stopped with pid 0", st)
	}
}

// procSession returns the session id of pid (field 6 of /proc/PID/stat),
// in our pid namespace.
func procSession(t testing.TB, pid int) int {
	t.Helper()
	data := readFile(t, fmt.Sprintf("/proc/%d/stat", pid))
	fields := strings.Fields(data[strings.LastIndexByte(data, ')')+1:])
	sid, err := strconv.Atoi(fields[3])
	if err != nil {
		t.Fatalf("/proc/%d/stat: %q", pid, data)
	}
	return sid
}

// TestInitIsCallersChild: after create exits the init is our child (no
// monitor process in between: Create's adopt checks PPid), it survived its
// parent's exit (no parent-death signal left set), and it leads its own
// session, before and after start.
func TestInitIsCallersChild(t *testing.T) {
	r := newRuntime(t)
	c := r.Create(newBundle(t, shell("echo ready; exec sleep 1000")))
	time.Sleep(100 * time.Millisecond) // a pending parent-death signal would have landed
	if !pidAlive(c.Pid) {
		t.Fatal("init died when create exited: a parent-death signal is set")
	}
	if sid := procSession(t, c.Pid); sid != c.Pid {
		t.Errorf("init session %d, want its own (%d): no setsid", sid, c.Pid)
	}
	r.Must("start", c.ID)
	waitFor(t, 5*time.Second, "ready", func() bool { return strings.Contains(c.ReadOutput(t), "ready") })
	if sid := procSession(t, c.Pid); sid != c.Pid {
		t.Errorf("process session %d after start, want %d", sid, c.Pid)
	}
	if ppid, err := procPPid(c.Pid); err != nil || ppid != os.Getpid() {
		t.Errorf("process parent %d (%v) after start, want us (%d)", ppid, err, os.Getpid())
	}
}

// startRun starts `oci-rt run` in the background with the container's
// output in a file; the returned channel gives run's exit status.
func startRun(t testing.TB, r *Runtime, bundle, id string, flags ...string) (*os.File, <-chan Result, *os.Process) {
	t.Helper()
	out := tempFile(t)
	cmd := r.Command(append(append([]string{"run", "--bundle", bundle}, flags...), id)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan Result, 1)
	go func() {
		err := cmd.Wait()
		res := Result{Args: cmd.Args[3:], Code: -1, Stderr: fmt.Sprint(err)}
		if cmd.ProcessState != nil {
			res.Code = shellStatus(cmd.ProcessState)
		}
		done <- res
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return out, done, cmd.Process
}

func waitRun(t testing.TB, done <-chan Result) Result {
	t.Helper()
	select {
	case res := <-done:
		return res
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return")
		return Result{}
	}
}

// TestRunExitStatus: run exits with the process's status and deletes the
// container afterwards.
func TestRunExitStatus(t *testing.T) {
	r := newRuntime(t)
	id := newID(t)
	_, done, _ := startRun(t, r, newBundle(t, shell("exit 3")), id)
	if res := waitRun(t, done); res.Code != 3 {
		t.Fatalf("run of `exit 3`: %s, want exit 3", res)
	}
	assertGone(t, r, id)
}

// TestRunKilled: a container killed by SIGKILL makes run exit 137.
func TestRunKilled(t *testing.T) {
	r := newRuntime(t)
	id := newID(t)
	out, done, _ := startRun(t, r, newBundle(t, shell("echo ready; exec sleep 1000")), id)
	waitFor(t, 5*time.Second, "ready", func() bool { return strings.Contains(readFile(t, out.Name()), "ready") })
	r.Must("kill", id, "KILL")
	if res := waitRun(t, done); res.Code != 137 {
		t.Fatalf("run of a SIGKILLed container: %s, want exit 137", res)
	}
	assertGone(t, r, id)
}

// TestRunForwardsSignals: SIGUSR1 and SIGTERM sent to run reach the
// container's traps.
func TestRunForwardsSignals(t *testing.T) {
	r := newRuntime(t)
	id := newID(t)
	script := "trap 'echo got USR1' USR1; trap 'echo got TERM; exit 5' TERM; echo ready; while :; do sleep 0.05; done"
	out, done, runProc := startRun(t, r, newBundle(t, shell(script)), id)
	output := func() string { return readFile(t, out.Name()) }
	waitFor(t, 5*time.Second, "ready", func() bool { return strings.Contains(output(), "ready") })
	if err := runProc.Signal(unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the USR1 trap", func() bool { return strings.Contains(output(), "got USR1") })
	if err := runProc.Signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if res := waitRun(t, done); res.Code != 5 || !strings.Contains(output(), "got TERM") {
		t.Fatalf("run after SIGTERM: %s, output %q; want exit 5 from the TERM trap", res, output())
	}
}

// TestRunDetach: run -d returns while the container runs, its init our
// child.
func TestRunDetach(t *testing.T) {
	r := newRuntime(t)
	id := newID(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	_, done, _ := startRun(t, r, newBundle(t, shell("exec sleep 1000")), id, "-d", "--pid-file", pidFile)
	if res := waitRun(t, done); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	c := &Container{ID: id, Pid: readPidFile(t, pidFile)}
	c.exited = adopt(t, c.Pid)
	if st := r.State(id); st.Status != "running" || st.Pid != c.Pid {
		t.Fatalf("after run -d: %+v", st)
	}
	r.Must("delete", "--force", id)
	if ws := c.Wait(t, 10*time.Second); !ws.Signaled() {
		t.Errorf("init wait status %#x, want killed", ws)
	}
	assertGone(t, r, id)
}

// receiveConsole accepts one connection on l and reads the message the
// runtime sends: a non-empty name and exactly one SCM_RIGHTS fd.
func receiveConsole(t testing.TB, l *net.UnixListener) *os.File {
	t.Helper()
	_ = l.SetDeadline(time.Now().Add(10 * time.Second))
	conn, err := l.AcceptUnix()
	if err != nil {
		t.Fatalf("accept on the console socket: %v", err)
	}
	defer conn.Close()
	buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4*8))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatalf("read console message: %v", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("console message has %d control messages (%v), want 1", len(msgs), err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Fatalf("console message carries fds %v (%v), want exactly one", fds, err)
	}
	if n == 0 {
		t.Error("console message has an empty name")
	}
	// Non-blocking so that reads can time out.
	_ = unix.SetNonblock(fds[0], true)
	return os.NewFile(uintptr(fds[0]), string(buf[:n]))
}

// TestConsoleSocket: with terminal:true the pty master arrives over the
// console socket, the shell talks through it, consoleSize is applied, and
// the process holds none of create's stdout/stderr, and the pty is its
// controlling terminal. Also in a container that joins another's pid
// namespace, whose init leaves the terminal to the process it starts.
func TestConsoleSocket(t *testing.T) {
	t.Run("own-pidns", func(t *testing.T) { testConsoleSocket(t, newRuntime(t), false, false) })
	t.Run("joined-pidns", func(t *testing.T) { testConsoleSocket(t, newRuntime(t), true, false) })
	// The init only sets up and hands the pty over to the process create
	// starts in the joined pid namespace.
	t.Run("joined-pidns-userns", func(t *testing.T) { testConsoleSocket(t, newRuntime(t), true, true) })
}

func testConsoleSocket(t *testing.T, r *Runtime, joined, userns bool) {
	sock := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	edits := []func(*specs.Spec){withArgs("sh"), func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.ConsoleSize = &specs.Box{Height: 31, Width: 97}
	}}
	if joined {
		edits = append(edits, joinPidNS(sharedPidNamespace(t, r)))
	}
	if userns {
		edits = append(edits, userNSSpec)
	}
	bundle := newBundle(t, edits...)
	openToUserNS(t, bundle)
	c := r.Create(bundle, "--console-socket", sock)
	master := receiveConsole(t, l)
	defer master.Close()
	var pty bufString
	go func() {
		buf := make([]byte, 4096)
		for {
			_ = master.SetReadDeadline(time.Now().Add(20 * time.Second))
			n, err := master.Read(buf)
			_, _ = pty.Write(buf[:n])
			if err != nil {
				_, _ = fmt.Fprintf(&pty, "\n[read: %v]", err)
				return
			}
		}
	}()
	r.Must("start", c.ID)
	if _, err := master.WriteString("echo h''i; tty; stty size; : > /dev/tty && echo c''tty\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s := pty.String(); !strings.Contains(s, "\nhi\r\n") || !strings.Contains(s, "31 97") || !strings.Contains(s, "\nctty\r\n") ||
		!strings.Contains(s, "/dev/console") && !strings.Contains(s, "/dev/pts/0"); s = pty.String() {
		if time.Now().After(deadline) {
			t.Fatalf("the shell's answer on the pty: %q, want hi, the tty name, the size 31 97 and ctty", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The process must not hold the runtime's stdout/stderr.
	fdDir := fmt.Sprintf("/proc/%d/fd", c.Pid)
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if target, _ := os.Readlink(filepath.Join(fdDir, e.Name())); target == c.Output {
			t.Errorf("process fd %s is create's stdout/stderr %s", e.Name(), target)
		}
	}
	if out := c.ReadOutput(t); out != "" {
		t.Errorf("create's stdout/stderr got %q", out)
	}
	_, _ = master.WriteString("exit 4\n")
	if ws := c.Wait(t, 10*time.Second); ws.ExitStatus() != 4 {
		t.Errorf("shell exit status %d, want 4", ws.ExitStatus())
	}
}

// TestPreserveFDs: --preserve-fds 2 passes our fds 3 and 4 to the process.
func TestPreserveFDs(t *testing.T) {
	r := newRuntime(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	if err := os.WriteFile(in, []byte("from fd 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f3, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f3.Close()
	f4, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f4.Close()
	bundle := newBundle(t, shell("cat <&3 >&4; echo fd4 >&4; ls /proc/self/fd"))
	id := newID(t)
	pidFile := filepath.Join(dir, "pid")
	output := tempFile(t)
	cmd := r.Command("create", "--bundle", bundle, "--pid-file", pidFile, "--preserve-fds", "2", id)
	cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = output, output, []*os.File{f3, f4}
	if res := r.RunCmd(cmd); res.Code != 0 {
		t.Fatalf("%s", res)
	}
	c := &Container{ID: id, Pid: readPidFile(t, pidFile), Output: output.Name()}
	c.exited = adopt(t, c.Pid)
	r.Must("start", id)
	if ws := c.Wait(t, 10*time.Second); ws.ExitStatus() != 0 {
		t.Fatalf("exit status %d, output %q", ws.ExitStatus(), c.ReadOutput(t))
	}
	if got := readFile(t, out); got != "from fd 3\nfd4\n" {
		t.Errorf("fd 4 received %q", got)
	}
	// fd 5 is the directory ls lists: 0-4 are all the process got.
	if fds := strings.Fields(c.ReadOutput(t)); strings.Join(fds, " ") != "0 1 2 3 4 5" {
		t.Errorf("process fds %q, want 0-4 and ls's own 5 only", fds)
	}
}

// TestSocketActivation: fds systemd passed to the runtime (LISTEN_FDS for
// the runtime's own pid) reach the container from fd 3, announced to it
// with LISTEN_FDS and LISTEN_PID=1, as runc does.
func TestSocketActivation(t *testing.T) {
	r := newRuntime(t)
	in := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(in, []byte("socket data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f3, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f3.Close()
	bundle := newBundle(t, shell(`echo "$LISTEN_FDS $LISTEN_PID"; cat <&3`))
	// LISTEN_PID must name the runtime itself: the shell execs it.
	script := `LISTEN_FDS=1 LISTEN_PID=$$ exec "$0" "$@"`
	cmd := exec.Command("/bin/sh", append([]string{"-c", script}, r.Command("run", "--bundle", bundle, newID(t)).Args...)...)
	cmd.ExtraFiles = []*os.File{f3}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run: %v: %s", err, out)
	}
	if got := string(out); got != "1 1\nsocket data\n" {
		t.Errorf("container saw %q, want LISTEN_FDS=1 LISTEN_PID=1 and the data on fd 3", got)
	}
}
