package integration

// exec's flags: a foreground -t exec serving its own pty, and the
// --preserve-fds, --cgroup and --ignore-paused flags, each checked from the
// host (/proc, cgroup.procs) and from inside the exec'd process.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"
)

// TestExecTtyOwnPty: `exec -t` without --console-socket allocates the pty
// itself and proxies its own stdio, here a pty pair the test holds as the
// user's terminal: the shell sees a tty of the container's devpts, the
// terminal's size at start and after SIGWINCH, its output comes back, the
// exit status is the shell's, and the user's terminal leaves raw mode.
func TestExecTtyOwnPty(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	master, slavePath, err := console.NewPty()
	noErr(t, err)
	defer master.Close()
	slave, err := os.OpenFile(slavePath, os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	noErr(t, err)
	defer slave.Close()
	before, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	noErr(t, err)
	noErr(t, master.Resize(console.WinSize{Height: 37, Width: 91}))

	errf := tempFile(t)
	cmd := r.Command("exec", "-t", c.ID, "sh")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, errf
	noErr(t, cmd.Start())
	exited := make(chan struct{}) // closed once reaped; the status is in ProcessState
	go func() { _ = cmd.Wait(); close(exited) }()
	var out bufString
	go func() { _, _ = io.Copy(&out, master) }()
	// Commands echo back as typed; "hi-$((6*7))" prints hi-42 only when run.
	send := func(line string) {
		t.Helper()
		_, err := master.Write([]byte(line + "\n"))
		noErr(t, err)
	}
	waitOut := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), what) {
			select {
			case err := <-exited:
				t.Fatalf("exec -t ended (%v) before printing %q; output %q, stderr %q", err, what, out.String(), readFile(t, errf.Name()))
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the exec's output after 10s: %q, stderr %q", what, out.String(), readFile(t, errf.Name()))
			}
		}
	}
	send("tty; stty size; echo hi-$((6*7))")
	waitOut("hi-42")
	if o := out.String(); !strings.Contains(o, "/dev/pts/") || !strings.Contains(o, "37 91") {
		t.Errorf("inside: want a /dev/pts tty of 37 rows, 91 columns; output %q", o)
	}

	noErr(t, master.Resize(console.WinSize{Height: 50, Width: 132}))
	noErr(t, cmd.Process.Signal(unix.SIGWINCH))
	// The resize is passed on asynchronously: ask until the shell sees it.
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; !strings.Contains(out.String(), "50 132"); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("after SIGWINCH: stty size never said 50 132: %q", out.String())
		}
		send(fmt.Sprintf("stty size; echo probe-$((%d+1000))", i))
		waitOut(fmt.Sprintf("probe-%d", i+1000))
	}

	// Output still in flight when the shell exits (more than a pty buffers)
	// must not be cut off.
	send("seq 1 30000; echo bye-$((2+3)); exit 4")
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("exec -t did not end after the shell's exit")
	}
	if code := shellStatus(cmd.ProcessState); code != 4 {
		t.Errorf("exec -t exit status %d, want the shell's 4; stderr %q", code, readFile(t, errf.Name()))
	}
	// Everything the shell wrote before exiting reaches the user.
	waitOut("bye-5")
	after, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	noErr(t, err)
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag {
		t.Errorf("the user's terminal was left changed: lflag %#o iflag %#o oflag %#o, was %#o %#o %#o",
			after.Lflag, after.Iflag, after.Oflag, before.Lflag, before.Iflag, before.Oflag)
	}
}

// TestExecPreserveFds: --preserve-fds 1 hands the caller's fd 3 to the
// process (its content readable inside, the same open file as seen from
// the host) and nothing more: the caller's fd 4 stays out.
func TestExecPreserveFds(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	dir := t.TempDir()
	passed := filepath.Join(dir, "passed")
	noErr(t, os.WriteFile(passed, []byte("through-fd-3\n"), 0o644))
	f3, err := os.Open(passed)
	noErr(t, err)
	defer f3.Close()
	f4, err := os.Open(dir)
	noErr(t, err)
	defer f4.Close()

	out := tempFile(t)
	pidFile := filepath.Join(dir, "pid")
	cmd := r.Command("exec", "-d", "--pid-file", pidFile, "--preserve-fds", "1", c.ID, "sh", "-c", "cat <&3; exec sleep 1000")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.ExtraFiles = []*os.File{f3, f4}
	if res := r.RunCmd(cmd); res.Code != 0 {
		t.Fatalf("%s; output %q", res, readFile(t, out.Name()))
	}
	pid := readPidFile(t, pidFile)
	adopt(t, pid)
	waitFor(t, 5*time.Second, "the process to read fd 3", func() bool { return readFile(t, out.Name()) != "" })
	// Until the shell has exec'd sleep it may still hold the copy of fd 3
	// its redirection made.
	waitForExecOf(t, pid, "sleep")
	if got := readFile(t, out.Name()); got != "through-fd-3\n" {
		t.Errorf("cat <&3 inside printed %q, want the file's content", got)
	}
	// `exec sleep` keeps the fds the shell had: the host sees them all.
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	noErr(t, err)
	var fds []string
	for _, e := range entries {
		fds = append(fds, e.Name())
	}
	slices.SortFunc(fds, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
	if !slices.Equal(fds, []string{"0", "1", "2", "3"}) {
		t.Errorf("exec'd process holds fds %v, want exactly 0-3", fds)
	}
	if target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/3", pid)); err != nil || target != passed {
		t.Errorf("fd 3 of the exec'd process is %q (%v), want %s", target, err, passed)
	}
}

