package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestJoinPidNamespaceWorks: a container that joins another's pid
// namespace by path (a pod sharing one) works as it always did, now that
// its init sets up outside that namespace: its /proc shows the other
// container's processes, its recorded pid is its process in that
// namespace, born there a child of `create`'s caller's subreaper, and
// `ps`, `exec`, `kill` and `delete` reach it; its seccomp filter holds.
func TestJoinPidNamespaceWorks(t *testing.T) {
	r := newRuntime(t)
	a := r.Create(newBundle(t, withArgs("sleep", "300")))
	r.Must("start", a.ID)
	t.Cleanup(func() { _ = r.Run("kill", a.ID, "KILL") })

	b := r.Create(newBundle(t, joinPidNS(a.Pid), shell("echo started; ls /proc; sleep 300"), denyMkdir))
	if st := r.State(b.ID); st.Pid != b.Pid {
		t.Errorf("state pid %d, pid file %d", st.Pid, b.Pid)
	}
	if !sameNamespace(t, a.Pid, b.Pid, "pid") {
		t.Errorf("created process %d is not in the pid namespace of %d", b.Pid, a.Pid)
	}
	aInner := innerPid(t, a.Pid)
	r.Must("start", b.ID)
	waitFor(t, 10*time.Second, "the joined container's output", func() bool {
		return strings.Contains(b.ReadOutput(t), "started")
	})
	waitFor(t, 10*time.Second, "its /proc listing", func() bool {
		return strings.Contains(b.ReadOutput(t), "\n"+strconv.Itoa(aInner)+"\n")
	})
	if ps := r.Must("ps", b.ID); !strings.Contains(ps, "sleep") {
		t.Errorf("ps %s: %q", b.ID, ps)
	}
	if out := r.Must("exec", b.ID, "sh", "-c", "mkdir /tmp/x 2>&1; cat /proc/1/cmdline | tr '\\0' ' '"); !strings.Contains(out, "Operation not permitted") || !strings.Contains(out, "sleep 300") {
		t.Errorf("exec in %s: %q, want mkdir refused by seccomp and pid 1 the other container's sleep", b.ID, out)
	}
	r.Must("kill", b.ID, "KILL")
	b.Wait(t, 10*time.Second)
	r.Must("delete", b.ID)
	if _, err := os.Stat(filepath.Join(r.Root, b.ID)); !os.IsNotExist(err) {
		t.Errorf("state of %s after delete: %v", b.ID, err)
	}
}

// denyMkdir makes mkdir and mkdirat fail with EPERM.
func denyMkdir(s *specs.Spec) {
	s.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno}},
	}
}

func sameNamespace(t *testing.T, pid1, pid2 int, typ string) bool {
	t.Helper()
	l1, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid1, typ))
	must(t, err)
	l2, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid2, typ))
	must(t, err)
	return l1 == l2
}

// innerPid is pid's number in its own pid namespace.
func innerPid(t *testing.T, pid int) int {
	t.Helper()
	nspid, err := procStatusField(pid, "NSpid")
	must(t, err)
	fields := strings.Fields(nspid)
	n, err := strconv.Atoi(fields[len(fields)-1])
	must(t, err)
	return n
}
