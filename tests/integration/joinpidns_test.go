package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// TestJoinPidNamespaceSameProcess: the process of a container that joins
// another's pid namespace (started by its init from outside it, through
// one more step) is the same as that of the same bundle with a pid
// namespace of its own: ids, capabilities, no_new_privs, seccomp,
// limits, cwd, environment, hostname, umask and mounts. As root, and as
// a user that keeps a capability through the ambient set.
func TestJoinPidNamespaceSameProcess(t *testing.T) {
	r := newRuntime(t)
	a := r.Create(newBundle(t, withArgs("sleep", "300")))
	r.Must("start", a.ID)
	t.Cleanup(func() { _ = r.Run("kill", a.ID, "KILL") })

	script := statusFields("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters") +
		"; ulimit -a; pwd; env | sort; hostname; umask" +
		// Mount point, options, type and source: ids and devices differ.
		`; awk '{for (i = 7; $i != "-"; i++); print $5, $6, $(i+1), $(i+2)}' /proc/self/mountinfo`
	for _, c := range []struct {
		name string
		edit func(*specs.Spec)
	}{
		{"root", func(s *specs.Spec) { s.Process.NoNewPrivileges = true }},
		{"ambient", func(s *specs.Spec) {
			s.Process.NoNewPrivileges = false
			s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1001}}
			caps := s.Process.Capabilities
			caps.Inheritable = []string{"CAP_NET_BIND_SERVICE"}
			caps.Ambient = []string{"CAP_NET_BIND_SERVICE"}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			common := []func(*specs.Spec){shell(script), denyMkdir, c.edit, func(s *specs.Spec) {
				s.Process.Cwd = "/tmp"
				s.Process.Env = append(s.Process.Env, "JOINED_TEST=1")
				s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 900, Soft: 800}}
				umask := uint32(0o027)
				s.Process.User.Umask = &umask
				s.Hostname = "samehost"
			}}
			own := mustRun(t, r, newBundle(t, common...))
			joined := mustRun(t, r, newBundle(t, append(common, joinPidNS(a.Pid))...))
			if joined != own {
				t.Errorf("process in the joined pid namespace:\n%s\nwith a pid namespace of its own:\n%s", joined, own)
			}
			t.Logf("both:\n%s", own)
			if !strings.Contains(own, "Seccomp:\t2") || !strings.Contains(own, "/proc") {
				t.Errorf("the compared process has no filter or no /proc:\n%s", own)
			}
		})
	}
}

// TestJoinPidNamespaceWithoutProc: the process that waits for start in
// the joined pid namespace reopens the exec fifo through a procfs of its
// own, so a container without a /proc mount joins one too.
func TestJoinPidNamespaceWithoutProc(t *testing.T) {
	r := newRuntime(t)
	a := r.Create(newBundle(t, withArgs("sleep", "300")))
	r.Must("start", a.ID)
	t.Cleanup(func() { _ = r.Run("kill", a.ID, "KILL") })
	noProc := func(s *specs.Spec) {
		s.Mounts = slices.DeleteFunc(s.Mounts, func(m specs.Mount) bool { return m.Type == "proc" })
	}
	if out := mustRun(t, r, newBundle(t, joinPidNS(a.Pid), noProc, shell("ls /proc | wc -l"))); strings.TrimSpace(out) != "0" {
		t.Errorf("/proc of a container without a proc mount lists %q entries, want none", out)
	}
}

// TestJoinPidNamespaceStartContainerHook: a startContainer hook of a
// container that joins another's pid namespace gets the recorded pid.
// Such a container's init still enters the namespace before its setup
// (the process that would wait there runs no Go to run hooks in).
func TestJoinPidNamespaceStartContainerHook(t *testing.T) {
	r := newRuntime(t)
	a := r.Create(newBundle(t, withArgs("sleep", "300")))
	r.Must("start", a.ID)
	t.Cleanup(func() { _ = r.Run("kill", a.ID, "KILL") })
	logDir := t.TempDir()
	b := newBundle(t, joinPidNS(a.Pid), withArgs("true"), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/hooklog", Type: "bind", Source: logDir, Options: []string{"rbind", "rw"}})
		s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > /hooklog/state"}}}}
	})
	must(t, os.Mkdir(filepath.Join(b, "rootfs", "hooklog"), 0o755))
	c := r.Create(b)
	r.Must("start", c.ID)
	c.Wait(t, 10*time.Second)
	r.Must("delete", c.ID)
	var st specs.State
	must(t, json.Unmarshal([]byte(readFile(t, filepath.Join(logDir, "state"))), &st))
	if st.Pid != c.Pid || st.Status != specs.StateCreated {
		t.Errorf("startContainer hook got pid %d, status %q; want the recorded %d, %q", st.Pid, st.Status, c.Pid, specs.StateCreated)
	}
}

// TestProcessStartsUnderOlderProfiles: without no_new_privs the
// container's seccomp filter goes in while the runtime is still
// privileged, so the runtime's last steps (opening its own procfs,
// closing its fds before the process is born) run under it. Profiles
// written before openat2 and close_range refuse both; a joining
// container's process and an exec'd one must start all the same.
func TestProcessStartsUnderOlderProfiles(t *testing.T) {
	r := newRuntime(t)
	a := r.Create(newBundle(t, withArgs("sleep", "300"), denyNewerSyscalls))
	r.Must("start", a.ID)
	t.Cleanup(func() { _ = r.Run("kill", a.ID, "KILL") })
	if out := r.Must("exec", a.ID, "echo", "exec-ok"); !strings.Contains(out, "exec-ok") {
		t.Errorf("exec under the profile: %q", out)
	}

	b := r.Create(newBundle(t, joinPidNS(a.Pid), shell("echo joined-ok; sleep 300"), denyNewerSyscalls))
	r.Must("start", b.ID)
	t.Cleanup(func() { _ = r.Run("kill", b.ID, "KILL") })
	waitFor(t, 10*time.Second, "the joined container's output", func() bool {
		return strings.Contains(b.ReadOutput(t), "joined-ok")
	})
	if out := r.Must("exec", b.ID, "echo", "exec-ok"); !strings.Contains(out, "exec-ok") {
		t.Errorf("exec into the joined container under the profile: %q", out)
	}
}

// denyNewerSyscalls refuses openat2 and close_range with EPERM, as
// profiles written before those calls do, and leaves no_new_privs unset.
func denyNewerSyscalls(s *specs.Spec) {
	s.Process.NoNewPrivileges = false
	s.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"openat2", "close_range"}, Action: specs.ActErrno}},
	}
}
