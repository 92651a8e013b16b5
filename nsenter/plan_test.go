package nsenter

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

type decodedStep struct {
	op   uint16
	data []byte
}

// decodePlan reads an encoded plan back the way plan.c walks it.
func decodePlan(t *testing.T, b []byte) []decodedStep {
	t.Helper()
	if len(b) < 12 {
		t.Fatalf("plan of %d bytes has no header", len(b))
	}
	if magic := binary.LittleEndian.Uint32(b); magic != planMagic {
		t.Fatalf("magic %#x", magic)
	}
	if v := binary.LittleEndian.Uint16(b[4:]); v != PlanVersion {
		t.Fatalf("version %d", v)
	}
	n := int(binary.LittleEndian.Uint32(b[8:]))
	b = b[12:]
	var steps []decodedStep
	for range n {
		if len(b) < 8 {
			t.Fatalf("step %d: truncated header", len(steps))
		}
		size := binary.LittleEndian.Uint32(b[4:])
		if int(size) > len(b)-8 {
			t.Fatalf("step %d: %d bytes of data, %d left", len(steps), size, len(b)-8)
		}
		steps = append(steps, decodedStep{op: binary.LittleEndian.Uint16(b), data: b[8 : 8+size]})
		b = b[8+size:]
	}
	if len(b) != 0 {
		t.Fatalf("%d bytes after the last step", len(b))
	}
	return steps
}

func TestPlanEncoding(t *testing.T) {
	var p Plan
	p.Setsid()
	p.Rlimit(unix.RLIMIT_NOFILE, 512, 1024, "set rlimit RLIMIT_NOFILE")
	p.Chdir("/etc", "chdir")
	p.Seccomp([]unix.SockFilter{{Code: 6, Jt: 1, Jf: 2, K: 0x7fff0000}}, 1)
	if err := p.Spawn([]string{"sh", "-c"}, []string{"A=b"}, 5, false, nil, 0, SpawnWait{}); err != nil {
		t.Fatal(err)
	}
	p.Procfs(9)
	p.TerminalFromParent(true)
	hooks := StartHooks{State: []byte("{}"), Hooks: []SpawnHook{{Path: "/h", Argv: []string{"h"}}, {Path: "/t", Timeout: 7}}}
	if err := p.ExecAfterStart([]string{"sh"}, nil, 5, 6, 9, nil, 0, hooks); err != nil {
		t.Fatal(err)
	}
	steps := decodePlan(t, p.Encode())
	wantOps := []uint16{opSetsid, opRlimit, opChdir, opSeccomp, opSpawn, opProcfs, opTerminal, opExecAfterStart}
	if len(steps) != len(wantOps) {
		t.Fatalf("%d steps, want %d", len(steps), len(wantOps))
	}
	for i, op := range wantOps {
		if steps[i].op != op {
			t.Errorf("step %d: op %d, want %d", i, steps[i].op, op)
		}
	}
	rl := steps[1].data
	if len(rl) != 20 || binary.LittleEndian.Uint32(rl) != unix.RLIMIT_NOFILE ||
		binary.LittleEndian.Uint64(rl[4:]) != 512 || binary.LittleEndian.Uint64(rl[12:]) != 1024 {
		t.Errorf("rlimit data %v", rl)
	}
	if string(steps[2].data) != "/etc\x00" {
		t.Errorf("chdir data %q", steps[2].data)
	}
	// flags, count, then struct sock_filter as the kernel lays it out.
	wantFilter := []byte{1, 0, 0, 0, 1, 0, 0, 0, 6, 0, 1, 2, 0, 0, 0xff, 0x7f}
	if string(steps[3].data) != string(wantFilter) {
		t.Errorf("seccomp data %v, want %v", steps[3].data, wantFilter)
	}
	wantSpawn := "\x05\x00\x00\x00" + "\x00\x00\x00\x00" + strings.Repeat("\x00", 16) + "\x00\x00\x00\x00\x00\x00\x00\x00" +
		"\x02\x00\x00\x00sh\x00-c\x00" + "\x01\x00\x00\x00A=b\x00" + "\x00\x00\x00\x00"
	if string(steps[4].data) != wantSpawn {
		t.Errorf("spawn data %q, want %q", steps[4].data, wantSpawn)
	}
	if string(steps[5].data) != "\x09\x00\x00\x00" {
		t.Errorf("procfs data %q", steps[5].data)
	}
	wantExec := "\x05\x00\x00\x00" + "\x06\x00\x00\x00" + "\x09\x00\x00\x00" + "\x00\x00\x00\x00\x00\x00\x00\x00" + "\x01\x00\x00\x00sh\x00" + "\x00\x00\x00\x00" +
		"\x02\x00\x00\x00{}" + "\x02\x00\x00\x00" +
		"\xff\xff\xff\xff/h\x00" + "\x01\x00\x00\x00h\x00" + "\x00\x00\x00\x00" +
		"\x07\x00\x00\x00/t\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"
	if string(steps[6].data) != "\x01\x00\x00\x00" {
		t.Errorf("terminal data %q, want the controlling terminal asked for", steps[6].data)
	}
	if string(steps[7].data) != wantExec {
		t.Errorf("exec after start data %q, want %q", steps[7].data, wantExec)
	}
}

