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
	a := startPidNamespaceOwner(t, r)

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

// startPidNamespaceOwner starts a container that sleeps, for others to
// join its pid namespace; it is killed with the test.
func startPidNamespaceOwner(t *testing.T, r *Runtime) *Container {
	t.Helper()
	c := r.Create(newBundle(t, withArgs("sleep", "300")))
	r.Must("start", c.ID)
	t.Cleanup(func() { _ = r.Run("kill", c.ID, "KILL") })
	return c
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
	a := startPidNamespaceOwner(t, r)

	script := statusFields("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters") +
		"; ulimit -a; pwd; env | sort; hostname; umask" +
		// Mount point, options, type and source: ids and devices differ.
		`; awk '{for (i = 7; $i != "-"; i++); print $5, $6, $(i+1), $(i+2)}' /proc/self/mountinfo`
	ambient := func(s *specs.Spec) {
		s.Process.NoNewPrivileges = false
		s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1001}}
		caps := s.Process.Capabilities
		caps.Inheritable = []string{"CAP_NET_BIND_SERVICE"}
		caps.Ambient = []string{"CAP_NET_BIND_SERVICE"}
	}
	for _, c := range []struct {
		name string
		edit func(*specs.Spec)
	}{
		{"root", func(s *specs.Spec) { s.Process.NoNewPrivileges = true }},
		{"ambient", ambient},
		// With a user namespace of its own, which holds no right over the
		// joined pid namespace: the init only sets up, and create starts
		// the process through a stage that joins the pid namespace first.
		{"userns", func(s *specs.Spec) { s.Process.NoNewPrivileges = true; userNSSpec(s) }},
		{"userns-ambient", func(s *specs.Spec) { ambient(s); userNSSpec(s) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			logPath := debugLog(t, r)
			t.Cleanup(func() { r.Global = nil })
			common := []func(*specs.Spec){shell(script), denyMkdir, c.edit, func(s *specs.Spec) {
				s.Process.Cwd = "/tmp"
				s.Process.Env = append(s.Process.Env, "JOINED_TEST=1")
				s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 900, Soft: 800}}
				umask := uint32(0o027)
				s.Process.User.Umask = &umask
				s.Hostname = "samehost"
			}}
			ownBundle, joinedBundle := newBundle(t, common...), newBundle(t, append(common, joinPidNS(a.Pid))...)
			openToUserNS(t, ownBundle)
			openToUserNS(t, joinedBundle)
			own, joined := mustRun(t, r, ownBundle), mustRun(t, r, joinedBundle)
			if joined != own {
				t.Errorf("process in the joined pid namespace:\n%s\nwith a pid namespace of its own:\n%s", joined, own)
			}
			assertJoinedLate(t, logPath)
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
	a := startPidNamespaceOwner(t, r)
	noProc := func(s *specs.Spec) {
		s.Mounts = slices.DeleteFunc(s.Mounts, func(m specs.Mount) bool { return m.Type == "proc" })
	}
	if out := mustRun(t, r, newBundle(t, joinPidNS(a.Pid), noProc, shell("ls /proc | wc -l"))); strings.TrimSpace(out) != "0" {
		t.Errorf("/proc of a container without a proc mount lists %q entries, want none", out)
	}
}

// TestJoinPidNamespaceStartContainerHook: the startContainer hooks of a
// container that joins another's pid namespace run on the route that
// sets up outside that namespace (the --debug log names no reason to
// enter it first): after start, before the program, in the container's
// namespaces, with the state's pid the one create records in the state
// and the pid file.
func TestJoinPidNamespaceStartContainerHook(t *testing.T) {
	r := newRuntime(t)
	shared := sharedPidNamespace(t, r)
	for _, userns := range []bool{false, true} {
		t.Run(fmt.Sprintf("userns=%v", userns), func(t *testing.T) {
			joinedStartContainerHook(t, r, shared, userns)
		})
	}
}

func joinedStartContainerHook(t *testing.T, r *Runtime, shared int, userns bool) {
	logPath := debugLog(t, r)
	t.Cleanup(func() { r.Global = nil })
	logDir := t.TempDir()
	must(t, os.Chmod(logDir, 0o777)) // for a user namespace's root too
	script := "cat > /hooklog/state; for ns in " + strings.Join(containerNamespaces, " ") +
		"; do readlink /proc/self/ns/$ns; done > /hooklog/ns; test -e /hooklog/program-ran && touch /hooklog/too-late; true"
	b := newBundle(t, joinPidNS(shared), shell("touch /hooklog/program-ran; sleep 300"), withHookLog(logDir), func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", script}}}}
		if userns {
			userNSSpec(s)
		}
	})
	openToUserNS(t, b)
	// The mount point exists: a user namespace's root could not make it.
	must(t, os.Mkdir(filepath.Join(b, "rootfs", "hooklog"), 0o755))
	c := r.Create(b)
	t.Cleanup(func() { _ = r.Run("kill", c.ID, "KILL") })
	r.Must("start", c.ID)
	waitFor(t, 10*time.Second, "the program", func() bool {
		_, err := os.Stat(filepath.Join(logDir, "program-ran"))
		return err == nil
	})
	assertJoinedLate(t, logPath)
	var st specs.State
	must(t, json.Unmarshal([]byte(readFile(t, filepath.Join(logDir, "state"))), &st))
	if recorded := r.State(c.ID).Pid; st.Pid != c.Pid || st.Pid != recorded || st.Status != specs.StateCreated {
		t.Errorf("startContainer hook got pid %d, status %q; want the pid file's %d and the state's %d, %q", st.Pid, st.Status, c.Pid, recorded, specs.StateCreated)
	}
	var want []string
	for _, ns := range containerNamespaces {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", c.Pid, ns))
		must(t, err)
		want = append(want, link)
	}
	if got := strings.Fields(readFile(t, filepath.Join(logDir, "ns"))); !slices.Equal(got, want) {
		t.Errorf("the hook ran in namespaces %v, the container's process is in %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(logDir, "too-late")); err == nil {
		t.Errorf("the startContainer hook ran after the program had started")
	}
}

