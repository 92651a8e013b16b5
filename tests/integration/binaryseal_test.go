package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestRuntimeBinaryPrivilegedAttacker is CVE-2019-5736 by a privileged
// container: running as root with CAP_SYS_ADMIN, CAP_SYS_PTRACE and
// CAP_SYS_CHROOT (to join mount namespaces) added, it watches for every
// process that runs the runtime binary inside it and tries every route to that binary it has (see testdata/exeattack:
// /proc/<pid>/exe, map_files, fds, pidfd_getfd, mount_setattr, remount,
// fspick, open_tree clones, ptrace) while the test runs 200 `exec`s in
// it, then `run` and `create`+`start` of containers that join its pid
// namespace (one of them with a startContainer hook, one with a user
// namespace of its own, which it also `exec`s into), the payload without
// and with a user namespace. The binary's hash must
// not change, nothing may be opened for writing, no directory fd of an
// exec'd process may lead out of the container, and the payload must have
// stopped the created inits: an attack that never saw a target proves
// nothing. An exec'd process must never be caught holding capabilities
// the container lacks or fds of the runtime (it sets up outside the
// container's pid namespace). Nothing of the joining containers may lead
// the payload to the host's tree: it probes every process that appears
// in its pid namespace, through /proc/<pid>/root, /proc/<pid>/cwd and
// the process's mount namespace, for a file that exists only on the
// host, and ptraces it; their inits set up outside the namespace.
func TestRuntimeBinaryPrivilegedAttacker(t *testing.T) {
	for _, c := range []struct {
		name   string
		userns bool
	}{{"host-userns", false}, {"userns", true}} {
		t.Run(c.name, func(t *testing.T) {
			r := newRuntime(t)
			work := t.TempDir()
			bin, before := runtimeCopy(t, work)
			marker := filepath.Join(work, "host-only-marker")
			must(t, os.WriteFile(marker, nil, 0o644))
			edits := []func(*specs.Spec){addCaps("CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_CHROOT"), withMarker(marker)}
			if c.userns {
				edits = append(edits, userNSSpec)
			}
			shared, bundle := exeAttackBundle(t, work, bin, edits...)
			if c.userns {
				openToUserNS(t, bundle)
			}
			logPath := filepath.Join(shared, "log")
			a := r.Create(bundle)
			r.Must("start", a.ID)
			waitFor(t, 10*time.Second, "the payload to start", func() bool {
				data, _ := os.ReadFile(logPath)
				return strings.Contains(string(data), "started")
			})

			// The verdict comes however the runs below end: a runtime that
			// fails because the payload holds its binary open for writing
			// (ETXTBSY) is a finding too.
			execTargets, execLog := -1, ""
			t.Cleanup(func() {
				must(t, os.WriteFile(filepath.Join(shared, "stop"), nil, 0o644))
				a.Wait(t, 20*time.Second)
				log := readFile(t, logPath)
				logAttack(t, log)
				t.Logf("runtime processes the payload attacked: %d during the execs, %d in all", execTargets, countTargets(log))
				if strings.Contains(log, "OPENED-FOR-WRITE") {
					t.Errorf("the container opened the runtime binary for writing")
				}
				if strings.Contains(execLog, "LEADS-OUTSIDE") {
					t.Errorf("an exec'd process held a directory outside the container")
				}
				if strings.Contains(execLog, "PRIVILEGED") {
					t.Errorf("the payload stopped an exec'd process that held capabilities the container lacks")
				}
				for _, fd := range runtimeFDs(execLog) {
					t.Errorf("an exec'd process showed the container a runtime fd: %s", fd)
				}
				// The joining containers: CAP_SYS_PTRACE of the initial user
				// namespace passes the non-dumpable check, so nothing that
				// enters the payload's pid namespace may hold the host's
				// tree. The probes must have reached their processes.
				joinLog := strings.TrimPrefix(log, execLog)
				if strings.Contains(joinLog, "LEADS-OUTSIDE") {
					t.Errorf("a process of a container joining this pid namespace held a directory outside the container")
				}
				for _, line := range strings.Split(joinLog, "\n") {
					if strings.Contains(line, "HOST-REACHED") {
						t.Errorf("the payload reached the host's tree: %s", line)
					}
				}
				// Without a user namespace of its own the payload may look;
				// with one, the kernel already refuses it.
				if execTargets >= 0 && (!strings.Contains(joinLog, "host pid=") || !c.userns && !strings.Contains(joinLog, "via=root contained")) {
					t.Errorf("the payload never probed a process of the joining containers")
				}
				if after := sha256File(t, bin); after != before {
					t.Errorf("runtime binary changed: sha256 %s, was %s", after, before)
				}
			})

			for i := 0; i < 200; i++ {
				if res := runBounded(r, bin, "exec", a.ID, "true"); res.Code != 0 {
					t.Fatalf("exec %d: %s", i, res)
				}
			}
			execLog = readFile(t, logPath)
			execTargets = countTargets(execLog)
			// The exec'd processes set up outside this pid namespace and
			// enter it only in the last instants before execve, as the
			// container's process: the payload may not have seen one at
			// all. That it sees and attaches to what does enter is shown
			// by the created inits below, which it must stop before they
			// are started.

			// Victims: a plain container, one whose startContainer hooks
			// run in the payload's pid namespace, before its program, and
			// one with a user namespace of its own, which holds no right
			// over the payload's pid namespace. Each must take the route
			// that sets up outside the namespace.
			debug := []string{"--debug", "--log", filepath.Join(t.TempDir(), "debug.log")}
			usernsVictim := newBundle(t, withArgs("true"), joinPidNS(a.Pid), userNSSpec)
			openToUserNS(t, usernsVictim)
			for _, victim := range []string{
				newBundle(t, withArgs("true"), joinPidNS(a.Pid)),
				newBundle(t, withArgs("true"), joinPidNS(a.Pid), withStartHook("cat > /dev/null; sleep 0.2")),
				usernsVictim,
			} {
				for i := 0; i < 5; i++ {
					if res := runBounded(r, bin, append(debug, "run", "--bundle", victim, newID(t))...); res.Code != 0 {
						t.Fatalf("run %d: %s", i, res)
					}
				}
				for i := 0; i < 5; i++ {
					attackCreated(t, r, bin, victim, logPath, debug...)
				}
			}
			// `exec` into the last: its processes are born in the payload's
			// pid namespace, where the payload probes them.
			runningBundle := newBundle(t, withArgs("sleep", "300"), joinPidNS(a.Pid), userNSSpec)
			openToUserNS(t, runningBundle)
			running := r.Create(runningBundle)
			r.Must("start", running.ID)
			for i := 0; i < 20; i++ {
				if res := runBounded(r, bin, append(debug, "exec", running.ID, "true")...); res.Code != 0 {
					t.Fatalf("exec %d into the container with a user namespace: %s", i, res)
				}
			}
			r.Must("kill", running.ID, "KILL")
			running.Wait(t, 10*time.Second)
			assertJoinedLate(t, debug[2])
		})
	}
}