func TestPlanErrorsNameTheStep(t *testing.T) {
	var p Plan
	p.Chdir("/x", `chdir to cwd ("/x") set in config.json failed`)
	p.FindProgram([]string{"/bin/nope"}, `exec: "nope": executable file not found in $PATH`, true)
	for _, tc := range []struct {
		rep  Message
		want string
	}{
		{Message{Header: Header{Kind: KindPlanError}, Step: 0, Errno: int(unix.ENOENT)}, `chdir to cwd ("/x") set in config.json failed: no such file or directory`},
		{Message{Header: Header{Kind: KindPlanError}, Step: 1, Errno: int(unix.ENOENT)}, `exec: "nope": executable file not found in $PATH`},
		{Message{Header: Header{Kind: KindPlanError}, Step: 7, Errno: int(unix.EINVAL)}, `step 7 of the exec plan: invalid argument`},
	} {
		if got := p.Err(&tc.rep).Error(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.rep, got, tc.want)
		}
	}
}

func TestPlanRefusesAnOverlongFilter(t *testing.T) {
	var p Plan
	if err := p.Spawn([]string{"true"}, nil, 3, false, make([]unix.SockFilter, 0x10000), 0, SpawnWait{}); err == nil {
		t.Fatal("a filter of 65536 instructions was accepted")
	}
}