// TestPreserveFdsNotOpen: --preserve-fds naming an fd the caller did not
// give is refused, for exec and create alike. Passing it on regardless
// handed the container whatever the runtime held at that number by then:
// exec --preserve-fds 2 with only fd 3 gave the process, as its fd 4, an
// open directory fd of the container's cgroup on the host.
func TestPreserveFdsNotOpen(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	f3, err := os.Open("/dev/null")
	noErr(t, err)
	defer f3.Close()
	cmd := r.Command("exec", "--preserve-fds", "2", c.ID, "ls", "-l", "/proc/self/fd")
	cmd.ExtraFiles = []*os.File{f3}
	if res := r.RunCmd(cmd); res.Code != 255 || !strings.Contains(res.Stderr, "fd 4") {
		t.Errorf("exec --preserve-fds 2 with only fd 3 open: %s, want an error naming fd 4", res)
	}
	if procs := procsIn(t, cgroupDir(c.ID)); !slices.Equal(procs, []int{c.Pid}) {
		t.Errorf("the refused exec left processes: cgroup.procs %v", procs)
	}
	id := newID(t)
	if res := r.Run("create", "--preserve-fds", "1", "--bundle", newBundle(t), id); res.Code != 1 || !strings.Contains(res.Stderr, "fd 3") {
		t.Errorf("create --preserve-fds 1 with no fd 3: %s, want an error naming fd 3", res)
	}
	if _, err := os.Stat(cgroupDir(id)); !os.IsNotExist(err) {
		t.Errorf("the refused create left its cgroup: %v", err)
	}
}