var containerNamespaces = []string{"mnt", "uts", "ipc", "net", "pid", "cgroup", "user"}

// withHookLog binds dir at /hooklog.
func withHookLog(dir string) func(*specs.Spec) {
	return func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/hooklog", Type: "bind", Source: dir, Options: []string{"rbind", "rw"}})
	}
}

// debugLog has r log at debug level into a file, whose path it returns.
func debugLog(t *testing.T, r *Runtime) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "debug.log")
	r.Global = append(r.Global, "--debug", "--log", path)
	return path
}

// assertJoinedLate: every container created with the --debug log at
// logPath that joined a pid namespace set up outside it.
func assertJoinedLate(t *testing.T, logPath string) {
	t.Helper()
	log := readFile(t, logPath)
	if strings.Contains(log, "before its setup") {
		t.Errorf("an init entered the joined pid namespace before its setup:\n%s", grepLines(log, "before its setup"))
	}
	if !strings.Contains(log, "setting up outside the pid namespace it joins") {
		t.Errorf("no init set up outside the pid namespace it joins")
	}
}

func grepLines(text, word string) string {
	var lines []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, word) {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}

// TestJoinPidNamespaceStartContainerHookFails: a startContainer hook that
// fails, cannot be executed or runs out of time, or a program that cannot
// be executed, makes start fail with the same words and exit code whether
// the container has a pid namespace of its own (the init runs the hook in
// Go) or joins one (the process that waits for start runs it, in C); and
// a hook that succeeds gets the same arguments, environment, working
// directory and stdin, but for the pid.
func TestJoinPidNamespaceStartContainerHookFails(t *testing.T) {
	r := newRuntime(t)
	shared := sharedPidNamespace(t, r)
	timeout := 1
	sh := func(script string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", script}, Env: []string{"PATH=/bin", "HOOK_ENV=x y"}}
	}
	for _, c := range []struct {
		name string
		hook specs.Hook
	}{
		{"exit", sh("echo '  sc-broke  here ' >&2; echo more >&2; exit 3")},
		// Every byte of stderr travels: quotes, backslashes, control
		// bytes, NUL, UTF-8 and bytes that are not UTF-8.
		{"bytes", sh(`printf '"q" \\ back\ttab \001 \000 nul \303\251 \377\376 end' >&2; exit 4`)},
		// Both keep the same first bytes of a flood: 1000 lines of 9
		// bytes, cut in line 910 (see the check below).
		{"flood", sh(`i=0; while [ $i -lt 1000 ]; do printf 'line%04d\n' $i >&2; i=$((i+1)); done; exit 5`)},
		{"signal", sh("echo dying >&2; kill -9 $$")},
		{"missing", specs.Hook{Path: "/no/such/hook"}},
		{"timeout", specs.Hook{Path: "/bin/sleep", Args: []string{"sleep", "30"}, Timeout: &timeout}},
		{"second", sh("exit 0")},
	} {
		t.Run(c.name, func(t *testing.T) {
			hooks := []specs.Hook{c.hook}
			if c.name == "second" {
				hooks = append(hooks, sh("exit 7"))
			}
			msg := startFailsAlike(t, r, shared, []string{"sleep", "30"}, hooks, nil)
			if c.name == "flood" && (!strings.HasSuffix(msg, " line0909 li") || !strings.Contains(msg, ": line0000 line0001 ")) {
				t.Errorf("a hook's error keeps its first 8 KiB of stderr, whole lines up to line0909: %.100s … %s", msg, msg[max(0, len(msg)-40):])
			}
		})
	}
	// A program that is there at create but cannot be executed fails
	// start once the hooks have run: the report of a failed execve.
	t.Run("program", func(t *testing.T) {
		badInterpreter := func(bundle string) {
			must(t, os.WriteFile(filepath.Join(bundle, "rootfs", "badinterp"), []byte("#!/no/such/interpreter\n"), 0o755))
		}
		msg := startFailsAlike(t, r, shared, []string{"/badinterp"}, []specs.Hook{sh("exit 0")}, badInterpreter)
		if !strings.Contains(msg, "exec /badinterp: no such file or directory") {
			t.Errorf("start of a program that cannot be executed: %q", msg)
		}
	})
	t.Run("inputs", func(t *testing.T) {
		logDir := t.TempDir()
		inputs := func(edits ...func(*specs.Spec)) string {
			must(t, os.RemoveAll(filepath.Join(logDir, "in")))
			b := newBundle(t, append(edits, withArgs("true"), withHookLog(logDir), func(s *specs.Spec) {
				s.Process.Cwd = "/tmp"
				s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{
					sh(`{ echo "$0 $*"; pwd; env | sort; cat; echo; } > /hooklog/in`),
					{Path: "/bin/sh", Args: []string{"sh", "-c", "env | sort > /hooklog/default-env"}},
				}}
			})...)
			ct := r.Create(b)
			r.Must("start", ct.ID)
			ct.Wait(t, 10*time.Second)
			r.Must("delete", ct.ID)
			in := readFile(t, filepath.Join(logDir, "in")) + readFile(t, filepath.Join(logDir, "default-env"))
			in = strings.ReplaceAll(strings.ReplaceAll(in, ct.ID, "ID"), ct.Bundle, "BUNDLE")
			return strings.ReplaceAll(in, fmt.Sprintf(`"pid":%d,`, ct.Pid), `"pid":PID,`)
		}
		own, joined := inputs(), inputs(joinPidNS(shared))
		if joined != own {
			t.Errorf("a hook in the joined pid namespace got:\n%s\nin a pid namespace of its own:\n%s", joined, own)
		}
		if !strings.Contains(own, `"pid":PID,`) || !strings.Contains(own, "HOOK_ENV=x y") {
			t.Errorf("the hook's inputs lack the state or the environment:\n%s", own)
		}
	})
}