// TestPlanRunsInTheStage: the stage carries a plan out with no Go in the
// process: it reports ready at the release step, waits for the ack, and
// starts the program as a child of ours with what the steps set.
func TestPlanRunsInTheStage(t *testing.T) {
	var p Plan
	p.Setsid()
	p.Chdir("/proc/self/../..", "chdir")
	p.FindProgram([]string{"/nonexistent/sh", "/bin/sh"}, "find sh", true)
	p.Release()
	p.Umask(0o027)
	p.Rlimit(unix.RLIMIT_NOFILE, 100, 200, "rlimit")
	if err := p.Spawn([]string{"sh", "-c", "umask; pwd; ulimit -n; echo $X; ls /proc/self/fd"}, []string{"X=planned"}, 3, false, nil, 0, SpawnWait{}); err != nil {
		t.Fatal(err)
	}
	s := startStage(t, &Bootstrap{Plan: &p})
	if rep, err := readReply(s.conn); err != nil || rep.Kind != "pid" || rep.Pid != s.cmd.Process.Pid {
		t.Fatalf("reply %+v, %v", rep, err)
	}
	if rep, err := readReply(s.conn); err != nil || rep.Kind != KindReady {
		t.Fatalf("reply %+v, %v", rep, err)
	}
	if err := s.conn.Send(KindAck, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.conn.readFrame(); err == nil {
		t.Fatal("the stage said more after the ack, or kept the socket open in the process it started")
	}
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, s.cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := ReadExitReport(s.cmd.Process.Pid)
	if err != nil || rep.Kind != "pid" {
		t.Fatalf("exit report %+v, %v", rep, err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	waitPid(t, rep.Pid)
	want := "0027\n/\n100\nplanned\n0\n1\n2\n3\n"
	if got := s.stdout.String(); got != want {
		t.Errorf("the process printed %q, want %q", got, want)
	}
}

func TestPlanReportsTheFailedStep(t *testing.T) {
	var p Plan
	p.Setsid()
	p.Chdir("/nonexistent", "chdir")
	if err := p.Spawn([]string{"true"}, nil, 3, false, nil, 0, SpawnWait{}); err != nil {
		t.Fatal(err)
	}
	s := startStage(t, &Bootstrap{Plan: &p})
	if rep, err := readReply(s.conn); err != nil || rep.Kind != "pid" {
		t.Fatalf("reply %+v, %v", rep, err)
	}
	rep, err := readReply(s.conn)
	if err != nil || rep.Kind != KindPlanError || rep.Step != 1 || rep.Errno != int(unix.ENOENT) {
		t.Fatalf("reply %+v, %v; want step 1 failing with ENOENT", rep, err)
	}
	if err := s.cmd.Wait(); err == nil {
		t.Fatal("the stage exited 0 after a failed step")
	}
	if out := s.stdout.String(); strings.TrimSpace(out) != "" {
		t.Errorf("the stage went on into Go after a failed step: %q", out)
	}
}

// startSetUpByParent starts a stage set up by its parent in a new pid
// namespace, with an exec fifo at fd 4, and returns it, the fifo's path,
// the pid of its process in that namespace and the procfs context it
// sent (closed with the test).
func startSetUpByParent(t *testing.T) (s *stage, fifoPath string, child int, ctx *os.File) {
	t.Helper()
	fifoPath = filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifoPath, 0o600); err != nil {
		t.Fatal(err)
	}
	fifo, err := os.OpenFile(fifoPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fifo.Close()
	b := &Bootstrap{CloneFlags: unix.CLONE_NEWPID, Fork: true, SetUpByParent: true, ProcContexts: 1}
	s = startStageRaw(t, b.Encode(), fifo)
	rep, err := readReply(s.conn)
	if err != nil || rep.Kind != KindPid {
		t.Fatalf("reply %+v, %v", rep, err)
	}
	child = rep.Pid
	if rep, err = readReply(s.conn); err != nil || rep.Kind != KindProcfs || rep.File == nil {
		t.Fatalf("reply %+v, %v; want a procfs context", rep, err)
	}
	t.Cleanup(func() { rep.File.Close() })
	return s, fifoPath, child, rep.File
}

// A stage set up by its parent hands over procfs contexts of its new pid
// namespace, runs the plan it is sent afterwards, and, at its last step,
// closes the socket and waits on the exec fifo for start before it
// executes the program.
func TestSetUpByParent(t *testing.T) {
	s, fifoPath, child, ctx := startSetUpByParent(t)
	mnt := fsmountContext(t, ctx)
	buf := make([]byte, 64)
	n, err := unix.Readlinkat(mnt, "1/ns/pid", buf)
	want, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", child))
	if err != nil || string(buf[:n]) != want {
		t.Fatalf("the context's pid 1 is in %q (%v), want the stage's child's %q", buf[:n], err, want)
	}

	var p Plan
	p.Setsid()
	p.FindProgram([]string{"/bin/sh"}, "find sh", true)
	p.Procfs(9)
	p.Release()
	if err := p.ExecAfterStart([]string{"sh", "-c", "echo pid $$; ls /proc/self/fd"}, nil, 3, 4, 9, nil, 0, StartHooks{}); err != nil {
		t.Fatal(err)
	}
	if err := s.conn.SendPlan(&p); err != nil {
		t.Fatal(err)
	}
	if rep, err := readReply(s.conn); err != nil || rep.Kind != KindReady {
		t.Fatalf("reply %+v, %v", rep, err)
	}
	if err := s.conn.Send(KindAck, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.conn.readFrame(); err == nil {
		t.Fatal("the process said more after the ack, or kept the socket open while it waits for start")
	}
	if out := s.stdout.String(); out != "" {
		t.Fatalf("the program ran before start: %q", out)
	}
	start, err := os.Open(fifoPath)
	if err != nil {
		t.Fatal(err)
	}
	report, err := io.ReadAll(start)
	start.Close()
	if err != nil || len(report) != 0 {
		t.Fatalf("the fifo carried %q (%v), want nothing: an execve that succeeds closes it", report, err)
	}
	waitPid(t, child)
	if err := s.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if got, want := s.stdout.String(), "pid 1\n0\n1\n2\n3\n"; got != want {
		t.Errorf("the process printed %q, want %q", got, want)
	}
}

// ProcfsAt takes the procfs mounted at a path only when it is the root of
// a procfs of the process's own pid namespace: the host's procfs seen
// from a new pid namespace, or a directory that is no procfs, fails the
// step. Through the handle it takes, the process's later steps reach its
// own /proc entries.
func TestProcfsAtTakesOnlyTheProcessOwnProcfs(t *testing.T) {
	ownProcfs, notProcfs := t.TempDir(), t.TempDir()
	for _, tc := range []struct {
		name, path string
		mountOwn   bool
		wantErr    unix.Errno
	}{
		{"a procfs of its pid namespace", ownProcfs, true, 0},
		{"the host's procfs", "/proc", false, unix.EMEDIUMTYPE},
		{"a directory", notProcfs, false, unix.EMEDIUMTYPE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, fifoPath, child, ctx := startSetUpByParent(t)
			if tc.mountOwn {
				mountContext(t, ctx, tc.path)
			}
			var p Plan
			p.Setsid()
			p.ProcfsAt(9, tc.path)
			p.WriteAt(9, "thread-self/oom_score_adj", "123", "oom_score_adj")
			p.FindProgram([]string{"/bin/sh"}, "find sh", true)
			p.Release()
			if err := p.ExecAfterStart([]string{"sh", "-c", "cat /proc/self/oom_score_adj"}, nil, 3, 4, 9, nil, 0, StartHooks{}); err != nil {
				t.Fatal(err)
			}
			if err := s.conn.SendPlan(&p); err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != 0 {
				expectStepFailure(t, s, child, 1, tc.wantErr)
				return
			}
			if _, ws := startAfterReady(t, s, fifoPath, child, nil); ws.ExitStatus() != 0 {
				t.Fatalf("the process exited %v", ws)
			}
			if got := s.stdout.String(); got != "123\n" {
				t.Errorf("the process printed %q, want its oom_score_adj written through the handle, 123", got)
			}
		})
	}
}

// The startContainer hooks of a plan run after start, in order, each
// with the state from the plan on stdin and its own environment, before
// the program; the first that fails stops the rest and the program, and
// its report, with its stderr, reaches `start` through the fifo.
func TestExecAfterStartRunsHooks(t *testing.T) {
	state := `{"id":"hooked","status":"created"}`
	for _, tc := range []struct {
		name      string
		last      string
		wantOut   string
		wantOrder string
	}{
		{"in order, before the program", "echo second >> $DIR/order", "first\nsecond\nthird\n", "first\nsecond\nthird\n"},
		{"the first failure stops the rest", "echo broken >&2; exit 3", "", "first\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, fifoPath, child, _ := startSetUpByParent(t)
			hook := func(script string, env ...string) SpawnHook {
				return SpawnHook{Path: "/bin/sh", Argv: []string{"sh", "-c", script}, Env: append(env, "DIR="+dir), Timeout: 5}
			}
			var p Plan
			p.Setsid()
			p.FindProgram([]string{"/bin/sh"}, "find sh", true)
			p.Procfs(9)
			p.Release()
			hooks := StartHooks{State: []byte(state), Hooks: []SpawnHook{
				hook("cat > $DIR/state; echo $WHO >> $DIR/order", "WHO=first"),
				hook(tc.last),
				hook("echo third >> $DIR/order"),
			}}
			if err := p.ExecAfterStart([]string{"sh", "-c", "cat " + dir + "/order"}, nil, 3, 4, 9, nil, 0, hooks); err != nil {
				t.Fatal(err)
			}
			if err := s.conn.SendPlan(&p); err != nil {
				t.Fatal(err)
			}
			report, ws := startAfterReady(t, s, fifoPath, child, func() {
				if got := readFileIfAny(filepath.Join(dir, "order")); got != "" {
					t.Fatalf("a hook ran before start: %q", got)
				}
			})
			if got := readFileIfAny(filepath.Join(dir, "state")); got != state {
				t.Errorf("the first hook read %q on stdin, want the plan's state %q", got, state)
			}
			if got := readFileIfAny(filepath.Join(dir, "order")); got != tc.wantOrder {
				t.Errorf("the hooks ran as %q, want %q", got, tc.wantOrder)
			}
			if got := s.stdout.String(); got != tc.wantOut {
				t.Errorf("the program printed %q, want %q", got, tc.wantOut)
			}
			if tc.wantOut != "" {
				if len(report) != 0 || ws.ExitStatus() != 0 {
					t.Errorf("the fifo carried %q and the process exited %v, want nothing and 0", report, ws)
				}
				return
			}
			rep, err := ParseReport(report)
			if err != nil || rep.Kind != KindHookError || rep.Index != 1 || rep.How != HookExited || rep.Value != 3<<8 || string(rep.Stderr) != "broken\n" {
				t.Errorf("report %+v (%v), want hook #1 exited with status 3 and its stderr", rep, err)
			}
		})
	}
}

// RootFromParent makes the directory the runtime sends after the plan
// the process's root: the program it then executes is found there, and
// sees that directory as /. Any other frame in its place fails the step.
func TestRootFromParent(t *testing.T) {
	for _, tc := range []struct {
		name    string
		send    Kind
		wantErr unix.Errno
	}{
		{"the root", KindRoot, 0},
		{"another frame", KindConsole, unix.EPROTO},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			busybox, err := os.ReadFile("/bin/busybox")
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"bin/sh", "marker"} {
				if err := os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(root, "bin/sh"), busybox, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "marker"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			dir, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer dir.Close()
			s, fifoPath, child, _ := startSetUpByParent(t)
			var p Plan
			p.Setsid()
			p.RootFromParent()
			p.FindProgram([]string{"/bin/sh"}, "find sh", true)
			p.Procfs(9)
			p.Release()
			if err := p.ExecAfterStart([]string{"sh", "-c", "cd /; echo *; pwd"}, nil, 3, 4, 9, nil, 0, StartHooks{}); err != nil {
				t.Fatal(err)
			}
			if err := s.conn.SendPlan(&p); err != nil {
				t.Fatal(err)
			}
			if err := s.conn.SendFile(tc.send, "", dir); err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != 0 {
				expectStepFailure(t, s, child, 1, tc.wantErr)
				return
			}
			report, ws := startAfterReady(t, s, fifoPath, child, nil)
			if got := s.stdout.String(); got != "bin marker\n/\n" || len(report) != 0 || ws.ExitStatus() != 0 {
				t.Errorf("the process printed %q, reported %q and exited %v, want the sent root's entries as / and no report", got, report, ws)
			}
		})
	}
}