// withStartHook gives the container a startContainer hook that runs
// script with its shell.
func withStartHook(script string) func(*specs.Spec) {
	return func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", script}}}}
	}
}

// attackCreated creates a container from victim, waits until the payload
// has attacked its init, which waits for `start` running the runtime
// binary in the payload's pid namespace, and starts it.
func attackCreated(t *testing.T, r *Runtime, bin, victim, logPath string, global ...string) {
	t.Helper()
	id := newID(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	if res := runBounded(r, bin, append(global, "create", "--bundle", victim, "--pid-file", pidFile, id)...); res.Code != 0 {
		t.Fatalf("create: %s", res)
	}
	pid := readPidFile(t, pidFile)
	exited := adopt(t, pid)
	nspid, err := procStatusField(pid, "NSpid")
	must(t, err)
	fields := strings.Fields(nspid)
	inner := fields[len(fields)-1]
	waitFor(t, 10*time.Second, "the payload to attack the created init", func() bool {
		data, _ := os.ReadFile(logPath)
		return strings.Contains(string(data), "ptrace pid="+inner+" ")
	})
	if res := runBounded(r, bin, append(global, "start", id)...); res.Code != 0 {
		t.Fatalf("start: %s", res)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("container %s did not exit", id)
	}
	r.Must("delete", id)
}

// logAttack shows what the payload did, each kind of outcome once: the
// full log holds a line per attacked pid.
func logAttack(t *testing.T, log string) {
	t.Helper()
	pids := regexp.MustCompile(`pid=\d+`)
	seen := map[string]bool{}
	var b strings.Builder
	for _, line := range strings.Split(log, "\n") {
		general := pids.ReplaceAllString(line, "pid=N")
		if !seen[general] {
			seen[general] = true
			fmt.Fprintln(&b, general)
		}
	}
	t.Logf("payload outcomes:\n%s", b.String())
	findings := regexp.MustCompile(`(?m)^\S+ (pid=\d+) .*(OPENED-FOR-WRITE|LEADS-OUTSIDE).*$`)
	for _, m := range findings.FindAllStringSubmatch(log, -1) {
		var lines []string
		for _, line := range strings.Split(log, "\n") {
			if strings.Contains(line, m[1]+" ") {
				lines = append(lines, line)
			}
		}
		t.Logf("finding %q; everything about %s:\n%s", m[0], m[1], strings.Join(lines, "\n"))
	}
}

// runBounded runs `bin --root R args...` and kills it after 30 seconds: a
// process the payload left stopped must fail the test, not hang it.
func runBounded(r *Runtime, bin string, args ...string) Result {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return r.RunCmd(exec.CommandContext(ctx, bin, append([]string{"--root", r.Root}, args...)...))
}

// runtimeFDs lists the fds the payload found in exec'd processes that are
// not the process's own. Before its execve the process may still hold, for
// a moment, the pipe that carries an execve failure back: nothing else of
// the runtime, never the sync socket that leads to it. An entry without a
// target was closed between the listing and the look.
func runtimeFDs(log string) []string {
	var found []string
	entries := regexp.MustCompile(`(?m)^fd pid=\d+ entry=(\d+) target=(.*)$`)
	for _, m := range entries.FindAllStringSubmatch(log, -1) {
		n, _ := strconv.Atoi(m[1])
		if n > 2 && m[2] != "" && !strings.HasPrefix(m[2], "pipe:") {
			found = append(found, m[0])
		}
	}
	return found
}

func countTargets(log string) int {
	return strings.Count(log, "target pid=")
}

// addCaps adds capabilities to the process's bounding, effective and
// permitted sets.
func addCaps(caps ...string) func(*specs.Spec) {
	return func(s *specs.Spec) {
		c := s.Process.Capabilities
		c.Bounding = append(c.Bounding, caps...)
		c.Effective = append(c.Effective, caps...)
		c.Permitted = append(c.Permitted, caps...)
	}
}

// withMarker has the payload probe every new process for marker, a file
// only the host has.
func withMarker(marker string) func(*specs.Spec) {
	return func(s *specs.Spec) {
		s.Process.Args = append(s.Process.Args, "-marker", marker)
	}
}

// joinPidNS makes the container join the pid namespace of pid.
func joinPidNS(pid int) func(*specs.Spec) {
	return func(s *specs.Spec) {
		for i, ns := range s.Linux.Namespaces {
			if ns.Type == specs.PIDNamespace {
				s.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/pid", pid)
			}
		}
	}
}