// startFailsAlike creates and starts a container of args and the
// startContainer hooks, once with a pid namespace of its own and once in
// the shared one (prepare, when not nil, edits each bundle first), checks
// that start fails alike on both routes and returns its error message.
func startFailsAlike(t *testing.T, r *Runtime, shared int, args []string, hooks []specs.Hook, prepare func(bundle string)) string {
	t.Helper()
	outcome := func(edits ...func(*specs.Spec)) Result {
		b := newBundle(t, append(edits, withArgs(args...), func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{StartContainer: hooks}
		})...)
		if prepare != nil {
			prepare(b)
		}
		ct := r.Create(b)
		res := r.Run("start", ct.ID)
		ct.Wait(t, 10*time.Second)
		r.Must("delete", "--force", ct.ID)
		return res
	}
	own, joined := outcome(), outcome(joinPidNS(shared))
	t.Logf("ordinary route: %s", own)
	if own.Code == 0 || joined.Code != own.Code || errorMessage(joined.Stderr) != errorMessage(own.Stderr) {
		t.Errorf("joined pid namespace: %s\nown pid namespace: %s", joined, own)
	}
	return errorMessage(own.Stderr)
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

// TestJoinPidNamespaceExecUserNS: `exec` into a container with a user
// namespace of its own that joined another's pid namespace starts its
// process through a stage that joins the pid namespace first; the
// process is the same as one exec'd into the same container with a pid
// namespace of its own: ids, capabilities, no_new_privs, seccomp,
// limits, cwd, environment, hostname, umask and mounts.
func TestJoinPidNamespaceExecUserNS(t *testing.T) {
	r := newRuntime(t)
	shared := sharedPidNamespace(t, r)
	logPath := debugLog(t, r)
	script := statusFields("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters") +
		"; ulimit -a; pwd; env | sort; hostname; umask" +
		`; awk '{for (i = 7; $i != "-"; i++); print $5, $6, $(i+1), $(i+2)}' /proc/self/mountinfo`
	exec := func(edits ...func(*specs.Spec)) string {
		b := newBundle(t, append([]func(*specs.Spec){withArgs("sleep", "300"), denyMkdir, userNSSpec, func(s *specs.Spec) {
			s.Hostname = "samehost"
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 900, Soft: 800}}
		}}, edits...)...)
		openToUserNS(t, b)
		c := r.Create(b)
		r.Must("start", c.ID)
		t.Cleanup(func() { _ = r.Run("kill", c.ID, "KILL") })
		return r.Must("exec", "--cwd", "/tmp", "--env", "EXEC_TEST=1", "--user", "1000:1000", "--additional-gids", "1001", c.ID, "sh", "-c", script)
	}
	own, joined := exec(), exec(joinPidNS(shared))
	if joined != own {
		t.Errorf("exec'd into the container that joined a pid namespace:\n%s\ninto one with a pid namespace of its own:\n%s", joined, own)
	}
	t.Logf("both:\n%s", own)
	if !strings.Contains(own, "Seccomp:\t2") || !strings.Contains(own, "Uid:\t1000") {
		t.Errorf("the compared process has no filter or is not uid 1000:\n%s", own)
	}
	assertJoinedLate(t, logPath)
}