// startAfterReady takes the ready report of the plan the stage s runs,
// acks it, calls beforeStart (when not nil), starts the process through
// the exec fifo and waits for it to end: it returns what the process
// left in the fifo and how it ended.
func startAfterReady(t *testing.T, s *stage, fifoPath string, child int, beforeStart func()) ([]byte, unix.WaitStatus) {
	t.Helper()
	if rep, err := readReply(s.conn); err != nil || rep.Kind != KindReady {
		t.Fatalf("reply %+v, %v", rep, err)
	}
	if err := s.conn.Send(KindAck, ""); err != nil {
		t.Fatal(err)
	}
	if beforeStart != nil {
		beforeStart()
	}
	start, err := os.Open(fifoPath)
	if err != nil {
		t.Fatal(err)
	}
	report, err := io.ReadAll(start)
	start.Close()
	if err != nil {
		t.Fatal(err)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(child, &ws, 0, nil); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Wait()
	return report, ws
}

// expectStepFailure: step of the plan the stage s runs fails with errno,
// and its process ends.
func expectStepFailure(t *testing.T, s *stage, child, step int, errno unix.Errno) {
	t.Helper()
	rep, err := readReply(s.conn)
	if err != nil || rep.Kind != KindPlanError || rep.Step != step || rep.Errno != int(errno) {
		t.Fatalf("reply %+v, %v; want step %d failing with %v", rep, err, step, errno)
	}
	var ws unix.WaitStatus
	_, _ = unix.Wait4(child, &ws, 0, nil)
	_ = s.cmd.Wait()
}

// readFileIfAny is the file's content, or "" when it cannot be read.
func readFileIfAny(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// fsmountContext makes the fsopen context ctx a detached mount and
// returns its fd, closed with the test.
func fsmountContext(t *testing.T, ctx *os.File) int {
	t.Helper()
	if err := unix.FsconfigCreate(int(ctx.Fd())); err != nil {
		t.Fatal(err)
	}
	mnt, err := unix.Fsmount(int(ctx.Fd()), unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(mnt) })
	return mnt
}

// mountContext mounts the fsopen context ctx at dir, for the test's life.
func mountContext(t *testing.T, ctx *os.File, dir string) {
	t.Helper()
	if err := unix.MoveMount(fsmountContext(t, ctx), "", unix.AT_FDCWD, dir, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
}

func TestProcfsAtEncoding(t *testing.T) {
	var p Plan
	p.ProcfsAt(9, "/proc")
	steps := decodePlan(t, p.Encode())
	if len(steps) != 1 || steps[0].op != opProcfsAt || string(steps[0].data) != "\x09\x00\x00\x00/proc\x00" {
		t.Fatalf("steps %+v, want ProcfsAt with fd 9 and /proc", steps)
	}
}

// A stage that joins a pid namespace and forks (a process born in a pid
// namespace the container joins) leaves the plan to its child, which
// talks on the socket only once the stage's pid message is there: here
// the child's first step fails at once, and its error must still come
// second. The plan of a child that succeeds runs in that namespace and
// spawns its process there, reporting it by that namespace's numbering.
func TestForkedChildRunsThePlan(t *testing.T) {
	holder := exec.Command("/bin/sleep", "30")
	holder.SysProcAttr = &unix.SysProcAttr{Cloneflags: unix.CLONE_NEWPID}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	// The holder, the namespace's init, leaves only once every process of
	// the namespace is reaped, and the plan's processes are ours.
	defer func() {
		_ = holder.Process.Kill()
		for {
			if _, err := unix.Wait4(-1, nil, 0, nil); err != nil {
				break
			}
		}
	}()
	join := []NSPath{{Type: unix.CLONE_NEWPID, Path: fmt.Sprintf("/proc/%d/ns/pid", holder.Process.Pid)}}
	for i := range 30 {
		var p Plan
		p.Chdir("/nonexistent", "chdir")
		if err := p.Spawn([]string{"true"}, nil, 3, false, nil, 0, SpawnWait{}); err != nil {
			t.Fatal(err)
		}
		s := startStage(t, &Bootstrap{Join: join, Fork: true, Plan: &p})
		rep, err := readReply(s.conn)
		if err != nil || rep.Kind != KindPid || rep.Version != ProtocolVersion || rep.Pid == s.cmd.Process.Pid {
			t.Fatalf("run %d: first reply %+v, %v; want the stage's message with the forked child's pid", i, rep, err)
		}
		if failed, err := readReply(s.conn); err != nil || failed.Kind != KindPlanError || failed.Step != 0 || failed.Errno != int(unix.ENOENT) {
			t.Fatalf("run %d: reply %+v, %v; want step 0 failing with ENOENT", i, failed, err)
		}
		if err := s.cmd.Wait(); err != nil {
			t.Fatalf("run %d: the stage: %v", i, err)
		}
		var ws unix.WaitStatus
		if _, err := unix.Wait4(rep.Pid, &ws, 0, nil); err != nil || ws.ExitStatus() == 0 {
			t.Fatalf("run %d: the child that failed its plan: %v, %v", i, ws, err)
		}
	}

	var p Plan
	p.FindProgram([]string{"/bin/sh"}, "find sh", false)
	p.Release()
	if err := p.Spawn([]string{"sh", "-c", "echo $$; readlink /proc/self/ns/pid"}, nil, 3, false, nil, 0, SpawnWait{}); err != nil {
		t.Fatal(err)
	}
	s := startStage(t, &Bootstrap{Join: join, Fork: true, Plan: &p})
	rep, err := readReply(s.conn)
	if err != nil || rep.Kind != KindPid {
		t.Fatalf("reply %+v, %v", rep, err)
	}
	child := rep.Pid
	if rep, err := readReply(s.conn); err != nil || rep.Kind != KindReady {
		t.Fatalf("reply %+v, %v; want the child's release", rep, err)
	}
	if err := s.conn.Send(KindAck, ""); err != nil {
		t.Fatal(err)
	}
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, child, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	report, err := ReadExitReport(child)
	if err != nil || report.Kind != KindPid {
		t.Fatalf("exit report %+v, %v", report, err)
	}
	waitPid(t, child)
	// The stage's stdout is the spawned process's too: Wait returns once
	// it has printed and exited.
	if err := s.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	// Its own pid, as its namespace numbers it, is the one the child
	// reported; and that namespace is the joined one.
	holderNS, _ := os.Readlink(join[0].Path)
	if want := fmt.Sprintf("%d\n%s", report.Pid, holderNS); strings.TrimSpace(s.stdout.String()) != want {
		t.Errorf("the spawned process printed %q, want %q", s.stdout.String(), want)
	}
}

func TestWriteAndCloseEncoding(t *testing.T) {
	var p Plan
	p.WriteAndClose(7, "0", "join the container's cgroup in the pids hierarchy")
	steps := decodePlan(t, p.Encode())
	if len(steps) != 1 || steps[0].op != opWriteAndClose || string(steps[0].data) != "\x07\x00\x00\x000" {
		t.Errorf("steps %+v, want one write-and-close of 0 to fd 7", steps)
	}
}