// TestExecSubCgroup: --cgroup SUB puts the process in SUB below the
// container's cgroup (its /proc/self/cgroup, and SUB's cgroup.procs on the
// host, not the container's own); a SUB that does not exist is an error
// naming it, as in runc, and no process is left behind.
func TestExecSubCgroup(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	sub := filepath.Join(cgroupDir(c.ID), "sub")
	// In every hierarchy the container is in (one on v2; each v1
	// controller's and the unified one on a hybrid host).
	for _, dir := range allCgroupDirs(c.ID) {
		noErr(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
		// delete --force removes the tree; this catches a test that fails first.
		t.Cleanup(func() { _ = os.Remove(filepath.Join(dir, "sub")) })
	}

	out := tempFile(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	cmd := r.Command("exec", "-d", "--pid-file", pidFile, "--cgroup", "sub", c.ID, "sh", "-c", "grep ^0:: /proc/self/cgroup; exec sleep 1000")
	cmd.Stdout, cmd.Stderr = out, out
	if res := r.RunCmd(cmd); res.Code != 0 {
		t.Fatalf("%s; output %q", res, readFile(t, out.Name()))
	}
	pid := readPidFile(t, pidFile)
	adopt(t, pid)
	waitFor(t, 5*time.Second, "the process's /proc/self/cgroup", func() bool { return readFile(t, out.Name()) != "" })
	// Until the shell has exec'd sleep, grep may not have exited.
	waitForExecOf(t, pid, "sleep")
	want := "0::" + strings.TrimPrefix(sub, unifiedMount()) + "\n"
	if got := readFile(t, out.Name()); got != want {
		t.Errorf("inside, /proc/self/cgroup says %q, want %q", got, want)
	}
	if procs := procsIn(t, sub); !slices.Equal(procs, []int{pid}) {
		t.Errorf("%s/cgroup.procs: %v, want only the exec'd %d", sub, procs, pid)
	}
	if procs := procsIn(t, cgroupDir(c.ID)); !slices.Equal(procs, []int{c.Pid}) {
		t.Errorf("container cgroup.procs: %v, want only the init %d", procs, c.Pid)
	}

	res := r.Run("exec", "--cgroup", "nosuch", c.ID, "true")
	if res.Code == 0 || !strings.Contains(res.Stderr, "nosuch") {
		t.Errorf("exec into a missing sub-cgroup: %s, want an error naming it", res)
	}
	bads := []string{"../escape", "/abs"}
	if unifiedMount() == "/sys/fs/cgroup" {
		// runc's controller:path form names a v1 hierarchy.
		bads = append(bads, "memory:sub")
	}
	for _, bad := range bads {
		if res := r.Run("exec", "--cgroup", bad, c.ID, "true"); res.Code == 0 {
			t.Errorf("exec --cgroup %q succeeded: %s", bad, res)
		}
	}
	if procs := procsIn(t, cgroupDir(c.ID)); !slices.Equal(procs, []int{c.Pid}) {
		t.Errorf("after the failed execs, container cgroup.procs: %v, want only the init", procs)
	}
}

// procsIn reads the cgroup.procs of the cgroup at dir, sorted (faults_test.go's cgroupProcs takes a container ID).
func procsIn(t *testing.T, dir string) []int {
	t.Helper()
	var pids []int
	for _, f := range strings.Fields(readFile(t, filepath.Join(dir, "cgroup.procs"))) {
		pid, err := strconv.Atoi(f)
		noErr(t, err)
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	return pids
}

// TestExecIgnorePaused: exec into a paused container fails clearly and
// creates nothing; with --ignore-paused the process is created inside the
// frozen cgroup and runs once the container is resumed, as runc's does
// (exec waits meanwhile and then returns the process's status).
func TestExecIgnorePaused(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	r.Must("pause", c.ID)
	res := r.Run("exec", c.ID, "true")
	if res.Code != 255 || !strings.Contains(res.Stderr, "paused") || !strings.Contains(res.Stderr, "--ignore-paused") {
		t.Errorf("exec into a paused container: %s, want a one-line error naming the state and the flag", res)
	}
	if procs := procsIn(t, cgroupDir(c.ID)); !slices.Equal(procs, []int{c.Pid}) {
		t.Errorf("the refused exec left processes: cgroup.procs %v", procs)
	}

	out, errf := tempFile(t), tempFile(t)
	cmd := r.Command("exec", "--ignore-paused", c.ID, "sh", "-c", "echo ran-$((40+2))")
	cmd.Stdout, cmd.Stderr = out, errf
	noErr(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waitFor(t, 5*time.Second, "the --ignore-paused process in the frozen cgroup", func() bool {
		return len(procsIn(t, cgroupDir(c.ID))) == 2
	})
	// Frozen, it must not have run yet.
	select {
	case err := <-exited:
		t.Fatalf("exec --ignore-paused ended (%v) while the container is paused: stdout %q stderr %q", err, readFile(t, out.Name()), readFile(t, errf.Name()))
	case <-time.After(300 * time.Millisecond):
	}
	if got := readFile(t, out.Name()); got != "" {
		t.Errorf("the process printed %q while frozen", got)
	}
	if st := r.State(c.ID); st.Status != "paused" {
		t.Errorf("exec --ignore-paused changed the state to %s", st.Status)
	}
	r.Must("resume", c.ID)
	select {
	case err := <-exited:
		if err != nil || readFile(t, out.Name()) != "ran-42\n" {
			t.Errorf("exec --ignore-paused after resume: %v, stdout %q, stderr %q", err, readFile(t, out.Name()), readFile(t, errf.Name()))
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("exec --ignore-paused did not finish after resume")
	}
}

// TestExecIgnorePausedDeleted: an exec --ignore-paused waiting on a paused
// container ends with an error when delete --force kills its process in
// the frozen cgroup. It used to wait forever: the runtime held the child's
// end of the sync socket itself, so the child's death never read as EOF.
// The container's init died with it: the error says the container is not
// running, with runc's exit status for a failed exec.
func TestExecIgnorePausedDeleted(t *testing.T) {
	r := newRuntime(t)
	c := runningContainer(t, r)
	r.Must("pause", c.ID)
	out := tempFile(t)
	cmd := r.Command("exec", "--ignore-paused", c.ID, "echo", "never")
	cmd.Stdout, cmd.Stderr = out, out
	noErr(t, cmd.Start())
	exited := make(chan struct{}) // closed once reaped; the status is in ProcessState
	go func() { _ = cmd.Wait(); close(exited) }()
	waitFor(t, 5*time.Second, "the --ignore-paused process in the frozen cgroup", func() bool {
		return len(procsIn(t, cgroupDir(c.ID))) == 2
	})
	r.Must("delete", "--force", c.ID)
	select {
	case <-exited:
		if code, got := shellStatus(cmd.ProcessState), readFile(t, out.Name()); code != 255 || !strings.Contains(got, "container "+c.ID+" is not running") {
			t.Errorf("exec whose process was killed before it ran: exit %d, output %q; want 255 and an error saying the container is not running", code, got)
		}
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("exec --ignore-paused still waits after delete --force killed its process")
	}
}

// waitForExecOf waits until process pid runs the program named comm.
func waitForExecOf(t *testing.T, pid int, comm string) {
	t.Helper()
	waitFor(t, 5*time.Second, fmt.Sprintf("process %d to exec %s", pid, comm), func() bool {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		return string(data) == comm+"\n"
	})
}
