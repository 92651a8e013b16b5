package fs2

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oci-rt/oci-rt/cgroups/internal/cgtest"
)

// startSpinner starts a CPU-burning helper, inside m if m is not nil. It is
// killed at the end of the test if still running.
func startSpinner(t *testing.T, m *Manager) *exec.Cmd {
	t.Helper()
	var cmd *exec.Cmd
	if m != nil {
		cmd, _ = helperCmd(t, m, "spin")
	} else {
		cmd = cgtest.HelperCmd(nil, "spin")
	}
	// Keep stdin open: the helper stops when it reaches EOF.
	if _, err := cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// cpuTicks is the user+system time of pid so far.
func cpuTicks(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the ")" closing the command name; utime, stime are 14, 15.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return u + s
}

func waitExitBySignal(t *testing.T, cmd *exec.Cmd, sig syscall.Signal) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("pid %d: %v, want death by %v", cmd.Process.Pid, err, sig)
		}
		if ws := ee.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != sig {
			t.Fatalf("pid %d: %v, want death by %v", cmd.Process.Pid, ws, sig)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("pid %d still alive", cmd.Process.Pid)
	}
}

func TestCreateNestedAndDestroy(t *testing.T) {
	m := testCgroup(t, "a/b/c")
	for d := m.Dir(); d != filepath.Dir(filepath.Dir(filepath.Dir(m.Dir()))); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "cgroup.procs")); err != nil {
			t.Fatalf("%s is not a cgroup: %v", d, err)
		}
	}
	// Creating again an empty, thawed cgroup is allowed.
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	parent, _ := NewAt(filepath.Dir(filepath.Dir(m.Dir())), "/b")
	if err := parent.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(parent.Dir()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s left behind: %v", parent.Dir(), err)
	}
	// A missing cgroup is already destroyed.
	if err := parent.Destroy(); err != nil {
		t.Fatal(err)
	}
}

func TestCreateRefusesBusyCgroup(t *testing.T) {
	m := testCgroup(t, "busy")
	sub, _ := NewAt(m.root, m.path+"/sub")
	if err := sub.Create(); err != nil {
		t.Fatal(err)
	}
	// A process in a sub-cgroup makes the container cgroup non-empty too.
	startSpinner(t, sub)
	again, _ := NewAt(m.root, m.path)
	if err := again.Create(); err == nil || !strings.Contains(err.Error(), "has processes") {
		t.Fatalf("Create of a populated cgroup: %v", err)
	}

	idle := testCgroup(t, "frozen")
	if err := idle.Freeze(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Create(); err == nil || !strings.Contains(err.Error(), "frozen") {
		t.Fatalf("Create of a frozen cgroup: %v", err)
	}
}

func TestEnterAndPids(t *testing.T) {
	m := testCgroup(t, "procs")
	outside := startSpinner(t, nil)
	if err := m.Enter(outside.Process.Pid); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(outside.Process.Pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "0::"+m.Path()+"\n") {
		t.Errorf("/proc/pid/cgroup after Enter:\n%s", b)
	}
	// Creating a child of a cgroup that holds a process must leave a child
	// that can hold processes too (no thread-root parent).
	sub, _ := NewAt(m.root, m.path+"/sub")
	if err := sub.Create(); err != nil {
		t.Fatal(err)
	}
	inner := startSpinner(t, sub)
	pids, err := m.Pids()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(pids)
	want := []int{outside.Process.Pid, inner.Process.Pid}
	slices.Sort(want)
	if !slices.Equal(pids, want) {
		t.Errorf("Pids = %v, want %v", pids, want)
	}
	if err := m.Enter(1 << 30); err == nil {
		t.Error("Enter of a nonexistent pid succeeded")
	}
}

func TestFreezeThaw(t *testing.T) {
	m := testCgroup(t, "freeze")
	cmd := startSpinner(t, m)
	pid := cmd.Process.Pid
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if frozen, err := m.Frozen(); err != nil || !frozen {
		t.Fatalf("Frozen = %t, %v after Freeze", frozen, err)
	}
	before := cpuTicks(t, pid)
	time.Sleep(300 * time.Millisecond)
	if after := cpuTicks(t, pid); after != before {
		t.Errorf("frozen spinner used CPU: %d -> %d ticks", before, after)
	}
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if frozen, err := m.Frozen(); err != nil || frozen {
		t.Fatalf("Frozen = %t, %v after Thaw", frozen, err)
	}
	before = cpuTicks(t, pid)
	time.Sleep(300 * time.Millisecond)
	if after := cpuTicks(t, pid); after <= before {
		t.Errorf("thawed spinner got no CPU: %d -> %d ticks", before, after)
	}
}

func testKillTree(t *testing.T, kill func(*Manager) error) {
	m := testCgroup(t, "kill")
	// Processes live in leaves only: a cgroup with controllers enabled for
	// its children cannot hold processes itself.
	var cmds []*exec.Cmd
	for _, p := range []string{"/leaf", "/deeper/still", "/deeper/too"} {
		sub, _ := NewAt(m.root, m.path+p)
		if err := sub.Create(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, startSpinner(t, sub))
	}
	// A paused container must be killable too.
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if err := kill(m); err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		waitExitBySignal(t, c, syscall.SIGKILL)
	}
	if pids, err := m.Pids(); err != nil || len(pids) != 0 {
		t.Errorf("after kill: pids %v, %v", pids, err)
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.Dir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s left behind", m.Dir())
	}
}

func TestKill(t *testing.T) { testKillTree(t, (*Manager).Kill) }

// Kernels before 5.14 have no cgroup.kill; the fallback must be as thorough.
func TestKillFallback(t *testing.T) { testKillTree(t, (*Manager).killEach) }

// Destroy must outlast the short EBUSY window while processes die.
func TestDestroyWaitsForExit(t *testing.T) {
	m := testCgroup(t, "destroy")
	cmd := startSpinner(t, m)
	go func() {
		time.Sleep(200 * time.Millisecond)
		_ = cmd.Process.Kill()
	}()
	start := time.Now()
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < 150*time.Millisecond {
		t.Errorf("Destroy returned after %v although the cgroup was busy", elapsed)
	}
	if _, err := os.Stat(m.Dir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s left behind", m.Dir())
	}
}

func TestOpenDirForCloneIntoCgroup(t *testing.T) {
	m := testCgroup(t, "clone-into")
	cmd := startSpinner(t, m) // started with CgroupFD from OpenDir
	b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "0::"+m.Path()+"\n") {
		t.Errorf("child started with CLONE_INTO_CGROUP is in:\n%s", b)
	}
}

func TestWriteNeverCreates(t *testing.T) {
	dir := t.TempDir()
	m, _ := NewAt(dir, "/x")
	if err := os.Mkdir(m.Dir(), 0o755); err != nil {
		t.Fatal(err)
	}
	err := m.write("memory.max", "1")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "cgroup /x: write \"1\" to memory.max") {
		t.Errorf("write to a missing file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(m.Dir(), "memory.max")); err == nil {
		t.Error("write created the file")
	}
}

func TestNewAt(t *testing.T) {
	m, err := NewAt("/sys/fs/cgroup", "/a/b/")
	if err != nil || m.Path() != "/a/b" || m.Dir() != "/sys/fs/cgroup/a/b" {
		t.Errorf("NewAt: %+v, %v", m, err)
	}
	for _, bad := range []string{"", "/", "a/b", "/a/../b", "/a\x00"} {
		if _, err := NewAt("/sys/fs/cgroup", bad); err == nil {
			t.Errorf("NewAt(%q) accepted", bad)
		}
	}
}
